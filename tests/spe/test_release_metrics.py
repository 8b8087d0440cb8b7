"""Output checking in figures: requests by state, turnaround (median, p90), share approved at
the first review, reasons; on the authority's metrics page and in its API (issue 13, item 7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from datalux.core.errors import Conflict
from datalux.spe import releases
from datalux.spe.models import ReleaseRequest, Workspace
from datalux.spe.release_metrics import release_metrics
from tests.access.world import World
from tests.spe.test_releases import SAFE, SMALL, _approve_all, _draft, _job

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("workspace_key")]

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def _request(workspace: Workspace, world: World, title: str, files: dict[str, str]) -> Any:
    job = _job(workspace, files)
    request = releases.start(workspace=workspace, by=world.applicant, title=title)
    for path in files:
        releases.add_file(
            request=request, by=world.applicant, job=job, path=path,
            description="Stays by region", count_columns=["n"],
        )  # fmt: skip
    return request


def _times(request: Any, hours: float) -> None:
    """The request was first submitted at T0 and decided ``hours`` later."""
    ReleaseRequest.objects.filter(pk=request.pk).update(
        first_submitted_at=T0, decided_at=T0 + timedelta(hours=hours)
    )


@pytest.fixture
def history(world: World, permit: Any, checkers: tuple[Any, Any, Any]) -> dict[str, Any]:
    """Six requests of one project:

    refused   a small cell: the automatic checks refuse the submission, then withdrawn
    first     released after one round, 10 h after its first submission
    second    returned for changes once, released in round 2, 50 h
    rejected  rejected by a checker, 30 h
    pending   submitted, waiting for its checkers
    draft     never submitted
    """
    olga, oscar, _otto = checkers
    refused, _ = _draft(world, permit, {"output/small.csv": SMALL, "output/also.csv": SMALL})
    workspace = refused.workspace
    with pytest.raises(Conflict):
        releases.submit(request=refused, by=world.applicant)
    releases.withdraw(request=refused, by=world.applicant)

    first = _request(workspace, world, "TITLE-first", {"output/a.csv": SAFE})
    releases.submit(request=first, by=world.applicant)
    _approve_all(first, olga, oscar)
    releases.release(request=first, by=olga)
    _times(first, 10)

    second = _request(workspace, world, "TITLE-second", {"output/b.csv": SAFE})
    releases.submit(request=second, by=world.applicant)
    changes = {
        f.pk: {"decision": "changes", "public_comment": "round the counts"}
        for f in second.files.all()
    }
    releases.review(request=second, by=olga, votes=changes)
    releases.review(request=second, by=oscar, votes=changes)
    releases.submit(request=second, by=world.applicant)
    _approve_all(second, olga, oscar)
    releases.release(request=second, by=oscar)
    _times(second, 50)

    rejected = _request(workspace, world, "TITLE-rejected", {"output/c.csv": SAFE})
    releases.submit(request=rejected, by=world.applicant)
    releases.reject(request=rejected, by=olga, reasons="Not an aggregate.")
    _times(rejected, 30)

    pending = _request(workspace, world, "TITLE-pending", {"output/d.csv": SAFE})
    releases.submit(request=pending, by=world.applicant)
    releases.withdraw(request=pending, by=world.applicant)  # one open request per person
    pending = _request(workspace, world, "TITLE-pending", {"output/e.csv": SAFE})
    releases.submit(request=pending, by=world.applicant)
    ReleaseRequest.objects.create(
        workspace=workspace, title="TITLE-draft", requested_by=world.colleague
    )
    return {"first": first, "second": second}


def test_the_figures(history: dict[str, Any]) -> None:
    m = release_metrics()
    states = {s.key: s.count for s in m.by_state}
    assert states == {
        "draft": 1,
        "submitted": 1,
        "consolidating": 0,
        "returned": 0,
        "approved": 0,
        "released": 2,
        "rejected": 1,
        "withdrawn": 2,
    }
    assert m.total == 7 and m.decided == 3
    assert sorted(m.turnaround_hours) == [10.0, 30.0, 50.0]
    assert m.median_hours == 30.0 and m.p90_hours == 50.0
    assert m.approved_first_review == 1 and m.first_review_share == pytest.approx(1 / 3)
    # one refused submission: min_count counted once though two files failed it
    assert m.refused_submissions == 1
    assert [(c.key, c.label, c.count) for c in m.refusals_by_check] == [
        ("min_count", "minimum cell count", 1)
    ]
    reasons = {r.key: r.count for r in m.by_reason}
    assert reasons == {"check:min_count": 1, "returned": 1, "rejected": 1}


def test_no_requests_no_figures(db: Any) -> None:
    m = release_metrics()
    assert m.total == 0 and m.median_hours is None and m.first_review_share is None
    assert m.as_dict()["by_reason"] == [
        {"key": "rejected", "label": "rejected by the checkers", "count": 0},
        {"key": "returned", "label": "returned for changes by the checkers", "count": 0},
    ]


def test_the_metrics_page_and_api_show_output_checking(
    history: dict[str, Any], world: World
) -> None:
    client = Client()
    page = client.get(reverse("access:metrics"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="output-checking"' in html and "Output checking" in html
    assert "30.0 / 50.0" in html and "33 % (1)" in html
    # the failed check by its name, not its code (issue 13, finishing item 3)
    section = html.split('id="output-checking"')[1].split("Definitions")[0]
    assert "automatic check failed: minimum cell count" in section
    assert "min_count" not in section
    # counts only: no title, reason text or person
    for private in ("Not an aggregate", "round the counts", "TITLE-", world.applicant.username):
        assert private not in html.split('id="output-checking"')[1].split("Definitions")[0]
    data = client.get("/api/v1/access/metrics").json()["output_checking"]
    assert data["total"] == 7 and data["released"] == 2 and data["rejected"] == 1
    assert data["median_hours_to_decision"] == 30.0 and data["p90_hours_to_decision"] == 50.0
    assert data["first_review_share"] == 0.3333
    # the API keeps the check's code as the key, beside the human label
    assert {
        "key": "check:min_count",
        "label": "automatic check failed: minimum cell count",
        "count": 1,
    } in data["by_reason"]


def test_the_metrics_csv_holds_the_output_checking_figures(
    history: dict[str, Any], world: World
) -> None:
    import csv
    import io

    response = Client().get(reverse("access:metrics"), {"format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    figures = {r["key"]: r for r in rows if r["scope"] == "output_checking"}
    assert figures["total"]["value"] == "7" and figures["released"]["value"] == "2"
    assert figures["rejected"]["value"] == "1" and figures["decided"]["value"] == "3"
    assert figures["median_hours_to_decision"]["value"] == "30.0"
    assert figures["p90_hours_to_decision"]["value"] == "50.0"
    assert figures["first_review_share"]["value"] == "0.3333"
    assert figures["refused_submissions"]["value"] == "1"
    assert figures["returned_rounds"]["value"] == "1"
    assert figures["total"]["label"] == "Release requests" and figures["total"]["received"] == ""
    states = {r["key"]: r["value"] for r in rows if r["scope"] == "release_state"}
    assert states["released"] == "2" and states["withdrawn"] == "2" and states["draft"] == "1"
    reasons = {r["key"]: (r["label"], r["value"]) for r in rows if r["scope"] == "release_reason"}
    # the code as the key, the check's name as the label
    assert reasons["check:min_count"] == ("automatic check failed: minimum cell count", "1")
    assert reasons["returned"][1] == "1" and reasons["rejected"][1] == "1"
    # the application figures keep their columns; their value cell stays empty
    overall = next(r for r in rows if r["scope"] == "overall")
    assert overall["value"] == "" and "received" in overall
    text = response.content.decode()
    for private in ("TITLE-", "Not an aggregate", world.applicant.username):
        assert private not in text
