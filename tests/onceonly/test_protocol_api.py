"""The protocol actions through the API: the same rules, answered in the one error shape."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.onceonly.world import consumer_body, designate, population_register, protocol_fields

pytestmark = pytest.mark.django_db


def _post(client: Any, url: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(url, data=json.dumps(body or {}), content_type="application/json")


def test_a_protocol_goes_from_draft_to_active_through_the_api(
    client: Any, make_member: Any
) -> None:
    source = designate(population_register())
    consumer = consumer_body()
    official = make_member("applicant", organisation=consumer)
    steward = make_member("steward", organisation=source.responsible_body)
    decider = make_member("decider")
    fields = protocol_fields(valid_from="2026-01-01")
    client.force_login(official)
    created = _post(
        client,
        "/api/v1/onceonly/protocols",
        {"source": source.dataset.pid, "consumer": consumer.slug, **fields},
    )
    assert created.status_code == 201, created.content
    base = f"/api/v1/onceonly/protocols/{created.json()['reference']}/versions/1"
    assert _post(client, f"{base}/submit").json()["state"] == "submitted"
    refused = _post(client, f"{base}/approve")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    client.force_login(decider)
    early = _post(client, f"{base}/approve")
    assert early.status_code == 422 and "has not agreed" in json.dumps(early.json())
    client.force_login(steward)
    assert _post(client, f"{base}/agree").status_code == 200
    client.force_login(decider)
    assert _post(client, f"{base}/approve").json()["state"] == "approved"
    assert _post(client, f"{base}/activate").json()["state"] == "active"
    client.force_login(official)
    wrong = _post(client, f"{base}/submit")
    assert wrong.status_code == 409 and wrong.json()["error"]["code"] == "invalid_state"
    client.force_login(decider)
    no_reason = _post(client, f"{base}/suspend")
    assert no_reason.status_code == 422
    suspended = _post(client, f"{base}/suspend", {"reason": "inquiry"})
    assert (
        suspended.json()["state"] == "suspended" and suspended.json()["state_reason"] == "inquiry"
    )
    unknown = _post(client, f"{base}/explode")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"


def test_anonymous_callers_cannot_act(client: Any) -> None:
    response = _post(client, "/api/v1/onceonly/protocols/OOP-0001/versions/1/submit")
    assert response.status_code == 401
