"""The governance dashboard's figures, with a frozen clock and exact values; the exchange
roll-up counts exactly what the log holds; public and authority views."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from datalux.accountability import dashboard, rollup
from datalux.accountability.models import ExchangeTally
from datalux.onceonly import actions
from datalux.onceonly.log import Draft, append
from tests.access.world import build_world
from tests.onceonly.world import active_protocol, consumer_body, designate, population_register

pytestmark = pytest.mark.django_db

LUX = ZoneInfo("Europe/Luxembourg")
TODAY = date(2026, 7, 20)  # the operations data's cutoff: 10 July, so whole months up to June


def _log(at: datetime, consumer: str, protocol: str, outcome: str = "delivered") -> None:
    fields: dict[str, Any] = {
        "outcome": outcome, "consumer": consumer, "protocol": protocol, "protocol_version": 1,
        "system": "system", "purpose": "family-allowance-eligibility", "items": ["surname"],
        "subjects": ["f" * 64], "subject_count": 1,
    }  # fmt: skip
    if outcome == "refused":
        fields["refusal_code"] = "items_outside_protocol"
    with time_machine.travel(at, tick=False):
        append(Draft(**fields))


@pytest.fixture
def exchanges() -> dict[str, Any]:
    source = designate(population_register())
    fund = consumer_body()
    agency = consumer_body("State Intelligence Service")
    live = active_protocol(source, fund)
    secret = active_protocol(source, agency, title="Checks for national security")
    actions.mark_security_agency(protocol=secret)
    for day in (3, 17, 28):
        _log(datetime(2026, 5, day, 10, tzinfo=LUX), fund.slug, live.reference)
    _log(datetime(2026, 6, 2, 10, tzinfo=LUX), fund.slug, live.reference)
    _log(datetime(2026, 6, 30, 23, 30, tzinfo=LUX), fund.slug, live.reference, "refused")
    _log(datetime(2026, 7, 15, 10, tzinfo=LUX), fund.slug, live.reference)  # July: not public
    _log(datetime(2026, 6, 5, 10, tzinfo=LUX), agency.slug, secret.reference)
    return {"live": live, "secret": secret}


def _protocols(board: dashboard.Dashboard) -> dict[str, dict[str, int]]:
    return {r.key: r.values for r in board.exchanges_by_protocol}


def test_exchanges_public_and_for_the_authority(exchanges: dict[str, Any]) -> None:
    live, secret = exchanges["live"].reference, exchanges["secret"].reference
    with time_machine.travel(datetime(2026, 7, 20, 12, tzinfo=LUX), tick=False):
        public = dashboard.figures(today=TODAY, public=True)
        authority = dashboard.figures(today=TODAY, public=False)
    assert _protocols(public) == {live: {"delivered": 4, "refused": 1}}
    assert _protocols(authority) == {
        live: {"delivered": 5, "refused": 1},
        secret: {"delivered": 1},
    }
    [trend] = [s for s in public.trends if s.key == "exchanges"]
    monthly = {p.month: p.value for p in trend.points}
    assert len(trend.points) == dashboard.TREND_MONTHS and trend.points[-1].month == date(
        2026, 7, 1
    )
    # 30 June 23:30 in Luxembourg is June, not July (months in local time); the agency is out
    assert monthly[date(2026, 5, 1)] == 3 and monthly[date(2026, 6, 1)] == 2
    assert monthly[date(2026, 7, 1)] == 0
    [full] = [s for s in authority.trends if s.key == "exchanges"]
    assert {p.month: p.value for p in full.points}[date(2026, 7, 1)] == 1


def test_the_roll_up_counts_what_the_log_holds(exchanges: dict[str, Any]) -> None:
    before = rollup.exchange_counts()
    assert rollup.roll_up_exchanges() == 7
    assert ExchangeTally.objects.count() > 0
    assert rollup.exchange_counts() == before  # tallies + empty tail = the log
    assert rollup.roll_up_exchanges() == 0  # nothing counted twice
    fund = exchanges["live"].consumer.slug
    _log(datetime(2026, 7, 16, 9, tzinfo=LUX), fund, exchanges["live"].reference)
    after = rollup.exchange_counts()  # the new entry from the tail, before the next run
    assert sum(after.values()) == 8
    assert rollup.roll_up_exchanges() == 1 and rollup.exchange_counts() == after


def test_access_citizen_figures_and_the_views() -> None:
    from datalux.access import actions as access_actions
    from datalux.citizens.models import (
        AltruismConsent,
        CitizenIdentity,
        Rectification,
        SecondaryUseChoice,
    )
    from tests.factories.accounts import UserFactory

    with time_machine.travel(datetime(2026, 3, 2, 9, tzinfo=LUX), tick=False):
        world = build_world()
        application = world.draft()
        access_actions.submit(application=application, by=world.applicant)
        second = world.draft(title="Second")
        access_actions.submit(application=second, by=world.applicant)
    with time_machine.travel(datetime(2026, 4, 10, 9, tzinfo=LUX), tick=False):
        identity = CitizenIdentity.objects.create(
            user=UserFactory(username="carla"), subject="c" * 64, sealed_number="x", source="demo"
        )
        SecondaryUseChoice.objects.create(identity=identity, opted_out=True)
        consent = AltruismConsent.objects.create(
            reference="DLX-C-2026-00001", identity=identity, purposes=["scientific_research"],
            organisation=world.authority, valid_until=date(2028, 4, 10), form_version="1",
        )  # fmt: skip
        AltruismConsent.objects.create(
            reference="DLX-C-2026-00002", identity=identity, purposes=["climate"],
            organisation=world.authority, valid_until=date(2028, 4, 10), form_version="1",
        )  # fmt: skip
        source = designate(population_register())
        Rectification.objects.create(
            reference="DLX-R-2026-00001", identity=identity, source=source,
            item="surname", proposed_value="Muller", explanation="typo", due_on=date(2026, 5, 10),
            state="accepted", answered_at=datetime(2026, 4, 14, 9, tzinfo=LUX),
        )  # fmt: skip
    with time_machine.travel(datetime(2026, 4, 20, 9, tzinfo=LUX), tick=False):
        AltruismConsent.objects.filter(pk=consent.pk).update(
            withdrawn_at=datetime(2026, 4, 20, 9, tzinfo=LUX)
        )
        board = dashboard.figures(today=date(2026, 4, 20))
        assert board.access.received == 2 and board.access.decided == 0
        [received] = [s for s in board.trends if s.key == "applications_received"]
        assert {p.month: p.value for p in received.points}[date(2026, 3, 1)] == 2
        assert board.altruism == {
            "consents_given": 2, "consents_withdrawn": 1, "consents_in_force": 1,
            "opt_outs_in_force": 1,
        }  # fmt: skip
        assert board.rectifications["received"] == 1
        assert board.rectifications["accepted"] == 1
        assert board.rectifications["median_days_to_close"] == 4.0
        page = Client().get("/accountability/dashboard/")
        assert page.status_code == 200 and b"<svg" in page.content
        assert Client().get("/accountability/dashboard/?view=authority").status_code == 403
        stranger = Client()
        stranger.force_login(world.stranger)
        assert stranger.get("/accountability/dashboard/?view=authority").status_code == 403
        handler = Client()
        handler.force_login(world.handler)
        assert handler.get("/accountability/dashboard/?view=authority").status_code == 200
        body = Client().get("/accountability/dashboard.csv").content.decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["figure", "key", "label", "month", "value"]
    figures = {(r[0], r[3]): r[4] for r in rows[1:]}
    assert figures[("applications_received", "")] == "2"
    assert figures[("altruism_consents_in_force", "")] == "1"
    assert figures[("applications_received", "2026-03")] == "2"
