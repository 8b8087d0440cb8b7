"""The data tracker: one record per person per delivered exchange, written with the log entry;
a person sees only their own records, a deferred one not before its date, and nothing of what
is hidden."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from datalux.onceonly import keys
from datalux.onceonly.models import ExchangeLogEntry, TrackerRecord
from datalux.onceonly.tracker import records_for
from datalux.privacy import InvalidNationalId, pseudonym
from tests.onceonly.world import (
    PEOPLE,
    active_protocol,
    consumer_body,
    designate,
    exchange_token,
    national_number,
    population_register,
    upload_register_data,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/onceonly/exchanges"
ANNA, MARC, LEA = (national_number(p) for p in PEOPLE)
UNKNOWN = national_number(((1990, 1, 1), 1))  # valid, not in the source


@pytest.fixture
def world(make_member: Any) -> dict[str, Any]:
    dataset = population_register()
    upload_register_data(dataset)
    source = designate(dataset)
    consumer = consumer_body()
    protocol = active_protocol(source, consumer, max_deferral_days=90)
    system = make_member("exchange_system", organisation=consumer)
    return {"consumer": consumer, "protocol": protocol, "token": exchange_token(system)}


def post(client: Any, world: dict[str, Any], **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "protocol": world["protocol"].reference,
        "items": ["surname", "street_address"],
        "purpose": "family-allowance-eligibility",
        "case_reference": "CAF-2026-00042",
        "on_behalf_of": "agent-0815",
        "national_number": ANNA,
    }
    values.update(overrides)
    payload = {k: v for k, v in values.items() if v is not ...}
    return client.post(
        URL,
        data=json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {world['token']}",
    )


def _matches(record: TrackerRecord, entry: ExchangeLogEntry, number: str) -> None:
    assert record.entry_id == entry.pk
    assert record.subject == pseudonym(number, keys.pseudonym_keys())
    assert record.subject in entry.subjects
    assert (record.consumer_slug, record.protocol_reference, record.protocol_version) == (
        entry.consumer_slug,
        entry.protocol_reference,
        entry.protocol_version,
    )
    assert (record.purpose, record.items, record.occurred_at) == (
        entry.purpose,
        entry.items,
        entry.occurred_at,
    )


def test_a_single_exchange_gives_the_person_one_record(client: Any, world: dict[str, Any]) -> None:
    assert post(client, world).status_code == 200
    entry = ExchangeLogEntry.objects.get()
    (record,) = records_for(ANNA, today=timezone.localdate())
    _matches(record, entry, ANNA)
    assert record.consumer_slug == world["consumer"].slug
    assert record.items == ["surname", "street_address"] and record.visible_from is None
    assert TrackerRecord.objects.count() == 1
    stored = json.dumps(list(TrackerRecord.objects.values()), default=str)
    assert ANNA not in stored and "Muller" not in stored  # no number, no value


def test_a_batch_gives_one_record_per_person_delivered(client: Any, world: dict[str, Any]) -> None:
    response = post(client, world, national_number=..., national_numbers=[MARC, UNKNOWN, LEA])
    assert response.status_code == 200
    entry = ExchangeLogEntry.objects.get()
    today = timezone.localdate()
    for number in (MARC, LEA):
        (record,) = records_for(number, today=today)
        _matches(record, entry, number)
    assert records_for(UNKNOWN, today=today) == []  # asked about, but nothing delivered
    assert TrackerRecord.objects.count() == 2


def test_another_persons_number_gets_none(client: Any, world: dict[str, Any]) -> None:
    post(client, world)
    today = timezone.localdate()
    assert records_for(MARC, today=today) == [] and records_for(UNKNOWN, today=today) == []


def test_records_are_newest_first(client: Any, world: dict[str, Any]) -> None:
    post(client, world, case_reference="FIRST")
    post(client, world, case_reference="SECOND", items=["surname"])
    records = records_for(ANNA, today=timezone.localdate())
    first, second = ExchangeLogEntry.objects.order_by("seq")
    assert [r.entry_id for r in records] == [second.pk, first.pk]


def test_a_deferred_record_is_hidden_until_its_date(client: Any, world: dict[str, Any]) -> None:
    today = timezone.localdate()
    later = today + timedelta(days=30)
    post(client, world, case_reference="OPEN")
    assert post(client, world, defer_visibility_until=later.isoformat()).status_code == 200
    public, deferred = ExchangeLogEntry.objects.order_by("seq")
    # before its date: only the public record, and nothing tells that another exists
    for day in (today, later - timedelta(days=1)):
        assert [r.entry_id for r in records_for(ANNA, today=day)] == [public.pk]
    # from its date on: shown, newest first
    for day in (later, later + timedelta(days=365)):
        shown = records_for(ANNA, today=day)
        assert [r.entry_id for r in shown] == [deferred.pk, public.pk]
    assert shown[0].visible_from == later
    _matches(shown[0], deferred, ANNA)


def test_refused_and_not_found_exchanges_give_no_record(client: Any, world: dict[str, Any]) -> None:
    assert post(client, world, purpose="tax-audit").status_code == 403
    assert post(client, world, items=["given_name"]).status_code == 403
    assert post(client, world, national_number=UNKNOWN).status_code == 404
    assert post(client, world, national_number=..., national_numbers=[UNKNOWN]).status_code == 200
    assert ExchangeLogEntry.objects.count() == 4
    assert not ExchangeLogEntry.objects.filter(outcome="delivered").exists()
    assert TrackerRecord.objects.count() == 0
    assert records_for(ANNA, today=timezone.localdate()) == []


def test_the_records_are_written_with_the_entry_or_not_at_all(
    client: Any, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("tracker write failed")

    monkeypatch.setattr(TrackerRecord.objects, "bulk_create", fail)
    client.raise_request_exception = False
    assert post(client, world).status_code == 500
    assert ExchangeLogEntry.objects.count() == 0 and TrackerRecord.objects.count() == 0


def test_an_invalid_number_is_refused_with_its_reason() -> None:
    with pytest.raises(InvalidNationalId):
        records_for("12345", today=timezone.localdate())
