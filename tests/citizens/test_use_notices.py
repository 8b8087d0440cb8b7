"""Notices to citizens (issue 16, item 6): a public body obtained my data (at once, or once a
deferred record becomes visible), a project used my data; each told once, nobody without an
account, no other person named."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from datalux.access.models import Notification
from datalux.citizens import identity
from datalux.citizens.models import PersonUse
from datalux.citizens.use_notices import (
    USES_URL,
    notify_due_exchanges,
    notify_project_uses,
)
from tests.citizens.own_pages import (
    ANNA,
    MARC,
    citizen,
    exchange,
    fresh_lookups,
    register_world,
    ttp_key,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ttp_key", "fresh_lookups")]
__all__ = ["fresh_lookups", "ttp_key"]


@pytest.fixture
def world(make_member: Any) -> dict[str, Any]:
    return register_world(make_member)


def _notices(user: Any) -> list[Notification]:
    return list(Notification.objects.filter(user=user))


def test_an_exchange_is_told_to_the_person_with_an_account_only(
    client: Any, world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    anna = citizen(ANNA, "anna")
    before = Notification.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        exchange(client, world["token"], world["protocol"], ANNA)
    [notice] = _notices(anna)
    assert notice.url == USES_URL and notice.subject == "A public body obtained your data"
    assert "CAF-2026-00042" not in notice.body and world["consumer"].name not in notice.body
    with django_capture_on_commit_callbacks(execute=True):
        exchange(client, world["token"], world["protocol"], MARC)  # Marc has no account
    assert Notification.objects.count() == before + 1
    assert notify_due_exchanges() == 0  # already told: the job does not tell it again


def test_a_deferred_exchange_is_told_once_on_its_date(
    client: Any, world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    anna = citizen(ANNA, "anna")
    later = timezone.localdate() + timedelta(days=30)
    with django_capture_on_commit_callbacks(execute=True):
        exchange(
            client, world["token"], world["protocol"], ANNA,
            defer_visibility_until=later.isoformat(),
        )  # fmt: skip
    assert _notices(anna) == []
    assert notify_due_exchanges(today=later - timedelta(days=1)) == 0
    with time_machine.travel(later, tick=False):
        assert notify_due_exchanges(today=later) == 1
        assert notify_due_exchanges(today=later) == 0
    assert len(_notices(anna)) == 1


def test_a_project_use_is_told_once(world: dict[str, Any]) -> None:
    from tests.access.world import build_world

    permit = build_world().approved().permit
    anna = citizen(ANNA, "anna")
    for number in (ANNA, MARC):
        PersonUse.objects.create(
            subject=identity.subject_for(number), permit=permit, version=permit.version,
            datasets=["DLX-1"],
        )  # fmt: skip
    assert notify_project_uses(permit=permit) == 1
    assert notify_project_uses(permit=permit) == 0
    [notice] = _notices(anna)
    assert notice.subject == "A research project used your data"
    assert permit.application.title not in notice.body
    assert PersonUse.objects.filter(notified_at__isnull=True).count() == 1  # Marc's, no account
