"""The trusted third party's keys of a project: master key plus the project domain's secret.

A project's pseudonyms come from :meth:`MasterKey.domain_keys` with the domain's own random
secret (:class:`~datalux.spe.models.ProjectKey`), made on the project's first preparation.
:func:`shred` destroys the secret: the project's pseudonyms can no longer be derived, by anyone.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.dataplane.extract import ExtractError
from datalux.privacy.errors import KeyMaterialError
from datalux.privacy.keys import DomainKeys, MasterKey, load_master_key
from datalux.spe.models import ProjectKey

__all__ = ["configured_master_key", "project_keys", "shred"]

SECRET_BYTES = 32


def configured_master_key(key_file: str | Path | None = None) -> MasterKey:
    """The master key from ``key_file``, else the configured key file when it exists, else
    ``$DATALUX_TTP_MASTER_KEY``; :class:`ExtractError` (``key-missing``) names the fix."""
    path = key_file
    if path is None:
        configured = getattr(settings, "DATALUX_TTP_KEY_FILE", None)
        if configured is not None and Path(configured).exists():
            path = configured
    try:
        return load_master_key(path)
    except KeyMaterialError as exc:
        raise ExtractError(
            f"the trusted third party's master key is not available: {exc}", code="key-missing"
        ) from None


def project_keys(master: MasterKey, domain: str) -> DomainKeys:
    """The keys of the project ``domain``; its secret is made on first use.
    :class:`ExtractError` (``key-shredded``) when the secret was destroyed."""
    with transaction.atomic():
        row, _ = ProjectKey.objects.select_for_update().get_or_create(
            domain=domain, defaults={"secret": secrets.token_bytes(SECRET_BYTES)}
        )
    if row.shredded_at is not None or not row.secret:
        raise ExtractError(
            f"the pseudonym secret of {domain} was destroyed on "
            f"{row.shredded_at:%Y-%m-%d}: nothing can be prepared in that domain again",
            code="key-shredded",
        )
    return master.domain_keys(domain, secret=bytes(row.secret))


def shred(domain: str, *, by: Any = None, reason: str = "") -> bool:
    """Destroy the secret of ``domain`` (audited). False when it was destroyed already or
    never made."""
    with transaction.atomic():
        row = ProjectKey.objects.select_for_update().filter(domain=domain).first()
        if row is None or row.shredded_at is not None:
            return False
        row.secret = None
        row.shredded_at = timezone.now()
        row.shredded_by = by
        row.save(update_fields=["secret", "shredded_at", "shredded_by"])
        record(
            EventKind.PROJECT_KEY_SHREDDED,
            actor=by,
            object_type="spe.projectkey",
            object_id=domain,
            details={"domain": domain, "reason": reason},
        )
    return True
