from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OnceOnlyConfig(AppConfig):
    name = "datalux.onceonly"
    label = "onceonly"
    verbose_name = _("Once Only")

    def ready(self) -> None:
        from datalux.onceonly import dcat

        dcat.register()
