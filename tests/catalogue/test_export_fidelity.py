"""The export invents nothing (issue 18, item 3): a harvested record's ``dct:issued``,
``dct:modified`` and ``dcat:landingPage`` are the source's (our page is its ``foaf:page``),
and every format and media-type IRI comes from the EU file-type table or the IANA registry
(packaged: ``datalux/catalogue/data/file-types.md``). Real third-party documents
(tests/catalogue/fixtures/dcat) are harvested, exported and compared with what they say."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rdflib import RDF, BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDFS

from datalux.catalogue import dcat, filetypes
from datalux.catalogue.harvest import read_source, register_source, run_harvest
from datalux.catalogue.harvest_import import HarvestReport
from datalux.catalogue.models import Dataset, Distribution, HarvestSource
from datalux.catalogue.shacl import validate_graph
from tests.factories.accounts import OrganisationFactory
from tests.factories.catalogue import CatalogueFactory, DatasetFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures" / "dcat"
DCAT = dcat.DCAT
# documents whose datasets give dates and landing pages in several dialects: xsd:date and a
# dateTime without seconds (ckanext-dcat), dateTimes with microseconds (GovData, udata), a
# landing page as an xsd:anyURI literal (ckanext-dcat) or a plain literal (udata)
WITH_DATES = [
    "ckanext-dcat/dataset.rdf",
    "ckanext-dcat/dataset_gov_de.rdf",
    "ckanext-dcat/dataset_sweden.rdf",
    "udata/catalog.xml",
    "udata/udata.xml",
]
ALL = [
    *WITH_DATES,
    "ckanext-dcat/dataset_gob_es.ttl",
    "ckanext-dcat/catalog.rdf",
    "udata/bnodes.xml",
    "udata/flat.jsonld",
    "udata/evian.json",
    "semic-geodcat-ap/dataset.ttl",
]


@pytest.fixture(autouse=True)
def _fixture_folder(settings: Any) -> None:
    settings.DATALUX_HARVEST_FILE_DIR = FIXTURES
    settings.DATALUX_BASE_URI_CONFIGURED = True


@pytest.fixture
def holder() -> Any:
    CatalogueFactory()
    return OrganisationFactory(name="Harvesting office")


def harvest(name: str, holder: Any) -> tuple[HarvestSource, Graph]:
    """Harvest a fixture; return the source and the document as the harvester reads it."""
    location = str(FIXTURES / name)
    source = register_source(name=name, url=location, publisher=holder)
    run_harvest(source=source)
    return source, read_source(location, HarvestReport(source=name))


def literals(graph: Graph, node: Any, predicate: URIRef) -> set[Literal]:
    return {o for o in graph.objects(node, predicate) if isinstance(o, Literal)}


def landing_pages(graph: Graph, node: Any) -> set[str]:
    return {str(o) for o in graph.objects(node, DCAT.landingPage) if not isinstance(o, BNode)}


def dates(graph: Graph, dataset: Any) -> list[tuple[list[Literal], list[Literal]]]:
    """The dct:issued and dct:modified of each distribution of a dataset, sorted."""
    return sorted(
        (
            sorted(literals(graph, d, DCTERMS.issued)),
            sorted(literals(graph, d, DCTERMS.modified)),
        )
        for d in graph.objects(dataset, DCAT.distribution)
    )


@pytest.mark.parametrize("name", WITH_DATES)
def test_a_harvested_record_exports_the_sources_dates_and_landing_page(
    holder: Any, name: str
) -> None:
    source, document = harvest(name, holder)
    harvested = {d.remote_id: d for d in Dataset.objects.filter(harvest_source=source)}
    assert harvested
    compared = 0
    for remote in document.subjects(RDF.type, DCAT.Dataset):
        record = harvested.get(str(remote))
        if record is None:
            continue  # skipped by the harvest (not open data, no title)
        export = dcat.dataset_graph(record)
        ours = URIRef(record.uri)
        for predicate in (DCTERMS.issued, DCTERMS.modified):
            given = literals(document, remote, predicate)
            assert literals(export, ours, predicate) == given, (name, record.remote_id)
        assert landing_pages(export, ours) == landing_pages(document, remote)
        # our own page of the copy is a separate property, never a second landing page
        page = dcat.Builder().landing_page(record.pid)
        assert set(export.objects(ours, FOAF.page)) == {URIRef(page)}
        assert page not in landing_pages(export, ours)
        # the distributions' dates are the source's too
        assert dates(export, ours) == dates(document, remote)
        compared += 1
    assert compared == len(harvested)
    assert any(literals(document, r, DCTERMS.modified) for r in document.subjects())


def test_a_harvested_record_without_dates_or_landing_page_exports_none(holder: Any) -> None:
    # The GeoDCAT-AP example gives neither dct:issued, dct:modified nor dcat:landingPage.
    source, _document = harvest("semic-geodcat-ap/dataset.ttl", holder)
    [record] = Dataset.objects.filter(harvest_source=source)
    assert record.issued is not None and record.modified is not None  # our copy's times
    export = dcat.dataset_graph(record)
    ours = URIRef(record.uri)
    for predicate in (DCTERMS.issued, DCTERMS.modified, DCAT.landingPage):
        assert not list(export.objects(ours, predicate)), predicate
    for dist in export.objects(ours, DCAT.distribution):
        assert not list(export.objects(dist, DCTERMS.issued))
        assert not list(export.objects(dist, DCTERMS.modified))
    assert list(export.objects(ours, FOAF.page))


def test_a_local_record_keeps_its_own_dates_and_landing_page() -> None:
    record: Any = DatasetFactory(pid="DLX-00000001-5", access_rights="PUBLIC")
    export = dcat.dataset_graph(record)
    ours = URIRef(record.uri)
    page = URIRef(dcat.Builder().landing_page(record.pid))
    assert set(export.objects(ours, DCAT.landingPage)) == {page}
    assert not list(export.objects(ours, FOAF.page))
    [modified] = literals(export, ours, DCTERMS.modified)
    assert modified.toPython() == record.modified.replace(microsecond=0)


def _check_format_iris(graph: Graph) -> None:
    codes = filetypes.file_type_codes()
    names = set(filetypes.media_type_names().values())
    for fmt in graph.objects(None, DCTERMS.format):
        if isinstance(fmt, URIRef):
            assert str(fmt).startswith(filetypes.FILE_TYPES), fmt
            assert str(fmt).removeprefix(filetypes.FILE_TYPES) in codes, fmt
        else:  # a format outside the table: its text, never an IRI of ours
            assert (fmt, RDF.type, DCTERMS.MediaTypeOrExtent) in graph
            assert literals(graph, fmt, RDFS.label), fmt
    for media in graph.objects(None, DCAT.mediaType):
        assert isinstance(media, URIRef), media
        assert str(media).startswith(filetypes.MEDIA_TYPES), media
        assert str(media).removeprefix(filetypes.MEDIA_TYPES) in names, media


def test_every_format_and_media_type_iri_exported_is_in_the_packaged_lists(holder: Any) -> None:
    for name in ALL:
        harvest(name, holder)
    export = dcat.catalogue_graph()
    assert len(set(export.subjects(RDF.type, DCAT.Dataset))) >= 15
    _check_format_iris(export)
    for record in Dataset.objects.filter(harvest_source__isnull=False):
        _check_format_iris(dcat.dataset_graph(record))  # drafts too
    # GovData says file-type/WMS and /WFS, which the EU table does not have (it has WMS_SRVC
    # and WFS_SRVC): they are exported as text; GEOJSON and its IANA type as IRIs.
    labels = {str(o) for o in export.objects(None, RDFS.label)}
    assert {"WMS", "WFS"} <= labels
    iris = {str(o) for o in export.objects(None, DCTERMS.format)}
    assert f"{filetypes.FILE_TYPES}GEOJSON" in iris
    assert f"{filetypes.FILE_TYPES}WMS" not in iris
    media = {str(o) for o in export.objects(None, DCAT.mediaType)}
    assert f"{filetypes.MEDIA_TYPES}application/geo+json" in media
    assert validate_graph(export).conforms
    # the Turtle stream writes the same formats (blank nodes included)
    parsed = dcat.parse(dcat.export_catalogue("turtle"), "turtle")
    _check_format_iris(parsed)
    assert {"WMS", "WFS"} <= {str(o) for o in parsed.objects(None, RDFS.label)}


def test_a_format_or_media_type_outside_the_lists_is_exported_as_text() -> None:
    record: Any = DatasetFactory(pid="DLX-00000002-3", access_rights="PUBLIC")
    Distribution.objects.create(
        dataset=record, title={"en": "A"}, file_format="RDF+XML", media_type="", access_url=""
    )
    Distribution.objects.create(
        dataset=record,
        title={"en": "B"},
        file_format="",
        media_type="application/x-made-up",
        access_url="",
    )
    Distribution.objects.create(
        dataset=record,
        title={"en": "C"},
        file_format="CSV",
        media_type="text/csv; charset=utf-8",
        access_url="",
    )
    export = dcat.dataset_graph(record)
    _check_format_iris(export)
    labels = {str(o) for o in export.objects(None, RDFS.label)}
    assert {"RDF+XML", "application/x-made-up"} <= labels
    assert {str(o) for o in export.objects(None, DCAT.mediaType)} == {
        f"{filetypes.MEDIA_TYPES}text/csv"
    }
    assert validate_graph(export).conforms


def test_the_packaged_lists_hold_the_real_codes() -> None:
    assert filetypes.file_type_iri("CSV") == f"{filetypes.FILE_TYPES}CSV"
    assert filetypes.file_type_iri("WMS_SRVC") is not None
    for invented in ("WMS", "RDF+XML", "FORMAT", "csv", ""):
        assert filetypes.file_type_iri(invented) is None
    assert filetypes.media_type_iri("Text/CSV") == f"{filetypes.MEDIA_TYPES}text/csv"
    assert filetypes.media_type_iri("application/vnd.apache.parquet")
    assert filetypes.media_type_iri("text/x-made-up") is None
    assert len(filetypes.file_type_codes()) > 200
    assert len(filetypes.media_type_names()) > 2000


def test_only_a_bounded_date_and_a_web_address_are_kept_from_the_source() -> None:
    from datalux.catalogue.harvest_map import MAX_DATE, map_dataset

    graph = Graph()
    node = URIRef("https://remote.example/dataset/1")
    graph.add((node, RDF.type, DCAT.Dataset))
    graph.add((node, DCTERMS.title, Literal("Remote", lang="en")))
    graph.add((node, DCTERMS.issued, Literal("x" * (MAX_DATE + 1))))
    graph.add((node, DCTERMS.modified, Literal("2024-05-08", datatype=dcat.XSD.date)))
    graph.add((node, DCAT.landingPage, Literal("javascript:alert(1)")))
    mapped = map_dataset(graph, node)
    assert not isinstance(mapped, str)
    assert mapped.fields["remote_dates"] == {
        "modified": {"value": "2024-05-08", "datatype": str(dcat.XSD.date), "language": ""}
    }
    assert mapped.fields["remote_landing_page"] == ""
    graph.set((node, DCAT.landingPage, URIRef("https://remote.example/page/1")))
    mapped = map_dataset(graph, node)
    assert not isinstance(mapped, str)
    assert mapped.fields["remote_landing_page"] == "https://remote.example/page/1"
