"""A permit's workspace: who may enter, submitting code, queueing jobs, reading what they made.

Every function here is an action in the STYLE sense: keyword-only, it checks that ``by`` may
work with the permit's data *now* (:func:`datalux.access.actions.access_refusal`: an authorised
person who accepted the terms, the permit active and within its dates), changes state and
writes the audit event in one transaction. A refusal raises :class:`NoAccess` (a 403 with the
reason) and is audited as ``access.denied``.

Files live under ``<storage>/spe/<permit>/workspace/``:

    code/v<N>/          the submitted code version N, as unpacked (read-only to jobs)
    jobs/<id>/output/   what job <id> wrote (its declared outputs only, or it failed)
    jobs/<id>/log.txt   the job's stdout and stderr (may hold data: stays here)
    dummy/v<version>/   the dummy data of the permit's version (no real record)
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from datalux.access.actions import access_refusal
from datalux.access.actions.permits import NoAccess, workspace_refusal
from datalux.access.models import Permit
from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.core.errors import Conflict
from datalux.spe import code as code_files
from datalux.spe import project as projects
from datalux.spe.models import CodeVersion, DataKind, Job, JobCode, JobState, Workspace

MAX_LOG_BYTES_SHOWN = 512 * 1024


def root(permit: Permit) -> Path:
    return Path(settings.DATALUX_STORAGE) / "spe" / permit.number / "workspace"


def code_dir(version: CodeVersion) -> Path:
    return root(version.workspace.permit) / "code" / f"v{version.number}"


def job_dir(job: Job) -> Path:
    return root(job.workspace.permit) / "jobs" / str(job.pk)


def _audit(kind: EventKind, permit: Permit, by: Any, **details: Any) -> None:
    record(kind, actor=by, organisation=permit.organisation, obj=permit, details=details)


def check_access(permit: Permit, by: Any, *, workspace: bool = True) -> None:
    """Raise :class:`NoAccess` (audited) unless ``by`` may work with the data now. With
    ``workspace`` (every caller but the aggregate service) an aggregate-only permit is refused
    too: it gives no files, console or jobs, and the message points to its aggregate page."""
    reason = access_refusal(permit, by)
    if not reason and workspace:
        reason = workspace_refusal(permit)
    if not reason and hasattr(permit, "workspace") and permit.workspace.locked_at:
        reason = _("the workspace of permit %(number)s is locked") % {"number": permit.number}
    if reason:
        record(
            EventKind.ACCESS_DENIED,
            actor=by if getattr(by, "is_authenticated", False) else None,
            organisation=permit.organisation,
            obj=permit,
            details={"action": "workspace" if workspace else "aggregate", "reason": reason[:500]},
        )
        raise NoAccess(reason)


def workspace_of(permit: Permit) -> Workspace:
    workspace, _created = Workspace.objects.get_or_create(permit=permit)
    return workspace


def enter(*, permit: Permit, by: Any) -> Workspace:
    """Open the workspace (each visit of its page is an audited entry)."""
    check_access(permit, by)
    with transaction.atomic():
        workspace = workspace_of(permit)
        _audit(EventKind.WORKSPACE_OPENED, permit, by, version=permit.version)
    return workspace


def allowed_runtimes() -> dict[str, Any]:
    from datalux.spe.runtimes import allowed

    return allowed()


def submit_code(*, workspace: Workspace, by: Any, archive: BinaryIO, note: str = "") -> CodeVersion:
    """Unpack and check a project archive; keep it as the next code version (with its
    SHA-256). The same files as the latest version give that version back, not a copy."""
    permit = workspace.permit
    check_access(permit, by)
    folder = root(permit) / "code"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = Path(tempfile.mkdtemp(prefix=".upload-", dir=folder))
    unpacked = staging / "project"
    try:
        try:
            files = code_files.unpack(archive, unpacked)
            files = [f for f in files if not f.path.startswith(f"{projects.OUTPUT_DIR}/")]
            project = projects.load(unpacked, runtimes=allowed_runtimes())
        except (code_files.CodeError, projects.ProjectError) as exc:
            _audit(EventKind.CODE_REFUSED, permit, by, reason=str(exc)[:500])
            raise
        shutil.rmtree(unpacked / projects.OUTPUT_DIR, ignore_errors=True)
        (unpacked / projects.OUTPUT_DIR).mkdir(mode=0o755)  # the mount point of job outputs
        sha256 = code_files.fingerprint(files)
        with transaction.atomic():
            latest = CodeVersion.objects.select_for_update().filter(workspace=workspace).first()
            if latest is not None and latest.sha256 == sha256:
                return latest
            number = (latest.number if latest else 0) + 1
            version = CodeVersion.objects.create(
                workspace=workspace,
                number=number,
                sha256=sha256,
                files=[f.as_data() for f in files],
                actions=[_action_data(a) for a in project.actions],
                note=note.strip()[:200],
                uploaded_by=by,
            )
            target = code_dir(version)
            if target.exists():  # left by a transaction rolled back after the move
                shutil.rmtree(target)
            unpacked.rename(target)
            _read_only(target)
            _audit(
                EventKind.CODE_SUBMITTED, permit, by,
                code_version=number, sha256=sha256, files=len(files),
                actions=[a.name for a in project.actions],
            )  # fmt: skip
        return version
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _action_data(action: projects.Action) -> dict[str, Any]:
    return {
        "name": action.name,
        "run": " ".join((action.runtime, action.script, *action.args)),
        "needs": list(action.needs),
        "outputs": [
            {"name": o.name, "pattern": o.pattern, "sensitivity": o.sensitivity.value}
            for o in action.outputs
        ],
    }


def _read_only(folder: Path) -> None:
    for path in sorted(folder.rglob("*"), reverse=True):
        if path.name == projects.OUTPUT_DIR and path.parent == folder:
            continue
        path.chmod(0o555 if path.is_dir() else 0o444)
    folder.chmod(0o555)


def project_of(version: CodeVersion) -> projects.Project:
    return projects.load(code_dir(version))


def request_jobs(
    *,
    workspace: Workspace,
    version: CodeVersion,
    actions: Iterable[str],
    by: Any,
    data: str = "extract",
    enqueue: bool = True,
) -> list[Job]:
    """Queue ``actions`` of ``version`` and what they need. A needed action that already
    succeeded on the same code and data is not run again: its outputs are used."""
    permit = workspace.permit
    check_access(permit, by)
    if version.workspace_id != workspace.pk:
        raise Conflict(_("this code version belongs to another workspace"))
    if data not in DataKind.values:
        raise Conflict(_("run on the extract or on dummy data"))
    if data == DataKind.EXTRACT:
        extract = permit.preparations.filter(version=permit.version).first()
        if extract is None or not extract.available:
            raise Conflict(
                _("the extract of permit %(number)s is not ready: run on dummy data meanwhile")
                % {"number": permit.number}
            )
    else:
        from datalux.spe.dummydata import ensure_dummy

        ensure_dummy(permit, by=by)
    project = project_of(version)
    names = list(actions)
    if not names:
        raise Conflict(_("choose at least one action to run"))
    wanted = project.with_needs(names)
    created: list[Job] = []
    with transaction.atomic():
        by_action: dict[str, Job] = {}
        for action in wanted:
            reusable = (
                Job.objects.filter(
                    code_version=version, action=action.name, data=data,
                    state=JobState.SUCCEEDED,
                ).first()
                if action.name not in names
                else None
            )  # fmt: skip
            if reusable is not None:
                by_action[action.name] = reusable
                continue
            job = Job.objects.create(
                workspace=workspace,
                code_version=version,
                action=action.name,
                data=data,
                requested_by=by,
                limits=limits_of(workspace),
            )
            job.needs.set([by_action[n] for n in action.needs])
            by_action[action.name] = job
            created.append(job)
            _audit(
                EventKind.JOB_REQUESTED, permit, by,
                job=job.pk, action=action.name, data=data, code_version=version.number,
                sha256=version.sha256, needs=[by_action[n].pk for n in action.needs],
            )  # fmt: skip
    if enqueue:
        from datalux.spe.workjobs import dispatch

        dispatch(workspace)
    return created


def limits_of(workspace: Workspace) -> dict[str, int]:
    return {
        "cpu_seconds": workspace.cpu_seconds,
        "memory_mb": workspace.memory_mb,
        "wall_seconds": workspace.wall_seconds,
        "max_processes": workspace.max_processes,
        "output_mb": workspace.output_mb,
    }


def cancel_job(*, job: Job, by: Any) -> Job:
    """Cancel a queued job at once; a running one is stopped by its worker."""
    permit = job.workspace.permit
    check_access(permit, by)
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.finished:
            raise Conflict(_("job %(id)s has ended already") % {"id": job.pk})
        now = timezone.now()
        job.cancel_requested_at = now
        fields = ["cancel_requested_at", "updated_at"]
        if job.state == JobState.QUEUED:
            job.state, job.code, job.finished_at = JobState.FAILED, JobCode.CANCELLED, now
            fields += ["state", "code", "finished_at"]
        job.updated_at = now
        job.save(update_fields=fields)
        _audit(EventKind.JOB_CANCELLED, permit, by, job=job.pk, action=job.action)
    return job


def read_file(*, job: Job, relative: str, by: Any) -> Path:
    """The path of a job's log (``log.txt``) or one of its outputs, after an audited check."""
    permit = job.workspace.permit
    check_access(permit, by)
    if relative == "log.txt":
        path = job_dir(job) / "log.txt"
    else:
        known = {o["path"] for o in job.outputs}
        if relative not in known:
            raise NoAccess(
                _("job %(id)s has no output %(path)s") % {"id": job.pk, "path": relative}
            )
        path = job_dir(job) / relative
    if not path.is_file():
        raise NoAccess(_("the file is not there (any more)"))
    _audit(EventKind.WORKSPACE_FILE_VIEWED, permit, by, job=job.pk, file=relative)
    return path


def lock(permit: Permit, *, by: Any = None) -> int:
    """Lock the workspace of a permit that stopped being active: queued jobs fail
    ``workspace_locked``; running ones are stopped by their worker. Returns jobs stopped."""
    workspace = Workspace.objects.filter(permit=permit).first()
    if workspace is None:
        return 0
    now = timezone.now()
    with transaction.atomic():
        if workspace.locked_at is None:
            Workspace.objects.filter(pk=workspace.pk).update(locked_at=now)
            _audit(EventKind.WORKSPACE_LOCKED, permit, by, state=permit.state)
        stopped = Job.objects.filter(workspace=workspace, state=JobState.QUEUED).update(
            state=JobState.FAILED, code=JobCode.WORKSPACE_LOCKED, finished_at=now, updated_at=now
        )
        Job.objects.filter(
            workspace=workspace, state__in=[JobState.PREPARING, JobState.RUNNING]
        ).update(cancel_requested_at=now)
    return stopped


def unlock_if_active(permit: Permit) -> None:
    """A permit made active again (an amendment's new version) reopens its workspace."""
    if permit.state == "active":
        Workspace.objects.filter(permit=permit, locked_at__isnull=False).update(locked_at=None)
