"""The clock and the scheduled jobs with a frozen clock: deadlines, extension, reminders,
permit expiry, and the scheduler that enqueues each job once per period."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from click.testing import CliRunner
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from datalux.access import actions
from datalux.access.models import Application, Notification, Permit, Procedure
from datalux.access.states import PermitState
from datalux.access.tasks import expire_permits, send_reminders
from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent
from datalux.cli import main
from datalux.core import scheduler
from datalux.core.models import PeriodicJob
from datalux.core.scheduler import HOUR, JOBS, Job, claim, enqueue_due
from tests.access.world import World

pytestmark = pytest.mark.django_db
LUX = ZoneInfo("Europe/Luxembourg")


def at(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    """A moment in Luxembourg time (noon unless said otherwise)."""
    return datetime(year, month, day, hour, minute, tzinfo=LUX)


def events(kind: EventKind, obj: Any = None, object_id: str = "") -> int:
    qs = AuditEvent.objects.filter(kind=kind)
    if obj is not None:
        qs = qs.filter(object_id=str(obj.pk))
    if object_id:
        qs = qs.filter(object_id=object_id)
    return qs.count()


# The deadline -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "deadline"),
    [
        (at(2026, 12, 31), date(2027, 2, 28)),  # no 31 February: the month's last day
        (at(2027, 12, 31), date(2028, 2, 29)),  # leap year
        (at(2026, 8, 31), date(2026, 10, 31)),
        (at(2026, 7, 31), date(2026, 9, 30)),
        (at(2026, 3, 15), date(2026, 5, 15)),  # across the change to summer time
    ],
)
def test_the_deadline_is_two_months_after_receipt(
    world: World, received: datetime, deadline: date
) -> None:
    with time_machine.travel(received, tick=False):
        application = world.submitted()
    application.refresh_from_db()
    assert application.received_at == received
    assert timezone.localtime(application.deadline).date() == deadline
    clock = application.clock(received + timedelta(days=1))
    assert clock.running and not clock.overdue
    assert clock.status == f"{clock.days_left} days left"
    assert clock.days_left == (deadline - received.date()).days - 1


def test_a_draft_has_no_clock_and_the_decision_stops_it(world: World) -> None:
    draft = world.draft()
    assert draft.deadline is None and draft.clock().status == "not started"
    with time_machine.travel(at(2026, 1, 10), tick=False):
        application = world.under_review()
    with time_machine.travel(at(2026, 3, 20), tick=False):  # ten days late
        actions.decide(
            application=application, by=world.decider, outcome="rejected", reasons="Not lawful."
        )
    application.refresh_from_db()
    later = application.clock(at(2027, 1, 1))
    assert not later.running and later.overdue and later.status == "decided late"
    decided = AuditEvent.objects.get(kind=EventKind.APPLICATION_DECIDED)
    assert '"in_time":false' in decided.details_json.replace(" ", "")


def test_the_clock_starts_when_complete_where_the_procedure_says_so(world: World) -> None:
    ehds = Procedure.objects.create(
        slug="ehds",
        name="Health data (EHDS)",
        decision_months=3,
        clock_start="complete",
        reminder_days=[14, 3],
    )
    application = world.draft()
    Application.objects.filter(pk=application.pk).update(procedure=ehds)
    application.refresh_from_db()
    with time_machine.travel(at(2026, 1, 10), tick=False):
        actions.submit(application=application, by=world.applicant)
    assert application.deadline is None  # received, but not yet found complete
    actions.assign(application=application, by=world.handler, handler=world.handler)
    with time_machine.travel(at(2026, 1, 20), tick=False):
        actions.start_review(application=application, by=world.handler)
    application.refresh_from_db()
    assert timezone.localtime(application.deadline).date() == date(2026, 4, 20)


def test_the_deadline_is_extended_once_by_thirty_days_with_the_reason_sent(
    world: World,
) -> None:
    with time_machine.travel(at(2026, 1, 10), tick=False):
        application = world.under_review()
        before = application.deadline
        with pytest.raises(ValidationError, match="must be told why"):
            actions.extend_deadline(application=application, by=world.handler, reason=" ")
        actions.extend_deadline(
            application=application, by=world.handler, reason="Two holders must be consulted."
        )
        assert application.deadline == before + timedelta(days=30)
        with pytest.raises(ValidationError, match="only once"):
            actions.extend_deadline(application=application, by=world.handler, reason="Again")
    application.refresh_from_db()
    assert application.extended_days == 30
    assert timezone.localtime(application.deadline).date() == date(2026, 4, 9)
    note = Notification.objects.get(user=world.applicant, subject__contains="deadline extended")
    assert "Two holders must be consulted." in note.body and "09 April 2026" in note.body
    assert events(EventKind.APPLICATION_DEADLINE_EXTENDED, application) == 1


def test_a_passed_deadline_cannot_be_extended(world: World) -> None:
    with time_machine.travel(at(2026, 1, 10), tick=False):
        application = world.under_review()
    with time_machine.travel(at(2026, 3, 11), tick=False):
        with pytest.raises(ValidationError, match="passed on 10 March 2026"):
            actions.extend_deadline(application=application, by=world.handler, reason="Late")
    application.refresh_from_db()
    assert application.extended_days == 0


# Reminders ----------------------------------------------------------------------------------


def _reminders(application: Application) -> list[Notification]:
    return list(Notification.objects.filter(application=application, subject__contains="deadline"))


def test_reminders_go_once_per_mark_to_the_handler_and_the_deciders(world: World) -> None:
    with time_machine.travel(at(2026, 1, 10), tick=False):
        application = world.under_review()  # deadline 10 March, reminders at 14 and 3 days
    decided = world.approved()  # decided: its clock stopped, never reminded
    sent: list[tuple[str, int]] = []
    for moment in [
        at(2026, 2, 20),  # 18 days left: nothing yet
        at(2026, 2, 25),  # 13 days left: the 14-day mark
        at(2026, 2, 26),  # still the same mark: nothing more
        at(2026, 3, 8),  # 2 days left: the 3-day mark
        at(2026, 3, 10, 13, 0),  # an hour late: overdue
        at(2026, 3, 20),  # nothing more, ever
    ]:
        with time_machine.travel(moment, tick=False):
            result = send_reminders.call()
        sent.append((moment.date().isoformat(), result["reminders"]))
    assert sent == [
        ("2026-02-20", 0),
        ("2026-02-25", 1),
        ("2026-02-26", 0),
        ("2026-03-08", 1),
        ("2026-03-10", 1),
        ("2026-03-20", 0),
    ]
    application.refresh_from_db()
    assert application.reminders_sent == ["14d", "3d", "overdue"]
    notes = _reminders(application)
    assert len(notes) == 3 * 2  # three marks, each to the handler and the decider
    assert {n.user for n in notes} == {world.handler, world.decider}
    subjects = sorted({n.subject for n in notes})
    assert any("has passed" in s for s in subjects) and any("in 13 days" in s for s in subjects)
    assert events(EventKind.APPLICATION_DEADLINE_REMINDER, application) == 3
    assert not _reminders(decided)
    assert events(EventKind.TASK_FINISHED, object_id="access.send_reminders") == 6


def test_unassigned_applications_remind_every_handler(world: World) -> None:
    with time_machine.travel(at(2026, 1, 10), tick=False):
        application = world.submitted()
    with time_machine.travel(at(2026, 3, 9), tick=False):
        assert actions.send_deadline_reminders() == 1
    recipients = {n.user for n in _reminders(application)}
    assert recipients == {world.handler, world.handler2, world.decider}
    assert world.applicant not in recipients and world.reviewer not in recipients


# Permit expiry ------------------------------------------------------------------------------


def test_the_expiry_job_expires_only_permits_past_their_end_date(world: World) -> None:
    with time_machine.travel(at(2026, 1, 5), tick=False):
        ending = world.approved(starts_on="2026-01-05", ends_on="2026-06-30").permit
        lasting = world.approved(starts_on="2026-01-05", ends_on="2027-01-31").permit
        actions.accept_terms(application=ending.application, by=world.applicant)
    assert actions.access_refusal(ending, world.applicant, today=date(2026, 6, 30)) == ""

    with time_machine.travel(at(2026, 6, 30, 23, 30), tick=False):  # its last day
        assert expire_permits.call() == {"expired": []}
    with time_machine.travel(at(2026, 7, 1, 0, 30), tick=False):
        assert expire_permits.call() == {"expired": [ending.number]}
        assert expire_permits.call() == {"expired": []}  # idempotent
        refusal = actions.access_refusal(Permit.objects.get(pk=ending.pk), world.applicant)
        assert refusal == f"permit {ending.number} is expired"
        with pytest.raises(actions.NoAccess, match="is expired"):
            actions.open_workspace(permit=Permit.objects.get(pk=ending.pk), by=world.applicant)

    ending.refresh_from_db()
    lasting.refresh_from_db()
    assert ending.state == PermitState.EXPIRED and ending.ended_at is not None
    assert lasting.state == PermitState.ACTIVE
    assert events(EventKind.PERMIT_EXPIRED, ending) == 1
    assert events(EventKind.PERMIT_EXPIRED) == 1
    assert events(EventKind.TASK_FINISHED, object_id="access.expire_permits") == 3
    note = Notification.objects.get(user=world.applicant, subject__endswith="expired")
    assert "access is cut" in note.body


def test_an_expired_permit_can_be_extended_and_is_not_expired_again(world: World) -> None:
    with time_machine.travel(at(2026, 1, 5), tick=False):
        permit = world.approved(starts_on="2026-01-05", ends_on="2026-03-31").permit
    with time_machine.travel(at(2026, 4, 2), tick=False):
        assert actions.expire_due_permits() == [permit.number]
        permit.refresh_from_db()
        actions.extend_permit(
            permit=permit, by=world.decider, ends_on="2026-12-31", reason="Follow-up study"
        )
        assert actions.expire_due_permits() == []
    permit.refresh_from_db()
    assert permit.state == PermitState.ACTIVE and permit.version == 2


# The scheduler ------------------------------------------------------------------------------


def _queued(task_path: str = "") -> int:
    qs = DBTaskResult.objects.all()
    return qs.filter(task_path=task_path).count() if task_path else qs.count()


def test_periods_are_aligned_on_the_clock() -> None:
    hourly = Job("h", "x", HOUR)
    nightly = Job("n", "x", timedelta(days=1), offset=timedelta(hours=1, minutes=30))
    moment = datetime(2026, 5, 4, 10, 37, 12, tzinfo=UTC)
    assert hourly.period_start(moment) == datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
    assert nightly.period_start(moment) == datetime(2026, 5, 4, 1, 30, tzinfo=UTC)
    early = datetime(2026, 5, 4, 0, 10, tzinfo=UTC)
    assert nightly.period_start(early) == datetime(2026, 5, 3, 1, 30, tzinfo=UTC)


def test_the_scheduler_enqueues_each_job_once_per_period() -> None:
    start = datetime(2026, 5, 4, 10, 5, tzinfo=UTC)
    assert enqueue_due(start) == [job.name for job in JOBS]
    assert enqueue_due(start + timedelta(minutes=50)) == []  # same hour, same day
    hourly = [job.name for job in JOBS if job.every == HOUR]
    assert "access.expire_permits" in hourly and "spe.lifecycle" in hourly
    assert "audit.verify_chain" not in hourly
    assert _queued() == len(JOBS)
    for job in JOBS:
        assert _queued(job.task) == 1, job.name

    next_hour = start + timedelta(hours=1)
    assert enqueue_due(next_hour) == hourly
    assert enqueue_due(next_hour) == []
    next_night = datetime(2026, 5, 5, 1, 30, tzinfo=UTC)
    assert enqueue_due(next_night) == [job.name for job in JOBS]
    assert _queued() == len(JOBS) + len(hourly) + len(JOBS)

    rows = {row.name: row for row in PeriodicJob.objects.all()}
    assert rows["access.expire_permits"].every_seconds == 3600
    assert rows["audit.verify_chain"].every_seconds == 86400
    assert rows["audit.verify_chain"].last_enqueued_at == next_night
    last = DBTaskResult.objects.filter(task_path="datalux.audit.tasks.verify_chain").latest(
        "enqueued_at"
    )
    assert rows["audit.verify_chain"].last_result_id == str(last.id)


def test_two_schedulers_claim_a_period_once() -> None:
    job = JOBS[0]
    now = datetime(2026, 5, 4, 10, 5, tzinfo=UTC)
    scheduler.sync_jobs()
    # Both schedulers saw the job due; the conditional UPDATE lets only the first one win,
    # whatever each of them read before.
    assert claim(job, now) is True
    assert claim(job, now + timedelta(seconds=1)) is False
    assert claim(job, now - timedelta(minutes=4)) is False  # a scheduler whose clock lags
    assert claim(job, now + HOUR) is True


def test_a_disabled_job_is_not_enqueued_and_a_failed_enqueue_is_retried() -> None:
    now = datetime(2026, 5, 4, 10, 5, tzinfo=UTC)
    scheduler.sync_jobs()
    PeriodicJob.objects.filter(name="audit.verify_chain").update(enabled=False)
    assert "audit.verify_chain" not in enqueue_due(now)
    broken = Job("broken", "datalux.access.tasks.no_such_task", HOUR)
    with pytest.raises(ImportError):
        enqueue_due(now, jobs=[broken])
    # The claim rolled back with the failed enqueue: the next round tries again.
    assert PeriodicJob.objects.get(name="broken").last_enqueued_at is None


def test_the_worker_runs_what_the_scheduler_enqueued(monkeypatch: Any, world: World) -> None:
    import django_tasks_db.management.commands.db_worker as db_worker

    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    with time_machine.travel(at(2026, 1, 5), tick=False):
        permit = world.approved(starts_on="2026-01-05", ends_on="2026-02-28").permit
    with time_machine.travel(at(2026, 3, 2), tick=False):
        enqueue_due()
        call_command("db_worker", batch=True, no_startup_delay=True, reload=False, verbosity=0)
    statuses = set(DBTaskResult.objects.values_list("status", flat=True))
    assert statuses == {TaskResultStatus.SUCCESSFUL}
    permit.refresh_from_db()
    assert permit.state == PermitState.EXPIRED
    for name in (job.name for job in JOBS):
        assert events(EventKind.TASK_FINISHED, object_id=name) == 1, name


def test_scheduler_cli_once(monkeypatch: Any) -> None:
    monkeypatch.setattr(scheduler, "close_old_connections", lambda: None)
    runner = CliRunner()
    first = runner.invoke(main, ["scheduler", "--once"])
    assert first.exit_code == 0, first.output
    assert [line for line in first.output.splitlines() if "enqueued" in line] == [
        f"scheduler: enqueued {job.name}" for job in JOBS
    ]
    again = runner.invoke(main, ["scheduler", "--once"])
    assert again.exit_code == 0 and "enqueued" not in again.output
    assert _queued() == len(JOBS)
    bad = runner.invoke(main, ["scheduler", "--interval", "0"])
    assert bad.exit_code == 2


def test_months_are_counted_on_the_local_calendar() -> None:
    from datetime import UTC, datetime

    from datalux.access.clock import deadline

    # 31 December 00:30 in Luxembourg is 30 December 23:30 UTC.
    received = datetime(2026, 12, 30, 23, 30, tzinfo=UTC)
    due = deadline(received, months=2)
    assert due is not None
    assert (due.year, due.month, due.day) == (2027, 2, 28)
