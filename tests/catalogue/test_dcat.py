"""DCAT-AP export: conformance to the official 3.0.1 shapes, formats, conneg, paging, PIDs."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from pyshacl import validate
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, FOAF

from datalux.catalogue import dcat
from datalux.catalogue.models import Dataset
from datalux.catalogue.shacl import shapes_graph, validate_graph
from datalux.catalogue.turtle import TurtleWriter
from tests.catalogue.dcat_fixtures import Demo, build_demo
from tests.factories.catalogue import DatasetFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _configured_base_uri(settings: Any) -> None:
    """URIs the tests build outside a request match the export's (tests/catalogue/
    test_downloads.py checks the request's address when none is configured)."""
    settings.DATALUX_BASE_URI_CONFIGURED = True


HYDRA = dcat.HYDRA
DCAT = dcat.DCAT


@pytest.fixture
def demo() -> Demo:
    return build_demo()


def _parse(body: bytes, fmt: str) -> Graph:
    return dcat.parse(body, fmt)


def _uri(dataset: Any) -> URIRef:
    return URIRef(dataset.uri)


def test_whole_catalogue_conforms_to_the_official_shapes(demo: Demo) -> None:
    graph = _parse(dcat.export_catalogue("turtle"), "turtle")
    # pyshacl directly (profile "new" + class ranges, as shared/tools/validate_dcat.py)...
    conforms, _results, text = validate(
        graph, shacl_graph=shapes_graph(), inference="none", allow_warnings=True
    )
    assert conforms, text
    # ... and through the platform's own wrapper.
    result = validate_graph(graph)
    assert result.conforms and result.violations == []


def test_packaged_shapes_are_the_official_files() -> None:
    folder = Path(dcat.__file__).parent / "data" / "shapes"
    digests = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("*.ttl")}
    assert digests == {
        "dcat-ap-SHACL.ttl": "990d3e42721de6a4be8cc338a7171559f195e62dea89c0b56531356b78cc026f",
        "ranges.ttl": "a6eed0fae8d0f5ca977fe2098ca12081ac60b0efe1ddce802d5c08e49505ebcc",
    }
    assert "CC-BY 4.0" in (folder / "README.md").read_text()


def test_export_contents_and_counts(demo: Demo) -> None:
    graph = dcat.catalogue_graph()
    datasets = set(graph.subjects(RDF.type, DCAT.Dataset))
    assert datasets == {_uri(demo.open_data), _uri(demo.protected), _uri(demo.harvested)}
    assert len(set(graph.subjects(RDF.type, DCAT.Distribution))) == 2
    assert len(set(graph.subjects(RDF.type, DCAT.DataService))) == 1
    assert len(set(graph.subjects(RDF.type, DCAT.DatasetSeries))) == 1
    root = URIRef(dcat.catalogue_uri("datalux"))
    sub = URIRef(dcat.catalogue_uri("harvest-geoportail"))
    assert set(graph.objects(root, DCAT.dataset)) == {_uri(demo.open_data), _uri(demo.protected)}
    assert set(graph.objects(root, DCAT.catalog)) == {sub}
    assert set(graph.objects(sub, DCAT.dataset)) == {_uri(demo.harvested)}
    # The service serves only published datasets.
    service = next(graph.subjects(RDF.type, DCAT.DataService))
    assert set(graph.objects(service, DCAT.servesDataset)) == {_uri(demo.open_data)}
    node = _uri(demo.open_data)
    assert graph.value(node, DCTERMS.identifier) == Literal(demo.open_data.pid)
    titles = {(str(t), t.language) for t in graph.objects(node, DCTERMS.title)}
    assert titles == {
        ("Hospital beds", "en"),
        ("Lits d'hôpital", "fr"),
        ("Krankenhausbetten", "de"),
    }
    assert {t.language for t in graph.objects(node, DCTERMS.description)} == {"en", "lb"}
    themes = {str(t).rsplit("/", 1)[-1] for t in graph.objects(node, DCAT.theme)}
    assert themes == {"HEAL", "SOCI"}
    assert str(graph.value(node, DCTERMS.accessRights)).endswith("/access-right/PUBLIC")
    assert str(graph.value(node, DCTERMS.accrualPeriodicity)).endswith("/frequency/ANNUAL")
    publisher = graph.value(node, DCTERMS.publisher)
    assert (publisher, RDF.type, FOAF.Agent) in graph
    assert str(graph.value(publisher, FOAF.name)) == "Ministry of Health"
    period = graph.value(node, DCTERMS.temporal)
    assert str(graph.value(period, DCAT.startDate)) == "2020-01-01"
    assert str(graph.value(node, DCAT.landingPage)).endswith(
        f"/catalogue/datasets/{demo.open_data.pid}/"
    )
    assert (demo.draft.pid, demo.withdrawn.pid) not in {
        (str(o), str(o)) for o in graph.objects(None, DCTERMS.identifier)
    }
    identifiers = {str(o) for o in graph.objects(None, DCTERMS.identifier)}
    assert demo.draft.pid not in identifiers and demo.withdrawn.pid not in identifiers
    # The dictionary is the standard the protected dataset conforms to.
    schema = graph.value(_uri(demo.protected), DCTERMS.conformsTo)
    assert str(schema) == f"{demo.protected.uri}/schema"


def test_a_protected_dataset_exports_no_download_url(demo: Demo) -> None:
    graph = dcat.catalogue_graph()
    protected_dist = graph.value(_uri(demo.protected), DCAT.distribution)
    open_dist = graph.value(_uri(demo.open_data), DCAT.distribution)
    assert graph.value(protected_dist, DCAT.downloadURL) is None
    assert "secret" not in dcat.export_catalogue("turtle").decode()
    access = str(graph.value(protected_dist, DCAT.accessURL))
    assert access.endswith(f"/catalogue/datasets/{demo.protected.pid}/")
    assert str(graph.value(open_dist, DCAT.downloadURL)) == "https://files.example.lu/beds.csv"


@pytest.mark.parametrize("fmt", ["turtle", "xml", "json-ld"])
def test_round_trip_in_every_format(demo: Demo, fmt: str) -> None:
    expected = dcat.catalogue_graph()
    parsed = _parse(dcat.export_catalogue(fmt), fmt)
    assert len(parsed) == len(expected) > 100
    assert isomorphic(parsed, expected)


def test_turtle_writer_escapes_awkward_text_and_iris() -> None:
    graph = Graph()
    node = URIRef("https://example.lu/id/x y{z}")
    graph.add((node, DCTERMS.title, Literal('quote " back \\ new\nline', lang="lb")))
    graph.add((node, DCTERMS.identifier, Literal("7", datatype=URIRef("urn:type:x"))))
    graph.add((node, RDF.type, DCAT.Dataset))
    out = io.StringIO()
    assert TurtleWriter(dcat.PREFIXES).write(graph, out) == 3
    assert set(_parse(out.getvalue().encode(), "turtle")) == set(graph)


def test_pid_and_uri_survive_a_rename(demo: Demo) -> None:
    before = demo.open_data.uri
    demo.open_data.title = {"en": "Hospital beds (renamed)"}
    demo.open_data.version = "3.0"
    demo.open_data.save()
    graph = dcat.catalogue_graph()
    assert str(graph.value(URIRef(before), DCAT.version)) == "3.0"
    assert before.endswith(f"/id/dataset/{demo.open_data.pid}")


@pytest.mark.parametrize(
    ("accept", "query", "media_type", "fmt"),
    [
        ("text/turtle", "", "text/turtle", "turtle"),
        ("application/rdf+xml", "", "application/rdf+xml", "xml"),
        ("application/ld+json", "", "application/ld+json", "json-ld"),
        ("application/json", "", "application/ld+json", "json-ld"),
        ("text/turtle;q=0.5, application/ld+json", "", "application/ld+json", "json-ld"),
        ("", "", "text/turtle", "turtle"),
        ("text/turtle", "?format=xml", "application/rdf+xml", "xml"),
        ("text/html,*/*;q=0.8", "", "text/turtle", "turtle"),
    ],
)
def test_catalogue_content_negotiation(
    demo: Demo, client: Client, accept: str, query: str, media_type: str, fmt: str
) -> None:
    headers = {"Accept": accept} if accept else {}
    response = client.get(f"/catalogue/dcat{query}", headers=headers)
    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0] == media_type
    assert "Accept" in response["Vary"]
    graph = _parse(response.content, fmt)
    assert len(set(graph.subjects(RDF.type, DCAT.Dataset))) == 3


def test_catalogue_refuses_unknown_formats(demo: Demo, client: Client) -> None:
    response = client.get("/catalogue/dcat", headers={"Accept": "application/pdf"})
    assert response.status_code == 406
    assert "text/turtle" in response.content.decode()
    response = client.get("/catalogue/dcat?format=csv")
    assert response.status_code == 406
    assert "unknown format" in response.content.decode()
    assert client.get("/catalogue/dcat?page=abc").status_code == 400
    assert client.get("/catalogue/dcat?page_size=0").status_code == 400


def test_hydra_paging(demo: Demo, client: Client) -> None:
    for _ in range(2):
        DatasetFactory(catalogue=demo.catalogue)
    # 5 published datasets, 2 per page: pages 1..3.
    seen: set[URIRef] = set()
    modified: set[Any] = set()
    for number in (1, 2, 3):
        response = client.get(f"/catalogue/dcat?page={number}&page_size=2&format=turtle")
        assert response.status_code == 200
        graph = _parse(response.content, "turtle")
        page_datasets = set(graph.subjects(RDF.type, DCAT.Dataset))
        assert len(page_datasets) == (2 if number < 3 else 1)
        assert not seen & page_datasets
        seen |= page_datasets
        root = URIRef(dcat.catalogue_uri("datalux"))
        assert int(graph.value(root, HYDRA.totalItems)) == 5
        modified.add(graph.value(root, DCTERMS.modified).toPython())
        view = graph.value(root, HYDRA.view)
        assert (view, RDF.type, HYDRA.PartialCollectionView) in graph
        assert str(view).endswith(f"page={number}&page_size=2")
        assert str(graph.value(view, HYDRA.first)).endswith("page=1&page_size=2")
        assert str(graph.value(view, HYDRA.last)).endswith("page=3&page_size=2")
        following = graph.value(view, HYDRA.next)
        previous = graph.value(view, HYDRA.previous)
        if number < 3:
            assert str(following).endswith(f"page={number + 1}&page_size=2")
            assert "format=turtle" in str(following)
        else:
            assert following is None
        assert (previous is None) == (number == 1)
    assert len(seen) == 5
    newest = max(d.modified for d in Dataset.objects.filter(status="published"))
    assert modified == {newest.replace(microsecond=0)}  # the same on every page
    assert client.get("/catalogue/dcat?page=4&page_size=2").status_code == 404


def test_dataset_uri_negotiates_page_or_metadata(demo: Demo, client: Client) -> None:
    pid = demo.open_data.pid
    browser = client.get(f"/id/dataset/{pid}", headers={"Accept": "text/html,*/*;q=0.8"})
    assert browser.status_code == 302
    assert browser["Location"] == f"/catalogue/datasets/{pid}/"
    assert client.get(f"/id/dataset/{pid}").status_code == 302
    for accept, fmt in [
        ("text/turtle", "turtle"),
        ("application/rdf+xml", "xml"),
        ("application/ld+json", "json-ld"),
    ]:
        response = client.get(f"/id/dataset/{pid}", headers={"Accept": accept})
        assert response.status_code == 200
        graph = _parse(response.content, fmt)
        assert set(graph.subjects(RDF.type, DCAT.Dataset)) == {_uri(demo.open_data)}
        assert result_conforms(graph)
    xml = client.get(f"/id/dataset/{pid}?format=xml", headers={"Accept": "text/html"})
    assert xml["Content-Type"].startswith("application/rdf+xml")


def result_conforms(graph: Graph) -> bool:
    return validate_graph(graph).conforms


def test_dataset_uri_hides_drafts_and_keeps_withdrawn_pids(demo: Demo, client: Client) -> None:
    turtle = {"Accept": "text/turtle"}
    assert client.get(f"/id/dataset/{demo.draft.pid}", headers=turtle).status_code == 404
    assert client.get(f"/id/dataset/{demo.withdrawn.pid}", headers=turtle).status_code == 410
    assert client.get("/id/dataset/DLX-00000000-0", headers=turtle).status_code == 404


def test_dataset_schema_and_catalogue_uri(demo: Demo, client: Client) -> None:
    schema = client.get(f"/id/dataset/{demo.protected.pid}/schema")
    assert schema.status_code == 200
    assert [f["name"] for f in schema.json()["fields"]] == ["age"]
    assert client.get(f"/id/dataset/{demo.open_data.pid}/schema").status_code == 404
    redirect = client.get("/id/catalogue/datalux")
    assert redirect.status_code == 302 and redirect["Location"] == "/catalogue/dcat"


def test_export_queries_do_not_grow_with_the_catalogue(
    demo: Demo, django_assert_max_num_queries: Any
) -> None:
    for _ in range(20):
        DatasetFactory(catalogue=demo.catalogue)
    with django_assert_max_num_queries(12):
        dcat.export_catalogue("turtle")
