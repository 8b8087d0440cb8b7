"""The exchange: what a consumer's system gets under an active protocol, and every refusal
(a clear code in the one error shape, a refused entry in the log, nothing returned)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from datalux.accounts.models import ApiToken
from datalux.onceonly import actions, keys
from datalux.onceonly.models import ExchangeLogEntry, Protocol
from datalux.onceonly.receipts import check
from datalux.privacy import pseudonym
from tests.onceonly.world import (
    PEOPLE,
    active_protocol,
    consumer_body,
    designate,
    exchange_token,
    national_number,
    population_register,
    protocol_fields,
    upload_register_data,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/onceonly/exchanges"
ANNA, MARC, LEA = (national_number(p) for p in PEOPLE)


@pytest.fixture
def world(make_member: Any) -> dict[str, Any]:
    dataset = population_register()
    upload_register_data(dataset)
    source = designate(dataset)
    consumer = consumer_body()
    protocol = active_protocol(source, consumer, max_deferral_days=90)
    system = make_member("exchange_system", organisation=consumer)
    return {
        "source": source,
        "consumer": consumer,
        "protocol": protocol,
        "system": system,
        "token": exchange_token(system),
        "make_member": make_member,
    }


def body(world: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "protocol": world["protocol"].reference,
        "items": ["surname", "street_address"],
        "purpose": "family-allowance-eligibility",
        "case_reference": "CAF-2026-00042",
        "on_behalf_of": "agent-0815",
        "national_number": ANNA,
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not ...}


def post(client: Any, token: str | None, payload: dict[str, Any]) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.post(URL, data=json.dumps(payload), content_type="application/json", **headers)


def test_a_single_person_gets_only_the_asked_items_and_a_signed_receipt(
    client: Any, world: dict[str, Any]
) -> None:
    response = post(client, world["token"], body(world))
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["results"] == [
        {
            "index": 0,
            "found": True,
            "data": {"surname": "Muller", "street_address": "12 rue de la Gare"},
        }
    ]
    assert answer["protocol"] == world["protocol"].reference and answer["source_version"] == 1
    assert "given_name" not in response.content.decode() and ANNA not in response.content.decode()
    receipt = answer["receipt"]
    assert check(receipt, keys.trusted_keys()).ok
    entry = ExchangeLogEntry.objects.get()
    assert entry.outcome == "delivered" and entry.hash == receipt["hash"]
    assert entry.subjects == [pseudonym(ANNA, keys.pseudonym_keys())]
    assert (entry.case_reference, entry.on_behalf_of) == ("CAF-2026-00042", "agent-0815")
    assert (
        entry.consumer_slug == world["consumer"].slug and entry.system == world["system"].username
    )
    stored = json.dumps(entry.statement())
    assert ANNA not in stored and "Muller" not in stored  # metadata only


def test_a_batch_answers_each_person_by_position(client: Any, world: dict[str, Any]) -> None:
    unknown = national_number(((1990, 1, 1), 1))
    payload = body(world, national_number=..., national_numbers=[MARC, unknown, LEA])
    answer = post(client, world["token"], payload).json()
    assert [(r["index"], r["found"]) for r in answer["results"]] == [
        (0, True),
        (1, False),
        (2, True),
    ]
    assert answer["results"][2]["data"] == {"surname": "Schmit", "street_address": None}
    entry = ExchangeLogEntry.objects.get()
    assert entry.subject_count == 3 and len(entry.subjects) == 3


def test_a_deferred_record_is_logged_with_its_date(client: Any, world: dict[str, Any]) -> None:
    later = timezone.localdate() + timedelta(days=30)
    response = post(client, world["token"], body(world, defer_visibility_until=later.isoformat()))
    assert response.status_code == 200
    entry = ExchangeLogEntry.objects.get()
    assert (entry.visibility, entry.visible_from) == ("deferred", later)


def _suspend(world: dict[str, Any]) -> None:
    actions.suspend_protocol(protocol=world["protocol"], reason="audit")


def _retire(world: dict[str, Any]) -> None:
    actions.retire_protocol(protocol=world["protocol"], reason="ended")


def _lapse(world: dict[str, Any]) -> None:
    yesterday = timezone.localdate() - timedelta(days=1)
    Protocol.objects.filter(pk=world["protocol"].pk).update(
        valid_from=yesterday - timedelta(days=10), valid_until=yesterday
    )


def _expire_token(world: dict[str, Any]) -> None:
    ApiToken.objects.filter(user=world["system"]).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )


def _other_body(world: dict[str, Any]) -> None:
    other = consumer_body("Tax Office")
    world["token"] = exchange_token(world["make_member"]("exchange_system", organisation=other))


def _write_token(world: dict[str, Any]) -> None:
    world["token"] = exchange_token(world["system"], scope="write")


def _not_a_system(world: dict[str, Any]) -> None:
    world["token"] = exchange_token(
        world["make_member"]("applicant", organisation=world["consumer"]), scope="exchange"
    )


def _approved_only(world: dict[str, Any]) -> None:
    protocol = actions.create_protocol(
        source=world["source"], consumer=world["consumer"], **protocol_fields()
    )
    for step in (actions.submit_protocol, actions.agree_protocol, actions.approve_protocol):
        step(protocol=protocol)
    world["protocol"] = protocol


REFUSALS = [
    # (name, setup, request changes, status, code)
    ("no protocol", None, {"protocol": "OOP-9999"}, 403, "no_protocol"),
    ("another body's protocol", _other_body, {}, 403, "no_protocol"),
    ("suspended", _suspend, {}, 403, "protocol_suspended"),
    ("retired", _retire, {}, 403, "protocol_expired"),
    ("past its validity", _lapse, {}, 403, "protocol_expired"),
    ("approved, not active", _approved_only, {}, 403, "protocol_not_active"),
    ("items outside", None, {"items": ["surname", "given_name"]}, 403, "items_outside_protocol"),
    ("no items", None, {"items": []}, 422, "items_missing"),
    ("another purpose", None, {"purpose": "tax-audit"}, 403, "purpose_not_covered"),
    ("no case reference", None, {"case_reference": "  "}, 422, "case_reference_missing"),
    ("no official", None, {"on_behalf_of": ""}, 422, "on_behalf_of_missing"),
    ("invalid number", None, {"national_number": ANNA[:-1] + "0"}, 422, "national_number_invalid"),
    ("no person", None, {"national_number": ...}, 422, "person_missing"),
    ("both forms", None, {"national_numbers": [MARC]}, 422, "person_ambiguous"),
    ("expired token", _expire_token, {}, 401, "token_expired"),
    ("write token", _write_token, {}, 403, "token_scope"),
    ("not an exchange system", _not_a_system, {}, 403, "not_an_exchange_system"),
    (
        "too long a deferral",
        None,
        {"defer_visibility_until": "2999-01-01"},
        403,
        "deferral_not_allowed",
    ),
    (
        "unknown person",
        None,
        {"national_number": national_number(((1990, 1, 1), 1))},
        404,
        "person_not_found",
    ),
]


@pytest.mark.parametrize(
    ("name", "setup", "changes", "status", "code"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_each_refusal_has_its_code_is_logged_and_returns_nothing(
    client: Any, world: dict[str, Any], name: str, setup: Any, changes: dict, status: int, code: str
) -> None:
    if setup is not None:
        setup(world)
    response = post(client, world["token"], body(world, **changes))
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert set(response.json()) == {"error"} and error["code"] == code
    assert error["message"] and "results" not in error["details"]
    text = response.content.decode()
    for value in ("Muller", "12 rue de la Gare", ANNA, MARC):
        assert value not in text  # no data, and the numbers are never echoed
    entry = ExchangeLogEntry.objects.get()
    expected = "not_found" if code == "person_not_found" else "refused"
    assert entry.outcome == expected
    assert entry.refusal_code == ("" if code == "person_not_found" else code)
    assert check(error["details"]["receipt"], keys.trusted_keys()).ok


def test_invalid_numbers_are_named_by_position_and_reason(
    client: Any, world: dict[str, Any]
) -> None:
    payload = body(world, national_number=..., national_numbers=[MARC, "12345", ANNA[:-1] + "0"])
    error = post(client, world["token"], payload).json()["error"]
    assert error["details"]["invalid"] == [
        {"index": 1, "reason": "length"},
        {"index": 2, "reason": "bad_verhoeff"},
    ]
    entry = ExchangeLogEntry.objects.get()
    assert entry.subject_count == 3 and len(entry.subjects) == 1  # only the valid one


@pytest.mark.parametrize("header", [None, "Bearer dlx_nope_nope", "Basic abc"])
def test_without_a_known_token_nothing_is_logged(
    client: Any, world: dict[str, Any], header: str | None
) -> None:
    headers = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.post(
        URL, data=json.dumps(body(world)), content_type="application/json", **headers
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert not ExchangeLogEntry.objects.exists()


def test_a_signed_in_session_cannot_exchange(client: Any, world: dict[str, Any]) -> None:
    client.force_login(world["system"])
    response = client.post(URL, data=json.dumps(body(world)), content_type="application/json")
    assert response.status_code == 401 and not ExchangeLogEntry.objects.exists()


def test_an_exchange_token_writes_nothing_else(client: Any, world: dict[str, Any]) -> None:
    response = client.post(
        "/api/v1/tokens",
        data=json.dumps({"name": "more"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {world['token']}",
    )
    assert response.status_code == 403 and response.json()["error"]["code"] == "token_scope"


def test_the_source_data_follow_the_current_version(client: Any, world: dict[str, Any]) -> None:
    assert post(client, world["token"], body(world)).status_code == 200
    from datalux.catalogue.models import DatasetVersion

    DatasetVersion.objects.all().delete()
    response = post(client, world["token"], body(world))
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "source_unavailable"


def test_without_keys_in_production_the_exchange_is_refused(
    client: Any, world: dict[str, Any], settings: Any, tmp_path: Any
) -> None:
    settings.DATALUX_MODE = "production"
    settings.DATALUX_ONCEONLY_SIGNING_KEY = tmp_path / "absent" / "signing.key"
    response = post(client, world["token"], body(world))
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "exchange_unavailable"
    assert not (tmp_path / "absent").exists()  # production never makes a key on the fly


def test_the_public_keys_are_published(client: Any, world: dict[str, Any]) -> None:
    published = client.get("/api/v1/onceonly/keys").json()
    assert len(published) == 1 and published[0]["algorithm"] == "Ed25519"
    assert published[0]["pem"].startswith("-----BEGIN PUBLIC KEY-----")
