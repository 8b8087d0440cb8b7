"""Harvesting remote DCAT-AP catalogues: local files, a loopback HTTP server, bad input, loops."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from datalux.accounts.roles import OrganisationKind
from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent
from datalux.catalogue import dcat
from datalux.catalogue.harvest import (
    HarvestError,
    HarvestHeld,
    fetch,
    harvest_task,
    register_source,
    run_harvest,
)
from datalux.catalogue.harvest_runs import confirm_run
from datalux.catalogue.models import Dataset, DatasetStatus, HarvestSource
from tests.factories.accounts import OrganisationFactory
from tests.factories.catalogue import CatalogueFactory, DatasetFactory

pytestmark = pytest.mark.django_db

PREFIXES = """\
@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix hydra: <http://www.w3.org/ns/hydra/core#> .
"""
EU = "http://publications.europa.eu/resource/authority"


def roads(title: str = "Roads") -> str:
    return f"""
<https://remote.example.lu/dataset/roads> a dcat:Dataset ;
    dct:title "{title}"@en, "Routes"@fr ;
    dct:description "The road network."@en ;
    dct:publisher <https://remote.example.lu/org/geo> ;
    dcat:theme <{EU}/data-theme/TRAN> ;
    dct:accessRights <{EU}/access-right/PUBLIC> ;
    dct:accrualPeriodicity <{EU}/frequency/ANNUAL> ;
    dcat:keyword "roads", "network" ;
    dct:issued "2024-03-01"^^xsd:date ;
    dct:temporal [ a dct:PeriodOfTime ; dcat:startDate "2020-01-01"^^xsd:date ] ;
    dcat:contactPoint [ a vcard:Kind ; vcard:fn "Geo desk" ;
                        vcard:hasEmail <mailto:geo@example.lu> ] ;
    dcat:distribution <https://remote.example.lu/dataset/roads/csv> .
<https://remote.example.lu/org/geo> a foaf:Agent ; foaf:name "Geoportail Agency" .
<https://remote.example.lu/dataset/roads/csv> a dcat:Distribution ;
    dcat:accessURL <https://remote.example.lu/files/roads.csv> ;
    dcat:downloadURL <https://remote.example.lu/files/roads.csv> ;
    dct:format <{EU}/file-type/CSV> ;
    dct:license <https://creativecommons.org/licenses/by/4.0/> .
"""


RIVERS = """
<https://remote.example.lu/dataset/rivers> a dcat:Dataset ;
    dct:title "Rivers"@en ;
    dct:description "Rivers and lakes."@en .
"""

# A blank-node dataset is tracked by its dct:identifier; this one has no description.
NO_DESCRIPTION = """
[] a dcat:Dataset ; dct:identifier "remote-42" ; dct:title "Bridges"@en .
"""


@pytest.fixture(autouse=True)
def _harvest_settings(settings: Any, tmp_path: Path) -> None:
    """Local files from the test's folder, and the loopback test server, are allowed here
    (tests/catalogue/test_harvest_safety.py proves what is refused without them)."""
    settings.DATALUX_HARVEST_FILE_DIR = tmp_path
    settings.DATALUX_HARVEST_ALLOWED_HOSTS = ("127.0.0.1",)


@pytest.fixture
def holder() -> Any:
    CatalogueFactory()
    return OrganisationFactory(kind=OrganisationKind.DATA_HOLDER, name="Remote portal")


def make_source(location: str, holder: Any, name: str = "remote") -> HarvestSource:
    return register_source(name=name, url=location, publisher=holder)


def write(path: Path, *parts: str) -> Path:
    path.write_text(PREFIXES + "".join(parts), encoding="utf-8")
    return path


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A loopback HTTP server (in a thread) serving files from a folder."""
    folder = tmp_path / "www"
    folder.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", folder
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_harvest_a_local_turtle_file(tmp_path: Path, holder: Any) -> None:
    OrganisationFactory(kind=OrganisationKind.DATA_HOLDER, name="Geoportail Agency")
    path = write(tmp_path / "catalog.ttl", roads(), RIVERS, NO_DESCRIPTION)
    source = make_source(str(path), holder)
    report = run_harvest(source=source)
    assert (report.created, report.updated, report.withdrawn) == (3, 0, 0)
    assert report.not_conforming == 1
    records = {d.remote_id: d for d in Dataset.objects.filter(harvest_source=source)}
    assert set(records) == {
        "https://remote.example.lu/dataset/roads",
        "https://remote.example.lu/dataset/rivers",
        "remote-42",
    }
    road = records["https://remote.example.lu/dataset/roads"]
    assert road.catalogue == source.catalogue and not source.catalogue.is_local
    # Every record is the source's, even one naming a local organisation as its publisher.
    assert {d.publisher for d in records.values()} == {holder}
    assert road.title == {"en": "Roads", "fr": "Routes"}
    assert road.themes == ["TRAN"] and road.access_rights == "PUBLIC"
    assert road.accrual_periodicity == "ANNUAL" and road.keywords == ["network", "roads"]
    assert road.licence == "CC-BY-4.0"
    assert (road.contact_name, road.contact_email) == ("Geo desk", "geo@example.lu")
    assert str(road.temporal_start) == "2020-01-01" and road.issued is not None
    assert road.last_harvested is not None
    [dist] = road.distributions.all()
    assert dist.download_url == "https://remote.example.lu/files/roads.csv"
    assert dist.file_format == "CSV"
    # Conforming records are published; the one without description stays a draft with findings.
    assert road.status == DatasetStatus.PUBLISHED and road.shacl_conforms is True
    bridges = records["remote-42"]
    assert bridges.status == DatasetStatus.DRAFT and bridges.shacl_conforms is False
    assert [f["path"] for f in bridges.shacl_report] == ["dct:description"]
    source.refresh_from_db()
    assert source.last_status == "ok" and source.last_report["created"] == 3
    event = AuditEvent.objects.get(kind=EventKind.HARVEST_RUN)
    assert '"created":3' in event.details_json.replace(" ", "")
    # Harvested records are part of our export, in their own catalogue, and still conform.
    graph = dcat.catalogue_graph()
    assert (dcat.URIRef(road.uri), dcat.RDF.type, dcat.DCAT.Dataset) in graph
    from datalux.catalogue.shacl import validate_graph

    assert validate_graph(graph).conforms


def test_reharvest_over_http_updates_and_withdraws(server: tuple[str, Path], holder: Any) -> None:
    url, folder = server
    write(folder / "catalog.ttl", roads(), RIVERS)
    source = make_source(f"{url}/catalog.ttl", holder)
    first = run_harvest(source=source)
    assert (first.created, first.updated, first.withdrawn) == (2, 0, 0)
    again = run_harvest(source=source)
    assert (again.created, again.updated, again.unchanged, again.withdrawn) == (0, 0, 2, 0)
    # The remote renames roads and drops rivers: half of the source, over the 20 % limit, so
    # the run is held (nothing changes) until an operator confirms it.
    write(folder / "catalog.ttl", roads(title="Roads and paths"))
    with pytest.raises(HarvestHeld) as held:
        run_harvest(source=source)
    assert "would withdraw 1 of the source's 2 records (50 %" in str(held.value)
    assert Dataset.objects.get(remote_id__endswith="/roads").title["en"] == "Roads"
    third = confirm_run(run=held.value.run)
    assert (third.created, third.updated, third.unchanged, third.withdrawn) == (0, 1, 0, 1)
    road = Dataset.objects.get(remote_id="https://remote.example.lu/dataset/roads")
    rivers = Dataset.objects.get(remote_id="https://remote.example.lu/dataset/rivers")
    assert road.title["en"] == "Roads and paths" and road.status == DatasetStatus.PUBLISHED
    assert rivers.status == DatasetStatus.WITHDRAWN
    pid = road.pid
    # Rivers come back: republished with the same PID.
    write(folder / "catalog.ttl", roads(title="Roads and paths"), RIVERS)
    fourth = run_harvest(source=source)
    assert (fourth.updated, fourth.unchanged) == (1, 1)
    rivers.refresh_from_db()
    assert rivers.status == DatasetStatus.PUBLISHED
    assert Dataset.objects.get(pk=road.pk).pid == pid
    assert AuditEvent.objects.filter(kind=EventKind.HARVEST_RUN).count() == 5
    assert AuditEvent.objects.filter(kind=EventKind.HARVEST_RUN_CONFIRMED).count() == 1


def _snapshot(source: HarvestSource) -> list[tuple[Any, ...]]:
    return sorted(
        Dataset.objects.filter(harvest_source=source).values_list(
            "remote_id", "status", "title", "modified"
        )
    )


@pytest.mark.parametrize(
    ("name", "text", "where", "format_name"),
    [
        (
            "bad.ttl",
            PREFIXES + '<a> a dcat:Dataset ;\n  dct:title "x"\n <b> .\n',
            "line 9, column 2",
            "Turtle",
        ),
        (
            "bad.rdf",
            "<?xml version='1.0'?>\n<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/"
            "22-rdf-syntax-ns#'>\n<rdf:Description>\n</rdf:RDF>\n",
            "line 4, column",
            "RDF/XML",
        ),
        ("bad.jsonld", '{"@id": "x",\n "a": [1,}', "line 2, column 10", "JSON-LD"),
    ],
)
def test_invalid_rdf_is_reported_and_changes_nothing(
    tmp_path: Path, holder: Any, name: str, text: str, where: str, format_name: str
) -> None:
    good = write(tmp_path / "catalog.ttl", roads(), RIVERS)
    source = make_source(str(good), holder)
    run_harvest(source=source)
    before = _snapshot(source)
    bad = tmp_path / name
    bad.write_text(text, encoding="utf-8")
    source.url = str(bad)
    source.save()
    with pytest.raises(HarvestError) as caught:
        run_harvest(source=source)
    message = str(caught.value)
    assert f"is not valid {format_name}" in message
    assert where in message
    assert "Nothing was imported" in message
    assert _snapshot(source) == before
    source.refresh_from_db()
    assert source.last_status == "failed" and where in source.last_report["error"]
    assert AuditEvent.objects.filter(kind=EventKind.HARVEST_RUN).count() == 2


def test_a_remote_republishing_our_records_is_skipped(tmp_path: Path, holder: Any) -> None:
    ours = DatasetFactory()
    copy_by_iri = f"""
<{ours.uri}> a dcat:Dataset ; dct:title "Our own"@en ; dct:description "x"@en .
"""
    copy_by_pid = f"""
<https://mirror.example.lu/d/1> a dcat:Dataset ; dct:identifier "{ours.pid}" ;
    dct:title "Our own, mirrored"@en ; dct:description "x"@en .
"""
    path = write(tmp_path / "mirror.ttl", copy_by_iri, copy_by_pid, RIVERS)
    source = make_source(str(path), holder)
    report = run_harvest(source=source)
    assert (report.skipped_own, report.created) == (2, 1)
    assert Dataset.objects.filter(harvest_source=source).get().remote_id.endswith("/rivers")
    assert Dataset.objects.filter(pid=ours.pid).count() == 1


def test_a_source_pointing_at_our_own_export_is_refused(holder: Any, settings: Any) -> None:
    settings.DATALUX_BASE_URI = "https://data.example.lu"
    with pytest.raises(ValidationError) as caught:
        make_source("https://data.example.lu/catalogue/dcat", holder)
    assert "would loop" in str(caught.value)
    source = make_source("https://other.example.lu/catalog.ttl", holder)
    source.url = "https://DATA.example.lu:443/catalogue/dcat?format=turtle"
    source.save()
    with pytest.raises(HarvestError, match="would loop"):
        run_harvest(source=source)
    with pytest.raises(ValidationError, match="ftp"):
        make_source("ftp://example.lu/catalog.ttl", holder, name="ftp")


def test_size_limit_and_unreachable_server(server: tuple[str, Path], holder: Any) -> None:
    url, folder = server
    write(folder / "catalog.ttl", roads())
    with pytest.raises(HarvestError, match="over the limit"):
        fetch(f"{url}/catalog.ttl", max_bytes=100)
    with pytest.raises(HarvestError, match="HTTP 404"):
        fetch(f"{url}/missing.ttl")
    with pytest.raises(HarvestError, match="not a readable file"):
        fetch(str(folder / "missing.ttl"))


def test_hydra_pages_are_followed_once(server: tuple[str, Path], holder: Any) -> None:
    url, folder = server
    write(
        folder / "page1.ttl",
        roads(),
        f"<{url}/page1.ttl> hydra:next <{url}/page2.ttl> .\n",
    )
    write(folder / "page2.ttl", RIVERS, f"<{url}/page2.ttl> hydra:next <page1.ttl> .\n")
    source = make_source(f"{url}/page1.ttl", holder)
    report = run_harvest(source=source)
    assert report.pages == 2 and report.created == 2
    assert any("links back" in p for p in report.problems)
    # A page never leads the harvester off the source's server (e.g. to local files).
    write(folder / "page2.ttl", RIVERS, f"<{url}/page2.ttl> hydra:next <file:///etc/hostname> .\n")
    report = run_harvest(source=source)
    assert report.pages == 2 and report.unchanged == 2
    assert any("not on the source's server" in p for p in report.problems)


def test_harvest_task_runs_a_source(tmp_path: Path, holder: Any) -> None:
    source = make_source(str(write(tmp_path / "c.ttl", RIVERS)), holder)
    result = harvest_task.call(source.pk)
    assert result["ok"] is True and result["created"] == 1
    source.url = str(tmp_path / "gone.ttl")
    source.save()
    failed = harvest_task.call(source.pk)
    assert failed["ok"] is False and "not a readable file" in failed["error"]


# -- permissions: actions, web page, API ----------------------------------------------------
def test_only_platform_admins_register_and_run(
    tmp_path: Path, holder: Any, make_member: Any
) -> None:
    path = str(write(tmp_path / "c.ttl", RIVERS))
    steward = make_member("steward", organisation=holder)
    admin = make_member("platform_admin")
    with pytest.raises(PermissionDenied):
        register_source(name="x", url=path, publisher=holder, by=steward)
    source = register_source(name="x", url=path, publisher=holder, by=admin)
    with pytest.raises(PermissionDenied):
        run_harvest(source=source, by=steward)
    assert run_harvest(source=source, by=admin).created == 1
    assert AuditEvent.objects.filter(kind=EventKind.HARVEST_SOURCE_REGISTERED).count() == 1


def test_harvest_page_refusals_and_grants(
    tmp_path: Path, holder: Any, make_member: Any, client: Client
) -> None:
    path = str(write(tmp_path / "c.ttl", RIVERS))
    page = "/catalogue/harvest/"
    assert client.get(page).status_code == 302  # anonymous: to the login page
    client.force_login(make_member("steward", organisation=holder))
    assert client.get(page).status_code == 403
    assert client.post(page, {"name": "x", "url": path, "publisher": holder.pk}).status_code == 403
    client.force_login(make_member("platform_admin"))
    assert client.get(page).status_code == 200
    response = client.post(page, {"name": "portal", "url": path, "publisher": holder.pk})
    assert response.status_code == 302
    source = HarvestSource.objects.get(name="portal")
    bad = client.post(
        page, {"name": "own", "url": "http://127.0.0.1:8000/catalogue/dcat", "publisher": holder.pk}
    )
    assert bad.status_code == 400 and "would loop" in bad.content.decode()
    run = client.post(f"/catalogue/harvest/{source.pk}/run", follow=True)
    assert run.status_code == 200
    assert "1 created" in run.content.decode()
    assert Dataset.objects.filter(harvest_source=source).count() == 1


def test_harvest_api_refusals_and_grants(
    tmp_path: Path, holder: Any, make_member: Any, client: Client
) -> None:
    path = str(write(tmp_path / "c.ttl", RIVERS))
    body = {"name": "portal", "url": path, "publisher": holder.slug}
    api = "/api/v1/harvest/sources"
    assert client.get(api).status_code == 401
    client.force_login(make_member("steward", organisation=holder))
    refused = client.post(api, body, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    client.force_login(make_member("platform_admin"))
    created = client.post(api, body, content_type="application/json")
    assert created.status_code == 201, created.content
    source_id = created.json()["id"]
    assert [s["name"] for s in client.get(api).json()] == ["portal"]
    ran = client.post(f"{api}/{source_id}/run")
    assert ran.status_code == 200 and ran.json()["created"] == 1
    HarvestSource.objects.filter(pk=source_id).update(url=str(tmp_path / "gone.ttl"))
    failed = client.post(f"{api}/{source_id}/run")
    assert failed.status_code == 422
    assert failed.json()["error"]["code"] == "harvest_failed"
    queued = client.post(f"{api}/{source_id}/run?background=true")
    assert queued.status_code == 202 and queued.json()["task_id"]
