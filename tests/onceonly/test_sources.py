"""Authentic sources: designation (permission, validation, audit), the dataset page, DCAT-AP."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from pyshacl import validate
from rdflib import Literal, URIRef

from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent
from datalux.catalogue import dcat
from datalux.catalogue.models import Variable
from datalux.catalogue.shacl import shapes_graph
from datalux.onceonly.dcat import PROV
from datalux.onceonly.models import AuthenticSource
from tests.catalogue.dcat_fixtures import build_demo
from tests.factories.accounts import OrganisationFactory
from tests.onceonly.world import designate, population_register

pytestmark = pytest.mark.django_db


def test_a_steward_designates_and_updates_an_authentic_source(make_member: Any) -> None:
    dataset = population_register()
    steward = make_member("steward", organisation=dataset.publisher)
    source = designate(dataset, by=steward)
    assert source.items == ["given_name", "surname", "street_address"]
    assert source.key_item == "national_id"  # found by its code list
    event = AuditEvent.objects.get(kind=EventKind.ONCEONLY_SOURCE_DESIGNATED)
    assert event.details["dataset"] == dataset.pid and event.actor_id == steward.pk

    designate(dataset, by=steward, items=["surname", "surname ", "commune"])
    source.refresh_from_db()
    assert source.items == ["surname", "commune"]
    assert AuthenticSource.objects.count() == 1
    assert AuditEvent.objects.filter(kind=EventKind.ONCEONLY_SOURCE_UPDATED).count() == 1


def test_a_steward_of_another_holder_is_refused(make_member: Any) -> None:
    dataset = population_register()
    with pytest.raises(PermissionDenied, match="only stewards of"):
        designate(dataset, by=make_member("steward"))
    assert not AuthenticSource.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"items": ["given_name", "shoe_size"]}, "items", "not in the dataset's data dictionary"),
        ({"items": []}, "items", "at least one data item"),
        ({"key_item": "nope"}, "key_item", "holds the national number"),
        ({"update_frequency": "HOURLY"}, "update_frequency", "must be one of"),
        ({"quality_commitment": "  "}, "quality_commitment", "state the quality"),
    ],
)
def test_bad_designations_say_what_to_fix(overrides: dict, field: str, message: str) -> None:
    dataset = population_register()
    with pytest.raises(ValidationError) as info:
        designate(dataset, **overrides)
    assert message in " ".join(info.value.message_dict[field])
    assert not AuthenticSource.objects.exists()


def test_a_private_body_cannot_answer_for_an_authentic_source() -> None:
    dataset = population_register()
    with pytest.raises(ValidationError) as info:
        designate(dataset, responsible_body=OrganisationFactory(sector="private"))
    assert "public body" in " ".join(info.value.message_dict["responsible_body"])


def test_the_dataset_page_shows_the_designation(client: Any) -> None:
    dataset = population_register()
    page = client.get(f"/catalogue/datasets/{dataset.pid}/")
    assert page.status_code == 200 and b'id="authentic-source"' not in page.content
    designate(dataset)
    Variable.objects.filter(dataset=dataset, name="street_address").delete()
    page = client.get(f"/catalogue/datasets/{dataset.pid}/")
    text = page.content.decode()
    assert 'id="authentic-source"' in text
    assert "<code>surname</code>" in text and "Daily" in text
    assert "within 3 working days" in text
    assert "no longer in the data dictionary" in text  # street_address left the dictionary


def test_the_dcat_export_attributes_the_source_and_stays_valid() -> None:
    demo = build_demo()
    Variable.objects.create(dataset=demo.protected, position=2, name="national_id", type="string")
    source = designate(demo.protected, items=["age"], key_item="national_id")
    graph = dcat.parse(dcat.export_catalogue("turtle"), "turtle")
    node = URIRef(demo.protected.uri)
    attribution = URIRef(f"{demo.protected.uri}#authentic-source")
    assert (node, PROV.qualifiedAttribution, attribution) in graph
    agent = graph.value(attribution, PROV.agent)
    assert str(agent).endswith(f"/id/organisation/{source.responsible_body.slug}")
    comment = graph.value(attribution, URIRef("http://www.w3.org/2000/01/rdf-schema#comment"))
    assert isinstance(comment, Literal) and "Authentic source for: age" in str(comment)
    conforms, _results, text = validate(
        graph, shacl_graph=shapes_graph(), inference="none", allow_warnings=True
    )
    assert conforms, text
    # the one dataset's own description (validated before publication) carries it too
    single = dcat.dataset_graph(demo.protected)
    assert (node, PROV.qualifiedAttribution, attribution) in single
