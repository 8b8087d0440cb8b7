"""Catalogue API: every operation, with refusals (anonymous, wrong role, wrong organisation)."""

from __future__ import annotations

from typing import Any

import pytest

from datalux.accounts.actions import create_api_token
from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent
from datalux.catalogue.models import Dataset
from tests.catalogue.world import OPEN_DOWNLOAD, PROTECTED_DOWNLOAD, build_world
from tests.factories.accounts import OrganisationFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/catalogue"


@pytest.fixture
def world(make_member: Any) -> dict[str, Any]:
    return build_world(make_member)


def token_for(user: Any) -> dict[str, str]:
    _, secret = create_api_token(user=user, name="test", scope="write")
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def error_code(response: Any) -> str:
    return response.json()["error"]["code"]


# --- reads ------------------------------------------------------------------------------------


def test_search_anonymous(client: Any, world: dict[str, Any]) -> None:
    response = client.get(f"{API}/datasets")
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 2
    assert {d["pid"] for d in body["items"]} == {world["stays"].pid, world["jobs"].pid}
    facets = {f["name"]: {v["value"]: v["count"] for v in f["values"]} for f in body["facets"]}
    assert facets["theme"] == {"HEAL": 1, "ECON": 1}
    assert facets["publisher"] == {world["holder"].slug: 1, world["other"].slug: 1}
    assert facets["format"] == {"PARQUET": 1, "CSV": 1}
    item = next(d for d in body["items"] if d["pid"] == world["stays"].pid)
    assert item["publisher"] == world["holder"].slug
    assert item["page_url"] == f"/catalogue/datasets/{world['stays'].pid}/"


def test_search_text_filters_sort_and_pages(client: Any, world: dict[str, Any]) -> None:
    body = client.get(f"{API}/datasets", {"q": "sejours"}).json()
    assert [d["pid"] for d in body["items"]] == [world["stays"].pid]
    body = client.get(
        f"{API}/datasets", {"theme": ["ECON", "HEAL"], "access_rights": "PUBLIC"}
    ).json()
    assert [d["pid"] for d in body["items"]] == [world["jobs"].pid]
    body = client.get(f"{API}/datasets", {"q": "date birth", "sort": "modified"}).json()
    assert body["sort"] == "modified" and body["total"] == 1
    body = client.get(f"{API}/datasets", {"page_size": 1, "page": 2}).json()
    assert (body["total"], body["pages"], len(body["items"])) == (2, 2, 1)


@pytest.mark.parametrize("q", ['"', "*", "AND OR NEAR(", "'; DROP TABLE catalogue_dataset; --"])
def test_search_hostile_text(client: Any, world: dict[str, Any], q: str) -> None:
    response = client.get(f"{API}/datasets", {"q": q})
    assert response.status_code == 200
    assert Dataset.objects.count() == 3


@pytest.mark.parametrize(
    "params", [{"page_size": 1000}, {"page": 0}, {"sort": "title"}, {"q": "x" * 501}]
)
def test_search_invalid_parameters_are_422(
    client: Any, world: dict[str, Any], params: dict[str, Any]
) -> None:
    response = client.get(f"{API}/datasets", params)
    assert response.status_code == 422
    assert error_code(response) == "invalid"


def test_reads_with_a_bad_token_are_401(client: Any, world: dict[str, Any]) -> None:
    for header in ("Bearer dlx_nope_nope", "Basic abc"):
        response = client.get(f"{API}/datasets", HTTP_AUTHORIZATION=header)
        assert response.status_code == 401
        assert error_code(response) == "unauthenticated"


def test_drafts_visible_to_own_stewards_only(client: Any, world: dict[str, Any]) -> None:
    draft = world["draft"]
    assert draft.pid not in {d["pid"] for d in client.get(f"{API}/datasets").json()["items"]}
    assert client.get(f"{API}/datasets/{draft.pid}").status_code == 404
    assert client.get(f"{API}/datasets/{draft.pid}/variables").status_code == 404
    assert client.get(f"{API}/datasets/{draft.pid}/distributions").status_code == 404
    other = token_for(world["other_steward"])
    assert client.get(f"{API}/datasets/{draft.pid}", **other).status_code == 404
    own = token_for(world["steward"])
    items = client.get(f"{API}/datasets", **own).json()["items"]
    assert draft.pid in {d["pid"] for d in items}
    assert client.get(f"{API}/datasets/{draft.pid}", **own).json()["status"] == "draft"
    client.force_login(world["steward"])  # a session works too
    assert client.get(f"{API}/datasets/{draft.pid}").status_code == 200


def test_get_dataset_variables_and_distributions(client: Any, world: dict[str, Any]) -> None:
    stays, jobs = world["stays"], world["jobs"]
    body = client.get(f"{API}/datasets/{stays.pid}").json()
    assert body["title"]["fr"] == "Séjours hospitaliers"
    assert body["protected"] is True and body["variables"] == 2
    assert body["uri"].endswith(f"/id/dataset/{stays.pid}")
    variables = client.get(f"{API}/datasets/{stays.pid}/variables").json()
    assert [(v["name"], v["label"]) for v in variables] == [
        ("birth_date", {"en": "Date of birth"}),
        ("diagnosis", {"en": "Main diagnosis"}),
    ]
    response = client.get(f"{API}/datasets/{stays.pid}/distributions")
    (dist,) = response.json()
    assert dist["file_format"] == "PARQUET"
    assert dist["download_url"] is None and dist["access_url"] is None
    assert PROTECTED_DOWNLOAD not in response.content.decode()
    (dist,) = client.get(f"{API}/datasets/{jobs.pid}/distributions").json()
    assert dist["download_url"] == OPEN_DOWNLOAD
    assert client.get(f"{API}/datasets/DLX-NOPE").status_code == 404
    assert error_code(client.get(f"{API}/datasets/DLX-NOPE")) == "not_found"


def test_data_products(client: Any, world: dict[str, Any]) -> None:
    body = client.get(f"{API}/data-products").json()
    assert body["total"] == 1
    (item,) = body["items"]
    assert item["title"] == "Readmission model"
    assert item["datasets"] == [world["stays"].pid]  # the draft link is not shown to the public
    own = token_for(world["steward"])
    (item,) = client.get(f"{API}/data-products", **own).json()["items"]
    assert set(item["datasets"]) == {world["stays"].pid, world["draft"].pid}
    assert client.get(f"{API}/data-products", {"dataset": world["jobs"].pid}).json()["total"] == 0
    assert client.get(f"{API}/data-products", {"dataset": world["draft"].pid}).json()["total"] == 0
    by_org = client.get(f"{API}/data-products", {"organisation": world["other"].slug}).json()
    assert by_org["total"] == 1


def test_metrics(client: Any, world: dict[str, Any]) -> None:
    client.get(f"/catalogue/datasets/{world['jobs'].pid}/")
    body = client.get(f"{API}/metrics").json()
    assert body["published"] == 2 and body["open"] == 1 and body["open_share"] == 0.5
    assert {s["key"]: s["datasets"] for s in body["by_access_rights"]} == {
        "PUBLIC": 1, "RESTRICTED": 0, "NON_PUBLIC": 1,
    }  # fmt: skip
    assert {s["key"]: (s["datasets"], s["open"]) for s in body["by_publisher"]} == {
        world["holder"].slug: (1, 0),
        world["other"].slug: (1, 1),
    }
    assert body["most_viewed"] == [
        {
            "pid": world["jobs"].pid,
            "title": "Employment by sector",
            "publisher": "Statistics Office",
            "views": 1,
        }
    ]


def test_openapi_documents_the_catalogue(client: Any) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/catalogue/datasets",
        "/api/v1/catalogue/datasets/{pid}",
        "/api/v1/catalogue/datasets/{pid}/variables",
        "/api/v1/catalogue/datasets/{pid}/distributions",
        "/api/v1/catalogue/datasets/{pid}/dictionary",
        "/api/v1/catalogue/datasets/{pid}/publish",
        "/api/v1/catalogue/data-products",
        "/api/v1/catalogue/metrics",
    ):
        assert path in paths


# --- writes -----------------------------------------------------------------------------------


def new_dataset(publisher: Any, **overrides: Any) -> dict[str, Any]:
    body = {
        "publisher": publisher.slug,
        "title": {"en": "Cancer registry", "fr": "Registre du cancer"},
        "description": {"en": "Every new cancer case."},
        "keywords": ["oncology"],
        "themes": ["HEAL"],
        "access_rights": "RESTRICTED",
    }
    body.update(overrides)
    return body


def test_create_refusals(client: Any, world: dict[str, Any]) -> None:
    url = f"{API}/datasets"
    body = new_dataset(world["holder"])
    response = client.post(url, body, content_type="application/json")
    assert response.status_code == 401 and error_code(response) == "unauthenticated"
    before = AuditEvent.objects.filter(kind=EventKind.ACCESS_DENIED).count()
    for user in (world["applicant"], world["other_steward"]):
        response = client.post(url, body, content_type="application/json", **token_for(user))
        assert response.status_code == 403 and error_code(response) == "forbidden"
    assert AuditEvent.objects.filter(kind=EventKind.ACCESS_DENIED).count() == before + 2
    nowhere = new_dataset(OrganisationFactory.build(slug="nowhere"))
    response = client.post(
        url, nowhere, content_type="application/json", **token_for(world["steward"])
    )
    assert response.status_code == 404
    assert not Dataset.objects.filter(slug="cancer-registry").exists()


def test_steward_creates_by_token(client: Any, world: dict[str, Any]) -> None:
    auth = token_for(world["steward"])
    response = client.post(
        f"{API}/datasets", new_dataset(world["holder"]), content_type="application/json", **auth
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft" and body["publisher"] == world["holder"].slug
    dataset = Dataset.objects.get(pid=body["pid"])
    assert dataset.keywords == ["oncology"]
    assert AuditEvent.objects.filter(
        kind=EventKind.DATASET_CREATED, object_id=str(dataset.pk)
    ).exists()
    found = client.get(f"{API}/datasets", {"q": "oncology"}, **auth).json()["items"]
    assert [d["pid"] for d in found] == [dataset.pid]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"themes": ["NOPE"]}, "themes"),
        ({"access_rights": "OPEN"}, "access_rights"),
        ({"title": {}}, "title"),
        ({"licence": "WTFPL"}, "licence"),
    ],
)
def test_create_invalid_is_422(
    client: Any, world: dict[str, Any], overrides: dict[str, Any], field: str
) -> None:
    client.force_login(world["steward"])
    response = client.post(
        f"{API}/datasets",
        new_dataset(world["holder"], **overrides),
        content_type="application/json",
    )
    assert response.status_code == 422
    assert error_code(response) == "invalid"
    assert field in response.json()["error"]["details"]


def test_update_refusals(client: Any, world: dict[str, Any]) -> None:
    stays, draft = world["stays"], world["draft"]
    body = {"title": {"en": "Hijacked"}}
    response = client.patch(f"{API}/datasets/{stays.pid}", body, content_type="application/json")
    assert response.status_code == 401
    for user in (world["applicant"], world["other_steward"]):
        response = client.patch(
            f"{API}/datasets/{stays.pid}", body, content_type="application/json", **token_for(user)
        )
        assert response.status_code == 403
    auth = token_for(world["other_steward"])
    response = client.patch(
        f"{API}/datasets/{draft.pid}", body, content_type="application/json", **auth
    )
    assert response.status_code == 404
    stays.refresh_from_db()
    assert stays.title["en"] == "Hospital stays"


def test_steward_updates_only_the_fields_sent(client: Any, world: dict[str, Any]) -> None:
    stays = world["stays"]
    auth = token_for(world["steward"])
    response = client.patch(
        f"{API}/datasets/{stays.pid}",
        {"keywords": ["inpatient", "episodes"]},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 200, response.content
    stays.refresh_from_db()
    assert stays.keywords == ["inpatient", "episodes"]
    assert stays.title["fr"] == "Séjours hospitaliers"  # untouched
    found = client.get(f"{API}/datasets", {"q": "episodes"}).json()["items"]
    assert [d["pid"] for d in found] == [stays.pid]
    response = client.patch(
        f"{API}/datasets/{stays.pid}", {"themes": ["XX"]}, content_type="application/json", **auth
    )
    assert response.status_code == 422


SCHEMA = {"fields": [{"name": "ward", "type": "string", "labels": {"fr": "Service"}}]}


def test_dictionary_refusals(client: Any, world: dict[str, Any]) -> None:
    url = f"{API}/datasets/{world['stays'].pid}/dictionary"
    assert client.put(url, SCHEMA, content_type="application/json").status_code == 401
    for user in (world["applicant"], world["other_steward"]):
        assert (
            client.put(url, SCHEMA, content_type="application/json", **token_for(user)).status_code
            == 403
        )
    assert list(world["stays"].variables.values_list("name", flat=True)) == [
        "birth_date",
        "diagnosis",
    ]


def test_steward_replaces_the_dictionary(client: Any, world: dict[str, Any]) -> None:
    stays = world["stays"]
    url = f"{API}/datasets/{stays.pid}/dictionary"
    auth = token_for(world["steward"])
    response = client.put(url, SCHEMA, content_type="application/json", **auth)
    assert response.status_code == 200, response.content
    assert [v["name"] for v in response.json()] == ["ward"]
    assert [d["pid"] for d in client.get(f"{API}/datasets", {"q": "service"}).json()["items"]] == [
        stays.pid
    ]
    response = client.put(url, {"fields": [{"name": "a", "type": "colour"}, {"type": "string"}]},
                          content_type="application/json", **auth)  # fmt: skip
    assert response.status_code == 422
    assert error_code(response) == "invalid_dictionary"
    assert len(response.json()["error"]["details"]) == 2
    assert list(stays.variables.values_list("name", flat=True)) == ["ward"]


def test_publish(client: Any, world: dict[str, Any]) -> None:
    draft = world["draft"]
    url = f"{API}/datasets/{draft.pid}/publish"
    assert client.post(url).status_code == 401
    assert client.post(url, **token_for(world["applicant"])).status_code == 404  # invisible draft
    assert client.post(url, **token_for(world["other_steward"])).status_code == 404
    assert (
        client.post(
            f"{API}/datasets/{world['stays'].pid}/publish", **token_for(world["other_steward"])
        ).status_code
        == 403
    )
    auth = token_for(world["steward"])
    Dataset.objects.filter(pk=draft.pk).update(description={})
    response = client.post(url, **auth)
    assert response.status_code == 422
    assert error_code(response) == "publication_refused"
    assert any(f["path"] == "dct:description" for f in response.json()["error"]["details"])
    Dataset.objects.filter(pk=draft.pk).update(description={"en": "Patients waiting for surgery."})
    response = client.post(url, **auth)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "published"
    assert client.get(f"{API}/datasets/{draft.pid}").status_code == 200
