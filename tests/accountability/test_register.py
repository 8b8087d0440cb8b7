"""The records of processing (GDPR Art. 30) are derived from the operations, shown to whom they
concern, exported, and the data-sharing cases are public."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from django.test import Client

from datalux.accountability import register
from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent
from datalux.catalogue.models import DataProduct, pick_language
from datalux.spe.models import Preparation
from tests.access.world import World
from tests.factories.accounts import UserFactory
from tests.onceonly.world import active_protocol, consumer_body, designate, population_register
from tests.spe.conftest import operator, permit, workspace_key, world

__all__ = ["operator", "permit", "workspace_key", "world"]

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _by_reference(records: list[register.Record]) -> dict[str, register.Record]:
    return {r.reference: r for r in records}


def test_a_permit_and_its_extract_have_their_records(
    world: World, permit: Any, operator: Any
) -> None:
    found = _by_reference(register.all_records())
    record = found[f"permit/{permit.number}"]
    application = permit.application
    assert record.controller == permit.organisation.name == "Research Lab"
    assert record.legal_basis.startswith("Art. 6(1)")
    assert application.purpose_description in record.purposes
    [category] = record.data_categories
    granted = permit.datasets.get()
    labels = {v.name: pick_language(v.label) or v.name for v in granted.dataset.variables.all()}
    assert category.startswith("Hospital stays (Health Directorate): ")
    for variable in granted.variables:
        assert labels[variable] in category
    assert permit.ends_on.isoformat() in record.retention
    assert record.special_categories is bool(application.special_categories)
    extract = found[f"extract/{permit.number}/v{permit.version}"]
    manifest = Preparation.objects.get(permit=permit).manifest
    rows = sum(t["rows"] for t in manifest["tables"])
    assert extract.data_subjects.startswith(f"{rows} records")
    assert extract.processors == ["TTP"]
    assert extract.recipients == ["Research Lab"]


def test_a_protocol_past_its_draft_has_a_record() -> None:
    source = designate(population_register())
    protocol = active_protocol(source, consumer_body())
    record = _by_reference(register.all_records())[f"protocol/{protocol.reference}/v1"]
    assert record.controller == "Family Benefits Fund"
    assert record.dpia_reference == protocol.dpia_reference
    assert record.retention.startswith(f"{protocol.retention_days} days")
    assert "Register Office" in record.other_references[0]


def test_who_sees_which_records(world: World, permit: Any) -> None:
    everything = register.all_records()
    assert register.visible_records(world.handler, everything) == everything
    mine = register.visible_records(world.applicant, everything)
    assert {r.reference for r in mine} >= {f"permit/{permit.number}"}
    assert register.visible_records(world.stranger, everything) == []
    # pages: a user without any role is refused, anonymous is sent to sign in
    page = "/accountability/records/"
    assert _client(UserFactory(username="nobody")).get(page).status_code == 403
    assert Client().get(page).status_code == 302
    assert permit.number not in _client(world.stranger).get(page).content.decode()
    assert permit.number in _client(world.applicant).get(page).content.decode()


def test_the_exports_carry_every_visible_record_and_are_audited(world: World, permit: Any) -> None:
    client = _client(world.handler)
    data = json.loads(client.get("/accountability/records.json").content)
    references = {r["reference"] for r in data["records"]}
    assert f"permit/{permit.number}" in references
    response = client.get("/accountability/records.csv?kind=permit")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == register.CSV_COLUMNS
    assert [r[0] for r in rows[1:]] == [f"permit/{permit.number}"]
    events = AuditEvent.objects.filter(kind=EventKind.ACCOUNTABILITY_EXPORTED).order_by("seq")
    assert [e.details["format"] for e in events] == ["json", "csv"]
    assert client.get("/accountability/records.xml").status_code == 404


def test_the_sharing_cases_are_the_permits_with_published_results(
    world: World, permit: Any
) -> None:
    assert register.sharing_cases() == []
    empty = Client().get("/accountability/sharing-cases/").content.decode()
    assert "No project has published" in empty
    product = DataProduct.objects.create(
        kind="result", title="Readmission rates", organisation=permit.organisation,
        permit_number=permit.number,
    )  # fmt: skip
    [case] = register.sharing_cases()
    assert case.permit == permit.number and case.holders == ["Health Directorate"]
    page = Client().get("/accountability/sharing-cases/").content.decode()
    assert "Readmission rates" in page and f"/catalogue/data-products/{product.pk}/" in page
