"""The publication obligation of a permit: its deadline (end + 12 months) on the permit page,
and the reminders 30 days before and once passed, each sent once, none after publication
(issue 13, item 4)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from datalux.access import actions
from datalux.access.actions.publication import (
    deadline_for,
    publication_deadline,
    send_publication_reminders,
)
from datalux.access.models import Notification, Permit
from datalux.access.tasks import send_publication_reminders as reminder_task
from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent
from datalux.catalogue.models import DataProduct
from datalux.core.scheduler import JOBS
from tests.access.world import World

pytestmark = pytest.mark.django_db


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 12, tzinfo=UTC)


def _permit(world: World, *, conditions: list[Any], ends_on: str = "2026-06-30") -> Permit:
    with time_machine.travel(at(2026, 1, 5), tick=False):
        application = world.approved(starts_on="2026-01-05", ends_on=ends_on, conditions=conditions)
    return application.permit


def _reminders(permit: Permit) -> list[dict[str, Any]]:
    return [
        e.details
        for e in AuditEvent.objects.filter(
            kind=EventKind.PERMIT_PUBLICATION_REMINDED, object_id=str(permit.pk)
        ).order_by("seq")
    ]


def _inbox(permit: Permit) -> list[Notification]:
    return list(
        Notification.objects.filter(subject__startswith=permit.number).order_by("created_at")
    )


def test_the_deadline_is_twelve_months_after_the_end() -> None:
    assert deadline_for(date(2026, 6, 30)) == date(2027, 6, 30)
    assert deadline_for(date(2028, 2, 29)) == date(2029, 2, 28)


def test_reminders_30_days_before_and_once_passed_each_once(world: World) -> None:
    permit = _permit(world, conditions=["publish-results"])
    other = _permit(world, conditions=[])  # no obligation: never reminded
    assert publication_deadline(permit) == date(2027, 6, 30)
    assert publication_deadline(other) is None
    with time_machine.travel(at(2027, 5, 30), tick=False):  # 31 days before
        assert send_publication_reminders() == []
    with time_machine.travel(at(2027, 5, 31), tick=False):  # 30 days before
        sent = send_publication_reminders()
        assert sent == [{"permit": permit.number, "mark": "30d", "deadline": "2027-06-30"}]
        assert send_publication_reminders() == []  # never twice
    with time_machine.travel(at(2027, 6, 30), tick=False):  # the deadline itself
        assert send_publication_reminders() == []
    with time_machine.travel(at(2027, 7, 1), tick=False):  # passed
        assert [s["mark"] for s in send_publication_reminders()] == ["overdue"]
    with time_machine.travel(at(2027, 9, 1), tick=False):
        assert send_publication_reminders() == []
    assert [r["mark"] for r in _reminders(permit)] == ["30d", "overdue"]
    assert _reminders(other) == []
    notes = _inbox(permit)
    assert {n.user for n in notes} == {world.applicant}  # the applicant, a named person
    assert "within 30 days" in notes[0].subject
    assert "2027" in notes[0].body and "due for publication" in notes[1].subject


def test_no_reminder_once_a_data_product_carries_the_permit_number(world: World) -> None:
    permit = _permit(world, conditions=["publish-results"])
    DataProduct.objects.create(
        kind="result", title="Results", organisation=permit.organisation,
        permit_number=permit.number,
    )  # fmt: skip
    with time_machine.travel(at(2027, 7, 1), tick=False):
        assert send_publication_reminders() == []
    assert _reminders(permit) == [] and _inbox(permit) == []


def test_a_late_first_run_sends_only_the_overdue_reminder(world: World) -> None:
    permit = _permit(world, conditions=["publish-results"])
    with time_machine.travel(at(2028, 1, 1), tick=False):
        assert [s["mark"] for s in send_publication_reminders()] == ["overdue"]
        assert send_publication_reminders() == []
    assert len(_inbox(permit)) == 1


def test_an_extension_moves_the_deadline_and_the_reminders_start_afresh(world: World) -> None:
    permit = _permit(world, conditions=["publish-results"])
    with time_machine.travel(at(2027, 6, 1), tick=False):
        assert len(send_publication_reminders()) == 1
    with time_machine.travel(at(2026, 6, 1), tick=False):
        actions.extend_permit(
            permit=permit, by=world.decider, ends_on="2026-12-31", reason="More time needed."
        )
    with time_machine.travel(at(2027, 6, 1), tick=False):
        assert send_publication_reminders() == []  # the new deadline is far
    with time_machine.travel(at(2027, 12, 15), tick=False):
        sent = send_publication_reminders()
    assert sent == [{"permit": permit.number, "mark": "30d", "deadline": "2027-12-31"}]


def test_a_revoked_permit_gets_no_reminder(world: World) -> None:
    permit = _permit(world, conditions=["publish-results"])
    with time_machine.travel(at(2026, 3, 1), tick=False):
        actions.revoke_permit(permit=permit, by=world.decider, reason="Breach of the terms.")
    with time_machine.travel(at(2027, 7, 1), tick=False):
        assert send_publication_reminders() == []


def test_the_scheduled_task_is_registered_and_audited(world: World) -> None:
    permit = _permit(world, conditions=["publish-results"])
    job = next(j for j in JOBS if j.name == "access.publication_reminders")
    assert job.task == "datalux.access.tasks.send_publication_reminders"
    with time_machine.travel(at(2027, 7, 1), tick=False):
        result = reminder_task.call()
    assert result == {
        "reminders": [{"permit": permit.number, "mark": "overdue", "deadline": "2027-06-30"}]
    }
    assert AuditEvent.objects.filter(
        kind=EventKind.TASK_FINISHED, object_id="access.publication_reminders"
    ).exists()


def test_the_permit_page_shows_the_publication_deadline(world: World) -> None:
    permit = _permit(world, conditions=["publish-results"])
    client = Client()
    client.force_login(world.applicant)
    page = client.get(reverse("access:permit", args=[permit.number]))
    assert page.status_code == 200
    assert b'id="publication-deadline"' in page.content and b"2027-06-30" in page.content
    DataProduct.objects.create(
        kind="result", title="Results", organisation=permit.organisation,
        permit_number=permit.number,
    )  # fmt: skip
    page = client.get(reverse("access:permit", args=[permit.number]))
    assert b"2027-06-30" not in page.content and b"published" in page.content
    plain = _permit(world, conditions=[])
    page = client.get(reverse("access:permit", args=[plain.number]))
    assert b'id="publication-deadline"' not in page.content
