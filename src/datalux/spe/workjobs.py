"""Jobs on the durable task queue: dispatched when ready, run in the sandbox, never lost.

- :func:`dispatch` puts on the queue every queued job of a workspace whose needs have all
  succeeded, up to the workspace's limit of running jobs; a job whose need failed fails
  ``dependency_failed`` (and so do the jobs that need it). It runs after each request and
  after each job ends, so dependent jobs start as soon as they can.
- :func:`run_job` (the worker): queued → preparing (folders, inputs) → running (the sandbox)
  → succeeded or failed with its status code. Each step is saved and audited; the log and
  the outputs stay in the workspace. An unexpected error fails the job ``internal_error`` with
  a fixed message (the traceback goes to the server log only).
- :func:`requeue_stalled` (scheduled) puts back on the queue a job whose worker was lost (no
  news for longer than its wall-time limit plus a margin): its partial outputs are removed and
  it runs again from the start, at most ``MAX_ATTEMPTS`` times.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.spe import runner, sandbox
from datalux.spe.models import DataKind, Job, JobCode, JobState, Workspace
from datalux.spe.workspaces import code_dir, job_dir, project_of

log = logging.getLogger(__name__)
STALL_MARGIN = timedelta(minutes=10)
MAX_ATTEMPTS = 3
ACTIVE = (JobState.PREPARING, JobState.RUNNING)


def _audit(kind: EventKind, job: Job, **details: Any) -> None:
    permit = job.workspace.permit
    record(
        kind,
        actor=job.requested_by,
        organisation=permit.organisation,
        obj=permit,
        details={"job": job.pk, "action": job.action, **details},
    )


def _finish(job: Job, code: Any, **fields: Any) -> None:
    now = timezone.now()
    state = JobState.SUCCEEDED if code == JobCode.SUCCEEDED else JobState.FAILED
    Job.objects.filter(pk=job.pk).update(
        state=state, code=code, finished_at=now, updated_at=now, **fields
    )
    job.state, job.code = state, code
    _audit(
        EventKind.JOB_FINISHED, job, code=code, exit_code=fields.get("exit_code"),
        outputs=[{"path": o["path"], "sha256": o["sha256"]} for o in fields.get("outputs", [])],
    )  # fmt: skip


def dispatch(workspace: Workspace, *, enqueue: bool = True) -> list[int]:
    """Queue the jobs that may start now; fail those whose needs failed. Returns job ids."""
    started: list[int] = []
    with transaction.atomic():
        Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
        running = Job.objects.filter(workspace=workspace, state__in=ACTIVE).count()
        running += Job.objects.filter(  # handed to the queue, not picked up yet
            workspace=workspace, state=JobState.QUEUED, attempts__gt=0
        ).count()
        changed = True
        while changed:  # a failure may fail the jobs that need it in turn
            changed = False
            for job in Job.objects.filter(workspace=workspace, state=JobState.QUEUED).order_by(
                "pk"
            ):
                needs = list(job.needs.all())
                if any(n.state == JobState.FAILED for n in needs):
                    _finish(job, JobCode.DEPENDENCY_FAILED)
                    changed = True
        for job in Job.objects.filter(
            workspace=workspace, state=JobState.QUEUED, attempts=0
        ).order_by("pk"):
            if running >= workspace.max_running_jobs:
                break
            if all(n.state == JobState.SUCCEEDED for n in job.needs.all()):
                Job.objects.filter(pk=job.pk).update(attempts=1, updated_at=timezone.now())
                running += 1
                started.append(job.pk)
    if enqueue:
        for pk in started:
            transaction.on_commit(lambda pk=pk: run_job_task.enqueue(pk))
    return started


def run_job(job_id: int) -> Job:
    """Run one job to its end (never raises: failures become status codes)."""
    job = Job.objects.select_related(
        "workspace", "workspace__permit", "workspace__permit__organisation", "code_version",
        "requested_by",
    ).get(pk=job_id)  # fmt: skip
    if job.state != JobState.QUEUED:
        return job
    workspace = job.workspace
    try:
        result = _run(job)
    except Exception:
        log.exception("job %s of %s failed", job.pk, workspace.permit.number)
        _finish(job, JobCode.INTERNAL_ERROR)
    else:
        if result is not None:
            fresh = Job.objects.get(pk=job.pk)
            code = JobCode.CANCELLED if fresh.cancel_requested_at and not result.succeeded \
                else result.code  # fmt: skip
            if workspace.permit.state != "active" and code != JobCode.SUCCEEDED:
                code = JobCode.WORKSPACE_LOCKED
            outputs = _checked(job, result.outputs) if code == JobCode.SUCCEEDED else []
            _finish(
                job, code, exit_code=result.exit_code, outputs=outputs,
                limits={**job.limits, **result.limits},
            )  # fmt: skip
    dispatch(workspace)
    return Job.objects.get(pk=job.pk)


def _checked(job: Job, outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The automatic disclosure checks of each moderately sensitive output, run as the job ends
    (evidence for the output checkers; the release request gates on them), under the permit's
    output rules."""
    from datalux.privacy.output_checks import Rules, check_file

    rules = Rules.from_permit(job.workspace.permit.output_rules or {})
    checked = []
    for output in outputs:
        if output["sensitivity"] == "moderately_sensitive":
            verdict = check_file(job_dir(job) / output["path"], rules)
            output = {**output, "checks": {
                "status": verdict.status,
                "checks": [{"name": c.name, "status": c.status, "detail": c.detail,
                            "cells": c.cells} for c in verdict.checks],
            }}  # fmt: skip
        checked.append(output)
    return checked


def _run(job: Job) -> runner.ActionResult | None:
    from datalux.spe.dummydata import dummy_dir
    from datalux.spe.prepare import extract_folder
    from datalux.spe.runtimes import allowed

    workspace, permit = job.workspace, job.workspace.permit
    now = timezone.now()
    if workspace.locked_at or permit.state != "active":
        _finish(job, JobCode.WORKSPACE_LOCKED)
        return None
    if job.cancel_requested_at:
        _finish(job, JobCode.CANCELLED)
        return None
    Job.objects.filter(pk=job.pk).update(state=JobState.PREPARING, started_at=now, updated_at=now)
    folder = job_dir(job)
    if folder.exists():
        shutil.rmtree(folder)  # a rerun after a lost worker starts clean
    folder.mkdir(parents=True, mode=0o700)
    project = project_of(job.code_version)
    action = project.action(job.action)
    inputs: dict[str, Path] = {}
    for need in job.needs.all():
        for output in need.outputs:
            inputs[output["path"]] = job_dir(need) / output["path"]
    data = extract_folder(permit) if job.data == DataKind.EXTRACT else dummy_dir(permit)
    runtimes = allowed()
    probe = sandbox.probe()
    if not probe.ok:
        log.error("sandbox unavailable for job %s: %s", job.pk, probe.reason)
        _finish(job, JobCode.SANDBOX_UNAVAILABLE)
        return None
    limits = sandbox.Limits(
        cpu_seconds=workspace.cpu_seconds,
        memory_bytes=workspace.memory_mb * 1024 * 1024,
        wall_seconds=workspace.wall_seconds,
        max_processes=workspace.max_processes,
        output_bytes=workspace.output_mb * 1024 * 1024,
    )
    Job.objects.filter(pk=job.pk).update(state=JobState.RUNNING, updated_at=timezone.now())
    _audit(EventKind.JOB_STARTED, job, data=job.data, limits=limits.as_data(),
           code_version=job.code_version.number, sha256=job.code_version.sha256)  # fmt: skip
    return runner.run_action(
        action,
        code_dir=code_dir(job.code_version),
        data_dir=data,
        output_dir=folder / "output",
        log_path=folder / "log.txt",
        runtime=runtimes[action.runtime],
        limits=limits,
        inputs=inputs,
        cancelled=_cancel_check(job.pk),
    )


def _cancel_check(job_id: int, every: float = 2.0) -> Callable[[], bool]:
    """Whether the job was cancelled (or its workspace locked): asks the database at most
    every ``every`` seconds, however often the sandbox polls."""
    import time

    state = {"at": 0.0, "cancelled": False}

    def check() -> bool:
        now = time.monotonic()
        if not state["cancelled"] and now - state["at"] >= every:
            state["at"] = now
            state["cancelled"] = Job.objects.filter(
                pk=job_id, cancel_requested_at__isnull=False
            ).exists()
        return bool(state["cancelled"])

    return check


@task()
def run_job_task(job_id: int) -> dict[str, Any]:
    job = run_job(job_id)
    return {"job": job.pk, "state": job.state, "code": job.code}


def stalled(job: Job, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    limit = timedelta(seconds=int(job.limits.get("wall_seconds", 7200))) + STALL_MARGIN
    if job.state in ACTIVE:
        return job.updated_at < now - limit
    # queued and handed to the queue (attempts > 0) but never picked up: the task was lost
    return job.state == JobState.QUEUED and job.attempts > 0 and job.updated_at < now - limit


def requeue_stalled(now: datetime | None = None) -> list[int]:
    """Put back jobs whose worker was lost; fail those that were lost ``MAX_ATTEMPTS`` times."""
    requeued = []
    for job in Job.objects.filter(state__in=[*ACTIVE, JobState.QUEUED]).select_related(
        "workspace", "workspace__permit", "requested_by"
    ):
        if not stalled(job, now):
            continue
        if job.attempts >= MAX_ATTEMPTS:
            _finish(job, JobCode.INTERNAL_ERROR)
            continue
        shutil.rmtree(job_dir(job), ignore_errors=True)
        Job.objects.filter(pk=job.pk).update(
            state=JobState.QUEUED, attempts=job.attempts + 1, updated_at=timezone.now(),
            started_at=None,
        )  # fmt: skip
        _audit(EventKind.JOB_REQUEUED, job, attempt=job.attempts + 1)
        requeued.append(job.pk)
        transaction.on_commit(lambda pk=job.pk: run_job_task.enqueue(pk))
    return requeued
