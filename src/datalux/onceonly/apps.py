from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class OnceOnlyConfig(AppConfig):
    name = "datalux.onceonly"
    label = "onceonly"
    verbose_name = _("Once Only")

    def ready(self) -> None:
        from datalux.onceonly import dcat

        dcat.register()
        checks.register(check_keys)


def check_keys(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """In production the exchange log's keys are never made on the fly: without them every
    exchange is refused (503 ``exchange_unavailable``) and ``datalux manage check`` says so.
    A warning, not an error: the rest of the platform runs without Once Only."""
    from django.conf import settings

    from datalux.onceonly import keys

    if getattr(settings, "DATALUX_MODE", "") != "production":
        return []
    problems: list[checks.CheckMessage] = []
    for setting, load in (
        ("DATALUX_ONCEONLY_SIGNING_KEY", keys.signing_key),
        ("DATALUX_ONCEONLY_PSEUDONYM_KEY", keys.pseudonym_keys),
    ):
        try:
            load()
        except keys.ExchangeKeyError as exc:
            problems.append(
                checks.Warning(
                    f"{setting}: {exc}",
                    hint="run `datalux onceonly keygen` once; until then every Once Only "
                    "exchange is refused",
                    id="onceonly.W001",
                )
            )
    return problems
