"""The MQA score: every indicator earns and loses its points on a crafted record, distribution
indicators count shares, ratings change at their boundaries, the catalogue adds its datasets
up, protected datasets give an access URL and never a download URL; stewards see the panel,
others do not; the API reads per dataset and per catalogue; the demo catalogue is Excellent."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest
from django.urls import reverse
from rdflib import Graph, Literal, URIRef

from datalux.catalogue import dcat, mqa
from datalux.catalogue.dcat import DCAT, DCT, Builder, DatasetRows, TripleList
from datalux.catalogue.models import Distribution
from datalux.catalogue.vocabularies import LUXEMBOURG_URI, AccessRights
from datalux.core.absolute import base_url
from tests.catalogue.world import build_world
from tests.factories.accounts import OrganisationFactory
from tests.factories.catalogue import CatalogueFactory, DatasetFactory

pytestmark = pytest.mark.django_db

INDICATOR_KEYS = {i.key for i in mqa.INDICATORS}


def test_the_methodology_table_adds_up_to_405_in_five_dimensions() -> None:
    totals: dict[str, int] = {}
    for indicator in mqa.INDICATORS:
        totals[indicator.dimension] = totals.get(indicator.dimension, 0) + indicator.points
        assert str(indicator.description) and str(indicator.fix) and indicator.property
    assert totals == {
        "findability": 100,
        "accessibility": 100,
        "interoperability": 110,
        "reusability": 75,
        "contextuality": 20,
    }
    assert sum(totals.values()) == mqa.MAX_POINTS == 405
    assert len(INDICATOR_KEYS) == len(mqa.INDICATORS) == 23


@pytest.mark.parametrize(
    ("points", "expected"),
    [
        (405, "excellent"),
        (351, "excellent"),
        (350, "good"),
        (221, "good"),
        (220, "sufficient"),
        (121, "sufficient"),
        (120, "bad"),
        (0, "bad"),
    ],
)
def test_rating_boundaries(points: int, expected: str) -> None:
    assert mqa.rating(points) == expected


@pytest.mark.parametrize("points", [-1, 406])
def test_a_score_outside_the_scale_is_refused(points: int) -> None:
    with pytest.raises(ValueError, match="between 0 and 405"):
        mqa.rating(points)


# ---------------------------------------------------------------------------------------------
# A complete record, then one change at a time


@pytest.fixture
def full() -> tuple[Any, Any]:
    """An open dataset that meets every indicator, and its one distribution (saved)."""
    CatalogueFactory()
    dataset = DatasetFactory(
        publisher=OrganisationFactory(name="Statistics Office"),
        access_rights=AccessRights.PUBLIC,
        licence="CC-BY-4.0",
        keywords=["employment"],
        themes=["ECON"],
        spatial=[LUXEMBOURG_URI],
        temporal_start=date(2024, 1, 1),
        temporal_end=date(2024, 12, 31),
        conditions_for_reuse="Cite the source.",
        shacl_conforms=True,
    )
    own_download = base_url() + reverse("catalogue:distribution_download", args=[dataset.pid, 1])
    dist = Distribution.objects.create(
        dataset=dataset,
        title={"en": "CSV"},
        file_format="CSV",
        media_type="text/csv",
        download_url=own_download,
        byte_size=2048,
    )
    return dataset, dist


def score_of(dataset: Any, distributions: list[Any], conforms: bool | None = True) -> mqa.Score:
    """Score in-memory records through the exporter's own triples."""
    triples = TripleList()
    node = Builder(triples).dataset(DatasetRows(dataset, distributions, False))
    return mqa.score_triples(triples, str(node), conforms=conforms)


def lost(score: mqa.Score) -> set[str]:
    return {r.indicator.key for r in score.losing}


def test_the_complete_record_scores_405_and_excellent(full: tuple[Any, Any]) -> None:
    dataset, dist = full
    score = score_of(dataset, [dist])
    assert (score.points, score.rating, lost(score)) == (405, "excellent", set())
    assert [d.rounded for d in score.dimensions] == [100, 100, 110, 75, 20]
    stored = mqa.dataset_score(dataset)  # from the database, through prefetch
    assert stored.points == 405


# (change to the dataset, change to the distribution, indicators that must lose points)
CHANGES: list[tuple[str, dict[str, Any], dict[str, Any], set[str]]] = [
    ("keywords", {"keywords": []}, {}, {"keywords"}),
    ("themes", {"themes": []}, {}, {"themes"}),
    ("spatial", {"spatial": []}, {}, {"spatial"}),
    ("temporal", {"temporal_start": None, "temporal_end": None}, {}, {"temporal"}),
    (
        "access URL outside the platform (not fetched: unknown)",
        {},
        {"access_url": "https://elsewhere.example.org/page"},
        {"access_url_accessible"},
    ),
    (
        "access URL of ours that resolves nowhere",
        {},
        {"access_url": "{base}/no-such-page/"},
        {"access_url_accessible"},
    ),
    ("no download URL", {}, {"download_url": ""}, {"download_url", "download_url_accessible"}),
    (
        "download URL outside the platform",
        {},
        {"download_url": "https://files.example.org/x.csv"},
        {"download_url_accessible"},
    ),
    (
        "no format",
        {},
        {"file_format": ""},
        {"format", "non_proprietary", "machine_readable"},
    ),
    ("no media type", {}, {"file_format": "ODS", "media_type": ""}, {"media_type"}),
    (
        "format and media type from no vocabulary",
        {},
        {"file_format": "", "media_type": ""},
        {"format", "media_type", "format_vocabulary", "non_proprietary", "machine_readable"},
    ),
    ("proprietary format", {}, {"file_format": "XLSX", "media_type": ""}, {"non_proprietary"}),
    (
        "not machine-readable",
        {},
        {"file_format": "TXT", "media_type": "text/plain"},
        {"machine_readable"},
    ),
    ("no licence", {"licence": ""}, {"licence": ""}, {"licence", "licence_vocabulary"}),
    ("no contact point", {"contact_name": "", "contact_email": ""}, {}, {"contact_point"}),
    ("no rights", {"conditions_for_reuse": "", "legal_basis": ""}, {}, {"rights"}),
    ("no byte size", {}, {"byte_size": None}, {"byte_size"}),
    ("no date of issue", {}, {"issued": None}, {"issued"}),
    ("no modification date", {}, {"modified": None}, {"modified"}),
]


@pytest.mark.parametrize(
    ("dataset_change", "dist_change", "expected"),
    [c[1:] for c in CHANGES],
    ids=[c[0] for c in CHANGES],
)
def test_each_indicator_loses_its_points(
    full: tuple[Any, Any],
    dataset_change: dict[str, Any],
    dist_change: dict[str, Any],
    expected: set[str],
) -> None:
    dataset, dist = (copy.copy(o) for o in full)
    for name, value in dataset_change.items():
        setattr(dataset, name, value)
    for name, value in dist_change.items():
        if isinstance(value, str):
            value = value.replace("{base}", base_url())
        setattr(dist, name, value)
    score = score_of(dataset, [dist])
    assert lost(score) == expected
    assert score.points == 405 - sum(mqa.BY_KEY[k].points for k in expected)
    for result in score.losing:
        assert result.points == 0 and result.lost == result.indicator.points


def test_dcat_ap_compliance_is_the_shacl_verdict(full: tuple[Any, Any]) -> None:
    dataset, dist = full
    assert lost(score_of(dataset, [dist], conforms=False)) == {"dcat_ap"}
    assert lost(score_of(dataset, [dist], conforms=None)) == {"dcat_ap"}  # never checked
    assert mqa.dataset_score(dataset, validate=True).result("dcat_ap").points == 30
    dataset.shacl_conforms = None
    assert mqa.dataset_score(dataset).result("dcat_ap").points == 0


def rewrite(triples: TripleList, predicate: URIRef, value: Any | None) -> TripleList:
    """The triples with every ``predicate`` object replaced by ``value`` (None: removed)."""
    out = TripleList()
    for s, p, o in triples:
        if p != predicate:
            out.add((s, p, o))
        elif value is not None:
            out.add((s, p, value))
    return out


@pytest.mark.parametrize(
    ("predicate", "value", "expected"),
    [
        (DCT.license, URIRef("https://example.org/my-own-licence"), {"licence_vocabulary"}),
        (DCT.accessRights, None, {"access_rights", "access_rights_vocabulary"}),
        (DCT.accessRights, URIRef("https://example.org/open"), {"access_rights_vocabulary"}),
        (DCT.publisher, None, {"publisher"}),
        (DCT.format, URIRef("https://example.org/CSV"), {"non_proprietary", "machine_readable"}),
        (DCAT.mediaType, Literal("text/csv"), set()),  # the format still comes from the EU table
    ],
)  # fmt: skip
def test_indicators_the_exporter_always_meets_lose_points_in_other_triples(
    full: tuple[Any, Any], predicate: URIRef, value: Any, expected: set[str]
) -> None:
    """Harvested or hand-written DCAT-AP may lack what our exporter always writes."""
    dataset, dist = full
    triples = TripleList()
    node = Builder(triples).dataset(DatasetRows(dataset, [dist], False))
    score = mqa.score_triples(rewrite(triples, predicate, value), str(node), conforms=True)
    assert lost(score) == expected


def test_distribution_indicators_count_the_share_of_distributions(
    full: tuple[Any, Any],
) -> None:
    dataset, dist = full
    second = copy.copy(dist)
    second.pk = dist.pk + 1
    second.byte_size = None
    second.download_url = ""
    score = score_of(dataset, [dist, second])
    assert score.result("byte_size").points == 2.5  # 1 of 2 distributions: half of 5
    assert (score.result("download_url").met, score.result("download_url").of) == (1, 2)
    assert score.result("download_url_accessible").points == 15
    assert score.points == round(405 - 2.5 - 10 - 15)
    nothing = score_of(dataset, [])  # no distribution: no distribution-level points
    assert nothing.points == 405 - sum(
        i.points for i in mqa.INDICATORS if i.level is mqa.Level.DISTRIBUTION
    )


def test_a_protected_dataset_has_an_access_url_and_no_download_url(
    full: tuple[Any, Any],
) -> None:
    dataset, dist = full
    dataset.access_rights = AccessRights.NON_PUBLIC
    dataset.save()
    dist.download_url = dist.access_url = "https://files.example.lu/secret.parquet"
    dist.save()
    graph = dcat.dataset_graph(dataset)
    node = URIRef(f"{dataset.uri}/distribution/{dist.pk}")
    access = [str(o) for o in graph.objects(node, DCAT.accessURL)]
    request_page = f"{reverse('access:application_new')}?dataset={dataset.pid}"
    assert access == [base_url() + request_page]
    assert list(graph.objects(node, DCAT.downloadURL)) == []
    assert "secret" not in graph.serialize(format="turtle")
    score = mqa.dataset_score(dataset)
    assert lost(score) == {"download_url", "download_url_accessible"}
    assert score.result("access_url_accessible").points == 50  # the request page resolves
    assert (score.points, score.rating) == (355, "excellent")


def test_the_export_carries_what_mqa_reads(full: tuple[Any, Any]) -> None:
    dataset, dist = full
    graph: Graph = dcat.dataset_graph(dataset)
    node = URIRef(f"{dataset.uri}/distribution/{dist.pk}")
    assert set(graph.objects(node, DCT.format)) == {
        URIRef("http://publications.europa.eu/resource/authority/file-type/CSV")
    }
    assert set(graph.objects(node, DCAT.mediaType)) == {
        URIRef("https://www.iana.org/assignments/media-types/text/csv")
    }
    for predicate in (DCAT.byteSize, DCT.issued, DCT.modified, DCT.license, DCT.rights):
        assert list(graph.objects(node, predicate)), predicate
    assert set(graph.objects(URIRef(dataset.uri), DCT.accessRights)) == {
        URIRef("http://publications.europa.eu/resource/authority/access-right/PUBLIC")
    }
    assert set(graph.objects(URIRef(dataset.uri), DCT.spatial)) == {URIRef(LUXEMBOURG_URI)}


def test_the_catalogue_adds_up_datasets_and_distributions(make_member: Any) -> None:
    world = build_world(make_member)
    for dataset in (world["stays"], world["jobs"]):
        dataset.shacl_conforms = True
        dataset.save()
    score = mqa.catalogue_score()
    assert (score.datasets, score.distributions) == (2, 2)  # the draft is not published
    one = {pid: mqa.dataset_score(d) for pid, d in (("s", world["stays"]), ("j", world["jobs"]))}
    for result in score.results:  # one distribution each: the catalogue is the mean
        expected = (one["s"].result(result.indicator.key).points + one["j"].result(
            result.indicator.key).points) / 2  # fmt: skip
        assert result.points == pytest.approx(expected)
    assert score.result("licence").met == 1  # only the open dataset has a licence
    assert score.result("download_url").met == 1  # the protected one has none
    assert score.result("download_url_accessible").met == 0  # the open one's is external


def test_the_seeded_demo_catalogue_scores_excellent() -> None:
    from datalux.demo.seed import seed_demo

    seed_demo(persons=300, seed=11, echo=lambda _: None)
    score = mqa.catalogue_score()
    report = {r.indicator.key: f"{r.met}/{r.of}" for r in score.losing}
    assert score.rating == "excellent", f"{score.points}: {report}"
    assert score.datasets >= 6


# ---------------------------------------------------------------------------------------------
# Pages and API


@pytest.fixture
def world(make_member: Any) -> dict[str, Any]:
    return build_world(make_member)


def denied() -> int:
    from datalux.audit.kinds import EventKind
    from datalux.audit.models import AuditEvent

    return AuditEvent.objects.filter(kind=EventKind.ACCESS_DENIED).count()


def test_stewards_of_the_publisher_see_the_mqa_panel_others_do_not(
    client: Any, world: dict[str, Any]
) -> None:
    url = reverse("catalogue:dataset", args=[world["stays"].pid])
    client.force_login(world["steward"])
    html = client.get(url).content.decode()
    score = mqa.dataset_score(world["stays"])
    assert 'id="mqa-heading"' in html and f"Score {score.points} of 405" in html
    for result in score.losing:  # each losing indicator, with how to fix it
        assert f'data-indicator="{result.indicator.key}"' in html
        assert str(result.indicator.fix).replace("'", "&#x27;") in html
    assert 'data-indicator="keywords"' not in html  # earned: not listed
    for user in (world["other_steward"], world["applicant"], None):
        client.logout()
        if user is not None:
            client.force_login(user)
        html = client.get(url).content.decode()
        assert 'id="mqa-heading"' not in html and "How to fix it" not in html


def test_the_metrics_page_shows_the_catalogue_score_to_everyone(
    client: Any, world: dict[str, Any]
) -> None:
    score = mqa.catalogue_score()
    html = client.get(reverse("catalogue:metrics")).content.decode()
    assert f'<strong id="mqa-points">{score.points}</strong>' in html
    assert f'<strong id="mqa-rating">{score.rating_label}</strong>' in html
    for dimension in score.dimensions:
        assert f'<th scope="row">{dimension.label}</th><td>{dimension.points:.1f}' in html


def test_api_catalogue_mqa_is_public(client: Any, world: dict[str, Any]) -> None:
    body = client.get("/api/v1/catalogue/mqa").json()
    score = mqa.catalogue_score()
    assert (body["points"], body["rating"], body["datasets"]) == (score.points, score.rating, 2)
    assert [d["max_points"] for d in body["dimensions"]] == [100, 100, 110, 75, 20]
    assert {i["key"] for i in body["indicators"]} == INDICATOR_KEYS
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "/api/v1/catalogue/mqa" in paths and "/api/v1/catalogue/datasets/{pid}/mqa" in paths


def test_api_dataset_mqa_for_stewards_of_the_publisher_only(
    client: Any, world: dict[str, Any]
) -> None:
    url = f"/api/v1/catalogue/datasets/{world['stays'].pid}/mqa"
    response = client.get(url)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    for user in (world["other_steward"], world["applicant"]):
        client.force_login(user)
        before = denied()
        response = client.get(url)
        assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
        assert denied() == before + 1  # the refusal is audited
    client.force_login(world["steward"])
    body = client.get(url).json()
    assert body["points"] == mqa.dataset_score(world["stays"]).points
    by_key = {i["key"]: i for i in body["indicators"]}
    assert by_key["download_url"]["points"] == 0 and by_key["download_url"]["fix"]
    assert by_key["keywords"]["points"] == 30 and by_key["keywords"]["fix"] == ""
    draft = f"/api/v1/catalogue/datasets/{world['draft'].pid}/mqa"
    assert client.get(draft).status_code == 200  # own draft: scored before publication
    client.force_login(world["other_steward"])
    assert client.get(draft).status_code == 404  # someone else's draft stays invisible


def test_the_published_score_is_cached_until_a_record_changes(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.core.cache import cache
    from django.utils import timezone

    cache.clear()
    calls: list[int] = []
    real = mqa.catalogue_score
    monkeypatch.setattr(mqa, "catalogue_score", lambda: calls.append(1) or real())
    first = mqa.published_score()
    assert mqa.published_score().as_dict() == first.as_dict() and len(calls) == 1
    jobs = world["jobs"]
    jobs.spatial = [LUXEMBOURG_URI]
    jobs.modified = timezone.now()
    jobs.save()
    changed = mqa.published_score()
    assert len(calls) == 2
    assert changed.result("spatial").met == first.result("spatial").met + 1
    assert changed.as_dict() == real().as_dict()


def test_stewards_set_the_spatial_coverage_through_the_api_from_a_place_vocabulary(
    client: Any, world: dict[str, Any]
) -> None:
    stays = world["stays"]
    url = f"/api/v1/catalogue/datasets/{stays.pid}"
    client.force_login(world["steward"])
    before = mqa.dataset_score(stays).result("spatial").points
    for bad in (["Luxembourg"], ["https://example.org/place/1"]):
        response = client.patch(url, {"spatial": bad}, content_type="application/json")
        assert response.status_code == 422, response.content
        assert "GeoNames" in str(response.json()["error"]["details"])
    response = client.patch(url, {"spatial": "LUX"}, content_type="application/json")
    assert response.status_code == 422  # not a list: refused by the schema
    stays.refresh_from_db()
    assert stays.spatial == []  # nothing stored on a refusal
    places = [LUXEMBOURG_URI, "https://sws.geonames.org/2960316/"]
    response = client.patch(url, {"spatial": places}, content_type="application/json")
    assert response.status_code == 200 and response.json()["spatial"] == places
    stays.refresh_from_db()
    assert (before, mqa.dataset_score(stays).result("spatial").points) == (0, 20)
    client.force_login(world["other_steward"])
    response = client.patch(url, {"spatial": []}, content_type="application/json")
    assert response.status_code == 403
