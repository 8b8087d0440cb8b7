"""The aggregate-only query service: counts, sums, means and quantiles of an aggregate permit,
released after the disclosure checks (suppression, rounding) or with differential privacy
from the project's budget ledger; never a row, never to anyone else (audited)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.test import Client

from datalux.access import actions
from datalux.access.actions.permits import NoAccess
from datalux.accounts.actions import create_api_token
from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent
from datalux.catalogue.models import DatasetVersion
from datalux.core.errors import Conflict
from datalux.holdings.models import DataFile
from datalux.privacy.disclosure import LedgerFile
from datalux.spe import aggregate
from datalux.spe.aggregate import NotAggregate, run_aggregate
from datalux.spe.aggregate_compute import OTHER
from datalux.spe.models import AggregateQuery, AggregateStatus
from datalux.spe.plan import table_name
from tests.access.world import World
from tests.factories.catalogue import VariableFactory

pytestmark = pytest.mark.django_db
API = "/api/v1/spe"
HUGE = 1_000_000.0
COMMUNES = ("Esch", "Luxembourg", "Differdange")


def _rows() -> list[dict[str, Any]]:
    """62 stays for heart failure, 41 for hip fractures, 3 for pneumonia (a small cell); one
    person in Esch with a cost that dominates Esch's total."""
    diagnoses = ["I50.0"] * 62 + ["S72.0"] * 41 + ["J18.9"] * 3
    rows = []
    for i, diagnosis in enumerate(diagnoses):
        rows.append(
            {
                "national_id": f"1980010{i:06d}",
                "age": 18 + i % 60,
                "diagnosis": diagnosis,
                "commune": COMMUNES[i % 3],
                "cost": HUGE if i == 0 else 100.0 + i % 50,
                "admission_date": date(2020 + i % 5, 1 + i % 12, 1),
            }
        )
    return rows


def _store(world: World, rows: list[dict[str, Any]] | None = None) -> None:
    """The stays of :func:`_rows` (or ``rows``) as the stored data version of the dataset."""
    rows = _rows() if rows is None else rows
    VariableFactory(dataset=world.stays, name="admission_date", type="date", period=True)
    VariableFactory(dataset=world.stays, name="cost", type="number")
    relative = "holders/health/stays-v1.parquet"
    path = Path(settings.DATALUX_STORAGE) / relative
    path.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    data_file = DataFile.objects.create(
        organisation=world.holder, table="stays", title="stays", relative_path=relative,
        rows=len(rows), sha256="0" * 64, size_bytes=path.stat().st_size,
    )  # fmt: skip
    DatasetVersion.objects.create(dataset=world.stays, number=1, data_file=data_file)


def _decided(world: World, form: str, **permit: Any) -> Any:
    application = world.draft(data_form=form)
    actions.request_dataset(
        application=application, by=world.applicant, dataset=world.stays,
        variables=["age", "diagnosis", "commune", "cost"],
        time_start="2020-01-01", time_end="2024-12-31",
        filters=[{"variable": "age", "op": ">=", "value": 18}],
    )  # fmt: skip
    application = actions.submit(application=application, by=world.applicant)
    actions.assign(application=application, by=world.handler, handler=world.handler)
    application = actions.start_review(application=application, by=world.handler)
    actions.decide(
        application=application, by=world.decider, outcome="approved",
        reasons="Meets the criteria of Art. 5.", permit=permit or None,
    )  # fmt: skip
    application.refresh_from_db()
    actions.accept_terms(application=application, by=world.applicant)
    return application.permit


@pytest.fixture
def other(world: World) -> Any:
    """An active permit of the pseudonymised form, its terms accepted (no data needed)."""
    application = world.approved()
    actions.accept_terms(application=application, by=world.applicant)
    return application.permit


@pytest.fixture
def agg(world: World, workspace_key: None) -> Any:
    """An active permit of the aggregate form on the stays (no extract: computed in memory)."""
    _store(world)
    return _decided(world, "aggregate")


def _table(world: World) -> str:
    return table_name(world.stays)


def _run(permit: Any, user: Any, **spec: Any) -> AggregateQuery:
    return run_aggregate(permit=permit, by=user, data=spec)


def _cells(query: AggregateQuery, column: str) -> dict[Any, dict[str, Any]]:
    return {row[column]: row for row in query.result["rows"]}


def _no_rows(query: AggregateQuery, cells: int) -> None:
    """Nothing row-level: at most one row per cell, no person_id, no national number."""
    result = query.result
    assert len(result["rows"]) <= result["summary"]["cells"] == cells
    text = json.dumps(result)
    assert "person_id" not in text
    assert not any(row["national_id"] in text for row in _rows())


def test_a_small_cell_comes_back_suppressed_and_the_others_rounded(world: World, agg: Any) -> None:
    query = _run(agg, world.applicant, table=_table(world), statistic="count", by=["diagnosis"])
    assert query.status == AggregateStatus.RELEASED
    cells = _cells(query, "diagnosis")
    # the rare diagnosis is not even named: pooled with the other rare levels, suppressed
    assert "J18.9" not in json.dumps(query.result)
    assert cells[OTHER] == {"diagnosis": OTHER, "count": None, "status": "suppressed"}
    # a lone suppressed cell would be the total minus the others: one more is suppressed
    assert cells["S72.0"]["count"] is None and cells["S72.0"]["status"] == "suppressed"
    assert cells["I50.0"] == {"diagnosis": "I50.0", "count": 60, "status": "published"}  # 62
    assert query.result["report"]["parameters"]["rounding"] == {
        "base": 5,
        "method": "conventional",
    }
    _no_rows(query, 3)
    # the researcher is not told which rule a cell failed, nor primary from secondary
    assert "threshold" not in json.dumps(query.result["rows"])
    event = AuditEvent.objects.get(kind=EventKind.AGGREGATE_QUERY_RUN)
    assert event.details["query"] == query.pk and event.details["suppressed"] == 2
    assert event.details["primary"] == 1 and event.details["failed_by_rule"] == {"threshold": 1}


def test_the_data_s_rare_values_never_become_keys(world: World, agg: Any) -> None:
    query = _run(agg, world.applicant, table=_table(world), statistic="count", by=["cost"])
    assert [row["cost"] for row in query.result["rows"]] == [OTHER]  # 1-2 persons per amount
    assert query.result["rows"][0]["count"] == 105  # all the permitted rows
    assert query.result["report"]["parameters"]["rare_levels_pooled"] == ["cost"]
    assert str(HUGE) not in json.dumps(query.result) and "1000000" not in json.dumps(query.result)


def test_one_huge_contributor_suppresses_the_sum_of_its_cell(world: World, agg: Any) -> None:
    query = _run(
        agg, world.applicant, table=_table(world), statistic="sum", value="cost", by=["commune"]
    )
    cells = _cells(query, "commune")
    assert cells["Esch"]["sum"] is None and cells["Esch"]["status"] == "suppressed"
    published = [c for c in cells.values() if c["status"] == "published"]
    assert len(published) == 1 and published[0]["sum"] < HUGE and published[0]["count"] >= 10
    event = AuditEvent.objects.get(kind=EventKind.AGGREGATE_QUERY_RUN)
    assert event.details["failed_by_rule"].get("nk_dominance") == 1
    _no_rows(query, 3)


def test_a_mean_is_over_the_records_and_published_with_the_sum(world: World, agg: Any) -> None:
    query = _run(
        agg, world.applicant, table=_table(world), statistic="mean", value="age", by=["diagnosis"]
    )
    cells = _cells(query, "diagnosis")
    ages = [r["age"] for r in _rows() if r["diagnosis"] == "I50.0"]
    assert cells["I50.0"]["mean"] == pytest.approx(sum(ages) / len(ages))
    assert cells[OTHER]["mean"] is None
    assert query.result["columns"] == ["diagnosis", "count", "mean"]


def test_a_quantile_of_a_small_cell_is_refused(world: World, agg: Any) -> None:
    query = _run(
        agg, world.applicant, table=_table(world), statistic="quantile", value="age",
        by=["diagnosis"], q=0.5,
    )  # fmt: skip
    cells = _cells(query, "diagnosis")
    assert cells[OTHER] == {"diagnosis": OTHER, "quantile": None, "status": "suppressed"}
    ages = sorted(r["age"] for r in _rows() if r["diagnosis"] == "I50.0")
    median = (ages[30] + ages[31]) / 2
    assert cells["I50.0"]["quantile"] == aggregate.compute.round_significant(median)
    assert cells["I50.0"]["status"] == "published"
    _no_rows(query, 3)
    # an extreme quantile needs more contributors on its short side than a cell of 41 has
    extreme = _run(
        agg, world.applicant, table=_table(world), statistic="quantile", value="age",
        by=["diagnosis"], q=0.05,
    )  # fmt: skip
    assert all(row["quantile"] is None for row in extreme.result["rows"])


def test_significant_digits() -> None:
    assert aggregate.compute.round_significant(1234.0) == 1200
    assert aggregate.compute.round_significant(47.6) == 48
    assert aggregate.compute.round_significant(0.04567) == pytest.approx(0.046)


def test_dp_spends_the_budget_and_is_refused_once_it_is_spent(world: World, agg: Any) -> None:
    spec = {
        "table": _table(world), "statistic": "count", "by": ["diagnosis"], "method": "dp",
        "epsilon": 0.6, "levels": {"diagnosis": ["I50.0", "S72.0", "X99.9"]},
    }  # fmt: skip
    query = run_aggregate(permit=agg, by=world.applicant, data=spec)
    assert query.epsilon_spent == pytest.approx(0.6)
    cells = _cells(query, "diagnosis")
    assert set(cells) == {"I50.0", "S72.0", "X99.9"}  # the named levels, not the data's
    assert all(isinstance(c["count"], int) and c["count"] >= 0 for c in cells.values())
    budget = query.result["report"]["budget"]
    assert budget["epsilon_total"] == aggregate.DEFAULT_EPSILON
    assert budget["epsilon_remaining"] == pytest.approx(0.4)
    _no_rows(query, 3)
    with pytest.raises(Conflict, match=r"privacy budget .* exceeded"):
        run_aggregate(permit=agg, by=world.applicant, data=spec)
    ledger = LedgerFile(aggregate.ledger_path(agg)).state()
    assert len(ledger.spends) == 1 and ledger.epsilon_spent == pytest.approx(0.6)
    refused = AuditEvent.objects.get(kind=EventKind.AGGREGATE_QUERY_REFUSED)
    assert refused.details["code"] == "budget_exceeded"
    assert AggregateQuery.objects.filter(status=AggregateStatus.REFUSED).count() == 1


def test_the_permit_s_epsilon_rule_is_the_project_s_budget(world: World, agg: Any) -> None:
    type(agg).objects.filter(pk=agg.pk).update(output_rules={**agg.output_rules, "epsilon": 0.5})
    agg.refresh_from_db()
    spec = {"table": _table(world), "method": "dp", "epsilon": 0.6}
    with pytest.raises(Conflict, match=r"only 0\.5 of 0\.5 is left"):
        run_aggregate(permit=agg, by=world.applicant, data=spec)
    assert LedgerFile(aggregate.ledger_path(agg)).state().epsilon_total == 0.5


def test_a_dp_table_needs_levels_and_bounds(world: World, agg: Any) -> None:
    base = {"table": _table(world), "method": "dp", "epsilon": 0.1}
    with pytest.raises(ValidationError, match="must not come from the data"):
        run_aggregate(permit=agg, by=world.applicant, data={**base, "by": ["diagnosis"]})
    with pytest.raises(ValidationError, match="needs bounds"):
        run_aggregate(
            permit=agg, by=world.applicant, data={**base, "statistic": "mean", "value": "age"}
        )
    mean = run_aggregate(
        permit=agg, by=world.applicant,
        data={**base, "statistic": "mean", "value": "age", "bounds": [18, 80]},
    )  # fmt: skip
    [row] = mean.result["rows"]
    assert 18 <= row["mean"] <= 80 and mean.result["columns"] == ["mean"]


@pytest.mark.parametrize(
    ("spec", "field", "message"),
    [
        ({"by": ["person_id"]}, "by", "identifies persons"),
        ({"by": ["national_id"]}, "by", "identifies persons"),
        ({"statistic": "sum", "value": "person_id"}, "value", "identifies persons"),
        ({"by": ["postcode"]}, "by", "has no column postcode"),
        ({"statistic": "sum", "value": "diagnosis"}, "value", "is not numeric"),
        ({"by": ["age", "diagnosis", "commune", "cost"]}, "by", "at most 3"),
        ({"statistic": "quantile", "value": "age"}, "q", "between 0 and 1"),
        ({"by": ["age", "commune", "cost"]}, "by", "at most 5000 are released"),
        ({"table": "elsewhere"}, "table", "no table elsewhere"),
        ({"sql": "SELECT * FROM stays"}, "__all__", "unknown field"),
    ],
)
def test_bad_requests_are_refused_with_what_to_fix(
    world: World, agg: Any, spec: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        run_aggregate(
            permit=agg, by=world.applicant, data={"table": _table(world), "statistic": "count",
                                                  **spec},
        )  # fmt: skip
    assert message in " ".join(refused.value.message_dict[field])
    event = AuditEvent.objects.get(kind=EventKind.AGGREGATE_QUERY_REFUSED)
    assert event.details["code"] == "invalid" and message in event.details["reason"]


def test_a_permit_of_another_form_gives_a_workspace_not_the_service(
    world: World, other: Any
) -> None:
    with pytest.raises(NotAggregate, match="gives a workspace, not the aggregate service"):
        _run(other, world.applicant, table="x", statistic="count")
    event = AuditEvent.objects.get(kind=EventKind.AGGREGATE_QUERY_REFUSED)
    assert event.details["code"] == "not_aggregate"
    assert not AggregateQuery.objects.exists()


def test_an_aggregate_only_permit_is_served_from_its_extract(
    world: World, workspace_key: None
) -> None:
    from datalux.spe import jobs

    _store(world)
    permit = _decided(world, "pseudonymised", output_rules={"aggregate_only": True})
    preparation = jobs.request_preparation(permit, enqueue=False)
    jobs.run_preparation(preparation.pk)
    query = _run(permit, world.applicant, table=_table(world), statistic="count", by=["diagnosis"])
    assert _cells(query, "diagnosis")["I50.0"]["count"] == 60
    _no_rows(query, 3)


def test_a_stranger_and_a_colleague_not_named_are_refused(world: World, agg: Any) -> None:
    for user in (world.stranger, world.colleague):
        with pytest.raises(NoAccess):
            _run(agg, user, table=_table(world), statistic="count")
    assert AuditEvent.objects.filter(kind=EventKind.ACCESS_DENIED).count() == 2
    assert not AggregateQuery.objects.exists()


# --- the API --------------------------------------------------------------------------------


def _bearer(user: Any, scope: str = "write") -> dict[str, str]:
    _, secret = create_api_token(user=user, name="script", scope=scope)
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def _post(client: Client, permit: Any, body: dict[str, Any], auth: dict[str, str]) -> Any:
    return client.post(
        f"{API}/permits/{permit.number}/aggregates", json.dumps(body),
        content_type="application/json", **auth,
    )  # fmt: skip


def test_the_api_runs_lists_and_reads_queries(world: World, agg: Any) -> None:
    client, auth = Client(), _bearer(world.applicant)
    body = {"table": _table(world), "statistic": "count", "by": ["diagnosis"]}
    made = _post(client, agg, body, auth)
    assert made.status_code == 201, made.content
    result = made.json()
    assert result["status"] == "released" and result["method"] == "checked"
    assert {r["diagnosis"]: r["count"] for r in result["result"]["rows"]}[OTHER] is None
    listed = client.get(f"{API}/permits/{agg.number}/aggregates", **auth).json()
    assert [q["id"] for q in listed] == [result["id"]]
    one = client.get(f"{API}/permits/{agg.number}/aggregates/{result['id']}", **auth)
    assert one.status_code == 200 and one.json()["result"] == result["result"]
    bad = _post(client, agg, {**body, "by": ["person_id"]}, auth)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid"
    assert "identifies persons" in bad.json()["error"]["details"]["by"][0]
    missing = client.get(f"{API}/permits/{agg.number}/aggregates/999999", **auth)
    assert missing.status_code == 404


def test_the_api_refuses_strangers_read_only_tokens_and_other_forms(
    world: World, agg: Any, other: Any
) -> None:
    client = Client()
    body = {"table": _table(world), "statistic": "count"}
    stranger = _bearer(world.stranger)
    for answer in (
        _post(client, agg, body, stranger),
        client.get(f"{API}/permits/{agg.number}/aggregates", **stranger),
    ):
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "forbidden"
    read_only = _post(client, agg, body, _bearer(world.applicant, "read"))
    assert read_only.status_code == 403 and read_only.json()["error"]["code"] == "token_scope"
    refused = _post(client, other, body, _bearer(world.applicant))
    assert refused.status_code == 409
    assert "gives a workspace" in refused.json()["error"]["message"]
    listed = client.get(f"{API}/permits/{other.number}/aggregates", **_bearer(world.applicant))
    assert listed.status_code == 409
    assert not AggregateQuery.objects.exists()
    assert AuditEvent.objects.filter(kind=EventKind.ACCESS_DENIED).count() == 3
    assert AuditEvent.objects.filter(kind=EventKind.AGGREGATE_QUERY_REFUSED).count() == 2


# --- the page -------------------------------------------------------------------------------


def _page(permit: Any) -> str:
    return f"/spe/aggregate/{permit.number}/"


def test_the_page_runs_a_query_and_shows_the_released_tables(world: World, agg: Any) -> None:
    client = Client()
    client.force_login(world.applicant)
    page = client.get(_page(agg))
    assert page.status_code == 200
    assert _table(world) in page.content.decode()
    done = client.post(
        _page(agg), {"table": _table(world), "statistic": "count", "by": ["diagnosis"],
                     "method": "checked"},
    )  # fmt: skip
    assert done.status_code == 302
    shown = client.get(done["Location"]).content.decode()
    assert "I50.0" in shown and OTHER in shown and "suppressed" in shown
    refused = client.post(
        _page(agg), {"table": _table(world), "statistic": "count", "by": ["person_id"]}
    )
    assert refused.status_code == 400 and "identifies persons" in refused.content.decode()
    private = client.post(
        _page(agg), {"table": _table(world), "statistic": "count", "by": ["diagnosis"],
                     "method": "dp", "epsilon": "0.25", "levels": "diagnosis: I50.0, S72.0"},
    )  # fmt: skip
    assert private.status_code == 302
    assert AggregateQuery.objects.get(method="dp").epsilon_spent == pytest.approx(0.25)
    assert "Spent 0.2500, left 0.7500" in client.get(_page(agg)).content.decode()


def test_the_page_refuses_a_stranger_and_other_forms(world: World, agg: Any, other: Any) -> None:
    client = Client()
    client.force_login(world.stranger)
    assert client.get(_page(agg)).status_code == 403
    posted = client.post(_page(agg), {"table": _table(world), "statistic": "count"})
    assert posted.status_code == 403
    assert AuditEvent.objects.filter(kind=EventKind.ACCESS_DENIED).count() == 2
    client.force_login(world.applicant)
    refused = client.get(_page(other))
    assert refused.status_code == 409 and "gives a workspace" in refused.content.decode()
    assert not AggregateQuery.objects.exists()
    assert AuditEvent.objects.filter(kind=EventKind.AGGREGATE_QUERY_REFUSED).count() == 1


def test_the_permit_page_links_the_service_for_aggregate_permits(
    world: World, agg: Any, other: Any
) -> None:
    client = Client()
    client.force_login(world.applicant)
    shown = client.get(f"/access/permits/{agg.number}/").content.decode()
    assert _page(agg) in shown
    shown = client.get(f"/access/permits/{other.number}/").content.decode()
    assert _page(other) not in shown and "Open secure workspace" in shown


# --- no workspace ---------------------------------------------------------------------------


def test_an_aggregate_permit_gives_no_workspace_by_url_action_or_api(
    world: World, agg: Any
) -> None:
    from datalux.spe import workspaces

    client = Client()
    client.force_login(world.applicant)
    base = f"/spe/workspace/{agg.number}"
    answers = [
        client.get(f"{base}/"),
        client.post(f"{base}/code/"),
        client.post(f"{base}/run/", {"actions": ["counts"]}),
        client.get(f"{base}/dummy.zip"),
        client.get(f"{base}/sample-project.zip"),
        client.post(f"{base}/queries/", {"sql": "SELECT 1"}),
        client.get(f"{base}/jobs/1/"),
    ]
    for answer in answers:
        assert answer.status_code == 403, answer
        text = answer.content.decode()
        assert "aggregate statistics only, not a workspace" in text and _page(agg) in text
    with pytest.raises(NoAccess, match="aggregate statistics only"):
        workspaces.enter(permit=agg, by=world.applicant)
    api = client.post(f"/api/v1/access/permits/{agg.number}/workspace", **_bearer(world.applicant))
    assert api.status_code == 403 and api.json()["error"]["code"] == "forbidden"
    assert f"/api/v1/spe/permits/{agg.number}/aggregates" in api.json()["error"]["message"]
    assert not agg.application.__class__.objects.get(pk=agg.application.pk).access_granted_at
    denied = AuditEvent.objects.filter(kind=EventKind.ACCESS_DENIED)
    assert denied.count() == len(answers) + 2
    assert not workspaces.Workspace.objects.filter(permit=agg).exists()
    # the aggregate service itself still serves the same person
    query = _run(agg, world.applicant, table=_table(world), statistic="count")
    assert query.status == AggregateStatus.RELEASED


def test_an_aggregate_only_extract_permit_gives_no_workspace_either(
    world: World, workspace_key: None
) -> None:
    _store(world)
    permit = _decided(world, "pseudonymised", output_rules={"aggregate_only": True})
    client = Client()
    client.force_login(world.applicant)
    refused = client.get(f"/spe/workspace/{permit.number}/")
    assert refused.status_code == 403 and _page(permit) in refused.content.decode()


def test_a_permit_of_another_form_still_opens_its_workspace(world: World, other: Any) -> None:
    client = Client()
    client.force_login(world.applicant)
    assert client.get(f"/spe/workspace/{other.number}/").status_code == 200
    api = client.post(
        f"/api/v1/access/permits/{other.number}/workspace", **_bearer(world.applicant)
    )
    assert api.status_code == 200 and api.json()["granted"] is True
    assert not AuditEvent.objects.filter(kind=EventKind.ACCESS_DENIED).exists()


# --- the query caps -------------------------------------------------------------------------


def test_the_daily_cap_refuses_with_when_it_resets_and_yesterday_does_not_count(
    world: World, agg: Any, settings: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from datalux.spe.aggregate_history import Refused

    settings.DATALUX_SPE_AGGREGATE_QUERIES_PER_DAY = 2
    spec = {"table": _table(world), "statistic": "count"}
    _run(agg, world.applicant, **spec)
    _run(agg, world.applicant, **spec, by=["commune"])
    with pytest.raises(Refused, match=r"2 aggregate queries today.* resets at midnight") as capped:
        _run(agg, world.applicant, **spec, by=["diagnosis"])
    assert capped.value.code == "query_cap" and capped.value.status == 429
    resets = capped.value.details["resets_at"]
    tomorrow = timezone.localdate() + timedelta(days=1)
    assert resets.startswith(tomorrow.isoformat() + "T00:00:00")
    event = AuditEvent.objects.get(kind=EventKind.AGGREGATE_QUERY_REFUSED)
    assert event.details["code"] == "query_cap"
    refused = AggregateQuery.objects.get(status=AggregateStatus.REFUSED)
    assert "resets at midnight" in refused.error and refused.result == {"code": "query_cap"}
    # refused queries do not count; yesterday's released ones neither
    AggregateQuery.objects.filter(status=AggregateStatus.RELEASED).update(
        requested_at=timezone.now() - timedelta(days=1)
    )
    assert _run(agg, world.applicant, **spec).status == AggregateStatus.RELEASED


def test_the_permit_s_max_queries_caps_its_total(world: World, workspace_key: None) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from datalux.spe.aggregate_history import Refused

    _store(world)
    permit = _decided(world, "aggregate", output_rules={"max_queries": 2})
    assert permit.output_rules["max_queries"] == 2
    spec = {"table": _table(world), "statistic": "count"}
    _run(permit, world.applicant, **spec)
    _run(permit, world.applicant, **spec, by=["commune"])
    AggregateQuery.objects.update(requested_at=timezone.now() - timedelta(days=30))
    with pytest.raises(Refused, match="its 2 aggregate queries, the most its output rules allow"):
        _run(permit, world.applicant, **spec)
    assert AuditEvent.objects.get(kind=EventKind.AGGREGATE_QUERY_REFUSED).details["code"] == (
        "query_cap"
    )


def test_the_api_answers_429_query_cap_and_the_page_says_when_it_resets(
    world: World, agg: Any, settings: Any
) -> None:
    settings.DATALUX_SPE_AGGREGATE_QUERIES_PER_DAY = 1
    client, auth = Client(), _bearer(world.applicant)
    body = {"table": _table(world), "statistic": "count"}
    assert _post(client, agg, body, auth).status_code == 201
    capped = _post(client, agg, body, auth)
    assert capped.status_code == 429, capped.content
    error = capped.json()["error"]
    assert error["code"] == "query_cap" and "resets at midnight" in error["message"]
    assert error["details"]["cap"] == "day" and error["details"]["limit"] == 1
    client.force_login(world.applicant)
    page = client.post(_page(agg), {**body, "method": "checked"})
    assert page.status_code == 429 and "resets at midnight" in page.content.decode()


# --- the permit's privacy budget ------------------------------------------------------------


def _dp(world: World, epsilon: float) -> dict[str, Any]:
    return {"table": _table(world), "method": "dp", "epsilon": epsilon}


def _amend_rules(world: World, permit: Any, **rules: Any) -> Any:
    return actions.amend_permit(
        permit=permit, by=world.decider, reason="More budget for the follow-up.",
        output_rules={**permit.output_rules, **rules},
    )  # fmt: skip


def test_the_decided_epsilon_and_delta_make_the_ledger(world: World, workspace_key: None) -> None:
    _store(world)
    permit = _decided(world, "aggregate", output_rules={"epsilon": 2.0, "delta": 1e-6})
    query = run_aggregate(permit=permit, by=world.applicant, data=_dp(world, 1.5))
    assert query.epsilon_spent == pytest.approx(1.5)  # more than the default 1.0
    state = LedgerFile(aggregate.ledger_path(permit)).state()
    assert (state.epsilon_total, state.delta_total) == (2.0, 1e-6)
    client = Client()
    client.force_login(world.applicant)
    assert "epsilon 2.0 in all" in client.get(_page(permit)).content.decode()


def test_raising_the_budget_is_appended_to_the_ledger_and_audited(
    world: World, agg: Any, django_capture_on_commit_callbacks: Any
) -> None:
    run_aggregate(permit=agg, by=world.applicant, data=_dp(world, 0.6))
    with django_capture_on_commit_callbacks(execute=True):
        agg = _amend_rules(world, agg, epsilon=2.0)
    path = aggregate.ledger_path(agg)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["kind"] for r in lines] == ["budget", "spend", "total"]
    assert lines[0]["epsilon"] == aggregate.DEFAULT_EPSILON  # the header keeps its total
    state = LedgerFile(path).state()
    assert state.epsilon_total == 2.0 and state.epsilon_spent == pytest.approx(0.6)
    event = AuditEvent.objects.get(kind=EventKind.AGGREGATE_BUDGET_CHANGED)
    assert event.actor == world.decider and event.details["epsilon_before"] == "1"
    assert event.details["epsilon_after"] == "2" and event.details["epsilon_spent"] == "0.6"
    assert event.details["version"] == agg.version and not event.details["capped_at_spent"]
    query = run_aggregate(permit=agg, by=world.applicant, data=_dp(world, 1.4))
    assert query.result["report"]["budget"]["epsilon_remaining"] == pytest.approx(0.0)


def test_the_budget_is_never_lowered_below_what_is_spent(world: World, agg: Any) -> None:
    run_aggregate(permit=agg, by=world.applicant, data=_dp(world, 0.6))
    with pytest.raises(ValidationError, match=r"cannot be lowered below what is spent.*0\.6"):
        _amend_rules(world, agg, epsilon=0.5)
    agg.refresh_from_db()
    assert "epsilon" not in agg.output_rules and agg.version == 1
    assert LedgerFile(aggregate.ledger_path(agg)).state().epsilon_total == 1.0
    lowered = _amend_rules(world, agg, epsilon=0.7)  # still covers the spends: allowed
    with pytest.raises(Conflict, match=r"only 0\.1 of 0\.7 is left"):
        run_aggregate(permit=lowered, by=world.applicant, data=_dp(world, 0.2))


def test_rules_changed_around_the_amendment_reach_the_ledger_before_the_next_dp_query(
    world: World, agg: Any
) -> None:
    run_aggregate(permit=agg, by=world.applicant, data=_dp(world, 0.6))
    type(agg).objects.filter(pk=agg.pk).update(output_rules={**agg.output_rules, "epsilon": 0.1})
    agg.refresh_from_db()
    with pytest.raises(Conflict, match=r"only 0 of 0\.6 is left"):
        run_aggregate(permit=agg, by=world.applicant, data=_dp(world, 0.1))
    event = AuditEvent.objects.get(kind=EventKind.AGGREGATE_BUDGET_CHANGED)
    assert event.actor is None and event.details["capped_at_spent"] is True
    state = LedgerFile(aggregate.ledger_path(agg)).state()
    assert state.epsilon_total == pytest.approx(0.6) and len(state.spends) == 1


# --- differencing across queries ------------------------------------------------------------


def _two_communes(*, missing_cost: int = 0, young: int = 0) -> list[dict[str, Any]]:
    """39 persons in Esch (``missing_cost`` of them without a cost, ``young`` of them 18 with
    a cost of 900) and 50 in Luxembourg, one stay each, every cost 100 but those."""
    rows = []
    for i in range(89):
        esch = i < 39
        rows.append(
            {
                "national_id": f"1980020{i:06d}",
                "age": 18 if esch and i < young else 30 + i % 20,
                "diagnosis": "I50.0",
                "commune": "Esch" if esch else "Luxembourg",
                "cost": None if esch and young <= i < young + missing_cost else
                        (900.0 if esch and i < young else 100.0),
                "admission_date": date(2021, 1 + i % 12, 1),
            }
        )  # fmt: skip
    return rows


def test_a_count_then_a_sum_whose_rows_differ_by_a_few_persons_is_refused(
    world: World, workspace_key: None
) -> None:
    from datalux.spe.aggregate_history import Refused

    _store(world, _two_communes(missing_cost=4))  # Esch: 39 persons, 35 with a cost
    permit = _decided(world, "aggregate")
    by = {"table": _table(world), "by": ["commune"]}
    first = _run(permit, world.applicant, statistic="count", **by)
    assert _cells(first, "commune")["Esch"]["count"] == 40  # 39, rounded
    again = _run(permit, world.applicant, statistic="count", **by)  # the same answer: fine
    assert again.result == first.result
    with pytest.raises(Refused, match=f"compared with query #{first.pk}, query #{again.pk}") as no:
        # its count is of the 35 with a cost: 5 fewer than before, a group of 1 to 9
        _run(permit, world.applicant, statistic="sum", value="cost", **by)
    assert no.value.code == "differencing" and "fewer than 10 persons" in str(no.value)
    assert "Esch" not in str(no.value) and "35" not in str(no.value)  # no cell, no value
    refused = AggregateQuery.objects.get(status=AggregateStatus.REFUSED)
    assert refused.result == {"code": "differencing"} and "rows" not in refused.result
    event = AuditEvent.objects.get(kind=EventKind.AGGREGATE_QUERY_REFUSED)
    assert event.details["code"] == "differencing"
    assert {"row": 1, "column": "count", "earlier": f"query #{first.pk}"} in event.details["cells"]
    # another grouping is not compared; the DP method is not checked at all
    assert _run(permit, world.applicant, statistic="count", by=["diagnosis"],
                table=_table(world)).status == AggregateStatus.RELEASED  # fmt: skip
    private = _run(permit, world.applicant, statistic="count", method="dp", epsilon=0.1,
                   levels={"commune": ["Esch", "Luxembourg"]}, **by)  # fmt: skip
    assert private.status == AggregateStatus.RELEASED


def test_a_sum_again_after_a_narrower_permit_is_refused_though_the_rounded_counts_agree(
    world: World, workspace_key: None
) -> None:
    from datalux.spe.aggregate_history import Refused

    _store(world, _two_communes(young=1))  # one person of 18 in Esch, with a cost of 900
    permit = _decided(world, "aggregate")
    by = {"table": _table(world), "by": ["commune"], "statistic": "sum", "value": "cost"}
    first = _run(permit, world.applicant, **by)
    esch = _cells(first, "commune")["Esch"]
    assert esch["count"] == 40 and esch["sum"] == 900.0 + 38 * 100.0
    # the permit is narrowed to those over 18: Esch has 38 persons, still 40 once rounded, and
    # the two sums would give that one person's cost exactly
    narrowed = actions.amend_permit(
        permit=permit, by=world.decider, reason="Adults over 18 only.",
        datasets={world.stays.pid: {"filters": [
            {"variable": "age", "op": ">=", "value": 18},
            {"variable": "age", "op": ">=", "value": 19},
        ]}},
    )  # fmt: skip
    with pytest.raises(Refused, match="a sum or mean differs while the rounded counts") as no:
        _run(narrowed, world.applicant, **by)
    assert no.value.details == {"earlier": [f"query #{first.pk}"]}
    event = AuditEvent.objects.get(kind=EventKind.AGGREGATE_QUERY_REFUSED)
    assert {"row": 1, "column": "sum of cost", "earlier": f"query #{first.pk}"} in (
        event.details["cells"]
    )
    # a count is still released: its rounded counts do not tell the person apart
    count = _run(narrowed, world.applicant, **{**by, "statistic": "count", "value": None})
    assert _cells(count, "commune")["Esch"]["count"] == 40


def test_differencing_refusals_count_toward_the_caps_and_the_api_says_differencing(
    world: World, workspace_key: None, settings: Any
) -> None:
    _store(world, _two_communes(missing_cost=4))
    permit = _decided(world, "aggregate")
    client, auth = Client(), _bearer(world.applicant)
    body = {"table": _table(world), "by": ["commune"]}
    assert _post(client, permit, {**body, "statistic": "count"}, auth).status_code == 201
    refused = _post(client, permit, {**body, "statistic": "sum", "value": "cost"}, auth)
    assert refused.status_code == 409, refused.content
    error = refused.json()["error"]
    assert error["code"] == "differencing" and error["details"]["earlier"][0].startswith("query #")
    settings.DATALUX_SPE_AGGREGATE_QUERIES_PER_DAY = 2  # one released, one refused: no more
    capped = _post(client, permit, {**body, "statistic": "count"}, auth)
    assert capped.status_code == 429 and capped.json()["error"]["code"] == "query_cap"


# --- two tables of a linked permit, joined on person_id -------------------------------------

JOBS = "holders/social/jobs-v1.parquet"


def _jobs_rows(skip: frozenset[int] | set[int] = frozenset()) -> list[dict[str, Any]]:
    """One job of each person of :func:`_rows` but those in ``skip`` (nace C for even i, G for
    odd), a wage of 3000 + i, the commune they work in; and 7 workers never in hospital."""
    rows = [
        {"national_id": f"1980010{i:06d}", "nace": "C" if i % 2 == 0 else "G",
         "wage": 3000.0 + i, "commune": "Kirchberg"}
        for i in range(len(_rows())) if i not in skip
    ]  # fmt: skip
    rows += [{"national_id": f"1990010{i:06d}", "nace": "C", "wage": 2500.0,
              "commune": "Kirchberg"} for i in range(7)]  # fmt: skip
    return rows


def _linked(world: World, jobs: list[dict[str, Any]], *, linkage: bool = True) -> Any:
    """An active aggregate permit on the stays and the jobs, linked on the national number."""
    from datalux.catalogue.vocabularies import PrivacyRole

    _store(world)
    world.jobs.variables.filter(name="national_id").update(
        code_list="national-id", privacy_role=PrivacyRole.DIRECT_IDENTIFIER
    )
    world.jobs.variables.filter(name="wage").update(type="number")
    VariableFactory(dataset=world.jobs, name="commune")
    path = Path(settings.DATALUX_STORAGE) / JOBS
    path.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(jobs), path)
    data_file = DataFile.objects.create(
        organisation=world.other_holder, table="jobs", title="jobs", relative_path=JOBS,
        rows=len(jobs), sha256="0" * 64, size_bytes=path.stat().st_size,
    )  # fmt: skip
    DatasetVersion.objects.create(dataset=world.jobs, number=1, data_file=data_file)
    application = world.draft(
        data_form="aggregate", linkage_needed=True,
        linkage_description="Stays and jobs of the same persons, on the national number.",
    )  # fmt: skip
    for dataset, variables in ((world.stays, ["age", "diagnosis", "commune", "cost"]),
                               (world.jobs, ["nace", "wage", "commune"])):  # fmt: skip
        actions.request_dataset(
            application=application, by=world.applicant, dataset=dataset, variables=variables,
            filters=[{"variable": "age", "op": ">=", "value": 18}] if dataset == world.stays
            else [],
        )  # fmt: skip
    application = actions.submit(application=application, by=world.applicant)
    actions.assign(application=application, by=world.handler, handler=world.handler)
    application = actions.start_review(application=application, by=world.handler)
    actions.decide(
        application=application, by=world.decider, outcome="approved",
        reasons="Meets the criteria of Art. 5.",
    )  # fmt: skip
    application.refresh_from_db()
    actions.accept_terms(application=application, by=world.applicant)
    permit = application.permit
    assert permit.linkage
    if not linkage:  # as if the permit did not link: each table gets its own pseudonyms
        type(permit).objects.filter(pk=permit.pk).update(linkage=False)
        permit.refresh_from_db()
    return permit


def _jobs_table(world: World) -> str:
    return table_name(world.jobs)


def _rounded(n: int) -> int:
    return 5 * int(n / 5 + 0.5)


def test_a_query_across_two_linked_tables_joins_their_persons(
    world: World, workspace_key: None
) -> None:
    permit = _linked(world, _jobs_rows())
    stays, jobs = _table(world), _jobs_table(world)
    # the jobs as a filter: the stays of the persons who have a job (no stay doubled)
    filtered = _run(permit, world.applicant, table=stays, join=jobs, statistic="count",
                    by=["diagnosis"])  # fmt: skip
    assert _cells(filtered, "diagnosis")["I50.0"]["count"] == 60  # all 62 have a job
    # a column of each table: persons in hospital by the sector they work in
    by_nace = _run(permit, world.applicant, table=stays, join=jobs, statistic="count",
                   by=["nace"])  # fmt: skip
    truth = {"C": 53, "G": 53}  # the 7 workers never in hospital are not joined
    assert {k: v["count"] for k, v in _cells(by_nace, "nace").items()} == {
        k: _rounded(n) for k, n in truth.items()
    }
    _no_rows(by_nace, 2)
    assert by_nace.spec["join"] == jobs
    # a sum of the jobs' wages by the stays' diagnosis, checked as any sum (dominance...)
    wages = _run(permit, world.applicant, table=stays, join=jobs, statistic="mean",
                 value="wage", by=["diagnosis"])  # fmt: skip
    expected = [3000.0 + i for i, r in enumerate(_rows()) if r["diagnosis"] == "I50.0"]
    assert _cells(wages, "diagnosis")["I50.0"]["mean"] == pytest.approx(
        sum(expected) / len(expected)
    )
    # a DP table across the two tables, its levels named
    private = _run(permit, world.applicant, table=stays, join=jobs, statistic="count",
                   by=["nace"], method="dp", epsilon=0.2,
                   levels={"nace": ["C", "G", "F"]})  # fmt: skip
    assert set(_cells(private, "nace")) == {"C", "G", "F"}


def test_a_name_in_both_tables_is_named_with_its_table(world: World, workspace_key: None) -> None:
    permit = _linked(world, _jobs_rows())
    stays, jobs = _table(world), _jobs_table(world)
    base = {"table": stays, "join": jobs, "statistic": "count"}
    with pytest.raises(ValidationError) as unknown:
        _run(permit, world.applicant, **base, by=["commune"])
    message = " ".join(unknown.value.message_dict["by"])
    assert f"{stays}.commune" in message and f"{jobs}.commune" in message
    query = _run(permit, world.applicant, **base, by=[f"{stays}.commune"])
    assert query.result["columns"] == ["commune", "count"]  # released by its own name
    assert set(_cells(query, "commune")) == set(COMMUNES)
    with pytest.raises(ValidationError, match="two columns are named commune"):
        _run(permit, world.applicant, **base, by=[f"{stays}.commune", f"{jobs}.commune"])
    with pytest.raises(ValidationError, match="identifies persons"):
        _run(permit, world.applicant, **base, by=[f"{jobs}.person_id"])


def test_a_join_is_refused_where_the_permit_does_not_link_or_a_table_is_unknown(
    world: World, workspace_key: None
) -> None:
    permit = _linked(world, _jobs_rows(), linkage=False)
    spec = {"table": _table(world), "join": _jobs_table(world), "statistic": "count"}
    with pytest.raises(ValidationError, match="does not link its datasets"):
        _run(permit, world.applicant, **spec)
    with pytest.raises(ValidationError, match="no table elsewhere"):
        _run(permit, world.applicant, **{**spec, "join": "elsewhere"})
    with pytest.raises(ValidationError, match="join another table"):
        _run(permit, world.applicant, **{**spec, "join": _table(world)})
    assert AuditEvent.objects.filter(kind=EventKind.AGGREGATE_QUERY_REFUSED).count() == 3


def test_a_join_of_too_many_pairs_of_rows_is_refused(
    world: World, workspace_key: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datalux.spe import aggregate_data

    permit = _linked(world, _jobs_rows())
    monkeypatch.setattr(aggregate_data, "MAX_JOINED_ROWS", 100)
    spec = {"table": _table(world), "join": _jobs_table(world), "by": ["diagnosis"]}
    with pytest.raises(ValidationError, match="the join would have 106 rows"):
        _run(permit, world.applicant, **spec, statistic="sum", value="wage")
    # a filter never doubles a row: no cap to reach
    assert _run(permit, world.applicant, **spec, statistic="count").status == "released"


def test_a_join_that_drops_a_few_persons_is_refused_for_differencing(
    world: World, workspace_key: None
) -> None:
    from datalux.spe.aggregate_history import Refused

    five = {i for i, r in enumerate(_rows()) if r["diagnosis"] == "I50.0"}
    permit = _linked(world, _jobs_rows(skip=set(sorted(five)[:5])))  # 5 with I50.0 have no job
    all_stays = _run(permit, world.applicant, table=_table(world), statistic="count",
                     by=["diagnosis"])  # fmt: skip
    with pytest.raises(Refused, match=f"compared with query #{all_stays.pk}"):
        _run(permit, world.applicant, table=_table(world), join=_jobs_table(world),
             statistic="count", by=["diagnosis"])  # fmt: skip


def test_the_page_and_the_api_take_a_join(world: World, workspace_key: None) -> None:
    permit = _linked(world, _jobs_rows())
    client = Client()
    client.force_login(world.applicant)
    page = client.get(_page(permit)).content.decode()
    assert 'name="join"' in page and f"{_table(world)}.commune" in page
    done = client.post(_page(permit), {"table": _table(world), "join": _jobs_table(world),
                                       "statistic": "count", "by": ["nace"]})  # fmt: skip
    assert done.status_code == 302
    made = _post(client, permit, {"table": _table(world), "join": _jobs_table(world),
                                  "statistic": "sum", "value": "wage", "by": ["nace"]},
                 _bearer(world.applicant))  # fmt: skip
    assert made.status_code == 201, made.content
    assert made.json()["spec"]["join"] == _jobs_table(world)
