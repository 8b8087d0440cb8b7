"""Open-data downloads and absolute URLs: the download link serves the stored file (open data
only, audited); every absolute URL comes from DATALUX_BASE_URI when configured, else from the
request (so a server on another port links to itself)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.conf import settings
from django.urls import reverse
from rdflib import Graph, URIRef
from rdflib.namespace import DCAT

from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent
from datalux.catalogue.models import DatasetStatus, Distribution
from datalux.catalogue.vocabularies import AccessRights
from datalux.holdings.actions import register_data_file
from tests.factories.accounts import OrganisationFactory
from tests.factories.catalogue import CatalogueFactory, DatasetFactory

pytestmark = pytest.mark.django_db


def stored_distribution(dataset: Any, name: str) -> Distribution:
    """A Parquet file under the storage root, registered to the dataset's publisher."""
    path = Path(settings.DATALUX_STORAGE) / "open" / f"{name}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"commune": ["Esch", "Wiltz"], "residents": [35040, 5700]}), path)
    data_file = register_data_file(
        organisation=dataset.publisher, table=name, title=name, path=path
    )
    return Distribution.objects.create(
        dataset=dataset,
        title={"en": f"{name} (Parquet)"},
        file_format="PARQUET",
        media_type="application/vnd.apache.parquet",
        # what the demo stored: the dataset page itself, on the default port
        access_url=f"http://127.0.0.1:8000/catalogue/datasets/{dataset.pid}/",
        byte_size=data_file.size_bytes,
        data_file=data_file,
    )


@pytest.fixture
def world() -> dict[str, Any]:
    CatalogueFactory()
    holder = OrganisationFactory(name="Population Register")
    open_ds = DatasetFactory(
        publisher=holder, slug="residents", access_rights=AccessRights.PUBLIC, licence="CC0-1.0"
    )
    protected = DatasetFactory(publisher=holder, access_rights=AccessRights.NON_PUBLIC)
    draft = DatasetFactory(
        publisher=holder, access_rights=AccessRights.PUBLIC, status=DatasetStatus.DRAFT
    )
    return {
        "open": open_ds,
        "open_dist": stored_distribution(open_ds, "residents"),
        "protected": protected,
        "protected_dist": stored_distribution(protected, "register"),
        "draft": draft,
        "draft_dist": stored_distribution(draft, "draft"),
    }


def download(dataset: Any, dist: Distribution) -> str:
    return reverse("catalogue:distribution_download", args=[dataset.pid, dist.pk])


def downloads() -> int:
    return AuditEvent.objects.filter(kind=EventKind.DISTRIBUTION_DOWNLOADED).count()


def test_the_download_link_of_an_open_distribution_serves_the_stored_file(
    client: Any, world: dict[str, Any]
) -> None:
    ds, dist = world["open"], world["open_dist"]
    html = client.get(reverse("catalogue:dataset", args=[ds.pid])).content.decode()
    assert f'href="http://testserver{download(ds, dist)}"' in html
    assert "127.0.0.1:8000" not in html  # not the page itself on the default port

    response = client.get(download(ds, dist))
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body == dist.data_file.path.read_bytes()
    assert response["Content-Type"] == "application/vnd.apache.parquet"
    assert response["Content-Length"] == str(dist.data_file.size_bytes)
    assert response["Content-Disposition"] == 'attachment; filename="residents.parquet"'
    assert pq.read_table(pa.BufferReader(body)).num_rows == 2

    event = AuditEvent.objects.get(kind=EventKind.DISTRIBUTION_DOWNLOADED)
    assert event.actor_id is None and event.object_id == str(dist.pk)
    assert event.details["pid"] == ds.pid
    assert event.details["sha256"] == dist.data_file.sha256


def test_a_signed_in_download_is_audited_with_its_user(
    client: Any, world: dict[str, Any], make_member: Any
) -> None:
    user = make_member("applicant")
    client.force_login(user)
    response = client.get(download(world["open"], world["open_dist"]))
    assert response.status_code == 200
    # reading the stream to its end closes the file; response.close() would instead send
    # request_finished, which on PostgreSQL closes the test's database connection
    assert b"".join(response.streaming_content)
    assert AuditEvent.objects.get(kind=EventKind.DISTRIBUTION_DOWNLOADED).actor_id == user.pk


def test_protected_and_draft_files_are_never_served(
    client: Any, world: dict[str, Any], make_member: Any
) -> None:
    protected, draft = world["protected"], world["draft"]
    client.force_login(make_member("steward", organisation=protected.publisher))
    for ds, dist in ((protected, world["protected_dist"]), (draft, world["draft_dist"])):
        assert client.get(download(ds, dist)).status_code == 404
        html = client.get(reverse("catalogue:dataset", args=[ds.pid])).content.decode()
        assert "/download" not in html
    # another dataset's distribution under an open dataset's PID
    assert client.get(download(world["open"], world["protected_dist"])).status_code == 404
    assert downloads() == 0


def test_a_remote_distribution_keeps_its_address_and_has_no_local_download(
    client: Any, world: dict[str, Any]
) -> None:
    ds = world["open"]
    remote = Distribution.objects.create(
        dataset=ds, title={"en": "CSV"}, file_format="CSV", download_url="https://x.example/a.csv"
    )
    assert client.get(download(ds, remote)).status_code == 404
    html = client.get(reverse("catalogue:dataset", args=[ds.pid])).content.decode()
    assert 'href="https://x.example/a.csv"' in html


def test_the_api_gives_the_download_address_for_open_data_only(
    client: Any, world: dict[str, Any]
) -> None:
    ds = world["open"]
    rows = client.get(f"/api/v1/catalogue/datasets/{ds.pid}/distributions").json()
    assert rows[0]["download_url"] == f"http://testserver{download(ds, world['open_dist'])}"
    assert rows[0]["access_url"] == f"http://testserver/catalogue/datasets/{ds.pid}/"
    hidden = world["protected"]
    rows = client.get(f"/api/v1/catalogue/datasets/{hidden.pid}/distributions").json()
    assert rows[0]["download_url"] is None and rows[0]["access_url"] is None


def _export(client: Any, **headers: Any) -> Graph:
    response = client.get("/catalogue/dcat", {"format": "turtle"}, **headers)
    assert response.status_code == 200
    return Graph().parse(data=response.content.decode(), format="turtle")


def test_urls_follow_the_request_when_no_base_uri_is_configured(
    client: Any, world: dict[str, Any], settings: Any
) -> None:
    settings.DATALUX_BASE_URI_CONFIGURED = False
    ds, dist = world["open"], world["open_dist"]
    graph = _export(client, HTTP_HOST="127.0.0.1:8123")
    base = "http://127.0.0.1:8123"
    node = URIRef(f"{base}/id/dataset/{ds.pid}")
    assert (node, DCAT.landingPage, URIRef(f"{base}/catalogue/datasets/{ds.pid}/")) in graph
    downloads_ = set(graph.objects(None, DCAT.downloadURL))
    assert downloads_ == {URIRef(base + download(ds, dist))}
    assert not [o for o in graph.objects() if "127.0.0.1:8000" in str(o)]
    html = client.get(
        reverse("catalogue:dataset", args=[ds.pid]), HTTP_HOST="127.0.0.1:8123"
    ).content.decode()
    assert f'href="{base}{download(ds, dist)}"' in html
    api = client.get(f"/api/v1/catalogue/datasets/{ds.pid}", HTTP_HOST="localhost:9000").json()
    assert json.dumps(api).count("http://localhost:9000/id/dataset/") >= 1


def test_a_configured_base_uri_wins_over_the_request(
    client: Any, world: dict[str, Any], settings: Any
) -> None:
    settings.DATALUX_BASE_URI = "https://data.example.lu"
    settings.DATALUX_BASE_URI_CONFIGURED = True
    ds, dist = world["open"], world["open_dist"]
    graph = _export(client, HTTP_HOST="127.0.0.1:8123")
    assert set(graph.objects(None, DCAT.downloadURL)) == {
        URIRef("https://data.example.lu" + download(ds, dist))
    }
    assert not [o for o in graph.objects() if "127.0.0.1" in str(o)]
