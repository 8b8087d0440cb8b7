"""The release pages in the browser's place: the researcher's request, the checkers' queue and
review page (blinded), the download of released files, publication (issue 13)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from datalux.catalogue.models import DataProduct
from datalux.spe import releases
from datalux.spe.models import ReleaseFile, ReleaseRequest
from datalux.spe.publication import publish
from tests.access.world import World
from tests.spe.test_releases import SAFE, _approve_all, _draft, _job
from tests.spe.test_workspace import _submitted

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("workspace_key")]


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_researcher_requests_a_release_through_the_pages(world: World, permit: Any) -> None:
    workspace, _ = _submitted(world, permit)
    job = _job(workspace, {"output/by_region.csv": SAFE})
    client = _client(world.applicant)
    page = client.get(reverse("spe:releases", args=[permit.number]))
    assert page.status_code == 200 and b"New release request" in page.content
    response = client.post(
        reverse("spe:releases", args=[permit.number]), {"title": "Stays by region"}
    )
    item = ReleaseRequest.objects.get()
    assert response.status_code == 302
    add = reverse("spe:release_add", args=[permit.number, item.pk])
    missing = client.post(add, {"output": f"{job.pk}:output/by_region.csv", "description": ""})
    assert missing.status_code == 409 and b"say what" in missing.content
    client.post(
        add,
        {"output": f"{job.pk}:output/by_region.csv", "description": "Stays", "count_columns": "n"},
    )
    page = client.get(reverse("spe:release", args=[permit.number, item.pk]))
    assert b"output/by_region.csv" in page.content and b"check-pass" in page.content
    assert b"<code>region, n</code>" in page.content  # the columns, to declare the counts
    client.post(reverse("spe:release_submit", args=[permit.number, item.pk]))
    item.refresh_from_db()
    assert item.state == "submitted"
    # a second submission of the same round is a transition refused with its reason
    again = client.post(reverse("spe:release_submit", args=[permit.number, item.pk]))
    assert again.status_code == 409 and b"cannot submit" in again.content


def test_checkers_review_blind_in_the_pages_and_the_researcher_downloads(
    world: World, permit: Any, checkers: tuple[Any, Any, Any]
) -> None:
    olga, oscar, _ = checkers
    item, _ = _draft(world, permit, {"output/by_region.csv": SAFE})
    releases.submit(request=item, by=world.applicant)
    [file] = item.files.all()
    first, second = _client(olga), _client(oscar)
    queue = first.get(reverse("spe:checking_queue"))
    assert queue.status_code == 200 and item.title.encode() in queue.content
    shown = first.get(reverse("spe:check_file", args=[item.pk, file.pk]))
    assert shown.status_code == 200 and shown.content.decode() == SAFE
    first.post(
        reverse("spe:check_review", args=[item.pk]),
        {
            f"decision-{file.pk}": "approve",
            f"private-{file.pk}": "OLGA-PRIVATE-NOTE",
            "submit": "1",
        },
    )
    before = second.get(reverse("spe:check", args=[item.pk]))
    assert b"OLGA-PRIVATE-NOTE" not in before.content and b"stay hidden" in before.content
    second.post(
        reverse("spe:check_review", args=[item.pk]),
        {f"decision-{file.pk}": "approve", "submit": "1"},
    )
    after = second.get(reverse("spe:check", args=[item.pk]))
    assert b"OLGA-PRIVATE-NOTE" in after.content
    # the researcher never sees a private comment
    researcher = _client(world.applicant)
    page = researcher.get(reverse("spe:release", args=[permit.number, item.pk]))
    assert b"OLGA-PRIVATE-NOTE" not in page.content
    url = reverse("spe:released_file", args=[file.pk, file.filename])
    assert researcher.get(url).status_code == 403  # approved, not released yet
    first.post(reverse("spe:check_release", args=[item.pk]))
    download = researcher.get(url)
    assert download.status_code == 200 and b"".join(download.streaming_content).decode() == SAFE
    assert _client(olga).get(url).status_code == 403
    assert _client(world.stranger).get(url).status_code == 403


def test_the_checker_pages_refuse_everyone_else(
    world: World, permit: Any, checkers: tuple[Any, Any, Any]
) -> None:
    item, _ = _draft(world, permit, {"output/by_region.csv": SAFE})
    releases.submit(request=item, by=world.applicant)
    [file] = item.files.all()
    for user in (world.applicant, world.decider, world.stranger):
        client = _client(user)
        assert client.get(reverse("spe:checking_queue")).status_code == 403
        assert client.get(reverse("spe:check", args=[item.pk])).status_code == 403
        response = client.post(
            reverse("spe:check_review", args=[item.pk]),
            {f"decision-{file.pk}": "approve", "submit": "1"},
        )
        assert response.status_code == 403
    assert (
        _client(world.stranger)
        .get(reverse("spe:release", args=[permit.number, item.pk]))
        .status_code
        == 403
    )
    assert not item.reviews.exists()


def test_publication_makes_a_data_product_with_the_code_and_the_files(
    world: World, permit: Any, checkers: tuple[Any, Any, Any]
) -> None:
    olga, oscar, _ = checkers
    item, job = _draft(world, permit, {"output/by_region.csv": SAFE})
    releases.submit(request=item, by=world.applicant)
    _approve_all(item, olga, oscar)
    with pytest.raises(Exception, match="cannot publish"):
        publish(request=item, by=world.applicant, summary="x" * 50)
    releases.release(request=item, by=olga)
    with pytest.raises(Exception, match="at least 40"):
        publish(request=item, by=world.applicant, summary="short")
    with pytest.raises(releases.NoAccess):
        publish(request=item, by=world.stranger, summary="x" * 50)
    summary = "Stays by region in 2020-2024: counts of hospital stays per region, all ages."
    product = publish(request=item, by=world.applicant, summary=summary, licence="CC-BY-4.0")
    assert product.permit_number == permit.number and product.description == summary
    assert list(product.datasets.all()) == [world.stays]
    assert product.code_versions[0]["sha256"] == job.code_version.sha256
    [output] = product.outputs
    released = ReleaseFile.objects.get(request=item)
    assert output == {
        "name": "by_region.csv",
        "sha256": released.released_sha256,
        "size": len(SAFE),
        "description": "Stays by region",
    }
    with pytest.raises(Exception, match="published already"):
        publish(request=item, by=world.applicant, summary=summary)
    assert DataProduct.objects.count() == 1
