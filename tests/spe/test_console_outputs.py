"""A console result saved as an output: a table written with write_table (its evidence beside
it) from all the query's rows, in the real sandbox, as a job's outputs that a release request
proposes like any other; the console's people only, every attempt audited (issue 13,
finishing item 5)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent
from datalux.spe import console, releases, workspaces
from datalux.spe.models import Job, JobCode, JobState, Query, ReleaseRequest
from tests.access.world import World

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("workspace_key")]

NAME = "age_by_diagnosis"


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _query(client: Client, permit: Any, sql: str) -> Query:
    response = client.post(reverse("spe:query", args=[permit.number]), {"sql": sql})
    assert response.status_code == 302
    query = Query.objects.order_by("-pk").first()
    assert query is not None
    return query


def _rows_of(permit: Any) -> tuple[str, int]:
    table = permit.preparations.get().manifest["tables"][0]
    return table["name"], int(table["rows"])


def _save(client: Client, permit: Any, query: Query, **fields: Any) -> Any:
    data = {"name": NAME, "by": ["diagnosis"], "value": "age", "statistic": "mean",
            "decimals": "1", "suppress": "1", **fields}  # fmt: skip
    return client.post(reverse("spe:query_save", args=[permit.number, query.pk]), data)


def test_a_console_result_is_saved_as_a_table_with_evidence_and_proposed_for_release(
    world: World, permit: Any, checkers: tuple[Any, Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = workspaces.enter(permit=permit, by=world.applicant)
    client = _client(world.applicant)
    table, rows = _rows_of(permit)
    monkeypatch.setattr(console, "MAX_ROWS", 5)  # the console shows 5 rows; the table has all
    query = _query(client, permit, f'select diagnosis, age from "{table}"')  # noqa: S608
    assert query.code == JobCode.SUCCEEDED and query.truncated, query.error
    page = client.get(reverse("spe:query_result", args=[permit.number, query.pk]))
    assert b"Save as output" in page.content

    saved = _save(client, permit, query)
    assert saved.status_code == 302, saved.content.decode()[-2000:]
    job = Job.objects.get(query=query)
    assert saved["Location"] == reverse("spe:job", args=[permit.number, job.pk])
    assert job.code_version is None and job.state == JobState.SUCCEEDED and job.data == "extract"
    table_out, evidence_out = job.outputs
    assert table_out["path"] == f"output/{NAME}.csv"
    assert table_out["sensitivity"] == "moderately_sensitive"
    assert evidence_out["path"] == f"output/{NAME}.csv.evidence.json"
    assert evidence_out["sensitivity"] == "highly_sensitive"
    folder = workspaces.job_dir(job)
    written = (folder / table_out["path"]).read_bytes()
    assert hashlib.sha256(written).hexdigest() == table_out["sha256"]
    cells = list(csv.DictReader(io.StringIO(written.decode())))
    assert [c["diagnosis"] for c in cells] == ["I50.0", "S72.0"]
    assert list(cells[0]) == ["diagnosis", "count", "mean_age"]
    assert sum(int(c["count"]) for c in cells) == rows  # every row, not the 5 shown
    evidence = json.loads((folder / evidence_out["path"]).read_text())
    assert evidence["sha256"] == table_out["sha256"] and evidence["by"] == ["diagnosis"]
    # checked at once, as when a job ends: the table matches its evidence and passes
    assert table_out["checks"]["status"] == "pass", table_out["checks"]
    assert "evidence" in {c["name"] for c in table_out["checks"]["checks"]}
    event = AuditEvent.objects.get(kind=EventKind.WORKSPACE_QUERY_SAVED)
    assert event.details["job"] == job.pk and event.details["sha256"] == table_out["sha256"]
    assert event.details["query"] == query.pk and event.details["by"] == ["diagnosis"]
    assert event.actor_id == world.applicant.pk

    # the pages say where it came from; the evidence is never shown
    job_page = client.get(reverse("spe:job", args=[permit.number, job.pk])).content.decode()
    assert f"console query #{query.pk}" in job_page
    assert client.get(reverse("spe:workspace", args=[permit.number])).status_code == 200
    evidence_url = reverse("spe:output", args=[permit.number, job.pk, evidence_out["path"]])
    assert client.get(evidence_url).status_code == 403

    # it is offered to a release request like any output (not its evidence) and passes
    offered = [(j.pk, o["path"]) for j, o in releases.releasable_outputs(workspace)]
    assert offered == [(job.pk, table_out["path"])]
    client.post(reverse("spe:releases", args=[permit.number]), {"title": "Age by diagnosis"})
    item = ReleaseRequest.objects.get()
    page = client.get(reverse("spe:release", args=[permit.number, item.pk])).content.decode()
    assert f'value="{job.pk}:{table_out["path"]}"' in page
    client.post(
        reverse("spe:release_add", args=[permit.number, item.pk]),
        {"output": f"{job.pk}:{table_out['path']}", "description": "Mean age by diagnosis",
         "count_columns": "count", "magnitude_columns": "mean_age"},
    )  # fmt: skip
    [file] = item.files.all()
    assert file.checks["status"] == "pass", file.checks
    client.post(reverse("spe:release_submit", args=[permit.number, item.pk]))
    item.refresh_from_db()
    assert item.state == "submitted"
    # the checker sees the query that made it
    check = _client(checkers[0]).get(reverse("spe:check", args=[item.pk])).content.decode()
    assert f"saved from console query #{query.pk}" in check and "select diagnosis, age" in check


def test_saving_refuses_bad_choices_failed_queries_and_outsiders(world: World, permit: Any) -> None:
    workspaces.enter(permit=permit, by=world.applicant)
    client = _client(world.applicant)
    table, _rows = _rows_of(permit)
    query = _query(client, permit, f'select diagnosis, age from "{table}"')  # noqa: S608
    refusals = [
        ({"by": ["region"]}, "the result has no column region"),
        ({"by": []}, "choose the columns to group by"),
        ({"name": "../etc/passwd"}, "name the output with lower-case letters"),
        ({"by": ["diagnosis", "age"], "value": "age"}, "is also grouped by"),
        ({"statistic": "max"}, "choose the sum or the mean of age"),
        ({"decimals": "12"}, "round to 0 to 6 decimal places"),
    ]
    for fields, message in refusals:
        response = _save(client, permit, query, **fields)
        assert response.status_code == 409, fields
        assert message in response.content.decode(), (fields, message)
    # a mean of a text column: write_table's own refusal, from the sandbox, audited
    response = _save(client, permit, query, by=["age"], value="diagnosis")
    assert response.status_code == 409
    assert "must be numeric" in response.content.decode()
    failed = AuditEvent.objects.get(kind=EventKind.WORKSPACE_QUERY_SAVED)
    assert failed.details["code"] == JobCode.NONZERO_EXIT and "job" not in failed.details
    broken = _query(client, permit, "select * from nowhere")
    assert broken.code != JobCode.SUCCEEDED
    response = _save(client, permit, broken)
    assert response.status_code == 409 and "query that succeeded" in response.content.decode()
    # the console's people only
    url = reverse("spe:query_save", args=[permit.number, query.pk])
    anonymous = Client().post(url, {"name": NAME, "by": ["diagnosis"]})
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    for outsider in (world.stranger, world.decider, world.colleague):
        assert _client(outsider).post(url, {"name": NAME, "by": ["diagnosis"]}).status_code == 403
    assert not Job.objects.exists()
    assert not (workspaces.root(permit) / "saving").exists() or not any(
        (workspaces.root(permit) / "saving").iterdir()
    )
