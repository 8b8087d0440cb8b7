"""The published operations data (issue 15, item 7): X-Road's rule - 10 days late, times
rounded to the hour, security agencies removed - and nothing about a person, case or official."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied

from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent
from datalux.onceonly import actions
from datalux.onceonly.log import Draft, append
from datalux.onceonly.models import Protocol
from datalux.onceonly.operations import Filters, operations_rows
from tests.onceonly.world import active_protocol, consumer_body, designate, population_register

pytestmark = pytest.mark.django_db

LUX = ZoneInfo("Europe/Luxembourg")
TODAY = date(2026, 6, 20)
PSEUDONYM = "f" * 64
CASE = "CASE-SECRET-4711"
OFFICIAL = "official-jdupont"


def _log(at: datetime, **fields: Any) -> None:
    values: dict[str, Any] = {
        "outcome": "delivered",
        "system": "caf-system",
        "purpose": "family-allowance-eligibility",
        "items": ["surname"],
        "case_reference": CASE,
        "on_behalf_of": OFFICIAL,
        "subjects": [PSEUDONYM],
        "subject_count": 1,
    }
    values.update(fields)
    with time_machine.travel(at, tick=False):
        append(Draft(**values))


def _days_ago(days: int, hour: int = 14, minute: int = 37) -> datetime:
    day = TODAY - timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, minute, 12, tzinfo=LUX)


@pytest.fixture
def world() -> dict[str, Any]:
    source = designate(population_register())
    consumer = consumer_body()
    agency = consumer_body("State Intelligence Service")
    live = active_protocol(source, consumer)
    secret = active_protocol(source, agency, title="Checks for national security")
    actions.mark_security_agency(protocol=secret)
    ours = {"consumer": consumer.slug, "protocol": live.reference, "protocol_version": 1}
    _log(_days_ago(11), **ours)  # published
    _log(_days_ago(11, hour=9, minute=5), **ours, subjects=["a" * 64, "b" * 64], subject_count=2)
    _log(_days_ago(9), **ours)  # too recent
    _log(_days_ago(12), **ours, outcome="refused", refusal_code="items_outside_protocol")
    _log(
        _days_ago(13),
        consumer=consumer.slug,
        protocol="OOP-9999",  # names no protocol of the register
        outcome="refused",
        refusal_code="no_protocol",
    )
    spy = {"consumer": agency.slug, "protocol": secret.reference, "protocol_version": 1}
    _log(_days_ago(15), **spy)
    _log(_days_ago(15), consumer=agency.slug, outcome="refused", refusal_code="no_protocol")
    return {"consumer": consumer, "agency": agency, "live": live, "secret": secret}


def _row(rows: list[dict[str, Any]], outcome: str, protocol: str) -> dict[str, Any]:
    found = [r for r in rows if r["outcome"] == outcome and r["protocol"] == protocol]
    assert len(found) == 1, rows
    return found[0]


def test_the_ten_day_delay(world: dict[str, Any]) -> None:
    rows = operations_rows(today=TODAY)
    delivered = _row(rows, "delivered", world["live"].reference)
    # the two 11-day-old exchanges are counted, the 9-day-old one is not
    assert delivered["exchanges"] == 2 and delivered["persons"] == 3
    later = operations_rows(today=TODAY + timedelta(days=2))
    assert _row(later, "delivered", world["live"].reference)["exchanges"] == 3


def test_an_entry_from_ten_days_ago_waits(world: dict[str, Any]) -> None:
    _log(_days_ago(10, hour=0, minute=1), consumer=world["consumer"].slug, protocol="OOP-0001")
    rows = operations_rows(today=TODAY)
    assert _row(rows, "delivered", world["live"].reference)["exchanges"] == 2


def test_times_are_rounded_to_the_hour(world: dict[str, Any]) -> None:
    delivered = _row(operations_rows(today=TODAY), "delivered", world["live"].reference)
    day = (TODAY - timedelta(days=11)).isoformat()
    assert delivered["first_hour"] == f"{day}T09:00:00+02:00"
    assert delivered["last_hour"] == f"{day}T14:00:00+02:00"
    assert delivered["month"] == "2026-06" and delivered["month_complete"] is False
    assert delivered["provider"] == "Register Office"
    assert delivered["consumer"] == "Family Benefits Fund"


def test_refused_exchanges_are_counted_under_their_outcome(world: dict[str, Any]) -> None:
    rows = operations_rows(today=TODAY)
    refused = _row(rows, "refused", world["live"].reference)
    assert refused["exchanges"] == 1 and refused["protocol_version"] == 1
    # a reference outside the public register is not published: the row has no protocol
    unnamed = _row(rows, "refused", "")
    assert unnamed["exchanges"] == 1 and unnamed["protocol_version"] is None
    assert unnamed["consumer"] == "Family Benefits Fund"
    assert "OOP-9999" not in repr(rows)


def test_a_security_agency_never_appears(client: Any, world: dict[str, Any]) -> None:
    agency, secret = world["agency"], world["secret"]
    rows = operations_rows(today=TODAY)
    assert rows and all(r["consumer_slug"] != agency.slug for r in rows)
    assert operations_rows(today=TODAY, filters=Filters(protocol=secret.reference)) == []
    outputs = [
        client.get("/onceonly/operations/").content.decode(),
        client.get("/onceonly/operations/?format=csv").content.decode(),
        client.get("/api/v1/onceonly/operations").content.decode(),
        client.get(f"/onceonly/operations/?protocol={secret.reference}").content.decode(),
        client.get(f"/api/v1/onceonly/operations?protocol={secret.reference}").content.decode(),
    ]
    for text in outputs:
        assert agency.name not in text and agency.slug not in text


def test_no_person_case_or_official_in_any_output(client: Any, world: dict[str, Any]) -> None:
    page = client.get("/onceonly/operations/")
    raw_csv = client.get("/onceonly/operations/?format=csv")
    api = client.get("/api/v1/onceonly/operations")
    for response in (page, raw_csv, api):
        text = response.content.decode()
        for secret in (PSEUDONYM, "a" * 64, CASE, OFFICIAL, "caf-system", "surname"):
            assert secret not in text
    assert raw_csv["Content-Type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(raw_csv.content.decode())))
    assert table[0][:3] == ["month", "protocol", "protocol_version"]
    assert len(table) == 1 + len(api.json()["results"])


def test_anonymous_access_and_the_protocol_filter(client: Any, world: dict[str, Any]) -> None:
    with time_machine.travel(datetime(2026, 6, 20, 12, tzinfo=LUX), tick=False):
        page = client.get(f"/onceonly/operations/?protocol={world['live'].reference}")
        api = client.get(f"/api/v1/onceonly/operations?protocol={world['live'].reference}")
    assert page.status_code == 200 and api.status_code == 200
    html = page.content.decode()
    assert "Family Benefits Fund" in html and "none (refused)" not in html
    body = api.json()
    assert body["count"] == 2 and {r["outcome"] for r in body["results"]} == {
        "delivered",
        "refused",
    }
    assert body["published_until"].startswith("2026-06-10T00:00:00")
    assert "/onceonly/operations/" in client.get("/onceonly/protocols/").content.decode()


def test_only_the_authority_marks_a_security_agency_and_new_versions_keep_it(
    make_member: Any,
) -> None:
    source = designate(population_register())
    agency = consumer_body("State Intelligence Service")
    protocol = active_protocol(source, agency)
    with pytest.raises(PermissionDenied):
        actions.mark_security_agency(protocol=protocol, by=make_member("applicant"))
    protocol.refresh_from_db()
    assert protocol.consumer_security_agency is False
    actions.mark_security_agency(protocol=protocol, by=make_member("decider"))
    event = AuditEvent.objects.get(kind=EventKind.ONCEONLY_PROTOCOL_SECURITY_MARKED)
    assert event.details["security_agency"] is True
    successor = actions.new_protocol_version(protocol=Protocol.objects.get(pk=protocol.pk))
    assert successor.consumer_security_agency is True
    _log(_days_ago(20), consumer=agency.slug, protocol=protocol.reference, protocol_version=2)
    assert operations_rows(today=TODAY) == []


def test_bad_paging_gets_the_one_error_shape(client: Any) -> None:
    response = client.get("/api/v1/onceonly/operations?page=abc")
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid"
    assert client.get("/onceonly/operations/?page=abc").status_code == 200
