"""The upload page and the versions API: grants and refusals, reports, limits, quality exports."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rdflib import Graph

from datalux.accounts.actions import create_api_token
from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent
from datalux.catalogue.dqv import DQV
from datalux.catalogue.models import DatasetStatus, DatasetVersion
from datalux.catalogue.uploads import dataset_folder
from tests.catalogue.upload_fixtures import HEADER, NIDS, csv_text, make_dataset
from tests.factories.accounts import OrganisationFactory
from tests.factories.catalogue import DatasetFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/catalogue/datasets"


@pytest.fixture
def dataset(db: Any) -> Any:
    return make_dataset()


@pytest.fixture
def steward(make_member: Any, dataset: Any) -> Any:
    return make_member("steward", organisation=dataset.publisher)


def upload_file(text: str, name: str = "stays.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def bearer(user: Any) -> dict[str, str]:
    _, secret = create_api_token(user=user, name="upload tests", scope="write")
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


# --- the web page ------------------------------------------------------------------------


def test_page_anonymous_users_are_sent_to_login(client: Any, dataset: Any) -> None:
    url = reverse("catalogue_upload:upload", args=[dataset.pid])
    for response in (client.get(url), client.post(url, {"file": upload_file(csv_text())})):
        assert response.status_code == 302
        assert response.url.startswith(reverse("accounts:login"))
    assert not DatasetVersion.objects.exists()


@pytest.mark.parametrize("who", ["applicant", "other_steward", "handler"])
def test_page_refuses_everyone_but_the_publishers_stewards(
    client: Any, make_member: Any, dataset: Any, who: str
) -> None:
    if who == "other_steward":
        user = make_member("steward", organisation=OrganisationFactory())
    else:
        user = make_member(who)
    client.force_login(user)
    url = reverse("catalogue_upload:upload", args=[dataset.pid])
    before = AuditEvent.objects.filter(kind=EventKind.ACCESS_DENIED).count()
    assert client.get(url).status_code == 403
    assert client.post(url, {"file": upload_file(csv_text())}).status_code == 403
    assert AuditEvent.objects.filter(kind=EventKind.ACCESS_DENIED).count() == before + 2
    assert not DatasetVersion.objects.exists()


def test_page_hides_drafts_of_other_holders(client: Any, make_member: Any) -> None:
    draft = make_dataset(status=DatasetStatus.DRAFT)
    client.force_login(make_member("steward", organisation=OrganisationFactory()))
    assert client.get(reverse("catalogue_upload:upload", args=[draft.pid])).status_code == 404


def test_page_shows_the_dictionary_and_stores_an_upload(
    client: Any, dataset: Any, steward: Any
) -> None:
    client.force_login(steward)
    url = reverse("catalogue_upload:upload", args=[dataset.pid])
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "national_id" in html and "communes-lu" in html and 'type="file"' in html

    response = client.post(url, {"file": upload_file(csv_text(6))})
    assert response.status_code == 302 and response.url == url
    version = DatasetVersion.objects.get(dataset=dataset)
    assert version.number == 1 and version.data_file.rows == 6
    page = client.get(url).content.decode()
    assert "Version 1 stored: 6 rows." in page
    assert "/versions/1/quality.ttl" in page

    # the dataset page shows the quality partial of the latest version
    dataset_page = client.get(reverse("catalogue:dataset", args=[dataset.pid])).content.decode()
    assert "Completeness" in dataset_page and "Quality per variable" in dataset_page


def test_page_reports_a_malformed_csv_with_its_line(
    client: Any, dataset: Any, steward: Any
) -> None:
    client.force_login(steward)
    url = reverse("catalogue_upload:upload", args=[dataset.pid])
    text = (
        f"{HEADER}\n1,{NIDS[0]},Dippach,2024-01-01,1\n2,{NIDS[1]},Dippach\n3,{NIDS[2]},Mars,x,1\n"
    )
    response = client.post(url, {"file": upload_file(text)})
    assert response.status_code == 422
    html = response.content.decode()
    assert "The file was not stored" in html
    assert "<td>2</td><td>3</td>" in html  # row 2 is line 3 of the file
    assert "fewer fields than the header" in html
    assert "<code>Mars</code>" in html
    assert NIDS[1] not in html and NIDS[2] not in html
    assert not DatasetVersion.objects.exists()
    assert not any(dataset_folder(dataset).iterdir())


def test_page_cuts_off_an_oversized_upload(
    client: Any, dataset: Any, steward: Any, settings: Any
) -> None:
    settings.DATALUX_MAX_UPLOAD_MB = 1
    client.force_login(steward)
    url = reverse("catalogue_upload:upload", args=[dataset.pid])
    big = upload_file(csv_text(3) + "9" * (2 * 1024 * 1024))
    response = client.post(url, {"file": big})
    assert response.status_code == 413
    html = response.content.decode()
    # cut off while receiving (the handler), not after storing the whole file
    assert "more than 1 MB (at least" in html and "uploads are limited to 1 MB" in html
    assert not DatasetVersion.objects.exists()
    assert AuditEvent.objects.filter(kind=EventKind.DATASET_UPLOAD_REJECTED).count() == 1


def test_page_without_a_dictionary_points_to_it(client: Any, make_member: Any) -> None:
    bare = DatasetFactory()
    client.force_login(make_member("steward", organisation=bare.publisher))
    url = reverse("catalogue_upload:upload", args=[bare.pid])
    assert "describe its variables first" in client.get(url).content.decode()
    response = client.post(url, {"file": upload_file("a\n1\n")})
    assert response.status_code == 409
    assert "no data dictionary" in response.content.decode()


# --- the API ------------------------------------------------------------------------------


def test_api_upload_by_token(client: Any, dataset: Any, steward: Any) -> None:
    response = client.post(
        f"{API}/{dataset.pid}/versions", {"file": upload_file(csv_text(4))}, **bearer(steward)
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["number"] == 1 and body["rows"] == 4 and body["columns"] == 5
    assert body["kpis"]["validity"] == 1.0
    second = client.post(
        f"{API}/{dataset.pid}/versions", {"file": upload_file(csv_text(2))}, **bearer(steward)
    )
    assert second.json()["number"] == 2
    assert DatasetVersion.objects.filter(dataset=dataset).count() == 2


def test_api_upload_by_session(client: Any, dataset: Any, steward: Any) -> None:
    client.force_login(steward)
    response = client.post(f"{API}/{dataset.pid}/versions", {"file": upload_file(csv_text(2))})
    assert response.status_code == 201


def test_api_refusals(client: Any, make_member: Any, dataset: Any) -> None:
    url = f"{API}/{dataset.pid}/versions"
    anonymous = client.post(url, {"file": upload_file(csv_text())})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthenticated"
    for user in (
        make_member("applicant"),
        make_member("steward", organisation=OrganisationFactory()),
    ):
        response = client.post(url, {"file": upload_file(csv_text())}, **bearer(user))
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
    unknown = client.post(
        f"{API}/DLX-NOSUCH00-X/versions", {"file": upload_file(csv_text())}, **bearer(user)
    )
    assert unknown.status_code == 404
    assert not DatasetVersion.objects.exists()


def test_api_rejection_has_the_report_in_the_error_shape(
    client: Any, dataset: Any, steward: Any
) -> None:
    text = f"{HEADER}\n1,{NIDS[0]},Dippach,2024-13-01,1\n"
    response = client.post(
        f"{API}/{dataset.pid}/versions", {"file": upload_file(text)}, **bearer(steward)
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "upload_rejected"
    assert error["details"]["ok"] is False
    [problem] = error["details"]["errors"]
    assert (problem["row"], problem["line"], problem["column"], problem["problem"]) == (
        1,
        2,
        "admitted",
        "wrong_type",
    )
    assert "YYYY-MM-DD" in problem["fix"]


def test_api_oversized_and_no_dictionary(
    client: Any, dataset: Any, steward: Any, settings: Any, make_member: Any
) -> None:
    settings.DATALUX_MAX_UPLOAD_MB = 1
    big = upload_file(csv_text(2) + "9" * (1024 * 1024 + 10))
    response = client.post(f"{API}/{dataset.pid}/versions", {"file": big}, **bearer(steward))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"

    bare = DatasetFactory()
    owner = make_member("steward", organisation=bare.publisher)
    response = client.post(
        f"{API}/{bare.pid}/versions", {"file": upload_file("a\n1\n")}, **bearer(owner)
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_dictionary"


def test_api_reads_versions_and_quality(client: Any, dataset: Any, steward: Any) -> None:
    client.post(
        f"{API}/{dataset.pid}/versions", {"file": upload_file(csv_text(5))}, **bearer(steward)
    )
    client.post(
        f"{API}/{dataset.pid}/versions", {"file": upload_file(csv_text(3))}, **bearer(steward)
    )
    client.logout()

    listing = client.get(f"{API}/{dataset.pid}/versions")  # public: a published dataset
    assert listing.status_code == 200
    assert [(v["number"], v["rows"]) for v in listing.json()] == [(2, 3), (1, 5)]

    quality = client.get(f"{API}/{dataset.pid}/versions/1/quality")
    assert quality.status_code == 200
    body = quality.json()
    assert body["rows"] == 5
    assert [v["name"] for v in body["variables"]] == [
        "stay_id", "national_id", "commune", "admitted", "cost",
    ]  # fmt: skip
    assert "days_since_upload" in body["kpis"]

    ttl = client.get(f"{API}/{dataset.pid}/versions/1/quality.ttl")
    assert ttl.status_code == 200 and ttl["Content-Type"].startswith("text/turtle")
    graph = Graph().parse(data=ttl.content.decode(), format="turtle")
    assert len(list(graph.subjects(predicate=DQV.isMeasurementOf))) > 10

    assert client.get(f"{API}/{dataset.pid}/versions/9/quality").status_code == 404
    bad_token = client.get(f"{API}/{dataset.pid}/versions", HTTP_AUTHORIZATION="Bearer nope")
    assert bad_token.status_code == 401


def test_api_hides_versions_of_drafts_from_others(client: Any, make_member: Any) -> None:
    draft = make_dataset(status=DatasetStatus.DRAFT)
    assert client.get(f"{API}/{draft.pid}/versions").status_code == 404
    client.force_login(make_member("steward", organisation=draft.publisher))
    assert client.get(f"{API}/{draft.pid}/versions").json() == []
