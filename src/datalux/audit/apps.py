from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "datalux.audit"
    label = "audit"
    verbose_name = _("Audit log")

    def ready(self) -> None:
        check_signing_key()


def check_signing_key() -> None:
    """Production refuses to start without a usable audit signing key (ADR 0014): every
    process (web, worker, scheduler, commands) stops with the fix, as for a wrong setting."""
    from pathlib import Path

    from django.conf import settings

    from datalux.audit.signing import SigningKeyError, load_private
    from datalux.core.env import SettingsError

    if getattr(settings, "DATALUX_MODE", "") != "production":
        return
    path = Path(settings.DATALUX_AUDIT_SIGNING_KEY)
    try:
        load_private(path)
    except SigningKeyError as exc:
        raise SettingsError("DATALUX_AUDIT_SIGNING_KEY", exc.problem, exc.hint) from None
