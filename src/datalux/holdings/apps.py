from django.apps import AppConfig


class HoldingsConfig(AppConfig):
    name = "datalux.holdings"
    label = "holdings"
    verbose_name = "Data holdings"
