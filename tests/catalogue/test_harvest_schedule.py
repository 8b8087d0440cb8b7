"""Operators' harvest sources: the CLI (datalux catalogue source add|list|schedule|remove),
scheduled harvests per source interval through the scheduler, removal."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent
from datalux.catalogue.harvest import HarvestError, harvest_task, register_source, run_harvest
from datalux.catalogue.harvest_sources import queue_due, remove_source, set_schedule
from datalux.catalogue.models import Catalogue, Dataset, HarvestRun, HarvestSource
from datalux.cli import main
from datalux.core.scheduler import JOBS, enqueue_due
from tests.catalogue.test_harvest import PREFIXES, RIVERS, _harvest_settings, holder, write

pytestmark = pytest.mark.django_db
__all__ = ["_harvest_settings", "holder"]

HARVEST = "datalux.catalogue.harvest.harvest_task"


def queued(path: str = HARVEST) -> list[Any]:
    return list(DBTaskResult.objects.filter(task_path=path).order_by("enqueued_at"))


def cli(*args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(main, ["catalogue", "source", *args], input=input)


def test_add_list_schedule_and_remove_on_the_command_line(tmp_path: Path, holder: Any) -> None:
    path = write(tmp_path / "remote.ttl", RIVERS)
    added = cli("add", "geoportail", str(path), "--publisher", holder.slug, "--every", "24")
    assert added.exit_code == 0, added.output
    assert "registered geoportail" in added.output and "every 24 hours" in added.output
    source = HarvestSource.objects.get(name="geoportail")
    assert source.harvest_every_hours == 24 and source.publisher == holder
    run_harvest(source=source)
    listed = cli("list")
    assert listed.exit_code == 0
    [line] = listed.output.splitlines()
    assert line.split("\t")[:4] == ["geoportail", str(path), holder.slug, "every 24 hours"]
    assert "(ok)" in line and line.endswith("1 records")
    paused = cli("schedule", "geoportail", "--pause")
    assert paused.exit_code == 0 and "paused" in paused.output
    resumed = cli("schedule", str(path), "--resume", "--every", "6")
    assert resumed.exit_code == 0 and "every 6 hours" in resumed.output
    manual = cli("schedule", "geoportail", "--manual")
    assert "by hand only" in manual.output
    assert AuditEvent.objects.filter(kind=EventKind.HARVEST_SOURCE_CHANGED).count() == 3
    # Removal asks first; no answer, nothing removed.
    kept = cli("remove", "geoportail", input="n\n")
    assert kept.exit_code == 1 and HarvestSource.objects.filter(name="geoportail").exists()
    removed = cli("remove", "geoportail", input="y\n")
    assert removed.exit_code == 0, removed.output
    assert "removed geoportail: 1 records" in removed.output
    assert (
        not HarvestSource.objects.exists()
        and not Dataset.objects.filter(remote_id__endswith="/rivers").exists()
    )
    assert not Catalogue.objects.filter(slug="harvest-geoportail").exists()
    event = AuditEvent.objects.get(kind=EventKind.HARVEST_SOURCE_REMOVED)
    assert event.details["datasets"] == 1 and event.details["runs"] == 1
    assert "no harvest source is registered yet" in cli("list").output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--publisher", "nobody"], "no organisation 'nobody'"),
        (["--publisher", "HOLDER", "--every", "0"], "whole number from 1 to"),
    ],
)
def test_add_says_what_to_fix(tmp_path: Path, holder: Any, args: list[str], message: str) -> None:
    path = write(tmp_path / "remote.ttl", RIVERS)
    args = [holder.slug if a == "HOLDER" else a for a in args]
    result = cli("add", "x", str(path), *args)
    assert result.exit_code == 1 and message in result.output
    assert not HarvestSource.objects.exists()
    loop = cli("add", "x", "http://127.0.0.1:8000/catalogue/dcat", "--publisher", holder.slug)
    assert loop.exit_code == 1 and "would loop" in loop.output
    both = cli("schedule", "x", "--every", "2", "--manual")
    assert both.exit_code == 2


def test_the_scheduler_queues_each_source_when_its_interval_has_passed(
    tmp_path: Path, holder: Any
) -> None:
    path = str(write(tmp_path / "remote.ttl", RIVERS))
    daily = register_source(name="daily", url=path, publisher=holder, every_hours=24)
    hourly = register_source(name="hourly", url=path, publisher=holder, every_hours=1)
    register_source(name="by-hand", url=path, publisher=holder)
    paused = register_source(name="paused", url=path, publisher=holder, every_hours=1)
    set_schedule(source=paused, every_hours=1, active=False)
    now = timezone.now()
    assert queue_due(now) == ["daily", "hourly"]  # never queued yet
    assert [r.args_kwargs["args"][0] for r in queued()] == [daily.pk, hourly.pk]
    assert queue_due(now) == []  # claimed for this interval
    assert queue_due(now + timedelta(hours=1)) == ["hourly"]
    assert queue_due(now + timedelta(hours=23, minutes=59)) == ["hourly"]
    assert queue_due(now + timedelta(hours=24)) == ["daily"]
    # A scheduled run is a run like any other, marked as the scheduler's.
    result = harvest_task.call(daily.pk, scheduled=True)
    assert result["ok"] is True and result["created"] == 1
    run = HarvestRun.objects.get(source=daily)
    assert run.scheduled and run.by is None
    # A held run is reported as such by the task.
    (tmp_path / "remote.ttl").write_text(PREFIXES)
    held = harvest_task.call(daily.pk, scheduled=True)
    assert held["ok"] is False and held["held"] is True


def test_the_hourly_job_is_in_the_schedule(tmp_path: Path, holder: Any) -> None:
    job = next(j for j in JOBS if j.name == "catalogue.harvest_due")
    assert job.task == "datalux.catalogue.harvest_sources.harvest_due_task"
    register_source(
        name="daily", url=str(write(tmp_path / "r.ttl", RIVERS)), publisher=holder, every_hours=24
    )
    assert "catalogue.harvest_due" in enqueue_due(jobs=[job])
    [due] = queued("datalux.catalogue.harvest_sources.harvest_due_task")
    from datalux.catalogue.harvest_sources import harvest_due_task

    assert harvest_due_task.call() == {"queued": ["daily"]}
    assert len(queued()) == 1 and due is not None


def test_a_source_whose_records_are_referred_to_is_not_removed(
    tmp_path: Path, holder: Any, make_member: Any
) -> None:
    from datalux.access import actions
    from datalux.access.models import ApplicationDataset

    source = register_source(name="x", url=str(write(tmp_path / "r.ttl", RIVERS)), publisher=holder)
    run_harvest(source=source)
    applicant = make_member("applicant")
    application = actions.create_application(
        by=applicant, organisation=applicant.memberships.get().organisation, title="Rivers"
    )
    ApplicationDataset.objects.create(
        application=application, dataset=Dataset.objects.get(harvest_source=source)
    )
    with pytest.raises(HarvestError, match="cannot be removed") as caught:
        remove_source(source=source)
    assert "--pause" in str(caught.value)
    assert HarvestSource.objects.filter(pk=source.pk).exists()
    assert Dataset.objects.filter(harvest_source=source).count() == 1
    assert not AuditEvent.objects.filter(kind=EventKind.HARVEST_SOURCE_REMOVED).exists()


def test_only_platform_admins_manage_sources(tmp_path: Path, holder: Any, make_member: Any) -> None:
    source = register_source(name="x", url=str(write(tmp_path / "r.ttl", RIVERS)), publisher=holder)
    steward = make_member("steward", organisation=holder)
    with pytest.raises(PermissionDenied):
        set_schedule(source=source, every_hours=24, by=steward)
    with pytest.raises(PermissionDenied):
        remove_source(source=source, by=steward)
    with pytest.raises(ValidationError):
        set_schedule(source=source, every_hours=0, by=make_member("platform_admin"))


def test_the_sources_page_and_the_api_show_and_take_the_schedule(
    tmp_path: Path, holder: Any, make_member: Any, client: Any
) -> None:
    path = str(write(tmp_path / "r.ttl", RIVERS))
    client.force_login(make_member("platform_admin"))
    page = client.post(
        "/catalogue/harvest/",
        {"name": "web", "url": path, "publisher": holder.pk, "every_hours": "12"},
    )
    assert page.status_code == 302
    assert "every 12 hours" in client.get("/catalogue/harvest/").content.decode()
    created = client.post(
        "/api/v1/harvest/sources",
        {"name": "api", "url": path, "publisher": holder.slug, "every_hours": 48},
        content_type="application/json",
    )
    assert created.status_code == 201 and created.json()["harvest_every_hours"] == 48
