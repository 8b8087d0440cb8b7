"""The public permit register and the authority's metrics, with a frozen clock.

Seven applications go through the actions at known times (all at 10:00 UTC, so every duration
is a whole number of days):

========  ==================  =========  ===========================================  =======
title     datasets            received   what happened                                access
========  ==================  =========  ===========================================  =======
Alpha     stays               2025-01-10 approved 2025-01-20 (10 d, in time)           +5 d
Beta      stays + jobs        2025-02-01 returned, resubmitted, approved with           +15 d
                                         conditions 2025-02-21 (20 d, in time)
Gamma     jobs (stranger)     2025-03-01 rejected 2025-05-10 (70 d, deadline 05-01)     —
Delta     stays               2025-04-01 withdrawn 2025-04-05                           —
Epsilon   stays               2026-01-05 approved 2026-01-09 (4 d, in time)             —
Zeta      stays               2026-02-01 still submitted                                —
Eta       stays               never      a draft (never counted)                        —
========  ==================  =========  ===========================================  =======
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Any

import pytest
import time_machine
from django.urls import reverse

from datalux.access import actions, register
from datalux.access.metrics import authority_metrics, median, nearest_rank
from datalux.access.models import Application
from tests.access.world import World

pytestmark = pytest.mark.django_db

REFUSED_TITLE = "Gamma covert profiling of pensioners"
REFUSED_ORG = "Other Company"


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T10:00:00").replace(tzinfo=UTC)


def _application(world: World, title: str, *, by: Any = None, jobs: bool = False,
                 stays: bool = True) -> Application:  # fmt: skip
    by = by or world.applicant
    fields: dict[str, Any] = {"title": title}
    if jobs and stays:
        fields |= {"linkage_needed": True, "linkage_description": "Persons linked on national_id."}
    application = world.draft(by=by, **fields)
    if jobs:
        actions.request_dataset(
            application=application, by=by, dataset=world.jobs, variables=["nace", "wage"]
        )
    if not stays:
        actions.remove_dataset(application=application, by=by, dataset=world.stays)
    return application


def _to_review(world: World, application: Application, by: Any) -> None:
    actions.submit(application=application, by=by)
    actions.assign(application=application, by=world.handler, handler=world.handler)
    actions.start_review(application=application, by=world.handler)


@pytest.fixture
def history(world: World) -> dict[str, Application]:
    apps: dict[str, Application] = {}
    with time_machine.travel(at("2025-01-10"), tick=False) as clock:
        a = apps["alpha"] = _application(world, "Alpha readmissions after surgery")
        _to_review(world, a, world.applicant)
        clock.move_to(at("2025-01-20"))
        actions.decide(application=a, by=world.decider, outcome="approved", reasons="Fine.")
        actions.accept_terms(application=a, by=world.applicant)
        clock.move_to(at("2025-01-25"))
        actions.open_workspace(permit=a.permit, by=world.applicant)

        clock.move_to(at("2025-02-01"))
        b = apps["beta"] = _application(world, "Beta work and health", jobs=True)
        actions.submit(application=b, by=world.applicant)
        actions.assign(application=b, by=world.handler, handler=world.handler)
        clock.move_to(at("2025-02-03"))
        actions.return_application(application=b, by=world.handler, reasons="Name the funder.")
        actions.update_application(application=b, by=world.applicant, funding="FNR and EU")
        actions.submit(application=b, by=world.applicant)
        actions.start_review(application=b, by=world.handler)
        clock.move_to(at("2025-02-21"))
        actions.decide(
            application=b, by=world.decider, outcome="approved_with_conditions",
            reasons="Fine with conditions.", permit={"conditions": ["publish-results"]},
        )  # fmt: skip
        actions.accept_terms(application=b, by=world.applicant)
        clock.move_to(at("2025-03-08"))
        actions.open_workspace(permit=b.permit, by=world.applicant)

        clock.move_to(at("2025-03-01"))
        c = apps["gamma"] = _application(
            world, REFUSED_TITLE, by=world.stranger, jobs=True, stays=False
        )
        _to_review(world, c, world.stranger)
        clock.move_to(at("2025-05-10"))
        actions.decide(application=c, by=world.decider, outcome="rejected", reasons="No.")

        clock.move_to(at("2025-04-01"))
        d = apps["delta"] = _application(world, "Delta withdrawn study")
        actions.submit(application=d, by=world.applicant)
        clock.move_to(at("2025-04-05"))
        actions.withdraw(application=d, by=world.applicant, reason="Funding ended")

        clock.move_to(at("2026-01-05"))
        e = apps["epsilon"] = _application(world, "Epsilon quick approval")
        _to_review(world, e, world.applicant)
        clock.move_to(at("2026-01-09"))
        actions.decide(application=e, by=world.decider, outcome="approved", reasons="Fine.")

        clock.move_to(at("2026-02-01"))
        f = apps["zeta"] = _application(world, "Zeta pending case")
        actions.submit(application=f, by=world.applicant)
        apps["eta"] = _application(world, "Eta unfinished draft")
    for application in apps.values():
        application.refresh_from_db()
    return apps


# --- percentiles ------------------------------------------------------------------------------


def test_nearest_rank_percentile_and_median_for_small_samples() -> None:
    assert nearest_rank([], 90) is None and median([]) is None
    assert nearest_rank([7.0], 90) == 7.0 and median([7.0]) == 7.0
    assert nearest_rank([4, 10, 20, 70], 90) == 70  # ceil(3.6) = 4th value
    assert nearest_rank(range(1, 11), 90) == 9  # ceil(9.0) = 9th value
    assert nearest_rank(range(1, 21), 90) == 18
    assert nearest_rank([3, 1, 2], 50) == 2
    assert median([4, 10, 20, 70]) == 15  # mean of the two middle values


# --- metrics ----------------------------------------------------------------------------------


def test_overall_metrics(history: dict[str, Application]) -> None:
    assert history["gamma"].decided_at > history["gamma"].deadline  # decided late
    m = authority_metrics().overall
    assert (m.received, m.decided, m.approved, m.rejected) == (6, 4, 3, 1)
    assert m.approval_rate == 0.75
    assert m.median_days_to_decision == 15  # days 4, 10, 20, 70
    assert m.p90_days_to_decision == 70
    assert (m.decided_in_time, m.in_time_share) == (3, 0.75)
    assert (m.returned, m.return_share) == (1, 1 / 6)
    assert m.accessed == 2 and m.median_days_to_access == 10 and m.p90_days_to_access == 15
    assert m.withdrawn == 1


def test_metrics_per_year_of_receipt(history: dict[str, Application]) -> None:
    years = {f.key: f for f in authority_metrics().by_year}
    assert list(years) == ["2026", "2025"]
    y25, y26 = years["2025"], years["2026"]
    assert (y25.received, y25.decided, y25.approved, y25.withdrawn) == (4, 3, 2, 1)
    assert y25.approval_rate == 2 / 3
    assert y25.median_days_to_decision == 20 and y25.p90_days_to_decision == 70
    assert y25.in_time_share == 2 / 3 and y25.returned == 1
    assert (y26.received, y26.decided, y26.approved) == (2, 1, 1)
    assert y26.median_days_to_decision == 4 == y26.p90_days_to_decision
    assert y26.in_time_share == 1.0 and y26.return_share == 0.0
    assert y26.median_days_to_access is None


def test_metrics_per_dataset_and_per_holder(world: World, history: dict[str, Application]) -> None:
    m = authority_metrics()
    datasets = {f.key: f for f in m.by_dataset}
    stays, jobs = datasets[world.stays.pid], datasets[world.jobs.pid]
    assert stays.label == "Hospital stays"
    # Beta requests both datasets: it counts once for each.
    assert (stays.received, stays.decided, stays.approved, stays.withdrawn) == (5, 3, 3, 1)
    assert stays.median_days_to_decision == 10 and stays.p90_days_to_decision == 20
    assert stays.in_time_share == 1.0 and stays.returned == 1
    assert stays.median_days_to_access == 10 and stays.p90_days_to_access == 15
    assert (jobs.received, jobs.decided, jobs.approved, jobs.rejected) == (2, 2, 1, 1)
    assert jobs.approval_rate == 0.5
    assert jobs.median_days_to_decision == 45 and jobs.p90_days_to_decision == 70
    assert (jobs.decided_in_time, jobs.in_time_share) == (1, 0.5)
    assert jobs.median_days_to_access == 15 == jobs.p90_days_to_access
    holders = {f.key: f for f in m.by_holder}
    assert set(holders) == {world.holder.slug, world.other_holder.slug}
    assert holders[world.holder.slug].label == "Health Directorate"
    assert holders[world.holder.slug].as_dict() | {"key": "", "label": ""} == stays.as_dict() | {
        "key": "",
        "label": "",
    }
    assert holders[world.other_holder.slug].received == 2
    assert holders[world.other_holder.slug].p90_days_to_decision == 70


def test_an_extended_deadline_counts_for_in_time(world: World) -> None:
    with time_machine.travel(at("2025-01-10"), tick=False) as clock:
        application = _application(world, "Slow but extended")
        _to_review(world, application, world.applicant)
        clock.move_to(at("2025-03-01"))
        actions.extend_deadline(application=application, by=world.handler, reason="Complex.")
        clock.move_to(at("2025-03-20"))  # after two months, within the 30-day extension
        actions.decide(application=application, by=world.decider, outcome="approved",
                       reasons="Fine.")  # fmt: skip
    m = authority_metrics().overall
    assert (m.decided, m.decided_in_time, m.median_days_to_decision) == (1, 1, 69)


def test_no_applications_no_figures(db: Any, client: Any) -> None:
    m = authority_metrics().overall
    assert m.received == 0 and m.approval_rate is None and m.median_days_to_decision is None
    assert client.get(reverse("access:metrics")).status_code == 200
    body = client.get("/api/v1/access/metrics").json()
    assert body["overall"]["approval_rate"] is None and body["by_year"] == []


def test_metrics_page_csv_and_api_are_public(
    client: Any, world: World, history: dict[str, Application]
) -> None:
    response = client.get(reverse("access:metrics"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Hospital stays" in html and "Social Security" in html and "2025" in html
    assert "75 %" in html

    response = client.get(reverse("access:metrics"), {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    overall = next(r for r in rows if r["scope"] == "overall")
    assert overall["received"] == "6" and overall["median_days_to_decision"] == "15.0"
    assert overall["p90_days_to_decision"] == "70.0" and overall["in_time_share"] == "0.75"
    jobs = next(r for r in rows if r["scope"] == "dataset" and r["key"] == world.jobs.pid)
    assert jobs["approval_rate"] == "0.5" and jobs["median_days_to_decision"] == "45.0"
    assert {r["scope"] for r in rows} == {
        "overall", "year", "dataset", "holder",
        "output_checking", "release_state", "release_reason",  # tests/spe/test_release_metrics
    }  # fmt: skip

    body = client.get("/api/v1/access/metrics").json()
    assert body["overall"]["received"] == 6
    assert body["overall"]["p90_days_to_decision"] == 70
    assert body["overall"]["return_share"] == round(1 / 6, 4)
    holders = {h["key"]: h for h in body["by_holder"]}
    assert holders[world.other_holder.slug]["in_time_share"] == 0.5
    assert [y["key"] for y in body["by_year"]] == ["2026", "2025"]


# --- register ---------------------------------------------------------------------------------


def test_register_lists_approved_projects_only(
    client: Any, world: World, history: dict[str, Application]
) -> None:
    response = client.get(reverse("access:register"))
    assert response.status_code == 200
    html = response.content.decode()
    for key in ("alpha", "beta", "epsilon"):
        a = history[key]
        assert a.title in html and a.reference in html and a.permit.number in html
    for key in ("gamma", "delta", "zeta", "eta"):
        assert history[key].title not in html and history[key].reference not in html
    assert "3 approved projects" in html
    assert "Research Lab" in html and world.stays.pid in html and "Health Directorate" in html
    assert "Approved with conditions" in html and "2025-02-21" in html
    assert "Scientific research" in html and "Pseudonymised record-level data" in html
    assert world.applicant.email not in html  # named persons are not published


def test_register_never_shows_details_of_refusals(
    client: Any, world: World, history: dict[str, Application]
) -> None:
    refused = history["gamma"]
    secret = (REFUSED_TITLE, REFUSED_ORG, refused.reference, world.stranger.email)
    html = client.get(reverse("access:register")).content.decode()
    text = client.get(reverse("access:register"), {"format": "csv"}).content.decode()
    counts = client.get(
        reverse("access:register"), {"format": "csv", "table": "refusals"}
    ).content.decode()
    api = client.get("/api/v1/access/register").content.decode()
    searched = client.get(reverse("access:register"), {"q": "Gamma"}).content.decode()
    for published in (html, text, counts, api, searched):
        for detail in secret:
            assert detail not in published
    # ...but refusals are counted, per year of decision and per purpose.
    assert "1 application was refused." in html
    assert "scientific_research,Scientific research,1" in counts
    assert "year,2025,2025,1" in counts
    refusals = client.get("/api/v1/access/register").json()["refusals"]
    assert refusals["total"] == 1
    assert refusals["by_year"] == [{"key": "2025", "label": "2025", "count": 1}]
    assert refusals["by_purpose"][0]["count"] == 1


def test_register_search_and_filters(
    client: Any, world: World, history: dict[str, Application]
) -> None:
    def titles(**params: Any) -> set[str]:
        html = client.get(reverse("access:register"), params).content.decode()
        return {k for k in ("alpha", "beta", "epsilon") if history[k].title in html}

    assert titles(q="readmissions") == {"alpha"}
    assert titles(q="Employment") == {"beta"}  # the title of a granted dataset
    assert titles(q=history["epsilon"].permit.number) == {"epsilon"}
    assert titles(holder=world.other_holder.slug) == {"beta"}
    assert titles(holder=world.holder.slug) == {"alpha", "beta", "epsilon"}
    assert titles(year="2026") == {"epsilon"}
    assert titles(year="2025", holder=world.holder.slug) == {"alpha", "beta"}
    assert titles(year="not-a-year") == {"alpha", "beta", "epsilon"}
    assert titles(q="nothing like this") == set()


def test_register_csv_download(client: Any, world: World, history: dict[str, Application]) -> None:
    response = client.get(reverse("access:register"), {"format": "csv", "year": "2025"})
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["reference"] for r in rows] == [history["beta"].reference, history["alpha"].reference]
    beta = rows[0]
    assert beta["dataset_pids"] == "; ".join(sorted([world.stays.pid, world.jobs.pid]))
    assert beta["holders"] == "Health Directorate; Social Security"
    assert beta["decision"] == "approved_with_conditions" and beta["decided_on"] == "2025-02-21"
    assert beta["permit_state"] == "active" and beta["starts_on"] == "2025-02-21"
    assert beta["ends_on"] == "2026-02-21" and beta["organisation"] == "Research Lab"


def test_register_csv_cells_cannot_run_as_formulas(client: Any, world: World) -> None:
    with time_machine.travel(at("2025-01-10"), tick=False) as clock:
        application = _application(world, "=1+2 sum trick")
        _to_review(world, application, world.applicant)
        clock.move_to(at("2025-01-11"))
        actions.decide(application=application, by=world.decider, outcome="approved",
                       reasons="Fine.")  # fmt: skip
    text = client.get(reverse("access:register"), {"format": "csv"}).content.decode()
    assert ",'=1+2 sum trick," in text and ",=1+2" not in text


def test_register_api_pages(client: Any, world: World, history: dict[str, Application]) -> None:
    body = client.get("/api/v1/access/register", {"page_size": 2}).json()
    assert (body["total"], body["pages"], body["page"]) == (3, 2, 1)
    assert [i["reference"] for i in body["items"]] == [
        history["epsilon"].reference,
        history["beta"].reference,
    ]
    beta = body["items"][1]
    assert beta["organisation"] == "Research Lab"
    assert {d["pid"] for d in beta["datasets"]} == {world.stays.pid, world.jobs.pid}
    assert beta["permit_number"] == history["beta"].permit.number
    assert beta["decided_on"] == "2025-02-21" and beta["ends_on"] == "2026-02-21"
    second = client.get("/api/v1/access/register", {"page_size": 2, "page": 2}).json()
    assert [i["reference"] for i in second["items"]] == [history["alpha"].reference]
    filtered = client.get(
        "/api/v1/access/register", {"holder": world.other_holder.slug, "year": 2025}
    ).json()
    assert [i["title"] for i in filtered["items"]] == [history["beta"].title]
    bad = client.get("/api/v1/access/register", {"page_size": 1000})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid"


def test_register_pages_are_open_to_anonymous_users_and_listed_in_the_navigation(
    client: Any, db: Any
) -> None:
    html = client.get(reverse("home")).content.decode()
    assert f'href="{reverse("access:register")}"' in html
    assert f'href="{reverse("access:metrics")}"' in html
    assert client.get(reverse("access:register")).status_code == 200
    assert client.get("/api/v1/access/register").status_code == 200
    assert client.post(reverse("access:register")).status_code == 405


def test_decision_dates_use_the_local_calendar(world: World) -> None:
    # 23:30 UTC on 31 December is already 1 January in Luxembourg.
    with time_machine.travel(at("2025-12-01"), tick=False) as clock:
        application = _application(world, "New year decision")
        _to_review(world, application, world.applicant)
        clock.move_to(datetime(2025, 12, 31, 23, 30, tzinfo=UTC))
        actions.decide(application=application, by=world.decider, outcome="approved",
                       reasons="Fine.")  # fmt: skip
    (entry,) = register.entries(register.approved_projects(year=2026))
    assert entry.decided_on == date(2026, 1, 1)
    assert register.approved_projects(year=2025).count() == 0
