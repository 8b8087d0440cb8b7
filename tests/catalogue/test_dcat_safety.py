"""One broken record never breaks the DCAT-AP export (issue 10, item 4); language tags are
checked where texts come in; anonymous catalogue pages are capped and cached (item 12)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from rdflib import RDF, URIRef
from rdflib.namespace import DCTERMS, RDFS

from datalux.catalogue import actions, dcat
from datalux.catalogue.langtags import is_well_formed, primary_language
from datalux.catalogue.models import Dataset, Distribution
from tests.catalogue.dcat_fixtures import Demo, build_demo
from tests.factories.catalogue import DatasetFactory

pytestmark = pytest.mark.django_db
DCAT = dcat.DCAT
HYDRA = dcat.HYDRA
TURTLE = {"Accept": "text/turtle"}
SKIPPED_HEADER = "X-Datalux-Skipped-Records"
ANONYMOUS_MAX_PAGE_SIZE = 200


@pytest.fixture(autouse=True)
def _configured_base_uri(settings: Any) -> None:
    settings.DATALUX_BASE_URI_CONFIGURED = True


@pytest.fixture
def demo() -> Demo:
    return build_demo()


@pytest.mark.parametrize(
    "tag",
    ["en", "fr-LU", "zh-Hant-TW", "de-CH-1996", "es-419", "x-local", "i-klingon", "EN", "lb"],
)
def test_well_formed_language_tags(tag: str) -> None:
    assert is_well_formed(tag)


@pytest.mark.parametrize(
    "tag", ["en us", "e_n", "e", "fr-", "", "x-", "-en", "en--us", "é", "en-a", None, 12]
)
def test_malformed_language_tags(tag: Any) -> None:
    assert not is_well_formed(tag)


def test_primary_language_of_a_harvested_literal() -> None:
    assert [primary_language(t) for t in ("fr-LU", "EN", "ltz", "x-local", "en us")] == [
        "fr",
        "en",
        "ltz",
        "x-local",
        None,
    ]


# -- item 4: a broken record is left out and reported, never a 500 ---------------------------
@pytest.mark.parametrize("fmt", ["turtle", "xml", "json-ld"])
def test_a_broken_language_key_in_the_database_does_not_break_the_export(
    demo: Demo, client: Client, caplog: Any, fmt: str
) -> None:
    # Stored directly (as an old record or a bulk import would), past every validation.
    Dataset.objects.filter(pk=demo.open_data.pk).update(title={"en us": "Broken", "fr": "Cassé"})
    Distribution.objects.filter(dataset=demo.protected).update(title={"e_n": "Broken too"})
    with caplog.at_level(logging.WARNING, logger="datalux.catalogue.dcat"):
        response = client.get(f"/catalogue/dcat?format={fmt}")
    assert response.status_code == 200
    assert response[SKIPPED_HEADER] == "2"
    graph = dcat.parse(response.content, fmt)
    datasets = set(graph.subjects(RDF.type, DCAT.Dataset))
    assert datasets == {URIRef(demo.harvested.uri)}  # the others are still exported
    root = URIRef(dcat.catalogue_uri("datalux"))
    [comment] = graph.objects(root, RDFS.comment)
    assert "2 dataset(s) left out" in comment
    assert demo.open_data.pid in comment and demo.protected.pid in comment
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert f"dataset {demo.open_data.pid} left out" in logged
    assert "not a language tag" in logged


def test_a_broken_record_is_served_without_the_broken_text(demo: Demo, client: Client) -> None:
    Dataset.objects.filter(pk=demo.open_data.pk).update(title={"en us": "Broken", "fr": "Cassé"})
    for fmt in ("turtle", "xml", "json-ld"):
        response = client.get(f"/id/dataset/{demo.open_data.pid}?format={fmt}")
        assert response.status_code == 200, fmt
        graph = dcat.parse(response.content, fmt)
        titles = {str(t) for t in graph.objects(URIRef(demo.open_data.uri), DCTERMS.title)}
        assert titles == {"Cassé"}
    # The streaming writer and the CLI export go through the same check.
    body, skipped = dcat.export_catalogue_with_report("turtle")
    assert skipped == [demo.open_data.pid] and b"Broken" not in body


def test_a_catalogue_title_under_a_broken_key_is_dropped(demo: Demo, client: Client) -> None:
    type(demo.catalogue).objects.filter(pk=demo.catalogue.pk).update(
        title={"e n": "Broken", "en": "datalux"}
    )
    response = client.get("/catalogue/dcat", headers=TURTLE)
    assert response.status_code == 200 and SKIPPED_HEADER not in response
    graph = dcat.parse(response.content, "turtle")
    root = URIRef(dcat.catalogue_uri("datalux"))
    assert {str(t) for t in graph.objects(root, DCTERMS.title)} == {"datalux"}


def test_language_keys_are_validated_by_actions_and_the_api(
    demo: Demo, client: Client, make_member: Any
) -> None:
    steward = make_member("steward", organisation=demo.open_data.publisher)
    with pytest.raises(ValidationError) as caught:
        actions.update_dataset(dataset=demo.open_data, by=steward, title={"en us": "x"})
    assert "is not a language tag" in str(caught.value)
    client.force_login(steward)
    api = "/api/v1/catalogue/datasets"
    body = {
        "publisher": demo.open_data.publisher.slug,
        "title": {"en": "Beds", "en_GB": "Beds"},
        "description": {"en": "Beds per hospital."},
        "access_rights": "PUBLIC",
    }
    created = client.post(api, body, content_type="application/json")
    assert created.status_code == 422, created.content
    error = created.json()["error"]
    assert error["code"] == "invalid" and "'en_GB' is not a language tag" in str(error)
    patched = client.patch(
        f"{api}/{demo.open_data.pid}",
        {"description": {"fr-LU": "Lits", "d e": "x"}},
        content_type="application/json",
    )
    assert patched.status_code == 422 and "'d e' is not a language tag" in str(patched.json())
    assert (
        client.post(
            api, {**body, "title": {"fr-LU": "Lits"}}, content_type="application/json"
        ).status_code
        == 201
    )


# -- item 12: anonymous pages are capped and cached ------------------------------------------
def _items_per_page(response: Any) -> int:
    graph = dcat.parse(response.content, "turtle")
    view = graph.value(URIRef(dcat.catalogue_uri("datalux")), HYDRA.view)
    return int(graph.value(view, HYDRA.itemsPerPage))


def test_anonymous_pages_are_capped(demo: Demo, client: Client, make_member: Any) -> None:
    asked = "/catalogue/dcat?page_size=100000"
    assert _items_per_page(client.get(asked, headers=TURTLE)) == ANONYMOUS_MAX_PAGE_SIZE
    client.force_login(make_member("steward"))
    assert _items_per_page(client.get(asked, headers=TURTLE)) == 1000


def test_anonymous_pages_are_cached_and_a_publication_shows_at_once(
    demo: Demo, client: Client, settings: Any, monkeypatch: pytest.MonkeyPatch, make_member: Any
) -> None:
    settings.DATALUX_DCAT_CACHE_SECONDS = 60
    built: list[str] = []
    real = dcat.export_catalogue_with_report

    def counting(fmt: str, page: Any = None) -> Any:
        built.append(fmt)
        return real(fmt, page)

    monkeypatch.setattr(dcat, "export_catalogue_with_report", counting)
    first = client.get("/catalogue/dcat", headers=TURTLE)
    second = client.get("/catalogue/dcat", headers=TURTLE)
    assert first.content == second.content and len(built) == 1
    assert "max-age=60" in second["Cache-Control"] and "public" in second["Cache-Control"]
    client.get("/catalogue/dcat?format=json-ld")  # another format, another entry
    assert len(built) == 2
    # A publication is in the very next page, not after the cache expires.
    new = DatasetFactory(catalogue=demo.catalogue)
    third = client.get("/catalogue/dcat", headers=TURTLE)
    assert len(built) == 3
    assert (URIRef(new.uri), RDF.type, DCAT.Dataset) in dcat.parse(third.content, "turtle")
    # So is a withdrawal.
    actions.withdraw_dataset(dataset=new, reason="test")
    fourth = client.get("/catalogue/dcat", headers=TURTLE)
    assert (URIRef(new.uri), RDF.type, DCAT.Dataset) not in dcat.parse(fourth.content, "turtle")
    assert fourth.content == first.content  # the catalogue is as it was: that page again
    # 0 turns the cache off; signed-in readers are never served from it.
    settings.DATALUX_DCAT_CACHE_SECONDS = 0
    client.get("/catalogue/dcat", headers=TURTLE)
    client.get("/catalogue/dcat", headers=TURTLE)
    assert len(built) == 5
    settings.DATALUX_DCAT_CACHE_SECONDS = 60
    client.force_login(make_member("steward"))
    client.get("/catalogue/dcat", headers=TURTLE)
    signed_in = client.get("/catalogue/dcat", headers=TURTLE)
    assert len(built) == 7 and "public" not in signed_in.get("Cache-Control", "")
