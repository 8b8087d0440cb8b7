"""A preparation as a durable job: states, failures with codes, a killed worker, the permit's
lifecycle (lock, retention, crypto-shredding)."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from django.conf import settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from datalux.access import actions
from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent
from datalux.core.errors import Conflict
from datalux.dataplane.engine import connect
from datalux.dataplane.extract import ExtractError, Manifest, prepare_extract
from datalux.privacy.keys import MASTER_KEY_ENV_VAR, MasterKey
from datalux.spe import jobs
from datalux.spe.keys import project_keys
from datalux.spe.models import Preparation, PreparationState, ProjectKey
from datalux.spe.plan import plan_for, project_domain, table_name
from datalux.spe.prepare import extract_folder
from tests.access.world import World
from tests.spe.test_plan import _permit, _rows, _store

pytestmark = pytest.mark.django_db
S = PreparationState
MASTER = MasterKey(b"j" * 32)


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MASTER_KEY_ENV_VAR, MASTER.to_base64())
    monkeypatch.setattr(settings, "DATALUX_TTP_KEY_FILE", None)


def _prepare(permit: Any, **kwargs: Any) -> Preparation:
    """Request the preparation, check it was queued, and run it as the worker does."""
    preparation = jobs.request_preparation(permit, **kwargs)
    assert preparation.state == S.QUEUED
    [queued] = DBTaskResult.objects.filter(status="READY").order_by("-enqueued_at")[:1]
    assert queued.task_path.endswith("prepare_task") and queued.args_kwargs["args"] == [
        preparation.pk
    ]
    jobs.run_preparation(preparation.pk)
    preparation.refresh_from_db()
    return preparation


def _kinds(permit: Any) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="access.permit", object_id=str(permit.pk))
        .filter(kind__startswith="extract.")
        .order_by("seq")
        .values_list("kind", flat=True)
    )


def test_a_requested_preparation_runs_step_by_step_to_ready(world: World) -> None:
    _store(world)
    permit = _permit(world)
    preparation = _prepare(permit, by=world.handler)
    assert preparation.state == S.READY and preparation.attempts == 1
    assert preparation.manifest["tables"][0]["name"] == table_name(world.stays)
    assert preparation.manifest == Manifest.read(extract_folder(permit)).as_data()
    assert _kinds(permit) == [
        "extract.requested",
        "extract.step",  # extracting
        "extract.step",  # pseudonymising
        "extract.step",  # verifying
        "extract.prepared",
    ]
    steps = AuditEvent.objects.filter(kind=EventKind.EXTRACT_STEP).order_by("seq")
    assert [e.details["step"] for e in steps] == ["extracting", "pseudonymising", "verifying"]
    # asked again: the ready extract is returned, nothing runs
    assert jobs.request_preparation(permit).pk == preparation.pk
    assert AuditEvent.objects.filter(kind=EventKind.EXTRACT_REQUESTED).count() == 1


def test_a_refused_preparation_fails_with_a_code_and_the_fix(world: World) -> None:
    permit = _permit(world)  # no stored data
    preparation = _prepare(permit)
    assert preparation.state == S.FAILED and preparation.code == "data-missing"
    assert "its steward must upload the data" in preparation.message
    assert not extract_folder(permit).exists()
    _store(world)  # fixed: asked again, it is prepared
    preparation = _prepare(permit)
    assert preparation.state == S.READY and preparation.attempts == 2


def test_a_missing_key_is_named(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    _store(world)
    monkeypatch.delenv(MASTER_KEY_ENV_VAR)
    preparation = _prepare(_permit(world))
    assert preparation.state == S.FAILED and preparation.code == "key-missing"
    assert "datalux privacy keygen" in preparation.message


def test_an_inactive_permit_is_refused_before_queueing(world: World) -> None:
    _store(world)
    permit = _permit(world)
    actions.revoke_permit(permit=permit, by=world.decider, reason="Breach of the conditions.")
    permit.refresh_from_db()
    with pytest.raises(Conflict, match="is Revoked"):
        jobs.request_preparation(permit)
    assert not Preparation.objects.exists()
    assert AuditEvent.objects.get(kind=EventKind.EXTRACT_REFUSED).details["code"] == (
        "permit-inactive"
    )


def test_a_running_preparation_is_not_started_twice_unless_it_stalled(world: World) -> None:
    _store(world)
    permit = _permit(world)
    preparation = Preparation.objects.create(
        permit=permit, version=permit.version, state=S.PSEUDONYMISING, attempts=1
    )
    with pytest.raises(Conflict, match="pseudonymising already"):
        jobs.request_preparation(permit)
    assert jobs.resume_stalled() == []
    old = timezone.now() - jobs.STALLED_AFTER - timedelta(minutes=1)
    Preparation.objects.filter(pk=preparation.pk).update(updated_at=old)
    assert jobs.resume_stalled() == [preparation.pk]
    preparation.refresh_from_db()
    assert preparation.state == S.QUEUED
    jobs.run_preparation(preparation.pk)  # the worker
    preparation.refresh_from_db()
    assert preparation.state == S.READY and preparation.attempts == 2


# --- a worker killed midway ----------------------------------------------------------------

KILLED_WORKER = r"""
import json, sys, time
from pathlib import Path
from datalux.dataplane.engine import connect
from datalux.dataplane.extract import ExtractPlan, Filter, TablePlan, prepare_extract

spec = json.loads(sys.argv[1])
tables = tuple(
    TablePlan(**{**t, "source": Path(t["source"]),
                 "filters": tuple(Filter(**f) for f in t["filters"])})
    for t in spec["tables"]
)
plan = ExtractPlan(tables=tables, domain=spec["domain"])

def progress(step, table):
    if step == spec["stop_at"]:
        Path(spec["marker"]).write_text(step)
        time.sleep(120)  # the test kills this process here

with connect("duckdb") as backend:
    prepare_extract(backend, plan, Path(spec["output"]), hmac_key=spec["key"].encode(),
                    prepared_at="2026-01-01T00:00:00+00:00", progress=progress)
"""


def _spawn_and_kill(plan: Any, output: Path, key: bytes, stop_at: str, tmp_path: Path) -> None:
    marker = tmp_path / f"reached-{stop_at}"
    tables = [
        {
            "name": t.name, "source": str(t.source), "variables": list(t.variables),
            "filters": [f.__dict__ for f in t.filters], "period_column": t.period_column,
            "national_id": t.national_id, "direct_identifiers": list(t.direct_identifiers),
        }
        for t in plan.tables
    ]  # fmt: skip
    spec = {
        "tables": tables, "domain": plan.domain, "output": str(output), "key": key.decode(),
        "stop_at": stop_at, "marker": str(marker),
    }  # fmt: skip
    worker = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", KILLED_WORKER, json.dumps(spec)], env={**os.environ}
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert worker.poll() is None, "the worker ended before the step"
            assert time.monotonic() < deadline, "the worker never reached the step"
            time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()


@pytest.mark.parametrize("stop_at", ["pseudonymising", "verifying"])
def test_a_worker_killed_midway_leaves_nothing_visible_and_a_rerun_gives_the_same_files(
    world: World, tmp_path: Path, stop_at: str
) -> None:
    _store(world)
    permit = _permit(world)
    plan = plan_for(permit)
    plan = type(plan)(tables=plan.tables, domain=plan.domain)  # period checked in test_plan
    key = project_keys(MASTER, plan.domain).hmac_key
    output = tmp_path / "spe" / "v1"
    _spawn_and_kill(plan, output, key, stop_at, tmp_path)

    assert not output.exists()  # nothing visible
    [staging] = output.parent.glob(".v1.partial-*")  # what the killed worker left
    assert staging.is_dir()
    with connect("duckdb") as backend:
        rerun = prepare_extract(
            backend, plan, output, hmac_key=key, prepared_at="2026-01-01T00:00:00+00:00"
        )
        reference = prepare_extract(
            backend, plan, tmp_path / "reference", hmac_key=key,
            prepared_at="2026-01-01T00:00:00+00:00",
        )  # fmt: skip
    assert [t.sha256 for t in rerun.tables] == [t.sha256 for t in reference.tables]
    assert (output / "manifest.json").read_bytes() != b""


def test_the_job_resumes_after_its_worker_was_killed(world: World, tmp_path: Path) -> None:
    """The preparation the killed worker left (state, staging folder) is run again whole."""
    _store(world)
    permit = _permit(world)
    folder = extract_folder(permit)
    plan = plan_for(permit)
    key = project_keys(MASTER, plan.domain).hmac_key
    _spawn_and_kill(plan, folder, key, "verifying", tmp_path)
    stale = list(folder.parent.glob(f".{folder.name}.partial-*"))
    assert stale and not folder.exists()
    old = timezone.now() - jobs.STALLED_AFTER - timedelta(minutes=1)
    preparation = Preparation.objects.create(
        permit=permit, version=permit.version, state=S.VERIFYING, attempts=1, updated_at=old
    )
    assert jobs.resume_stalled() == [preparation.pk]
    preparation.refresh_from_db()
    assert preparation.state == S.QUEUED
    jobs.run_preparation(preparation.pk)  # the worker
    preparation.refresh_from_db()
    assert preparation.state == S.READY and not any(p.exists() for p in stale)
    with connect("duckdb") as backend:
        reference = prepare_extract(backend, plan, tmp_path / "reference", hmac_key=key)
    assert [t["sha256"] for t in preparation.manifest["tables"]] == [
        t.sha256 for t in reference.tables
    ]


# --- lifecycle -----------------------------------------------------------------------------


def _ready(world: World) -> Any:
    _store(world)
    permit = _permit(world)
    _prepare(permit)
    return permit


def test_revocation_locks_the_extract_at_once(world: World) -> None:
    permit = _ready(world)
    folder = extract_folder(permit)
    actions.revoke_permit(permit=permit, by=world.decider, reason="Breach of the conditions.")
    preparation = Preparation.objects.get(permit=permit)
    assert preparation.locked_at is not None and not preparation.available
    written = folder / f"{table_name(world.stays)}.parquet"
    writable = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    for path in (folder, written, folder / "manifest.json"):
        assert not path.stat().st_mode & writable, path  # no write bit left for anyone
    if os.geteuid() != 0:  # root ignores mode bits; the sandbox mounts extracts read-only
        with pytest.raises(PermissionError):
            written.open("ab").close()
        with pytest.raises(PermissionError):
            (folder / "extra.parquet").write_bytes(b"")
    event = AuditEvent.objects.get(kind=EventKind.EXTRACT_LOCKED)
    assert event.details == {"version": 1, "reason": "revoked"}


def test_an_amended_permit_gets_a_new_extract_and_the_old_one_is_locked(world: World) -> None:
    permit = _ready(world)
    actions.amend_permit(
        permit=permit, by=world.decider, reason="Less data.",
        datasets={world.stays.pid: {"variables": ["age"]}},
    )  # fmt: skip
    permit.refresh_from_db()
    assert permit.version == 2
    old = Preparation.objects.get(permit=permit, version=1)
    assert old.locked_at is not None
    new = _prepare(permit)
    assert new.state == S.READY and new.version == 2 and new.locked_at is None
    written = pq.read_table(extract_folder(permit) / f"{table_name(world.stays)}.parquet")
    assert written.column_names == ["person_id", "age"]
    first = pq.read_table(extract_folder(permit).with_name("v1") / written_name(world))
    # one project, one domain: the same persons keep the same pseudonyms across versions
    assert set(written.column("person_id").to_pylist()) <= set(
        first.column("person_id").to_pylist()
    )


def written_name(world: World) -> str:
    return f"{table_name(world.stays)}.parquet"


def test_after_retention_the_extract_is_deleted_and_the_domain_shredded(world: World) -> None:
    permit = _ready(world)
    folder = extract_folder(permit)
    domain = project_domain(permit)
    before = project_keys(MASTER, domain).hmac_key
    actions.revoke_permit(permit=permit, by=world.decider, reason="Breach of the conditions.")
    assert jobs.delete_expired() == []  # still within the retention period
    assert folder.exists()
    later = timezone.now() + timedelta(days=settings.DATALUX_SPE_RETENTION_DAYS, seconds=1)
    assert jobs.delete_expired(later) == [f"{permit.number} v1"]
    assert not folder.exists()
    assert Preparation.objects.get(permit=permit).deleted_at is not None
    row = ProjectKey.objects.get(domain=domain)
    assert row.secret is None and row.shredded_at is not None
    with pytest.raises(ExtractError, match="was destroyed") as refused:
        project_keys(MASTER, domain)
    assert refused.value.code == "key-shredded"
    # the master key alone no longer gives the project's key
    assert MASTER.domain_keys(domain).hmac_key != before
    kinds = set(AuditEvent.objects.values_list("kind", flat=True))
    assert {EventKind.EXTRACT_DELETED, EventKind.PROJECT_KEY_SHREDDED} <= kinds


def test_two_projects_and_the_bare_master_key_give_different_pseudonyms(world: World) -> None:
    a = project_keys(MASTER, "project:dlx-p-2026-00001").hmac_key
    b = project_keys(MASTER, "project:dlx-p-2026-00002").hmac_key
    assert len({a, b, MASTER.domain_keys("project:dlx-p-2026-00001").hmac_key}) == 3
    assert project_keys(MASTER, "project:dlx-p-2026-00001").hmac_key == a  # stable


def test_the_scheduled_lifecycle_locks_what_the_signal_missed(world: World) -> None:
    permit = _ready(world)
    type(permit).objects.filter(pk=permit.pk).update(state="expired")  # no signal
    result = jobs.lifecycle_task.call()
    assert result["locked"] == [f"{permit.number} v1"]
    assert Preparation.objects.get(permit=permit).locked_at is not None


def test_the_rows_prepared_are_those_of_the_source(world: World) -> None:
    permit = _ready(world)
    written = pq.read_table(extract_folder(permit) / written_name(world))
    assert 0 < written.num_rows < len(_rows())
