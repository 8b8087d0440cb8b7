"""Real DCAT documents written by other software (tests/catalogue/fixtures/dcat, README.md
there): each is harvested with an expected count, what it says is kept, and a second run,
of the same document or of the same statements in another order, changes nothing."""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph

from datalux.catalogue.harvest import HarvestError, register_source, run_harvest
from datalux.catalogue.models import (
    DataService,
    Dataset,
    DatasetSeries,
    DatasetStatus,
    Distribution,
    HarvestSource,
)
from datalux.catalogue.shacl import validate_graph
from datalux.catalogue.turtle import TurtleWriter
from tests.factories.accounts import OrganisationFactory
from tests.factories.catalogue import CatalogueFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures" / "dcat"
EU = "http://publications.europa.eu/resource/authority"
BEES = "semic-dcat-ap/example-bee-population-dataset-series"


@pytest.fixture(autouse=True)
def _fixture_folder(settings: Any) -> None:
    settings.DATALUX_HARVEST_FILE_DIR = FIXTURES


@pytest.fixture
def holder() -> Any:
    CatalogueFactory()
    return OrganisationFactory(name="Harvesting office")


def harvest(name: str, holder: Any) -> tuple[HarvestSource, Any]:
    source = register_source(name=name, url=str(FIXTURES / name), publisher=holder)
    return source, run_harvest(source=source)


def records(source: HarvestSource) -> dict[str, Dataset]:
    return {d.remote_id: d for d in Dataset.objects.filter(harvest_source=source)}


def snapshot(source: HarvestSource) -> list[Any]:
    """Everything a run may change, modification times included."""
    datasets = sorted(
        (
            {k: v for k, v in d.__dict__.items() if not k.startswith("_") and k != "last_harvested"}
            for d in Dataset.objects.filter(harvest_source=source)
        ),
        key=lambda d: d["remote_id"],
    )
    distributions = sorted(
        Distribution.objects.filter(dataset__harvest_source=source).values_list(
            "dataset__remote_id", "pk", "title", "access_url", "download_url", "file_format",
            "media_type", "byte_size", "licence", "licence_uri", "access_service__remote_id",
        ),
        key=str,
    )  # fmt: skip
    services = sorted(
        (s.remote_id, s.pk, s.title, s.endpoint_url, sorted(map(str, s.serves_datasets.all())))
        for s in DataService.objects.filter(catalogue=source.catalogue)
    )
    series = sorted(
        DatasetSeries.objects.filter(catalogue=source.catalogue).values_list(
            "remote_id", "pk", "title"
        ),
        key=str,
    )
    return [datasets, distributions, services, series]


# -- what each document holds -------------------------------------------------------------------
def udata_catalog(source: HarvestSource) -> None:
    found = records(source)
    one = found["http://data.test.org/datasets/1"]
    # URLs written as plain literals are read as URLs.
    assert {d.access_url for d in one.distributions.all()} >= {
        "http://data.test.org/datasets/1/resources/1/file.json"
    }
    assert one.remote_publisher == {
        "uri": "http://data.test.org/organizations/1",
        "name": "An Organization",
    }
    assert one.publisher == source.publisher  # the record stays the source's
    assert {"Theme 1", "Theme 2"} <= set(one.keywords)  # themes written as text
    # The WMS distribution's data service is kept and serves the dataset.
    [service] = DataService.objects.filter(catalogue=source.catalogue)
    assert service.endpoint_url == "http://data.test.org/datasets/1/resources/4/services"
    assert list(service.serves_datasets.all()) == [one]
    wms = one.distributions.get(access_service=service)
    assert "SERVICE=WMS" in wms.access_url
    assert one.distributions.get(byte_size=12323).media_type == "application/json"


def udata_bnodes(source: HarvestSource) -> None:
    licences = {d.licence for d in records(source).values()}
    assert "etalab-2.0" in licences  # "Licence Ouverte Version 2.0"


def udata_output(source: HarvestSource) -> None:
    vanves = records(source)[
        "https://vanves-seineouest.opendatasoft.com/explore/dataset/bureau-de-vote-vanves/"
    ]
    formats = sorted(vanves.distributions.values_list("file_format", "media_type"))
    assert formats == [
        ("CSV", "text/csv"),
        ("JSON", "application/json"),
        ("JSON", "application/json"),
        ("ZIP", "application/zip"),
    ]
    [api] = DataService.objects.filter(catalogue=source.catalogue)
    assert api.endpoint_description.endswith("/swagger.json")
    assert api.serves_datasets.count() == 2  # dcat:servesDataset


def udata_geonetwork(source: HarvestSource) -> None:
    [record] = records(source).values()
    assert record.languages == ["ENG"]  # "eng"
    assert "http://inspire.ec.europa.eu/theme/ef" in record.other_themes
    assert "http://www.eionet.europa.eu/gemet/concept/834" in record.other_themes
    assert record.accrual_periodicity == "CONT"  # ISO 19115 "continual"


def udata_sig_oreme(source: HarvestSource) -> None:
    [record] = records(source).values()
    [distribution] = record.distributions.all()
    assert distribution.access_url == "https://oreme.org/observation/gravi"  # a literal
    assert record.accrual_periodicity == "IRREG"  # "http://purl.org/cld/freq/irregular"


def udata_series(source: HarvestSource) -> None:
    # The one dataset's rights are a free-text statement: not open data we can tell, skipped;
    # its series and its two data services are kept.
    [series] = DatasetSeries.objects.filter(catalogue=source.catalogue)
    assert series.title == {"fr": "DCE \N{EN DASH} Bassin Artois-Picardie - Etat global"}
    endpoints = sorted(DataService.objects.values_list("endpoint_url", flat=True))
    assert endpoints == [
        "https://sextant.ifremer.fr/services/wfs/dce_ap",
        "https://sextant.ifremer.fr/services/wms/dce_ap",
    ]


def udata_evian(source: HarvestSource) -> None:
    # DCAT-US JSON-LD (ArcGIS Hub) through the packaged Project Open Data context
    found = records(source)
    velos = found[
        "https://www.arcgis.com/home/item.html?id=f6565516d1354383b25793e630cf3f2b&sublayer=5"
    ]
    assert velos.title == {"en": "stationnement velos"}
    assert velos.remote_publisher == {"uri": "", "name": "Ville d'Evian-les-Bains"}


def ckan_gob_es(source: HarvestSource) -> None:
    [record] = records(source).values()
    assert record.languages == ["SPA"]  # "es"
    assert record.remote_publisher["name"] == "Ayuntamiento de Madrid"  # a skos:Concept
    assert record.licence == "" and record.licence_uri == (
        "https://datos.madrid.es/egob/catalogo/aviso-legal"
    )
    assert record.other_themes == ["http://datos.gob.es/kos/sector-publico/sector/deporte"]
    [distribution] = record.distributions.all()
    assert distribution.access_url.endswith("300676-0-deporte-encuesta-escuelas.xlsx")
    assert (distribution.file_format, distribution.media_type) == (
        "XLS",
        "application/vnd.ms-excel",
    )  # a dct:IMT node
    assert distribution.byte_size == 43008  # written 43008.0


def ckan_gov_de(source: HarvestSource) -> None:
    [record] = records(source).values()
    assert record.licence == "CC0-1.0"  # http://dcat-ap.de/def/licenses/cc-zero
    assert record.languages == ["DEU"]
    assert record.title == {"de": "Liefer- und Abholservices (Gastronomie)"}  # untagged
    assert record.applicable_legislation == ["http://data.europa.eu/eli/reg_impl/2023/138/oj"]
    kinds = sorted((g["property"], g["datatype"].rsplit("/", 1)[-1]) for g in record.geometries)
    assert kinds == [("geometry", "geosparql#wktLiteral"), ("geometry", "vnd.geo+json")]
    assert record.distributions.count() == 9
    assert record.distributions.get(file_format="GEOJSON").byte_size == 147253


def ckan_sweden(source: HarvestSource) -> None:
    [record] = records(source).values()
    assert record.licence == "CC-BY-NC-3.0"  # creativecommons.org/licenses/by-nc/3.0/
    assert record.other_themes == ["http://eurovoc.europa.eu/100142"]
    assert record.spatial == ["http://sws.geonames.org/2673730"]
    assert record.remote_publisher == {"uri": "", "name": "Nobel Media AB"}


def ckan_at_graph(source: HarvestSource) -> None:
    [record] = records(source).values()
    assert record.licence == "CC0-1.0"  # opendefinition.org/licenses/cc-zero


def ckan_multilingual(source: HarvestSource) -> None:
    [record] = records(source).values()
    assert record.languages == ["CAT", "ENG", "SPA"]
    assert len(record.contact_points) == 2
    assert record.contact_points == sorted(
        record.contact_points, key=lambda c: (c["name"], c["email"], c["url"])
    )
    assert (record.contact_name, record.contact_email) == (
        record.contact_points[0]["name"],
        record.contact_points[0]["email"],
    )
    assert {"ca", "en", "es"} <= set(record.title)


def ckan_catalog(source: HarvestSource) -> None:
    one = records(source)["https://data.some.org/catalog/datasets/1"]
    downloads = set(one.distributions.values_list("download_url", flat=True))
    assert "https://data.some.org/the/actual/catalog/datasets/1/resources/1.csv" in downloads
    assert one.licence_uri == "https://data.some.org/link/to/license"


def ckan_dataset(source: HarvestSource) -> None:
    [record] = records(source).values()
    assert record.applicable_legislation == [
        "http://data.europa.eu/eli/reg_impl/2023/138/oj",
        "http://data.europa.eu/eli/reg_impl/2023/138/oj_alt",
    ]
    assert record.spatial[0] == f"{EU}/country/ZWE"  # written /mdr/authority/
    assert record.languages == ["CAT", "ENG", "SPA"]
    assert record.accrual_periodicity == "DAILY"  # http://purl.org/cld/freq/daily
    assert "http://eurovoc.europa.eu/100142" in record.other_themes


def semic_combined(source: HarvestSource) -> None:
    # JSON-LD with the examples' remote @context (packaged) and type-scoped terms
    found = records(source)
    [series] = DatasetSeries.objects.filter(catalogue=source.catalogue)
    assert series.title == {"en": "Bee population"}
    assert {d.in_series_id for d in found.values()} == {series.pk}
    [service] = DataService.objects.filter(catalogue=source.catalogue)
    assert service.title == {"en": "API platform for biodiversity data"}


def semic_spatial(source: HarvestSource) -> None:
    found = records(source)
    both = found["https://data.gov.gr/id/dataset/BeePopulation2023"]
    assert both.spatial == ["https://sws.geonames.org/264371", "https://sws.geonames.org/734077"]
    assert both.in_series is not None and both.in_series.title == {"en": "Bee population"}


def semic_life_count(source: HarvestSource) -> None:
    [record] = records(source).values()
    assert record.in_series is None  # its series has no title in the document
    last = source.runs.first()
    assert any("has no dct:title in the source" in p for p in last.problems)


def geodcat_dataset(source: HarvestSource) -> None:
    [record] = records(source).values()
    assert record.themes == ["HEAL"]  # the EU theme, and beside it:
    assert record.other_themes == [
        "http://inspire.ec.europa.eu/theme/hh",
        "http://www.eionet.europa.eu/gemet/concept/2884",
    ]
    kinds = sorted((g["property"], g["datatype"].rsplit("#", 1)[-1]) for g in record.geometries)
    assert kinds == [("bbox", "gmlLiteral"), ("bbox", "wktLiteral")]
    [distribution] = record.distributions.all()
    assert distribution.access_service is not None
    assert distribution.access_service.endpoint_url.endswith("/ImageServer/WMSServer")
    assert record.contact_points[0]["url"] == "http://www.eea.europa.eu"


def geodcat_service(source: HarvestSource) -> None:
    [service] = DataService.objects.filter(catalogue=source.catalogue)
    assert service.title == {"en": "EIONET monitoring sites - Web Service"}


def nothing_more(source: HarvestSource) -> None:
    pass


# name, (created, skipped as invalid or not open, kept as drafts), check
CASES: list[tuple[str, tuple[int, int, int], Callable[[HarvestSource], None]]] = [
    ("udata/catalog.xml", (3, 1, 1), udata_catalog),
    ("udata/bnodes.xml", (3, 0, 1), udata_bnodes),
    ("udata/udata.xml", (2, 0, 0), udata_output),
    ("udata/geonetwork.xml", (1, 0, 1), udata_geonetwork),
    ("udata/sig.oreme.rdf", (1, 0, 0), udata_sig_oreme),
    ("udata/series.xml", (0, 1, 0), udata_series),
    ("udata/flat.jsonld", (3, 0, 0), nothing_more),
    ("udata/evian.json", (8, 0, 3), udata_evian),
    ("ckanext-dcat/dataset_gob_es.ttl", (1, 0, 0), ckan_gob_es),
    ("ckanext-dcat/dataset_gov_de.rdf", (1, 0, 0), ckan_gov_de),
    ("ckanext-dcat/dataset_sweden.rdf", (1, 0, 0), ckan_sweden),
    ("ckanext-dcat/catalog_with_at_graph.jsonld", (1, 0, 0), ckan_at_graph),
    ("ckanext-dcat/dataset_multilingual.ttl", (1, 0, 0), ckan_multilingual),
    ("ckanext-dcat/catalog.rdf", (2, 0, 0), ckan_catalog),
    ("ckanext-dcat/dataset.rdf", (1, 0, 0), ckan_dataset),
    ("ckanext-dcat/dataset_health.ttl", (0, 1, 0), nothing_more),  # NON_PUBLIC: skipped
    (f"{BEES}-combined.jsonld", (4, 0, 4), semic_combined),
    (f"{BEES}-spatial-thessaloniki-athens.ttl", (2, 0, 2), semic_spatial),
    (f"{BEES}-life-count.ttl", (1, 0, 1), semic_life_count),
    ("semic-geodcat-ap/dataset.ttl", (1, 0, 0), geodcat_dataset),
    ("semic-geodcat-ap/data-service.ttl", (0, 0, 0), geodcat_service),
]  # fmt: skip


@pytest.mark.parametrize(("name", "counts", "check"), CASES, ids=[c[0] for c in CASES])
def test_each_document_is_harvested_whole_and_a_second_run_changes_nothing(
    holder: Any, name: str, counts: tuple[int, int, int], check: Callable[[HarvestSource], None]
) -> None:
    source, report = harvest(name, holder)
    assert (report.created, report.skipped_invalid, report.not_conforming) == counts
    check(source)
    published = Dataset.objects.filter(harvest_source=source, status=DatasetStatus.PUBLISHED)
    assert published.count() == counts[0] - counts[2]
    before = snapshot(source)
    again = run_harvest(source=source)
    assert (again.created, again.updated, again.withdrawn) == (0, 0, 0)
    assert again.unchanged == counts[0]
    assert snapshot(source) == before  # modified, distributions, services, series untouched
    # Harvested records stay valid DCAT-AP in our export.
    from datalux.catalogue import dcat

    assert validate_graph(dcat.catalogue_graph()).conforms


@pytest.mark.parametrize("order", ["reversed", "shuffled"])
@pytest.mark.parametrize(
    "name", [c[0] for c in CASES if c[1][0]], ids=[c[0] for c in CASES if c[1][0]]
)
def test_the_same_statements_in_another_order_change_nothing(
    holder: Any, tmp_path: Path, settings: Any, name: str, order: str
) -> None:
    """Several contact points, formats, titles, licences: chosen in a stable order, never
    in the order the parser met them (blank nodes get new labels on every read)."""
    settings.DATALUX_HARVEST_FILE_DIR = tmp_path
    document = tmp_path / "document"  # no extension: read by its content
    shutil.copyfile(FIXTURES / name, document)
    source = register_source(name="copy", url=str(document), publisher=holder)
    run_harvest(source=source)
    before = snapshot(source)
    graph = Graph()
    from datalux.catalogue.harvest import Document, parse_document

    parse_document(Document(document.read_bytes(), "", str(document)), graph)
    triples = list(graph)  # in the order the parser met them
    if order == "reversed":
        triples.reverse()
    else:
        random.Random(18).shuffle(triples)
    with document.open("w", encoding="utf-8") as out:  # Turtle, subjects in another order
        TurtleWriter({}).write(triples, out)
    again = run_harvest(source=source)
    assert (again.created, again.updated, again.withdrawn) == (0, 0, 0)
    assert snapshot(source) == before


def test_a_document_that_is_not_valid_turtle_names_the_place(holder: Any) -> None:
    """SEMIC's example as published writes ``example-dist:BeePopulation2023/biojson``: a
    prefixed name cannot hold a ``/`` (line 20, column 31 is that ``/``)."""
    source = register_source(
        name="semic",
        url=str(FIXTURES / "semic-dcat-ap/example-bee-population-dataset-series-api.ttl"),
        publisher=holder,
    )
    with pytest.raises(HarvestError) as caught:
        run_harvest(source=source)
    assert "is not valid Turtle at line 20, column 31" in str(caught.value)
    text = (FIXTURES / "semic-dcat-ap/example-bee-population-dataset-series-api.ttl").read_text()
    assert text.splitlines()[19][30] == "/"


@pytest.mark.parametrize("name", [c[0] for c in CASES], ids=[c[0] for c in CASES])
def test_mapping_does_not_depend_on_the_order_of_statements(name: str) -> None:
    """The same statements added to a graph in opposite orders map to the same fields
    (several formats, titles in one language, contact points, publishers...)."""
    from datalux.catalogue.harvest import Document, parse_document
    from datalux.catalogue.harvest_import import remote_datasets
    from datalux.catalogue.harvest_map import map_dataset

    parsed = parse_document(Document((FIXTURES / name).read_bytes(), "", str(FIXTURES / name)))
    forward, backward = Graph(), Graph()
    triples = sorted(parsed, key=lambda t: tuple(map(str, t)))
    for triple in triples:
        forward.add(triple)
    for triple in reversed(triples):
        backward.add(triple)
    one = [map_dataset(forward, n) for n in remote_datasets(forward)]
    other = [map_dataset(backward, n) for n in remote_datasets(backward)]
    assert one == other


def test_the_dataset_page_shows_what_the_source_says(holder: Any, client: Any) -> None:
    source, _ = harvest("ckanext-dcat/dataset_gov_de.rdf", holder)
    [record] = records(source).values()
    html = client.get(f"/catalogue/datasets/{record.pid}/").content.decode()
    publisher = html[html.index('id="remote-publisher"') :]
    publisher = publisher[: publisher.index("</dd>")]
    assert "Hanse- und Universitätsstadt Rostock" in publisher and "external" in publisher
    assert 'href="https://www.opendata-hro.de/organization/' in publisher
    assert "Harvested by" in html and holder.name in html  # the source's organisation
    assert '<dd id="languages">DEU</dd>' in html
    assert "http://data.europa.eu/eli/reg_impl/2023/138/oj" in html
    assert "POLYGON ((11.9936 54.0486" in html
    source, _ = harvest("ckanext-dcat/dataset_gob_es.ttl", holder)
    [record] = records(source).values()
    html = client.get(f"/catalogue/datasets/{record.pid}/").content.decode()
    assert 'href="https://datos.madrid.es/egob/catalogo/aviso-legal"' in html
    assert "http://datos.gob.es/kos/sector-publico/sector/deporte" in html


def test_the_export_keeps_what_the_source_says(holder: Any) -> None:
    from rdflib import Literal, URIRef

    from datalux.catalogue import dcat

    source, _ = harvest("ckanext-dcat/dataset_gov_de.rdf", holder)
    [record] = records(source).values()
    graph = dcat.dataset_graph(record)
    node = URIRef(record.uri)
    rostock = URIRef(
        "https://www.opendata-hro.de/organization/b952e781-ab4c-456a-8e7a-2845f7efaf83"
    )
    assert list(graph.objects(node, dcat.DCT.publisher)) == [rostock]
    assert (rostock, dcat.FOAF.name, Literal("Hanse- und Universitätsstadt Rostock")) in graph
    assert list(graph.objects(node, dcat.DCT.language)) == [URIRef(f"{EU}/language/DEU")]
    assert (
        node,
        dcat.DCATAP.applicableLegislation,
        URIRef("http://data.europa.eu/eli/reg_impl/2023/138/oj"),
    ) in graph
    licences = {
        o
        for d in graph.objects(node, dcat.DCAT.distribution)
        for o in graph.objects(d, dcat.DCT.license)
    }
    assert licences == {URIRef(f"{EU}/licence/CC0")}
    source, _ = harvest("ckanext-dcat/dataset_gob_es.ttl", holder)
    [record] = records(source).values()
    graph = dcat.dataset_graph(record)
    [distribution] = graph.objects(URIRef(record.uri), dcat.DCAT.distribution)
    assert list(graph.objects(distribution, dcat.DCT.license)) == [
        URIRef("https://datos.madrid.es/egob/catalogo/aviso-legal")
    ]
