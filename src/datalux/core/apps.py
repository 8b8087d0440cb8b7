from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "datalux.core"
    label = "core"
    verbose_name = "Core"
