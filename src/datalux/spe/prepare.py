"""Prepare a permit's extract under the storage root, audited.

The extract of permit ``N`` version ``v`` lives in ``DATALUX_STORAGE/spe/N/vV/``. An amended
permit (a new version) gets a new folder; a version already prepared is never prepared again
(the manifest is returned as it is). Staging folders left by a killed run are removed before a
new run. The project's keys come from the trusted third party's master key and the
project domain's own secret (:mod:`datalux.spe.keys`) and never leave this process.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.citizens.uses_index import persons_folder
from datalux.dataplane.engine import EngineName, connect
from datalux.dataplane.extract import ExtractError, Manifest, Progress, prepare_extract
from datalux.privacy.keys import MasterKey
from datalux.spe.keys import configured_master_key, project_keys
from datalux.spe.plan import plan_for

__all__ = ["Prepared", "audit_extract", "extract_folder", "prepare_permit", "prepared_manifest"]


@dataclass(frozen=True)
class Prepared:
    folder: Path
    manifest: Manifest
    new: bool  # False: this permit version had been prepared already


def extract_folder(permit: Any) -> Path:
    return Path(settings.DATALUX_STORAGE) / "spe" / permit.number / f"v{permit.version}"


def audit_extract(kind: EventKind, permit: Any, by: Any, version: int, **details: Any) -> None:
    """One audit event about ``permit``'s extract (every extract event names its version)."""
    record(
        kind,
        actor=by,
        organisation=permit.organisation,
        obj=permit,
        details={"version": version, **details},
    )


def prepared_manifest(permit: Any) -> Manifest | None:
    folder = extract_folder(permit)
    return Manifest.read(folder) if (folder / "manifest.json").exists() else None


def prepare_permit(
    permit: Any,
    *,
    master_key: MasterKey | None = None,
    engine: EngineName = "duckdb",
    by: Any = None,
    progress: Progress | None = None,
) -> Prepared:
    """Prepare ``permit``'s extract (or return the one already prepared for its version).

    ``master_key`` defaults to the configured one (:func:`configured_master_key`); the project
    domain's keys need its secret too (:func:`project_keys`). An :class:`ExtractError` is
    audited as ``extract.refused`` and raised; nothing is written then."""
    folder = extract_folder(permit)
    persons = persons_folder(permit)
    existing = prepared_manifest(permit)
    if existing is not None:
        if persons.exists():  # a run killed after the extract was renamed into place
            _record_uses(permit, persons, existing, by)
        return Prepared(folder, existing, new=False)
    for stale in folder.parent.glob(f".{folder.name}.partial-*"):
        shutil.rmtree(stale, ignore_errors=True)  # left by a run that was killed
    shutil.rmtree(persons, ignore_errors=True)  # likewise: whom a run that failed included
    try:
        plan = plan_for(permit)
        keys = project_keys(master_key or configured_master_key(), plan.domain)
        persons.mkdir(parents=True, mode=0o700)
        with connect(engine) as backend:
            manifest = prepare_extract(
                backend, plan, folder, hmac_key=keys.hmac_key, progress=progress,
                persons=persons,
            )  # fmt: skip
    except BaseException as exc:
        shutil.rmtree(persons, ignore_errors=True)
        if not isinstance(exc, ExtractError):
            raise
        audit_extract(
            EventKind.EXTRACT_REFUSED, permit, by, permit.version,
            engine=engine, code=exc.code, reason=str(exc),
        )  # fmt: skip
        raise
    tables = [
        {"name": t.name, "rows": t.rows, "sha256": t.sha256, "source": t.source_sha256}
        for t in manifest.tables
    ]
    audit_extract(
        EventKind.EXTRACT_PREPARED, permit, by, permit.version,
        engine=engine, domain=manifest.domain, tables=tables,
    )  # fmt: skip
    _record_uses(permit, persons, manifest, by)
    return Prepared(folder, manifest, new=True)


def _record_uses(permit: Any, persons: Path, manifest: Manifest, by: Any) -> None:
    """The TTP's person-use index of this version (:mod:`datalux.citizens.uses_index`),
    audited, then each person with an account is told (:mod:`datalux.citizens.use_notices`)."""
    from datalux.citizens.use_notices import notify_project_uses
    from datalux.citizens.uses_index import record_uses

    datasets = {t.name: str(t.about.get("dataset", "")) for t in manifest.tables}
    count = record_uses(permit=permit, version=permit.version, folder=persons, datasets=datasets)
    audit_extract(EventKind.CITIZEN_USES_RECORDED, permit, by, permit.version, persons=count)
    notify_project_uses(permit=permit, version=permit.version)
