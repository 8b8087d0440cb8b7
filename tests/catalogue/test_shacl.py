"""Each record is validated against the DCAT-AP 3.0.1 shapes when published; findings are plain."""

from __future__ import annotations

from typing import Any

import pytest
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS

from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent
from datalux.catalogue.actions import publish_dataset
from datalux.catalogue.dcat import DCAT, dataset_graph
from datalux.catalogue.models import DatasetStatus, Distribution
from datalux.catalogue.shacl import validate_dataset, validate_graph
from tests.factories.catalogue import DatasetFactory

pytestmark = pytest.mark.django_db


def test_a_record_without_description_yields_a_readable_violation() -> None:
    dataset = DatasetFactory(description={}, status=DatasetStatus.DRAFT)
    result = validate_dataset(dataset)
    assert not result.conforms
    [finding] = result.violations
    assert finding["severity"] == "Violation"
    assert finding["focus"] == dataset.uri
    assert finding["path"] == "dct:description"
    message = finding["message"]
    assert message.startswith("The dataset has no description (dct:description)")
    assert "add it" in message
    assert "http://www.w3.org/ns/shacl" not in message  # no SHACL jargon for stewards


def test_a_good_record_conforms_with_no_findings() -> None:
    dataset = DatasetFactory(status=DatasetStatus.DRAFT)
    Distribution.objects.create(dataset=dataset, title={"en": "File"}, file_format="CSV")
    result = validate_dataset(dataset)
    assert result.conforms, result.findings
    assert result.findings == []
    assert len(dataset_graph(dataset)) > 20


def test_class_and_cardinality_findings_on_a_hand_made_graph() -> None:
    graph = Graph()
    node = URIRef("https://example.lu/id/dataset/x")
    publisher = URIRef("https://example.lu/org/untyped")
    graph.add((node, RDF.type, DCAT.Dataset))
    graph.add((node, DCTERMS.title, Literal("X", lang="en")))
    graph.add((node, DCTERMS.description, Literal("X", lang="en")))
    graph.add((node, DCTERMS.publisher, publisher))  # an IRI alone: not a foaf:Agent
    graph.add((node, DCTERMS.issued, Literal("2024-01-01")))
    graph.add((node, DCTERMS.issued, Literal("2024-02-01")))
    result = validate_graph(graph)
    assert not result.conforms
    by_path = {f["path"]: f["message"] for f in result.violations}
    assert set(by_path) == {"dct:publisher", "dct:issued"}
    assert "not described as an organisation (agent)" in by_path["dct:publisher"]
    assert str(publisher) in by_path["dct:publisher"]
    assert "too many values" in by_path["dct:issued"] and "at most 1" in by_path["dct:issued"]


def test_publish_refuses_a_violating_record_and_keeps_it_draft(make_member: Any) -> None:
    dataset = DatasetFactory(description={}, status=DatasetStatus.DRAFT)
    steward = make_member("steward", organisation=dataset.publisher)
    publish_dataset(dataset=dataset, by=steward)
    dataset.refresh_from_db()
    assert dataset.status == DatasetStatus.DRAFT
    assert dataset.issued is None
    assert dataset.shacl_conforms is False
    assert [f["path"] for f in dataset.shacl_report] == ["dct:description"]
    event = AuditEvent.objects.get(kind=EventKind.DATASET_PUBLICATION_REFUSED)
    assert '"violations":1' in event.details_json.replace(" ", "")


def test_publish_accepts_a_good_record(make_member: Any) -> None:
    dataset = DatasetFactory(status=DatasetStatus.DRAFT)
    steward = make_member("steward", organisation=dataset.publisher)
    publish_dataset(dataset=dataset, by=steward)
    dataset.refresh_from_db()
    assert dataset.status == DatasetStatus.PUBLISHED
    assert dataset.shacl_conforms is True
    assert dataset.shacl_report == []
    assert AuditEvent.objects.filter(kind=EventKind.DATASET_PUBLISHED).count() == 1
