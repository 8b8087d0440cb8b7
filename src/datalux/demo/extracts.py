"""The demo's extracts: the trusted third party's master key (made once, in the configured key
file) and the prepared extract of every active pseudonymised permit, as the worker would."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from datalux.access.models import Permit
from datalux.accounts.models import User
from datalux.privacy.keys import MASTER_KEY_ENV_VAR, MasterKey, write_key_file
from datalux.spe import jobs
from datalux.spe.keys import configured_master_key
from datalux.spe.models import PreparationState
from datalux.spe.plan import PREPARED_FORMS

__all__ = ["demo_master_key", "seed_extracts"]


def demo_master_key(echo: Callable[[str], None]) -> MasterKey:
    """The configured master key; the demo makes the key file when there is none."""
    path = settings.DATALUX_TTP_KEY_FILE
    if path is not None and not os.environ.get(MASTER_KEY_ENV_VAR) and not Path(path).exists():
        Path(path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_key_file(path)
        echo(f"trusted third party's master key made: {path} (the demo's; keep it private)")
    return configured_master_key()


def seed_extracts(echo: Callable[[str], None]) -> int:
    """Prepare the extract of each active permit whose form is prepared; return how many."""
    key = demo_master_key(echo)
    operator = User.objects.filter(username="ttp").first()
    made = 0
    for permit in Permit.objects.filter(state="active").order_by("number"):
        if permit.data_form not in PREPARED_FORMS:
            echo(f"extract of {permit.number}: {permit.data_form} data, not prepared yet")
            continue
        current = permit.preparations.filter(version=permit.version).first()
        if current is not None and current.state == PreparationState.READY:
            continue
        preparation = jobs.request_preparation(permit, by=operator, enqueue=False)
        preparation = jobs.run_preparation(preparation.pk, master_key=key)
        if preparation.state != PreparationState.READY:
            echo(f"extract of {permit.number}: failed [{preparation.code}] {preparation.message}")
            continue
        tables = preparation.manifest["tables"]
        parts = []
        for table in tables:
            linkage = table.get("linkage") or {}
            note = ""
            if linkage.get("method") == "probabilistic":
                note = f", {linkage['linked']} of {linkage['records']} linked"
            parts.append(f"{table['name']} {table['rows']} rows{note}")
        echo(f"extract of {permit.number} prepared: {'; '.join(parts)}")
        made += 1
    return made
