from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CitizensConfig(AppConfig):
    name = "datalux.citizens"
    label = "citizens"
    verbose_name = _("Citizens")

    def ready(self) -> None:
        from datalux.citizens.use_notices import on_exchange
        from datalux.onceonly.signals import tracker_records_visible

        tracker_records_visible.connect(on_exchange, dispatch_uid="citizens.use_notices")
