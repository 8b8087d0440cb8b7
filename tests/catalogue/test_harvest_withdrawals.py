"""No mass withdrawal by accident: an empty, tiny or cut-short reply is held for an operator;
withdrawn records keep a grace period; every run is kept with its counts and problems."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from django.test import Client
from django.utils import timezone

from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent
from datalux.catalogue.harvest import HarvestError, HarvestHeld, run_harvest
from datalux.catalogue.harvest_runs import RunDecisionRefused, confirm_run, discard_run
from datalux.catalogue.models import Dataset, DatasetStatus, HarvestRun, HarvestRunStatus
from datalux.catalogue.search import SearchQuery, search
from datalux.cli import main
from tests.catalogue.test_harvest import PREFIXES, _harvest_settings, holder, make_source

pytestmark = pytest.mark.django_db
__all__ = ["_harvest_settings", "holder"]  # the fixtures, imported for these tests


def dataset(n: int) -> str:
    return f"""
<https://remote.example.lu/dataset/{n}> a dcat:Dataset ;
    dct:title "Dataset {n}"@en ;
    dct:description "Number {n}."@en .
"""


def catalogue(*numbers: int) -> str:
    return PREFIXES + "".join(dataset(n) for n in numbers)


def snapshot(source: Any) -> list[tuple[Any, ...]]:
    return sorted(
        Dataset.objects.filter(harvest_source=source).values_list(
            "remote_id", "status", "title", "modified", "withdrawn_at"
        )
    )


@pytest.fixture
def ten(tmp_path: Path, holder: Any) -> tuple[Any, Path]:
    """A source of ten published records, harvested once."""
    path = tmp_path / "catalog.ttl"
    path.write_text(catalogue(*range(10)), encoding="utf-8")
    source = make_source(str(path), holder)
    assert run_harvest(source=source).created == 10
    return source, path


FULL = catalogue(*range(10))
CUT_BETWEEN_STATEMENTS = FULL[: FULL.index("<https://remote.example.lu/dataset/3>")]


@pytest.mark.parametrize(
    ("reply", "kept"),
    [
        pytest.param(b"", 0, id="zero-byte reply"),
        pytest.param(
            b'<https://remote.example.lu/dataset/0> <http://purl.org/dc/terms/title> "x" .',
            0,
            id="one-triple reply",
        ),
        pytest.param(CUT_BETWEEN_STATEMENTS.encode(), 3, id="document cut between statements"),
    ],
)
def test_a_reply_that_would_withdraw_most_records_is_held(
    ten: tuple[Any, Path], reply: bytes, kept: int
) -> None:
    source, path = ten
    before = snapshot(source)
    path.write_bytes(reply)
    with pytest.raises(HarvestHeld) as caught:
        run_harvest(source=source)
    gone = 10 - kept
    assert f"would withdraw {gone} of the source's 10 records" in str(caught.value)
    assert "over the limit of 20 %" in str(caught.value) and "nothing was changed" in str(
        caught.value
    )
    assert snapshot(source) == before  # not one record withdrawn, updated or created
    run = caught.value.run
    assert run.status == HarvestRunStatus.HELD and (run.withdrawn, run.held_of) == (gone, 10)
    assert run.held_withdrawals[0] == f"https://remote.example.lu/dataset/{kept}"
    assert (run.created, run.updated, run.unchanged) == (0, 0, 0)  # it did nothing
    source.refresh_from_db()
    assert source.last_status == "held" and source.last_report["would_withdraw"] == gone
    event = AuditEvent.objects.filter(kind=EventKind.HARVEST_RUN).order_by("-seq").first()
    assert event.details["ok"] is False and event.details["status"] == "held"


def test_the_cli_exits_non_zero_on_a_held_run(ten: tuple[Any, Path]) -> None:
    source, path = ten
    path.write_bytes(b"")
    result = CliRunner().invoke(main, ["catalogue", "harvest", source.name])
    assert result.exit_code == 3, result.output
    assert "would withdraw 10 of the source's 10 records" in result.output
    run = HarvestRun.objects.get(status=HarvestRunStatus.HELD)
    assert f"datalux catalogue run discard {run.pk}" in result.output
    discarded = CliRunner().invoke(main, ["catalogue", "run", "discard", str(run.pk)])
    assert discarded.exit_code == 0, discarded.output
    again = CliRunner().invoke(main, ["catalogue", "run", "confirm", str(run.pk)])
    assert again.exit_code == 1 and "only a held run can be confirmed" in again.output
    missing = CliRunner().invoke(main, ["catalogue", "run", "confirm", "999999"])
    assert missing.exit_code == 1 and "no harvest run 999999" in missing.output


def test_the_limit_is_a_setting(ten: tuple[Any, Path], settings: Any) -> None:
    source, path = ten
    path.write_text(catalogue(*range(8)), encoding="utf-8")  # 2 of 10: 20 %, not over
    assert run_harvest(source=source).withdrawn == 2
    path.write_text(catalogue(*range(6)), encoding="utf-8")  # 2 of 8: 25 %
    with pytest.raises(HarvestHeld):
        run_harvest(source=source)
    settings.DATALUX_HARVEST_WITHDRAW_LIMIT_PERCENT = 25
    assert run_harvest(source=source).withdrawn == 2


def test_a_withdrawn_record_stays_out_of_search_and_comes_back(
    ten: tuple[Any, Path], make_member: Any
) -> None:
    source, path = ten
    path.write_text(catalogue(*range(1, 10)), encoding="utf-8")  # dataset 0 gone: 10 %
    report = run_harvest(source=source)
    assert (report.withdrawn, report.unchanged) == (1, 9)
    gone = Dataset.objects.get(remote_id="https://remote.example.lu/dataset/0")
    assert gone.status == DatasetStatus.WITHDRAWN and gone.withdrawn_at is not None
    anonymous = search(None, SearchQuery(text="Dataset"))
    assert gone.pk not in {d.pk for d in anonymous.datasets} and anonymous.total == 9
    pid = gone.pid
    path.write_text(catalogue(*range(10)), encoding="utf-8")
    assert run_harvest(source=source).updated == 1
    gone.refresh_from_db()
    assert (gone.status, gone.withdrawn_at, gone.pid) == (DatasetStatus.PUBLISHED, None, pid)


def test_withdrawn_records_are_deleted_after_the_grace_period(
    ten: tuple[Any, Path], settings: Any, make_member: Any
) -> None:
    from datalux.access import actions
    from datalux.access.models import ApplicationDataset

    source, path = ten
    path.write_text(catalogue(*range(2, 10)), encoding="utf-8")  # 0 and 1 gone: 20 %
    assert run_harvest(source=source).withdrawn == 2
    zero, one = (
        Dataset.objects.get(remote_id=f"https://remote.example.lu/dataset/{n}") for n in (0, 1)
    )
    applicant = make_member("applicant")
    application = actions.create_application(
        by=applicant, organisation=applicant.memberships.get().organisation, title="Roads"
    )
    ApplicationDataset.objects.create(application=application, dataset=one)  # refers to 1
    # Within the grace period the records stay, withdrawn.
    settings.DATALUX_HARVEST_GRACE_DAYS = 30
    Dataset.objects.filter(pk__in=[zero.pk, one.pk]).update(
        withdrawn_at=timezone.now() - timedelta(days=29)
    )
    assert run_harvest(source=source).deleted == 0
    Dataset.objects.filter(pk__in=[zero.pk, one.pk]).update(
        withdrawn_at=timezone.now() - timedelta(days=31)
    )
    report = run_harvest(source=source)
    assert report.deleted == 1 and report.unchanged == 8
    assert not Dataset.objects.filter(pk=zero.pk).exists()
    assert Dataset.objects.get(pk=one.pk).status == DatasetStatus.WITHDRAWN
    assert any("other records refer to it" in p for p in report.problems)
    run = HarvestRun.objects.filter(status=HarvestRunStatus.COMPLETED).first()
    assert run.deleted == 1 and run.errors == 1 and run.problems == report.problems


def test_confirming_applies_the_held_run_only_if_the_source_is_unchanged(
    ten: tuple[Any, Path], make_member: Any
) -> None:
    source, path = ten
    admin = make_member("platform_admin")
    path.write_text(catalogue(0, 1), encoding="utf-8")  # the source really shrank
    with pytest.raises(HarvestHeld) as first:
        run_harvest(source=source, by=admin)
    # The source changes before the operator decides: confirming refuses, nothing changes.
    path.write_text(catalogue(0, 1, 2), encoding="utf-8")
    with pytest.raises(HarvestError, match="has changed since run"):
        confirm_run(run=first.value.run, by=admin)
    assert Dataset.objects.filter(status=DatasetStatus.WITHDRAWN).count() == 0
    with pytest.raises(HarvestHeld) as second:
        run_harvest(source=source, by=admin)
    # The first held run was overtaken by the second: only the newest may be applied.
    with pytest.raises(RunDecisionRefused, match="overtaken by run"):
        confirm_run(run=first.value.run, by=admin)
    report = confirm_run(run=second.value.run, by=admin)
    assert (report.withdrawn, report.unchanged) == (7, 3)
    held = HarvestRun.objects.get(pk=second.value.run.pk)
    assert held.status == HarvestRunStatus.CONFIRMED and held.decided_by == admin
    applied = HarvestRun.objects.get(confirms=held)
    assert applied.status == HarvestRunStatus.COMPLETED and applied.withdrawn == 7
    event = AuditEvent.objects.get(kind=EventKind.HARVEST_RUN_CONFIRMED)
    assert event.details == {"run": held.pk, "applied_by_run": applied.pk, "withdrawn": 7}
    discard_run(run=first.value.run, by=admin)
    assert AuditEvent.objects.filter(kind=EventKind.HARVEST_RUN_DISCARDED).count() == 1
    with pytest.raises(RunDecisionRefused, match="only a held run can be discarded"):
        discard_run(run=first.value.run, by=admin)


def test_only_platform_admins_decide(ten: tuple[Any, Path], make_member: Any) -> None:
    from django.core.exceptions import PermissionDenied

    source, path = ten
    path.write_bytes(b"")
    with pytest.raises(HarvestHeld) as held:
        run_harvest(source=source)
    steward = make_member("steward", organisation=source.publisher)
    with pytest.raises(PermissionDenied):
        confirm_run(run=held.value.run, by=steward)
    with pytest.raises(PermissionDenied):
        discard_run(run=held.value.run, by=steward)


def test_the_run_history_page_and_its_decisions(
    ten: tuple[Any, Path], make_member: Any, client: Client
) -> None:
    source, path = ten
    page = f"/catalogue/harvest/{source.pk}/runs/"
    path.write_bytes(b"")
    with pytest.raises(HarvestHeld) as held:
        run_harvest(source=source)
    run = held.value.run
    client.force_login(make_member("steward", organisation=source.publisher))
    assert client.get(page).status_code == 403
    assert client.post(f"/catalogue/harvest/runs/{run.pk}/discard").status_code == 403
    client.force_login(make_member("platform_admin"))
    html = client.get(page).content.decode()
    assert f"Run {run.pk} is held for your decision" in html
    assert "It would withdraw 10 of the source's 10 records (100 %" in html
    assert "https://remote.example.lu/dataset/0" in html  # the records it would withdraw
    assert f'action="/catalogue/harvest/runs/{run.pk}/confirm"' in html
    # The sources page points to the decision.
    assert (
        "held: it would withdraw 10 of 10 records"
        in client.get("/catalogue/harvest/").content.decode()
    )
    # Confirming an empty reply the source still serves withdraws everything.
    done = client.post(f"/catalogue/harvest/runs/{run.pk}/confirm", follow=True)
    assert "10 withdrawn" in done.content.decode()
    assert Dataset.objects.filter(status=DatasetStatus.WITHDRAWN).count() == 10
    html = client.get(page).content.decode()
    assert "is held for your decision" not in html
    assert f"(confirms held run {run.pk})" in html and "held, then confirmed by" in html
    # Per-record problems are listed under their run.
    path.write_text(
        PREFIXES + '[] a dcat:Dataset ; dct:title "No id"@en .\n' + catalogue(1)[len(PREFIXES) :]
    )
    run_harvest(source=source)
    html = client.get(page).content.decode()
    assert "1 record problem" in html and "neither an IRI nor a dct:identifier" in html


def test_the_api_reports_a_held_run_and_takes_the_decision(
    ten: tuple[Any, Path], make_member: Any, client: Client
) -> None:
    source, path = ten
    client.force_login(make_member("platform_admin"))
    path.write_bytes(b"")
    held = client.post(f"/api/v1/harvest/sources/{source.pk}/run")
    assert held.status_code == 409
    error = held.json()["error"]
    assert error["code"] == "harvest_held" and "would withdraw 10" in error["message"]
    run_id = error["details"]["run"]
    runs = client.get(f"/api/v1/harvest/sources/{source.pk}/runs").json()
    assert [r["status"] for r in runs] == ["held", "completed"]
    assert runs[0]["held_of"] == 10 and runs[0]["withdrawn"] == 10
    discarded = client.post(f"/api/v1/harvest/runs/{run_id}/discard")
    assert discarded.status_code == 200 and discarded.json()["status"] == "discarded"
    refused = client.post(f"/api/v1/harvest/runs/{run_id}/confirm")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "run_not_held"
    assert Dataset.objects.filter(status=DatasetStatus.WITHDRAWN).count() == 0
