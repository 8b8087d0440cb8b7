"""The synthetic twin of a permit's extract: allowed by the permit, made by the trusted third
party or the pipeline after the preparation, paid from the project's one budget ledger (refused
when exhausted, nothing written, nothing spent), values only from the dictionary's published
domain, downloaded by the researcher only while the permit is in force (every step audited)."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from datalux.access import actions
from datalux.access.models import Permit
from datalux.accounts.actions import create_api_token
from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent
from datalux.catalogue.models import DatasetVersion
from datalux.core.errors import Conflict
from datalux.dataplane.extract import PERSON_ID
from datalux.privacy.disclosure import LedgerFile, Spend
from datalux.spe import jobs, synthetic
from datalux.spe.aggregate_budget import budget_ledger, ledger_path
from datalux.spe.models import SyntheticTwin
from datalux.spe.plan import table_name
from datalux.spe.synthetic_domain import twin_plans
from tests.access.world import World
from tests.spe.test_aggregate import COMMUNES, _decided, _store

pytestmark = pytest.mark.django_db
API = "/api/v1/spe"
DIAGNOSES = ("I50.0", "S72.0", "J18.9")
TWIN_RULES: dict[str, Any] = {
    "epsilon": 2.0,
    "delta": 1e-6,
    "synthetic_twin": True,
    "synthetic_epsilon": 1.0,
}


def _rows(n: int = 320, *, per_person: int = 1) -> list[dict[str, Any]]:
    """``n`` adult stays with related columns (older people: heart failure); ``per_person``
    rows per national number."""
    rows = []
    for i in range(n):
        age = 18 + (i * 7) % 60
        rows.append(
            {
                "national_id": f"1980010{i // per_person:06d}",
                "age": age,
                "diagnosis": DIAGNOSES[0] if age > 55 else DIAGNOSES[1 + i % 2],
                "commune": COMMUNES[i % 3],
                "cost": 100.0 + (age % 50),
                "admission_date": date(2020 + i % 5, 1 + i % 12, 1),
            }
        )
    return rows


def _profile(world: World) -> None:
    """The holder's quality profile (the published one is coarsened) and the code list of the
    diagnosis, as the data dictionary gives them."""
    world.stays.variables.filter(name="diagnosis").update(allowed_values=list(DIAGNOSES))
    DatasetVersion.objects.filter(dataset=world.stays).update(
        quality={
            "version": 1,
            "rows": 320,
            "variables": [
                {"name": "national_id", "type": "string", "uniqueness": 1.0, "distinct": 320},
                {"name": "age", "type": "integer", "min": 18, "max": 77, "completeness": 1.0},
                {"name": "cost", "type": "number", "min": 100.0, "max": 149.0},
                {"name": "admission_date", "type": "date", "min": "2020-01-01",
                 "max": "2024-12-01"},
            ],
        }
    )  # fmt: skip


def _permit(world: World, rules: dict[str, Any] | None = None, **kwargs: Any) -> Permit:
    """A pseudonymised permit on the stays (age, diagnosis, commune, cost), prepared."""
    if not DatasetVersion.objects.filter(dataset=world.stays).exists():
        _store(world, _rows(**kwargs))
        _profile(world)
    permit = _decided(world, "pseudonymised", output_rules=TWIN_RULES if rules is None else rules)
    preparation = jobs.request_preparation(permit, enqueue=False)
    jobs.run_preparation(preparation.pk)
    permit.refresh_from_db()
    return permit  # type: ignore[no-any-return]


@pytest.fixture
def twin_permit(world: World, workspace_key: None) -> Permit:
    return _permit(world)


def _queued() -> int:
    return DBTaskResult.objects.filter(task_path__endswith="synthetic_task").count()


def _events(kind: EventKind) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(kind=kind).order_by("seq"))


def _denied(action: str) -> list[AuditEvent]:
    return [e for e in _events(EventKind.ACCESS_DENIED) if e.details.get("action") == action]


def _spends(permit: Permit) -> list[Spend]:
    path = ledger_path(permit)
    return list(LedgerFile(path).state().spends) if path.is_file() else []


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _files(permit: Permit) -> list[str]:
    folder = synthetic.synthetic_dir(permit)
    return (
        sorted(p.name for p in folder.glob("*") if not p.name.startswith("."))
        if folder.is_dir()
        else []
    )


# --- the permit's rules ---------------------------------------------------------------------


def _decide(world: World, form: str = "pseudonymised", **rules: Any) -> Permit:
    application = world.under_review(data_form=form)
    actions.decide(
        application=application, by=world.decider, outcome="approved",
        reasons="Meets the criteria of Art. 5.", permit={"output_rules": rules},
    )  # fmt: skip
    application.refresh_from_db()
    return application.permit  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"synthetic_twin": True}, "synthetic_epsilon must be a number above 0"),
        ({"synthetic_twin": True, "synthetic_epsilon": 0}, "synthetic_epsilon must be"),
        ({"synthetic_twin": True, "synthetic_epsilon": float("nan")}, "synthetic_epsilon must"),
        ({"synthetic_twin": True, "synthetic_epsilon": float("inf")}, "synthetic_epsilon must"),
        ({"synthetic_twin": True, "synthetic_epsilon": "1"}, "synthetic_epsilon must"),
        ({"synthetic_twin": True, "synthetic_epsilon": 2.5}, r"at most the project's .*\(2\)"),
        ({"synthetic_twin": True, "synthetic_epsilon": 1.5, "epsilon": None}, r"\(1\)"),
        ({"synthetic_twin": "yes", "synthetic_epsilon": 1}, "synthetic_twin must be true or false"),
    ],
)  # fmt: skip
def test_a_bad_twin_rule_is_refused_with_what_to_fix(
    world: World, rules: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        _decide(world, **{"epsilon": 2.0, "delta": 1e-6, **rules})


def test_a_twin_needs_a_delta_and_a_prepared_extract(world: World) -> None:
    with pytest.raises(ValidationError, match="needs a total delta of at least 1e-09"):
        _decide(world, epsilon=2.0, synthetic_twin=True, synthetic_epsilon=1.0)
    with pytest.raises(ValidationError, match="the aggregate form has not"):
        _decide(world, "aggregate", **TWIN_RULES)


def test_the_decision_sets_the_twin_and_no_twin_drops_its_epsilon(world: World) -> None:
    permit = _decide(world, **TWIN_RULES)
    assert permit.output_rules["synthetic_twin"] is True
    assert permit.output_rules["synthetic_epsilon"] == 1.0
    assert synthetic.allows_twin(permit) and synthetic.synthetic_epsilon(permit) == 1.0
    permit = _decide(world, synthetic_twin=False, synthetic_epsilon=1.0)
    assert "synthetic_twin" not in permit.output_rules
    assert "synthetic_epsilon" not in permit.output_rules and not synthetic.allows_twin(permit)


def _amend(world: World, **rules: str) -> dict[str, Any]:
    key = f"amend-ds{world.stays.pk}"
    return {
        "amend-reason": "A synthetic twin for the exploration.",
        f"{key}_grant": "on",
        f"{key}_variables": ["age", "diagnosis"],
        "amend-threshold": "10",
        "amend-rounding_base": "5",
        **{f"amend-{k}": v for k, v in rules.items()},
    }


def test_the_amendment_form_sets_the_twin_keeping_rules_it_does_not_show(
    client: Any, world: World
) -> None:
    application = world.approved(output_rules={"aggregate_only": True, "k": 7, "epsilon": 2.0})
    permit = application.permit
    client.force_login(world.decider)
    page = client.get(reverse("access:case_permit", args=[application.reference])).text
    assert 'name="amend-synthetic_twin"' in page and 'name="amend-synthetic_epsilon"' in page
    url = reverse("access:case_permit_amend", args=[application.reference])
    twin = {"synthetic_twin": "on", "synthetic_epsilon": "0.5"}
    response = client.post(url, _amend(world, epsilon="2", delta="0.000001", **twin))
    assert response.status_code == 302, response.text
    permit.refresh_from_db()
    rules = permit.output_rules
    assert rules["synthetic_twin"] is True and rules["synthetic_epsilon"] == 0.5
    assert rules["aggregate_only"] is True and rules["k"] == 7  # not shown by the form: kept
    page = client.get(reverse("access:case_permit", args=[application.reference])).text
    [box] = re.findall(r'<input[^>]*name="amend-synthetic_twin"[^>]*>', page)
    assert "checked" in box and 'value="0.5"' in page
    for bad in (
        {"synthetic_twin": "on", "synthetic_epsilon": ""},  # no epsilon
        {"synthetic_twin": "on", "synthetic_epsilon": "3"},  # above the total
        {"synthetic_twin": "on", "synthetic_epsilon": "0.5", "delta": ""},  # no delta
    ):
        response = client.post(url, _amend(world, **{"epsilon": "2", "delta": "0.000001", **bad}))
        assert response.status_code == 400, bad
    permit.refresh_from_db()
    assert permit.output_rules["synthetic_epsilon"] == 0.5  # unchanged by the refusals


# --- making it ------------------------------------------------------------------------------


def test_the_pipeline_queues_the_twin_after_preparation_only_when_the_permit_allows_it(
    world: World, workspace_key: None
) -> None:
    _permit(world, rules={"epsilon": 2.0})
    assert _queued() == 0  # prepared, but the permit allows no twin
    permit = _permit(world)
    assert _queued() == 1
    [task_row] = DBTaskResult.objects.filter(task_path__endswith="synthetic_task")
    assert task_row.args_kwargs["args"] == [permit.pk, None]  # the pipeline, no operator


def test_the_twin_is_charged_to_the_permit_s_ledger_with_values_only_from_the_domain(
    world: World, twin_permit: Permit
) -> None:
    permit = twin_permit
    summary = synthetic.synthetic_task.call(permit.pk, None)  # the worker
    table = table_name(world.stays)
    assert summary == {"made": [table], "refused": [], "kept": []}
    twin = SyntheticTwin.objects.get(permit=permit)
    # the one budget of the project: the ledger the DP aggregate queries charge too
    [spend] = _spends(permit)
    assert spend.epsilon == 1.0 == twin.epsilon and spend.delta == synthetic.TWIN_DELTA
    assert spend.query.startswith(f"synthetic twin {permit.number} {table}")
    assert budget_ledger(permit).state().epsilon_remaining == pytest.approx(1.0)
    # the files, where they should be, with the recorded SHA-256
    folder = Path(settings.DATALUX_STORAGE) / "spe" / permit.number / "synthetic"
    assert _files(permit) == [f"{table}.parquet", f"{table}.report.json"]
    data = (folder / f"{table}.parquet").read_bytes()
    assert hashlib.sha256(data).hexdigest() == twin.sha256
    frame = pq.read_table(folder / f"{table}.parquet").to_pandas()
    # identifiers and free text left out, and said so in the report
    assert list(frame.columns) == ["age", "diagnosis", "cost"] and len(frame) == twin.rows > 0
    report = json.loads((folder / f"{table}.report.json").read_text())
    left = {c["column"]: c["code"] for c in report["meta"]["columns_left_out"]}
    assert left == {PERSON_ID: "identifier", "commune": "free-text"}
    assert "split equally over the 1 table(s)" in report["meta"]["budget_split"]["note"]
    assert report["privacy"]["epsilon"] == 1.0 and twin.report["meta"] == report["meta"]
    # no value outside the dictionary's published (coarsened) domain
    published = {
        v["name"]: (v["min"], v["max"])
        for v in DatasetVersion.objects.get(dataset=world.stays).published_quality["variables"]
    }
    low, high = published["age"]
    assert (low, high) != (18, 77)  # the exact extremes never serve as the domain
    [plan] = twin_plans(permit, permit.preparations.get().manifest)
    assert plan.domain is not None
    assert (plan.domain.column("age").lower, plan.domain.column("age").upper) == (low, high)
    assert frame["age"].dropna().between(low, high).all()
    assert frame["cost"].dropna().between(*published["cost"]).all()
    assert set(frame["diagnosis"].dropna()) <= set(DIAGNOSES)
    assert not any(r["national_id"] in data.decode("latin-1") for r in _rows())
    # audited, with figures but no value
    [made] = _events(EventKind.SYNTHETIC_MADE)
    assert made.details["table"] == table and made.details["epsilon"] == "1"
    assert made.details["trigger"] == "pipeline" and made.actor_id is None
    # a second run keeps the twin: nothing spent twice
    again = synthetic.make_synthetic_twin(permit=permit, by=_operator())
    assert again.kept == [table] and not again.made and len(_spends(permit)) == 1


def _operator() -> Any:
    from datalux.accounts.roles import OrganisationKind
    from tests.access.world import _member
    from tests.factories.accounts import OrganisationFactory

    ttp: Any = OrganisationFactory(name="TTP", kind=OrganisationKind.TRUSTED_THIRD_PARTY)
    return _member("ttp_operator", ttp, f"ttp{ttp.pk}")


def test_an_exhausted_budget_refuses_the_twin_writing_and_spending_nothing(
    world: World, twin_permit: Permit, operator: Any
) -> None:
    permit = twin_permit
    budget_ledger(permit).charge(Spend(epsilon=1.5, query="earlier DP query"))  # 0.5 left < 1
    outcome = synthetic.make_synthetic_twin(permit=permit, by=operator)
    assert not outcome.made and [r["code"] for r in outcome.refused] == ["budget-exceeded"]
    assert "only 0.5 of 2 is left" in outcome.refused[0]["reason"]
    assert len(_spends(permit)) == 1  # only the earlier query
    assert not SyntheticTwin.objects.exists()
    assert not [n for n in _files(permit) if n.endswith((".parquet", ".json"))]
    [refused] = _events(EventKind.SYNTHETIC_REFUSED)
    assert refused.details["code"] == "budget-exceeded" and refused.actor_id == operator.pk


def test_a_table_with_several_rows_per_person_gets_no_twin_and_spends_nothing(
    world: World, workspace_key: None, operator: Any
) -> None:
    permit = _permit(world, per_person=2)
    outcome = synthetic.make_synthetic_twin(permit=permit, by=operator)
    assert [r["code"] for r in outcome.refused] == ["several-rows-per-person"]
    assert _spends(permit) == [] and not SyntheticTwin.objects.exists()


def test_only_the_trusted_third_party_makes_twins_and_only_when_allowed(
    world: World, twin_permit: Permit, operator: Any
) -> None:
    permit = twin_permit
    for user in (world.applicant, world.handler, world.decider):
        with pytest.raises(PermissionDenied, match="only the trusted third party's operators"):
            synthetic.make_synthetic_twin(permit=permit, by=user)
        response = _client(user).post(reverse("spe:synthetic_make", args=[permit.number]))
        assert response.status_code == 403
    assert len(_denied("synthetic.make")) == 6
    before = _queued()
    response = _client(operator).post(
        reverse("spe:synthetic_make", args=[permit.number]), follow=True
    )
    assert response.status_code == 200 and "are queued" in response.content.decode()
    assert _queued() == before + 1
    # a permit that does not allow a twin: refused, audited, nothing queued
    Permit.objects.filter(pk=permit.pk).update(output_rules={"epsilon": 2.0})
    permit.refresh_from_db()
    with pytest.raises(Conflict, match="does not allow a synthetic twin"):
        synthetic.make_synthetic_twin(permit=permit, by=operator)
    response = _client(operator).post(
        reverse("spe:synthetic_make", args=[permit.number]), follow=True
    )
    assert "does not allow a synthetic twin" in response.content.decode()
    assert _queued() == before + 1 and not SyntheticTwin.objects.exists()
    assert {e.details["code"] for e in _events(EventKind.SYNTHETIC_REFUSED)} == {"not-allowed"}


# --- showing and downloading it -------------------------------------------------------------


@pytest.fixture
def made(world: World, twin_permit: Permit, operator: Any) -> SyntheticTwin:
    outcome = synthetic.make_synthetic_twin(permit=twin_permit, by=operator)
    [twin] = outcome.made
    return twin


def test_the_researcher_downloads_the_twin_and_no_one_else(
    world: World, twin_permit: Permit, made: SyntheticTwin, operator: Any
) -> None:
    permit = twin_permit
    url = reverse("spe:synthetic_download", args=[permit.number, made.table])
    response = _client(world.applicant).get(url)
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert hashlib.sha256(body).hexdigest() == made.sha256
    assert f'filename="{made.table}.synthetic.parquet"' in response["Content-Disposition"]
    [downloaded] = _events(EventKind.SYNTHETIC_DOWNLOADED)
    assert downloaded.actor_id == world.applicant.pk and downloaded.details["file"] == "data"
    # a colleague not named on the permit, the operator, a stranger: refused and audited
    for user in (world.colleague, operator, world.stranger):
        assert _client(user).get(url).status_code == 403
    assert len(_denied("synthetic.download")) == 3
    assert len(_events(EventKind.SYNTHETIC_DOWNLOADED)) == 1
    # a file changed since it was made is never served
    path = Path(settings.DATALUX_STORAGE) / made.path
    path.write_bytes(body + b"x")
    assert _client(world.applicant).get(url).status_code == 403
    path.write_bytes(body)


@pytest.mark.parametrize("ended", ["expired", "revoked"])
def test_the_twin_is_not_downloaded_once_the_permit_is_not_in_force(
    world: World, twin_permit: Permit, made: SyntheticTwin, ended: str
) -> None:
    permit = twin_permit
    if ended == "revoked":
        actions.revoke_permit(permit=permit, by=world.decider, reason="Breach of the conditions.")
    else:
        Permit.objects.filter(pk=permit.pk).update(ends_on=date.today() - timedelta(days=1))
        actions.expire_due_permits()
    permit.refresh_from_db()
    assert permit.state == ended
    url = reverse("spe:synthetic_download", args=[permit.number, made.table])
    response = _client(world.applicant).get(url)
    assert response.status_code == 403 and ended in response.content.decode()
    assert not _events(EventKind.SYNTHETIC_DOWNLOADED)


def test_the_pages_show_the_twin_s_figures_the_budget_left_and_the_report(
    world: World, twin_permit: Permit, made: SyntheticTwin, operator: Any
) -> None:
    permit = twin_permit
    figures = made.headline()
    assert figures["epsilon"] == 1.0 and figures["tvd_2way_mean"] is not None
    assert figures["membership_auc"] is not None and figures["membership_passed"] is not None
    assert figures["exact_copy_share"] is not None
    download = reverse("spe:synthetic_download", args=[permit.number, made.table])
    report = reverse("spe:synthetic_report", args=[permit.number, made.table])
    page = _client(world.applicant).get(f"/spe/workspace/{permit.number}/").content.decode()
    assert made.table in page and download in page and report in page
    assert "epsilon 1 of 2" in page  # the project's budget left
    assert f"{figures['tvd_2way_mean']:.3f}".rstrip("0") in page
    page = _client(operator).get(f"/spe/{permit.number}/").content.decode()
    assert made.table in page and report in page and download not in page
    assert "Make the synthetic twins" in page
    document = _client(world.applicant).get(report).json()
    assert document["meta"]["table"] == made.table and "fidelity" in document
    assert _client(world.stranger).get(report).status_code == 403
    assert _client(operator).get(report).status_code == 200


def test_the_api_lists_the_twins_with_their_figures_and_queues_them_for_operators(
    world: World, twin_permit: Permit, made: SyntheticTwin, operator: Any
) -> None:
    permit = twin_permit
    url = f"{API}/permits/{permit.number}/synthetic"
    listing = _client(world.applicant).get(url)
    assert listing.status_code == 200, listing.text
    body = listing.json()
    assert body["allowed"] and body["synthetic_epsilon"] == 1.0 and body["left_for_twins"] == 0
    assert body["budget"]["epsilon_remaining"] == pytest.approx(1.0)
    [twin] = body["twins"]
    assert twin["table"] == made.table and twin["figures"]["epsilon"] == 1.0
    assert twin["download_url"].endswith(f"{made.table}.parquet")
    stranger = _client(world.stranger).get(url)
    assert stranger.status_code == 403 and stranger.json()["error"]["code"] == "forbidden"
    # making: operators only, with a write token
    token = create_api_token(user=operator, name="ttp", scope="write")[1]
    before = _queued()
    queued = Client().post(url, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert queued.status_code == 202, queued.text
    assert _queued() == before + 1
    researcher = create_api_token(user=world.applicant, name="r", scope="write")[1]
    refused = Client().post(url, HTTP_AUTHORIZATION=f"Bearer {researcher}")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    Permit.objects.filter(pk=permit.pk).update(output_rules={"epsilon": 2.0})
    conflict = Client().post(url, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "invalid_state"


def test_an_aggregate_only_project_is_served_the_twin_on_its_aggregate_page(
    world: World, workspace_key: None, operator: Any
) -> None:
    """No workspace, no rows of the extract: the twin is all the microdata the project gets."""
    permit = _permit(world, rules={**TWIN_RULES, "aggregate_only": True})
    [twin] = synthetic.make_synthetic_twin(permit=permit, by=operator).made
    client = _client(world.applicant)
    assert client.get(f"/spe/workspace/{permit.number}/").status_code == 403
    page = client.get(reverse("spe:aggregate", args=[permit.number])).content.decode()
    download = reverse("spe:synthetic_download", args=[permit.number, twin.table])
    assert download in page
    response = client.get(download)
    assert response.status_code == 200
    assert hashlib.sha256(b"".join(response.streaming_content)).hexdigest() == twin.sha256


def test_a_twin_holding_a_column_the_amended_permit_no_longer_grants_is_not_downloaded(
    world: World, twin_permit: Permit, made: SyntheticTwin
) -> None:
    permit = twin_permit
    url = reverse("spe:synthetic_download", args=[permit.number, made.table])
    actions.amend_permit(
        permit=permit, by=world.decider, reason="The diagnosis is no longer needed.",
        datasets={world.stays.pid: {"variables": ["age", "commune", "cost"]}},
    )  # fmt: skip
    response = _client(world.applicant).get(url)
    assert response.status_code == 403 and "no longer grants diagnosis" in response.text
    [refused] = _events(EventKind.SYNTHETIC_REFUSED)
    assert refused.details["code"] == "not-granted"
    assert not _events(EventKind.SYNTHETIC_DOWNLOADED)


def test_the_dummy_data_take_the_published_ranges_not_the_exact_ones(
    world: World, twin_permit: Permit
) -> None:
    """Dummy data leave the platform: their ranges must be the coarsened ones as well."""
    from datalux.spe.dummydata import spec_for

    published = {
        v["name"]: (v.get("min"), v.get("max"))
        for v in DatasetVersion.objects.get(dataset=world.stays).published_quality["variables"]
    }
    [age] = [c for t in spec_for(twin_permit).tables for c in t.columns if c.name == "age"]
    assert (age.low, age.high) == published["age"] != (18, 77)
