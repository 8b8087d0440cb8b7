from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "datalux.access"
    label = "access"
    verbose_name = "Data authority"
