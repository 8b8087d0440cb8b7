"""Catalogue pages: every view, with refusals (anonymous, wrong role, wrong organisation)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.defaultfilters import urlencode
from django.urls import reverse

from datalux.accounts.roles import OrganisationKind
from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent
from datalux.catalogue.models import Dataset, DatasetStatus
from tests.catalogue.world import OPEN_DOWNLOAD, PROTECTED_DOWNLOAD, build_world
from tests.factories.accounts import OrganisationFactory
from tests.factories.catalogue import DatasetFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(make_member: Any) -> dict[str, Any]:
    return build_world(make_member)


def denied_count() -> int:
    return AuditEvent.objects.filter(kind=EventKind.ACCESS_DENIED).count()


# --- search -----------------------------------------------------------------------------------


def test_catalogue_link_in_the_navigation_for_anonymous_users(client: Any) -> None:
    html = client.get(reverse("home")).content.decode()
    assert f'href="{reverse("catalogue:search")}"' in html
    assert ">Catalogue<" in html


def test_search_page_lists_published_datasets_with_facets(
    client: Any, world: dict[str, Any]
) -> None:
    response = client.get(reverse("catalogue:search"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Hospital stays" in html and "Employment by sector" in html
    assert "Waiting lists draft" not in html
    assert 'name="theme" value="HEAL"' in html
    assert "2 datasets" in html
    assert '<label for="q">' in html


def test_search_page_text_and_facet_filter(client: Any, world: dict[str, Any]) -> None:
    html = client.get(reverse("catalogue:search"), {"q": "séjours"}).content.decode()
    assert "Hospital stays" in html and "Employment by sector" not in html
    html = client.get(reverse("catalogue:search"), {"theme": "ECON"}).content.decode()
    assert "Employment by sector" in html and "Hospital stays" not in html
    assert 'value="ECON" checked' in html
    html = client.get(
        reverse("catalogue:search"), {"q": "birth_date", "sort": "modified"}
    ).content.decode()
    assert "Hospital stays" in html


@pytest.mark.parametrize(
    "params",
    [
        {"q": '"'},
        {"q": "AND OR NEAR("},
        {"q": "'; DROP TABLE x; --"},
        {"page": "abc"},
        {"page": "-4"},
        {"sort": "title"},
        {"colour": "red"},
        {"theme": "NOPE"},
        {"page": "99"},
    ],
)
def test_search_page_survives_odd_parameters(
    client: Any, world: dict[str, Any], params: dict[str, str]
) -> None:
    assert client.get(reverse("catalogue:search"), params).status_code == 200


def test_search_page_pages(client: Any, world: dict[str, Any]) -> None:
    for n in range(25):
        DatasetFactory(publisher=world["holder"], title={"en": f"Registry extract {n}"})
    html = client.get(reverse("catalogue:search"), {"q": "registry"}).content.decode()
    assert "Page 1 of 2" in html and 'rel="next"' in html
    html = client.get(reverse("catalogue:search"), {"q": "registry", "page": 2}).content.decode()
    assert "Page 2 of 2" in html and 'rel="prev"' in html


def test_steward_sees_own_drafts_in_search_others_do_not(
    client: Any, world: dict[str, Any]
) -> None:
    client.force_login(world["other_steward"])
    assert "Waiting lists draft" not in client.get(reverse("catalogue:search")).content.decode()
    client.force_login(world["steward"])
    assert "Waiting lists draft" in client.get(reverse("catalogue:search")).content.decode()


# --- dataset page -----------------------------------------------------------------------------


def page(dataset: Dataset) -> str:
    return reverse("catalogue:dataset", args=[dataset.pid])


def test_protected_dataset_page_shows_metadata_and_dictionary_never_data(
    client: Any, world: dict[str, Any]
) -> None:
    response = client.get(page(world["stays"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Hospital stays" in html
    assert "birth_date" in html and "Date of birth" in html  # dictionary
    assert "Law of 1 August 2018" in html  # access conditions
    assert PROTECTED_DOWNLOAD not in html  # no download or access address
    assert "secret-hospital-stays" not in html
    assert ">Download<" not in html
    assert "Request access" in html
    new_application = reverse("access:application_new")
    assert (
        f'href="{new_application}?dataset={urlencode(world["stays"].pid)}"' in html
    )  # the access request
    assert "<form" not in html.split("<main", 1)[1].split("</main>")[0]  # no steward forms
    assert "Readmission model" in html  # related data product


def test_open_dataset_page_links_the_download(client: Any, world: dict[str, Any]) -> None:
    html = client.get(page(world["jobs"])).content.decode()
    assert OPEN_DOWNLOAD in html
    assert "Request access" not in html
    assert "CC-BY-4.0" in html


def test_dataset_page_counts_views_but_not_its_stewards(client: Any, world: dict[str, Any]) -> None:
    stays = world["stays"]
    client.get(page(stays))
    client.get(page(stays))
    client.force_login(world["steward"])
    client.get(page(stays))
    stays.refresh_from_db()
    assert stays.views == 2


def test_drafts_are_404_except_for_their_stewards(client: Any, world: dict[str, Any]) -> None:
    draft = world["draft"]
    assert client.get(page(draft)).status_code == 404
    client.force_login(world["other_steward"])
    assert client.get(page(draft)).status_code == 404
    client.force_login(world["applicant"])
    assert client.get(page(draft)).status_code == 404
    client.force_login(world["steward"])
    response = client.get(page(draft))
    assert response.status_code == 200
    assert "Check and publish" in response.content.decode()
    assert client.get(reverse("catalogue:dataset", args=["DLX-NOPE"])).status_code == 404


def test_shacl_findings_are_shown_to_stewards_only(client: Any, world: dict[str, Any]) -> None:
    stays = world["stays"]
    Dataset.objects.filter(pk=stays.pk).update(
        shacl_conforms=False,
        shacl_report=[{"severity": "Violation", "focus": stays.uri, "path": "dct:publisher",
                       "message": "The dataset has no publisher: add one."}],
    )  # fmt: skip
    assert "has no publisher" not in client.get(page(stays)).content.decode()
    client.force_login(world["other_steward"])
    assert "has no publisher" not in client.get(page(stays)).content.decode()
    client.force_login(world["steward"])
    html = client.get(page(stays)).content.decode()
    assert "has no publisher" in html and "dct:publisher" in html
    assert f"/catalogue/datasets/{stays.pid}/upload/" in html  # stewards get the upload link


def test_upload_link_is_for_stewards_only(client: Any, world: dict[str, Any]) -> None:
    stays = world["stays"]
    assert "/upload/" not in client.get(page(stays)).content.decode()
    client.force_login(world["other_steward"])
    assert "/upload/" not in client.get(page(stays)).content.decode()


# --- create -----------------------------------------------------------------------------------


def form_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "title_en": "Cancer registry",
        "title_fr": "Registre du cancer",
        "description_en": "Every new cancer case.",
        "keywords": "cancer, oncology",
        "themes": ["HEAL"],
        "access_rights": "RESTRICTED",
        "accrual_periodicity": "ANNUAL",
        "contact_email": "registry@example.lu",
    }
    data.update(overrides)
    return data


def test_create_refusals(client: Any, world: dict[str, Any]) -> None:
    url = reverse("catalogue:dataset_create")
    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))
    client.force_login(world["applicant"])
    before = denied_count()
    assert client.get(url).status_code == 403
    assert client.post(url, form_data()).status_code == 403
    assert denied_count() == before + 2
    assert not Dataset.objects.filter(slug="cancer-registry").exists()


def test_steward_creates_a_draft_for_own_holder_only(client: Any, world: dict[str, Any]) -> None:
    url = reverse("catalogue:dataset_create")
    client.force_login(world["steward"])
    html = client.get(url).content.decode()
    assert world["holder"].name in html and world["other"].name not in html
    # another holder is not a choice
    response = client.post(url, form_data(publisher=world["other"].pk))
    assert response.status_code == 200
    assert not Dataset.objects.filter(slug="cancer-registry").exists()
    response = client.post(url, form_data(publisher=world["holder"].pk))
    dataset = Dataset.objects.get(slug="cancer-registry")
    assert response.status_code == 302 and response.url == page(dataset)
    assert dataset.status == DatasetStatus.DRAFT
    assert dataset.title == {"en": "Cancer registry", "fr": "Registre du cancer"}
    assert dataset.keywords == ["cancer", "oncology"]
    assert AuditEvent.objects.filter(
        kind=EventKind.DATASET_CREATED, object_id=str(dataset.pk)
    ).exists()
    # the new draft is searchable by its steward at once
    assert (
        "Cancer registry"
        in client.get(reverse("catalogue:search"), {"q": "oncology"}).content.decode()
    )


def test_create_form_errors(client: Any, world: dict[str, Any]) -> None:
    client.force_login(world["steward"])
    url = reverse("catalogue:dataset_create")
    response = client.post(url, form_data(publisher=world["holder"].pk, title_en="", title_fr=""))
    assert response.status_code == 200
    assert "Give a title in at least one language" in response.content.decode()
    client.post(url, form_data(publisher=world["holder"].pk))
    response = client.post(url, form_data(publisher=world["holder"].pk))  # same slug again
    assert response.status_code == 200
    assert "already has a dataset" in response.content.decode()
    response = client.post(
        url,
        form_data(
            publisher=world["holder"].pk,
            slug="other",
            temporal_start="2024-01-01",
            temporal_end="2020-01-01",
        ),
    )
    assert "ends before it starts" in response.content.decode()


def test_create_is_refused_to_the_data_authority(
    client: Any, make_member: Any, world: dict[str, Any]
) -> None:
    # the data authority describes no dataset: only stewards of data holders do
    authority = OrganisationFactory(kind=OrganisationKind.DATA_AUTHORITY)
    handler = make_member("handler", organisation=authority)
    client.force_login(handler)
    assert client.get(reverse("catalogue:dataset_create")).status_code == 403


# --- edit -------------------------------------------------------------------------------------


def test_edit_refusals(client: Any, world: dict[str, Any]) -> None:
    stays, draft = world["stays"], world["draft"]
    url = reverse("catalogue:dataset_edit", args=[stays.pid])
    assert client.get(url).status_code == 302
    client.force_login(world["applicant"])
    assert client.get(url).status_code == 403
    client.force_login(world["other_steward"])
    before = denied_count()
    assert client.get(url).status_code == 403  # visible, but not theirs
    assert client.post(url, form_data(title_en="Hijacked")).status_code == 403
    assert denied_count() == before + 2
    assert client.get(reverse("catalogue:dataset_edit", args=[draft.pid])).status_code == 404
    stays.refresh_from_db()
    assert stays.title["en"] == "Hospital stays"


def test_steward_edits_own_dataset(client: Any, world: dict[str, Any]) -> None:
    stays = world["stays"]
    url = reverse("catalogue:dataset_edit", args=[stays.pid])
    client.force_login(world["steward"])
    html = client.get(url).content.decode()
    assert 'value="Hospital stays"' in html and 'value="Séjours hospitaliers"' in html
    response = client.post(url, form_data(title_en="Inpatient episodes", title_fr=""))
    assert response.status_code == 302
    stays.refresh_from_db()
    assert stays.title == {"en": "Inpatient episodes"}
    assert stays.access_rights == "RESTRICTED"
    assert AuditEvent.objects.filter(
        kind=EventKind.DATASET_UPDATED, object_id=str(stays.pk)
    ).exists()
    html = client.get(reverse("catalogue:search"), {"q": "episodes"}).content.decode()
    assert "Inpatient episodes" in html


# --- dictionary -------------------------------------------------------------------------------

SCHEMA = {"fields": [{"name": "ward", "type": "string", "labels": {"en": "Ward", "fr": "Service"}},
                     {"name": "length_of_stay", "type": "integer", "unit": "day"}]}  # fmt: skip


def test_dictionary_refusals(client: Any, world: dict[str, Any]) -> None:
    url = reverse("catalogue:dataset_dictionary", args=[world["stays"].pid])
    assert client.get(url).status_code == 302
    client.force_login(world["applicant"])
    assert client.post(url, {"schema_text": json.dumps(SCHEMA)}).status_code == 403
    client.force_login(world["other_steward"])
    assert client.post(url, {"schema_text": json.dumps(SCHEMA)}).status_code == 403
    assert list(world["stays"].variables.values_list("name", flat=True)) == [
        "birth_date",
        "diagnosis",
    ]


def test_steward_pastes_or_uploads_a_dictionary(client: Any, world: dict[str, Any]) -> None:
    stays = world["stays"]
    url = reverse("catalogue:dataset_dictionary", args=[stays.pid])
    client.force_login(world["steward"])
    html = client.get(url).content.decode()
    assert "birth_date" in html  # the current dictionary, ready to edit
    response = client.post(url, {"schema_text": json.dumps(SCHEMA)})
    assert response.status_code == 302
    assert list(stays.variables.values_list("name", flat=True)) == ["ward", "length_of_stay"]
    upload = SimpleUploadedFile("schema.json", json.dumps({"fields": [{"name": "sex"}]}).encode())
    assert client.post(url, {"schema_file": upload}).status_code == 302
    assert list(stays.variables.values_list("name", flat=True)) == ["sex"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"fields": []}', "has no fields"),
        ('{"fields": [{"name": "a", "type": "colour"}]}', "unknown type"),
        ("", "Upload a file or paste the schema"),
    ],
)
def test_dictionary_errors_are_shown(
    client: Any, world: dict[str, Any], text: str, message: str
) -> None:
    stays = world["stays"]
    client.force_login(world["steward"])
    response = client.post(
        reverse("catalogue:dataset_dictionary", args=[stays.pid]), {"schema_text": text}
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert stays.variables.count() == 2


# --- publish and withdraw ---------------------------------------------------------------------


def test_publish_refusals(client: Any, world: dict[str, Any]) -> None:
    url = reverse("catalogue:dataset_publish", args=[world["draft"].pid])
    assert client.post(url).status_code == 302  # to the login page
    client.force_login(world["steward"])
    assert client.get(url).status_code == 405
    client.force_login(world["applicant"])
    assert client.post(url).status_code == 403
    client.force_login(world["other_steward"])
    assert client.post(url).status_code == 404  # another holder's draft is invisible
    other_url = reverse("catalogue:dataset_publish", args=[world["stays"].pid])
    assert client.post(other_url).status_code == 403
    world["draft"].refresh_from_db()
    assert world["draft"].status == DatasetStatus.DRAFT


def test_steward_publishes_or_sees_why_not(client: Any, world: dict[str, Any]) -> None:
    draft = world["draft"]
    client.force_login(world["steward"])
    url = reverse("catalogue:dataset_publish", args=[draft.pid])
    Dataset.objects.filter(pk=draft.pk).update(description={})
    response = client.post(url, follow=True)
    draft.refresh_from_db()
    assert draft.status == DatasetStatus.DRAFT
    html = response.content.decode()
    assert "Not published" in html and "dct:description" in html
    Dataset.objects.filter(pk=draft.pk).update(description={"en": "Patients waiting for surgery."})
    response = client.post(url, follow=True)
    draft.refresh_from_db()
    assert draft.status == DatasetStatus.PUBLISHED
    assert "Published" in response.content.decode()
    client.logout()
    assert client.get(page(draft)).status_code == 200


def test_withdraw(client: Any, world: dict[str, Any]) -> None:
    stays = world["stays"]
    url = reverse("catalogue:dataset_withdraw", args=[stays.pid])
    client.force_login(world["other_steward"])
    assert client.post(url).status_code == 403
    client.force_login(world["steward"])
    assert client.post(url, {"reason": "superseded"}).status_code == 302
    stays.refresh_from_db()
    assert stays.status == DatasetStatus.WITHDRAWN
    client.logout()
    assert client.get(page(stays)).status_code == 404
    assert "Hospital stays" not in client.get(reverse("catalogue:search")).content.decode()


# --- organisation and metrics -----------------------------------------------------------------


def test_organisation_page(client: Any, world: dict[str, Any]) -> None:
    url = reverse("catalogue:organisation", args=[world["holder"].slug])
    html = client.get(url).content.decode()
    assert "Health Directorate" in html and "Hospital stays" in html
    assert "Employment by sector" not in html and "Waiting lists draft" not in html
    assert "Describe a new dataset" not in html
    client.force_login(world["steward"])
    html = client.get(url).content.decode()
    assert "Waiting lists draft" in html and "Describe a new dataset" in html
    client.force_login(world["other_steward"])
    assert "Describe a new dataset" not in client.get(url).content.decode()
    html = client.get(
        reverse("catalogue:organisation", args=[world["other"].slug])
    ).content.decode()
    assert "Readmission model" in html
    assert client.get(url, {"q": "nothing-like-this"}).status_code == 200
    assert client.get(reverse("catalogue:organisation", args=["no-such-org"])).status_code == 404


def test_metrics_page(client: Any, world: dict[str, Any]) -> None:
    Dataset.objects.filter(pk=world["stays"].pk).update(views=7)
    response = client.get(reverse("catalogue:metrics"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "2 published datasets" in html
    assert '<span id="open-share">50.0 %</span>' in html
    assert "Hospital stays" in html and ">7<" in html
    assert "Waiting lists draft" not in html


def test_dataset_page_includes_the_quality_of_the_latest_version(
    client: Any, world: dict[str, Any]
) -> None:
    from datalux.catalogue.models import DatasetVersion
    from datalux.holdings.models import DataFile

    stays = world["stays"]
    html = client.get(page(stays)).content.decode()
    assert "No quality profile yet" in html
    data_file = DataFile.objects.create(
        organisation=world["holder"], table="stays", title="stays",
        relative_path="stays.parquet", rows=3, sha256="0" * 64, size_bytes=1,
    )  # fmt: skip
    DatasetVersion.objects.create(
        dataset=stays, number=1, data_file=data_file,
        quality={
            "rows": 1234567, "variables": [],
            "kpis": {"completeness": 0.5, "validity": 1.0, "uniqueness": 1.0,
                     "duplicate_rows": 0, "latest_date": None, "days_since_latest": None},
        },
    )  # fmt: skip
    html = client.get(page(stays)).content.decode()
    assert "No quality profile yet" not in html
    assert "1234567" in html and "Version 1" in html
