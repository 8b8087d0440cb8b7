"""The start-up probe: ``datalux serve`` prints it at start and ``datalux manage check`` (in
``make check``) reports it, saying plainly when bubblewrap cannot run here, before any job
fails ``sandbox_unavailable``."""

from __future__ import annotations

from typing import Any

from django.core.checks import Warning, register


@register("spe")
def sandbox_runs_here(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    from datalux.spe.sandbox import probe

    checked = probe()
    if checked.ok:
        return []
    return [
        Warning(
            f"the secure processing environment's sandbox cannot run here: {checked.reason}",
            hint="workspace jobs and console queries will fail 'sandbox_unavailable' until "
            "bubblewrap runs (scripts/system-deps sandbox; user namespaces enabled)",
            id="spe.W001",
        )
    ]
