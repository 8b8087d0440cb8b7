"""The citizen's own pages: home, my data (and downloads), who used my data; each citizen sees
only their own records, deferred exchanges not before their date, an unreadable source as
unavailable."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone
from django.utils.html import escape

from datalux.audit.models import AuditEvent
from datalux.citizens import identity
from datalux.citizens.models import PersonUse
from tests.citizens.own_pages import (
    ANNA,
    LEA,
    MARC,
    UNKNOWN,
    citizen,
    exchange,
    fresh_lookups,
    register_world,
    ttp_key,
)
from tests.onceonly.world import designate

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ttp_key", "fresh_lookups")]
__all__ = ["fresh_lookups", "ttp_key"]

PAGES = ["/me/", "/me/data/", "/me/data.json", "/me/data.csv", "/me/uses/"]


@pytest.fixture
def world(make_member: Any) -> dict[str, Any]:
    return register_world(make_member)


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_is_sent_to_sign_in(client: Any, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response["Location"]


@pytest.mark.parametrize("url", PAGES)
def test_a_user_who_is_not_a_citizen_is_refused(client: Any, make_member: Any, url: str) -> None:
    client.force_login(make_member("handler"))
    assert client.get(url).status_code == 403


def test_home_links_the_pages_and_the_site_navigation_shows_it(client: Any) -> None:
    client.force_login(citizen(ANNA, "anna"))
    page = client.get("/me/").content.decode()
    assert 'href="/me/data/"' in page and 'href="/me/uses/"' in page
    assert 'aria-current="page"' in page
    nav = client.get("/me/").context["nav_extra"]
    assert any(item["url"] == "/me/" for item in nav)


def test_my_data_shows_my_record_only_with_labels_and_version(
    client: Any, world: dict[str, Any]
) -> None:
    client.force_login(citizen(ANNA, "anna"))
    page = client.get("/me/data/").content.decode()
    assert "Muller" in page and "12 rue de la Gare" in page and "Anna" in page
    assert "Family name" in page and "The surname in the register." in page
    assert "Weber" not in page and "Schmit" not in page  # other persons' rows
    assert "version 1" in page
    assert ANNA not in page
    event = AuditEvent.objects.get(kind="citizen.data_viewed")
    assert ANNA not in event.details_json and event.organisation_id is None


def test_an_empty_value_and_no_record(client: Any, world: dict[str, Any]) -> None:
    client.force_login(citizen(LEA, "lea"))
    assert "not recorded" in client.get("/me/data/").content.decode()  # no street address
    client.force_login(citizen(UNKNOWN, "nobody"))
    assert "No record about you in this source." in client.get("/me/data/").content.decode()


def test_the_downloads_hold_my_record(client: Any, world: dict[str, Any]) -> None:
    client.force_login(citizen(MARC, "marc"))
    response = client.get("/me/data.json")
    assert response["Content-Disposition"] == 'attachment; filename="my-data.json"'
    data = json.loads(response.content)
    [source] = data["sources"]
    assert source["status"] == "found" and source["version"] == 1
    assert source["dataset"] == world["dataset"].pid
    assert {i["item"]: i["value"] for i in source["items"]} == {
        "given_name": "Marc",
        "surname": "Weber",
        "street_address": "3 route d'Arlon",
    }
    rows = list(csv.reader(io.StringIO(client.get("/me/data.csv").content.decode())))
    assert rows[0] == ["source", "dataset", "item", "label", "value"]
    assert ["Register Office", f"Population register ({world['dataset'].pid})", "surname",
            "Family name", "Weber"] in rows  # fmt: skip
    assert len(rows) == 4 and "Muller" not in str(rows)
    downloads = AuditEvent.objects.filter(kind="citizen.data_downloaded")
    assert [json.loads(e.details_json)["format"] for e in downloads.order_by("seq")] == [
        "json",
        "csv",
    ]
    assert all(MARC not in e.details_json for e in AuditEvent.objects.all())


def test_a_source_that_cannot_be_read_is_shown_as_unavailable(
    client: Any, world: dict[str, Any]
) -> None:
    version = world["dataset"].versions.get()
    Path(settings.DATALUX_STORAGE, version.data_file.relative_path).write_bytes(b"not parquet")
    from tests.factories.catalogue import DatasetFactory, VariableFactory

    empty = DatasetFactory(publisher=world["dataset"].publisher, slug="no-data-yet")
    for name in ("national_id", "given_name", "surname", "street_address"):
        VariableFactory(
            dataset=empty, name=name, code_list="national-id" if name == "national_id" else ""
        )
    designate(empty)  # designated, nothing uploaded
    client.force_login(citizen(ANNA, "anna"))
    response = client.get("/me/data/")
    assert response.status_code == 200
    assert response.content.decode().count("This source is unavailable at the moment.") == 2
    data = json.loads(client.get("/me/data.json").content)
    assert [s["status"] for s in data["sources"]] == ["unavailable", "unavailable"]


def test_who_used_my_data_shows_my_exchanges_only(client: Any, world: dict[str, Any]) -> None:
    anna, marc = citizen(ANNA, "anna"), citizen(MARC, "marc")
    exchange(client, world["token"], world["protocol"], ANNA, case_reference="CAF-ANNA-1")
    exchange(client, world["token"], world["protocol"], MARC, case_reference="CAF-MARC-1")
    exchange(  # a batch of both: each sees it, neither sees the other in it
        client, world["token"], world["protocol"], None, national_number=None,
        national_numbers=[ANNA, MARC], case_reference="CAF-BATCH",
    )  # fmt: skip
    client.force_login(anna)
    page = client.get("/me/uses/").content.decode()
    assert "CAF-ANNA-1" in page and "CAF-BATCH" in page and "CAF-MARC-1" not in page
    assert "Family Benefits Fund" in page and "agent-0815" in page
    assert "Family name" in page  # the item's label in the source's dictionary
    assert escape(world["protocol"].purpose_description) in page
    assert ANNA not in page and MARC not in page
    assert identity.subject_for(MARC) not in page
    client.force_login(marc)
    page = client.get("/me/uses/").content.decode()
    assert "CAF-MARC-1" in page and "CAF-ANNA-1" not in page
    event = AuditEvent.objects.filter(kind="citizen.uses_viewed").last()
    assert event is not None and event.organisation_id is None


def test_a_deferred_exchange_is_hidden_until_its_date(client: Any, world: dict[str, Any]) -> None:
    anna = citizen(ANNA, "anna")
    later = timezone.localdate() + timedelta(days=30)
    exchange(
        client, world["token"], world["protocol"], ANNA,
        case_reference="CAF-INQUIRY", defer_visibility_until=later.isoformat(),
    )  # fmt: skip
    client.force_login(anna)
    page = client.get("/me/uses/").content.decode()
    assert "CAF-INQUIRY" not in page
    assert "No public body has looked up your data so far." in page
    with time_machine.travel(later - timedelta(days=1), tick=False):
        client.force_login(anna)  # a fresh session on the travelled day
        assert "CAF-INQUIRY" not in client.get("/me/uses/").content.decode()
    with time_machine.travel(later, tick=False):
        client.force_login(anna)
        assert "CAF-INQUIRY" in client.get("/me/uses/").content.decode()


def test_the_research_projects_that_used_my_records(client: Any) -> None:
    from tests.access.world import build_world

    access = build_world()
    permit = access.approved().permit
    anna, marc = citizen(ANNA, "anna"), citizen(MARC, "marc")
    PersonUse.objects.create(
        subject=identity.subject_for(ANNA), permit=permit, version=1,
        datasets=[access.stays.pid],
    )  # fmt: skip
    client.force_login(anna)
    page = client.get("/me/uses/").content.decode()
    assert "Readmissions" in page and "Hospital stays" in page and permit.number in page
    assert "Research Lab" in page
    assert date.strftime(permit.starts_on, "%Y") in page
    client.force_login(marc)
    page = client.get("/me/uses/").content.decode()
    assert "Readmissions" not in page
    assert "No research project has used your data so far." in page


def test_exchanges_are_paginated_newest_first(client: Any, world: dict[str, Any]) -> None:
    anna = citizen(ANNA, "anna")
    for n in range(26):
        exchange(client, world["token"], world["protocol"], ANNA, case_reference=f"CAF-{n:03d}")
    client.force_login(anna)
    first = client.get("/me/uses/").content.decode()
    assert "CAF-025" in first and "CAF-001" in first and "CAF-000" not in first
    assert first.index("CAF-025") < first.index("CAF-024")
    assert "Page 1 of 2" in first
    second = client.get("/me/uses/?page=2").content.decode()
    assert "CAF-000" in second and "CAF-025" not in second


def test_a_seal_that_cannot_be_opened_gives_a_plain_page(
    client: Any, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from datalux.privacy.keys import MASTER_KEY_ENV_VAR

    anna = citizen(ANNA, "anna")
    monkeypatch.delenv(MASTER_KEY_ENV_VAR)  # the TTP key is gone
    client.force_login(anna)
    for url in ("/me/data/", "/me/data.json", "/me/uses/"):
        response = client.get(url)
        assert response.status_code == 503
        page = response.content.decode()
        assert "Your data cannot be shown at the moment." in page and ANNA not in page
    assert not AuditEvent.objects.filter(kind__startswith="citizen.data").exists()
