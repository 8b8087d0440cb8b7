"""Preparations as durable jobs: requested, run by the worker step by step, locked and deleted
with the permit's lifecycle.

- :func:`request_preparation` records a :class:`~datalux.spe.models.Preparation` for the
  permit's current version and puts :func:`prepare_task` on the task queue (django-tasks: the
  database queue by default, run by ``datalux manage db_worker``).
- :func:`run_preparation` runs it: each step (extracting, pseudonymising, ..., verifying) is
  saved on the preparation and audited as ``extract.step``; the end is ``ready`` with the
  manifest, or ``failed`` with a code and a message that names what to fix.
- A worker killed midway leaves the preparation in its last step and a staging folder that no
  one sees; :func:`resume_stalled` (scheduled) or the operator's "run again" queues it again,
  and the rerun removes the staging folder and writes the same files (same SHA-256).
- A ready extract of a permit that allows a synthetic twin queues its twins
  (:func:`datalux.spe.synthetic.after_preparation`).
- :func:`lock_extracts` runs as soon as a permit is no longer active, or is amended (the old
  version's extract), and :func:`delete_expired` removes locked extracts after the retention
  period (``DATALUX_SPE_RETENTION_DAYS``) and shreds the project's pseudonym secret once the
  permit has ended.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.core.errors import Conflict
from datalux.dataplane.engine import EngineName
from datalux.dataplane.extract import ExtractError
from datalux.privacy.keys import MasterKey
from datalux.spe.keys import shred
from datalux.spe.models import Preparation, PreparationState
from datalux.spe.plan import project_domain
from datalux.spe.prepare import audit_extract, extract_folder, prepare_permit

__all__ = [
    "STALLED_AFTER",
    "delete_expired",
    "lock_extracts",
    "prepare_task",
    "request_preparation",
    "resume_stalled",
    "run_preparation",
]

log = logging.getLogger(__name__)
S = PreparationState
STALLED_AFTER = timedelta(minutes=30)  # a running step with no news for this long: worker lost
MAX_AUTOMATIC_ATTEMPTS = 3


def stalled(preparation: Preparation, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return preparation.running and preparation.updated_at < now - STALLED_AFTER


def request_preparation(
    permit: Any, *, by: Any = None, engine: EngineName = "duckdb", enqueue: bool = True
) -> Preparation:
    """Record (or reuse) the preparation of ``permit``'s current version and queue it.

    A ready one is returned as it is; one queued or running is refused (:class:`Conflict`)
    unless it has stalled; a failed or stalled one is queued again."""
    if permit.state != "active":
        audit_extract(EventKind.EXTRACT_REFUSED, permit, by, permit.version, code="permit-inactive")
        raise Conflict(
            f"permit {permit.number} is {permit.get_state_display()}: nothing is prepared"
        )
    with transaction.atomic():
        preparation, created = Preparation.objects.select_for_update().get_or_create(
            permit=permit,
            version=permit.version,
            defaults={"engine": engine, "requested_by": by},
        )
        if not created:
            if preparation.state == S.READY and not preparation.deleted_at:
                return preparation
            if preparation.state == S.QUEUED or (preparation.running and not stalled(preparation)):
                raise Conflict(
                    f"the preparation of {permit.number} v{permit.version} is "
                    f"{preparation.get_state_display().lower()} already"
                )
            now = timezone.now()
            preparation.state = S.QUEUED
            preparation.engine = engine
            preparation.code = preparation.message = preparation.step_detail = ""
            preparation.requested_by = by
            preparation.requested_at = preparation.updated_at = now
            preparation.finished_at = preparation.deleted_at = None
            preparation.save()
        audit_extract(
            EventKind.EXTRACT_REQUESTED, permit, by, permit.version,
            engine=engine, preparation=preparation.pk,
        )  # fmt: skip
    if enqueue:
        prepare_task.enqueue(preparation.pk)
    return preparation


def _set(preparation: Preparation, **fields: Any) -> None:
    fields["updated_at"] = timezone.now()
    for name, value in fields.items():
        setattr(preparation, name, value)
    Preparation.objects.filter(pk=preparation.pk).update(**fields)


def run_preparation(
    preparation_id: int,
    *,
    master_key: MasterKey | None = None,
    progress: Callable[[str, str], None] | None = None,
) -> Preparation:
    """Run one preparation to ``ready`` or ``failed`` (never raises for a refused plan)."""
    preparation = Preparation.objects.select_related("permit", "permit__organisation").get(
        pk=preparation_id
    )
    permit = preparation.permit
    if preparation.state == S.READY and not preparation.deleted_at:
        return preparation
    if permit.version != preparation.version:
        _fail(
            preparation,
            "superseded",
            f"permit {permit.number} was amended to version {permit.version} since this "
            "preparation was requested: prepare the current version",
        )
        return preparation
    _set(
        preparation,
        state=S.EXTRACTING,
        step_detail="",
        attempts=preparation.attempts + 1,
        started_at=timezone.now(),
        code="",
        message="",
    )

    def step(name: str, table: str) -> None:
        _set(preparation, state=name, step_detail=table)
        audit_extract(
            EventKind.EXTRACT_STEP, permit, preparation.requested_by, preparation.version,
            step=name, table=table,
        )  # fmt: skip
        if progress is not None:
            progress(name, table)

    try:
        prepared = prepare_permit(
            permit,
            master_key=master_key,
            engine=preparation.engine,  # type: ignore[arg-type]
            by=preparation.requested_by,
            progress=step,
        )
    except ExtractError as exc:  # audited as extract.refused by prepare_permit
        _fail(preparation, exc.code, str(exc), audit=False)
        return preparation
    except Exception as exc:
        log.exception("preparation %s of %s failed", preparation.pk, permit.number)
        _fail(
            preparation,
            "internal",
            f"the preparation stopped on an error of the platform ({type(exc).__name__}); "
            "nothing was written. Run it again; if it fails again, report it to the operators.",
        )
        return preparation
    _set(
        preparation,
        state=S.READY,
        step_detail="",
        manifest=prepared.manifest.as_data(),
        finished_at=timezone.now(),
    )
    from datalux.spe.synthetic import after_preparation

    after_preparation(preparation)  # the synthetic twins, queued when the permit allows them
    return preparation


def _fail(preparation: Preparation, code: str, message: str, *, audit: bool = True) -> None:
    _set(preparation, state=S.FAILED, code=code, message=message, finished_at=timezone.now())
    if audit:
        permit = preparation.permit
        audit_extract(
            EventKind.EXTRACT_FAILED, permit, preparation.requested_by, preparation.version,
            code=code, reason=message,
        )  # fmt: skip


@task()
def prepare_task(preparation_id: int) -> dict[str, Any]:
    """The worker's side of :func:`request_preparation`."""
    return run_preparation(preparation_id).summary()


# --- lifecycle ------------------------------------------------------------------------------


def _set_tree_writable(folder: Path, writable: bool) -> None:
    """Make an extract folder read-only (locked) or writable again (to delete it)."""
    file_mode = stat.S_IRUSR | stat.S_IRGRP | (stat.S_IWUSR if writable else 0)
    dir_mode = file_mode | stat.S_IXUSR | stat.S_IXGRP
    for root, dirs, files in os.walk(folder, topdown=not writable):
        for name in files:
            os.chmod(Path(root) / name, file_mode)
        for name in dirs:
            os.chmod(Path(root) / name, dir_mode)
    os.chmod(folder, dir_mode)


def lock_extracts(permit: Any, *, by: Any = None) -> list[int]:
    """Lock the extracts of ``permit`` that no workspace may use any more: every one when the
    permit is not active, those of older versions when it was amended. Audited; returns the
    versions locked."""
    preparations = Preparation.objects.filter(permit=permit, locked_at=None)
    if permit.state == "active":
        preparations = preparations.filter(version__lt=permit.version)
    locked = []
    for preparation in preparations:
        folder = extract_folder(permit).with_name(f"v{preparation.version}")
        if folder.exists():
            _set_tree_writable(folder, False)
        _set(preparation, locked_at=timezone.now())
        reason = "superseded" if permit.state == "active" else permit.state
        audit_extract(EventKind.EXTRACT_LOCKED, permit, by, preparation.version, reason=reason)
        locked.append(preparation.version)
    return locked


def delete_expired(now: datetime | None = None) -> list[str]:
    """Delete the locked extracts whose retention period has passed; shred the pseudonym
    secret of each permit that has ended and has no extract left. Audited."""
    now = now or timezone.now()
    limit = now - timedelta(days=settings.DATALUX_SPE_RETENTION_DAYS)
    deleted = []
    due = Preparation.objects.filter(locked_at__lte=limit, deleted_at=None).select_related(
        "permit", "permit__organisation"
    )
    for preparation in due:
        permit = preparation.permit
        folder = extract_folder(permit).with_name(f"v{preparation.version}")
        if folder.exists():
            _set_tree_writable(folder, True)
            shutil.rmtree(folder)
        _set(preparation, deleted_at=now)
        locked_at = preparation.locked_at.isoformat() if preparation.locked_at else None
        audit_extract(
            EventKind.EXTRACT_DELETED, permit, None, preparation.version,
            locked_at=locked_at, retention_days=settings.DATALUX_SPE_RETENTION_DAYS,
        )  # fmt: skip
        deleted.append(f"{permit.number} v{preparation.version}")
        ended = permit.state != "active"
        if ended and not permit.preparations.filter(deleted_at=None).exists():
            shred(project_domain(permit), reason=f"permit {permit.number} {permit.state}")
            _delete_workspace(permit)
    return deleted


def _delete_workspace(permit: Any) -> None:
    """The workspace goes with the last extract: code, job outputs and logs (derived from the
    data), query results and dummy data. The rows stay (who ran what, with the SHA-256)."""
    from datalux.spe.workspaces import root

    folder = root(permit)
    if not folder.exists():
        return
    _set_tree_writable(folder, True)
    shutil.rmtree(folder)
    record(
        EventKind.WORKSPACE_DELETED,
        organisation=permit.organisation,
        obj=permit,
        details={"retention_days": settings.DATALUX_SPE_RETENTION_DAYS},
    )


def resume_stalled(now: datetime | None = None) -> list[int]:
    """Queue again the preparations whose worker was lost (no news for STALLED_AFTER)."""
    now = now or timezone.now()
    resumed = []
    candidates = Preparation.objects.filter(
        state__in=[s.value for s in (S.EXTRACTING, S.PSEUDONYMISING, S.LINKING,
                                     S.ANONYMISING, S.VERIFYING)],
        updated_at__lt=now - STALLED_AFTER,
        attempts__lt=MAX_AUTOMATIC_ATTEMPTS,
    ).select_related("permit")  # fmt: skip
    for preparation in candidates:
        try:
            request_preparation(
                preparation.permit,
                by=preparation.requested_by,
                engine=preparation.engine,  # type: ignore[arg-type]
            )
        except Conflict:
            continue
        resumed.append(preparation.pk)
    return resumed


@task()
def lifecycle_task() -> dict[str, Any]:
    """Hourly: lock what the permit no longer allows (extracts, workspaces), delete after
    retention, resume stalled preparations, requeue jobs whose worker was lost."""
    from datalux.access.models import Permit

    locked = []
    for permit in (
        Permit.objects.exclude(state="active").filter(preparations__locked_at=None).distinct()
    ):
        locked += [f"{permit.number} v{v}" for v in lock_extracts(permit)]
    from datalux.spe.models import Workspace
    from datalux.spe.workjobs import requeue_stalled
    from datalux.spe.workspaces import lock

    for workspace in Workspace.objects.exclude(permit__state="active").filter(locked_at=None):
        lock(workspace.permit)
        locked.append(f"{workspace.permit.number} workspace")
    result = {
        "locked": locked,
        "deleted": delete_expired(),
        "resumed": resume_stalled(),
        "requeued_jobs": requeue_stalled(),
    }
    record(EventKind.TASK_FINISHED, object_type="task", object_id="spe.lifecycle", details=result)
    return result
