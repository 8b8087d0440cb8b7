"""``datalux access expire|remind|show``."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from click.testing import CliRunner

from datalux.access.models import Notification
from datalux.access.states import PermitState
from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent
from datalux.cli import main
from tests.access.world import World, build_world

pytestmark = pytest.mark.django_db
LUX = ZoneInfo("Europe/Luxembourg")


@pytest.fixture
def world(db: object) -> World:
    return build_world()


def test_expire_with_an_explicit_today(world: World) -> None:
    with time_machine.travel(datetime(2026, 1, 5, 12, tzinfo=LUX), tick=False):
        permit = world.approved(starts_on="2026-01-05", ends_on="2026-06-30").permit
    runner = CliRunner()
    early = runner.invoke(main, ["access", "expire", "--today", "2026-06-30"])
    assert early.exit_code == 0, early.output
    assert "0 permit(s) expired" in early.output
    permit.refresh_from_db()
    assert permit.state == PermitState.ACTIVE

    result = runner.invoke(main, ["access", "expire", "--today", "2026-07-01"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [f"expired {permit.number}", "1 permit(s) expired"]
    permit.refresh_from_db()
    assert permit.state == PermitState.EXPIRED
    assert AuditEvent.objects.filter(kind=EventKind.PERMIT_EXPIRED).count() == 1
    again = runner.invoke(main, ["access", "expire", "--today", "2026-07-02"])
    assert "0 permit(s) expired" in again.output

    bad = runner.invoke(main, ["access", "expire", "--today", "1 July"])
    assert bad.exit_code == 2 and "%Y-%m-%d" in bad.output


def test_remind_sends_what_is_due_once(world: World) -> None:
    with time_machine.travel(datetime(2025, 1, 10, 12, tzinfo=LUX), tick=False):
        application = world.under_review()  # its deadline passed long ago
    runner = CliRunner()
    first = runner.invoke(main, ["access", "remind"])
    assert first.exit_code == 0, first.output
    assert first.output.strip() == "1 reminder(s) sent"
    assert runner.invoke(main, ["access", "remind"]).output.strip() == "0 reminder(s) sent"
    notes = Notification.objects.filter(application=application, subject__contains="has passed")
    assert {n.user for n in notes} == {world.handler, world.decider}


def test_show_prints_the_permit_spec_or_the_application_clock(world: World) -> None:
    with time_machine.travel(datetime(2026, 1, 5, 12, tzinfo=LUX), tick=False):
        approved = world.approved()
        waiting = world.under_review()
    runner = CliRunner()
    permit = approved.permit
    shown = runner.invoke(main, ["access", "show", permit.number])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output) == permit.spec()

    with time_machine.travel(datetime(2026, 2, 3, 12, tzinfo=LUX), tick=False):
        case = runner.invoke(main, ["access", "show", waiting.reference])
    assert case.exit_code == 0, case.output
    data = json.loads(case.output)
    assert data["state"] == "under_review" and data["handler"] == "handler"
    assert data["clock"]["deadline"].startswith("2026-03-05")
    assert data["clock"]["status"] == "30 days left" and data["clock"]["days_left"] == 30
    assert data["permit"] is None
    assert (
        json.loads(runner.invoke(main, ["access", "show", approved.reference]).output)["permit"]
        == permit.number
    )

    missing = runner.invoke(main, ["access", "show", "DLX-A-1999-00001"])
    assert missing.exit_code == 1
    assert "no application or permit 'DLX-A-1999-00001'" in missing.output
