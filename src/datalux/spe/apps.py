from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SpeConfig(AppConfig):
    name = "datalux.spe"
    label = "spe"
    verbose_name = _("Secure processing environment")

    def ready(self) -> None:
        from datalux.spe import checks, signals  # noqa: F401 - the probe, the permit lifecycle
