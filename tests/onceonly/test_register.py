"""The public register of exchange protocols: page, CSV and API, without sign-in."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from datalux.onceonly import actions
from datalux.onceonly.models import Protocol
from tests.onceonly.world import (
    active_protocol,
    consumer_body,
    designate,
    population_register,
    protocol_fields,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> dict[str, Any]:
    source = designate(population_register())
    consumer = consumer_body()
    live = active_protocol(
        source, consumer, title="Address check", purpose_description="=1+1 check the address"
    )
    draft = actions.create_protocol(
        source=source, consumer=consumer, **protocol_fields(title="Secret draft")
    )
    return {"source": source, "live": live, "draft": draft}


def test_the_page_lists_public_protocols_only(client: Any, world: dict[str, Any]) -> None:
    page = client.get("/onceonly/protocols/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Address check" in text and "family-allowance-eligibility" in text
    assert "Secret draft" not in text
    detail = client.get(f"/onceonly/protocols/{world['live'].reference}/")
    assert detail.status_code == 200 and "DPIA-2026-014" in detail.content.decode()
    assert client.get(f"/onceonly/protocols/{world['draft'].reference}/").status_code == 404


def test_the_page_filters_by_source(client: Any, world: dict[str, Any]) -> None:
    pid = world["source"].dataset.pid
    assert "Address check" in client.get(f"/onceonly/protocols/?source={pid}").content.decode()
    other = client.get("/onceonly/protocols/?source=DLX-00000000-0").content.decode()
    assert "Address check" not in other


def test_the_csv_is_public_and_formula_safe(client: Any, world: dict[str, Any]) -> None:
    response = client.get("/onceonly/protocols/?format=csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:2] == ["reference", "version"]
    assert len(rows) == 2 and rows[1][0] == world["live"].reference
    assert rows[1][10] == "'=1+1 check the address"  # a spreadsheet reads it as text
    assert rows[1][7] == "surname street_address"


def test_the_api_lists_and_details_without_a_token(client: Any, world: dict[str, Any]) -> None:
    listing = client.get("/api/v1/onceonly/protocols")
    assert listing.status_code == 200
    body = listing.json()
    assert body["count"] == 1 and body["results"][0]["state"] == "active"
    assert body["results"][0]["items"] == ["surname", "street_address"]
    v2 = actions.new_protocol_version(protocol=world["live"], title="Address check v2")
    for step in (actions.submit_protocol, actions.agree_protocol, actions.approve_protocol):
        step(protocol=v2)
    actions.activate_protocol(protocol=v2)
    detail = client.get(f"/api/v1/onceonly/protocols/{world['live'].reference}").json()
    assert detail["current"]["version"] == 2 and detail["current"]["supersedes_version"] == 1
    assert [v["state"] for v in detail["versions"]] == ["active", "retired"]
    missing = client.get(f"/api/v1/onceonly/protocols/{world['draft'].reference}")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_the_api_list_costs_the_same_queries_for_more_protocols(
    client: Any, world: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    for _ in range(3):
        new = actions.new_protocol_version(protocol=Protocol.objects.filter(state="active").get())
        for step in (actions.submit_protocol, actions.agree_protocol, actions.approve_protocol):
            step(protocol=new)
        actions.activate_protocol(protocol=new)
    with django_assert_max_num_queries(3):
        assert client.get("/api/v1/onceonly/protocols").json()["count"] == 4
