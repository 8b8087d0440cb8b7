"""The workspace of a permit: entry, code versions, jobs in the sandbox, dummy data, locking
(issue 12). Jobs run in the real sandbox (bubblewrap), with this test run's Python."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from datalux.access import actions
from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent
from datalux.spe import jobs, workjobs, workspaces
from datalux.spe.models import CodeVersion, DataKind, Job, JobCode, JobState, Workspace
from tests.access.world import World
from tests.spe.test_plan import _permit, _store

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("workspace_key")]

PROJECT = {
    "project.yaml": """
version: 1
actions:
  cohort:
    run: python analysis/cohort.py
    outputs:
      highly_sensitive:
        cohort: output/cohort.parquet
  counts:
    run: python analysis/counts.py
    needs: [cohort]
    outputs:
      moderately_sensitive:
        table: output/counts.csv
""",
    "analysis/cohort.py": """
import os, duckdb
from pathlib import Path
data = Path(os.environ["DATALUX_DATA"])
[table] = sorted(data.glob("*.parquet"))
duckdb.sql(f"select person_id, age, diagnosis from read_parquet('{table}')").write_parquet(
    "output/cohort.parquet")
print("cohort written from", table.name)
""",
    "analysis/counts.py": """
import duckdb
rows = duckdb.sql(
    "select diagnosis, count(*) n from 'output/cohort.parquet' group by 1 order by 1"
).fetchall()
with open("output/counts.csv", "w") as f:
    f.write("diagnosis,n\\n")
    for d, n in rows:
        f.write(f"{d},{n}\\n")
print("counts", rows)
""",
}


def _zip(files: dict[str, str]) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    buffer.seek(0)
    buffer.name = "project.zip"
    return buffer


def _submitted(
    world: World, permit: Any, files: dict[str, str] = PROJECT
) -> tuple[Workspace, CodeVersion]:
    """The applicant enters the workspace and submits ``files`` as a code version."""
    workspace = workspaces.enter(permit=permit, by=world.applicant)
    version = workspaces.submit_code(workspace=workspace, by=world.applicant, archive=_zip(files))
    return workspace, version


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _run_all(workspace: Workspace) -> None:
    """The worker: run queued jobs in order until none is left (dispatch queues the next)."""
    for _ in range(10):
        queued = list(Job.objects.filter(workspace=workspace, state=JobState.QUEUED).order_by("pk"))
        if not queued:
            return
        for job in queued:
            workjobs.run_job(job.pk)


def test_only_authorised_persons_who_accepted_the_terms_enter(world: World) -> None:
    _store(world)
    permit = _permit(world)
    url = f"/spe/workspace/{permit.number}/"
    assert Client().get(url).status_code == 302  # to the sign-in page
    before = AuditEvent.objects.filter(kind=EventKind.ACCESS_DENIED).count()
    refused = _client(world.applicant).get(url)
    assert refused.status_code == 403 and "accept the terms of use" in refused.content.decode()
    for outsider in (world.stranger, world.handler, world.reviewer):
        assert _client(outsider).get(url).status_code == 403
    assert AuditEvent.objects.filter(kind=EventKind.ACCESS_DENIED).count() == before + 4
    actions.accept_terms(application=permit.application, by=world.applicant)
    page = _client(world.applicant).get(url)
    assert page.status_code == 200
    assert "Secure workspace of permit" in page.content.decode()
    assert "no-store" in page["Cache-Control"] or "no-cache" in page["Cache-Control"]
    assert AuditEvent.objects.filter(kind=EventKind.WORKSPACE_OPENED).count() == 1


def test_code_versions_are_kept_with_their_sha256(world: World, permit: Any) -> None:
    client = _client(world.applicant)
    url = f"/spe/workspace/{permit.number}/code/"
    response = client.post(url, {"archive": _zip(PROJECT), "note": "first"})
    assert response.status_code == 302
    version = CodeVersion.objects.get()
    assert version.number == 1 and len(version.sha256) == 64
    assert [a["name"] for a in version.actions] == ["cohort", "counts"]
    stored = workspaces.code_dir(version)
    assert (stored / "analysis" / "cohort.py").is_file() and (stored / "output").is_dir()
    client.post(url, {"archive": _zip(PROJECT)})  # the same files: the same version
    assert CodeVersion.objects.count() == 1
    changed = {**PROJECT, "analysis/counts.py": PROJECT["analysis/counts.py"] + "\n# v2\n"}
    client.post(url, {"archive": _zip(changed)})
    assert list(CodeVersion.objects.values_list("number", flat=True)) == [2, 1]
    event = AuditEvent.objects.filter(kind=EventKind.CODE_SUBMITTED).last()
    assert event.details["sha256"] == CodeVersion.objects.get(number=2).sha256

    bad = client.post(url, {"archive": _zip({**PROJECT, "project.yaml": "version: 3\n"})})
    assert bad.status_code == 400 and "&#x27;version&#x27; must be 1" in bad.content.decode()
    assert AuditEvent.objects.filter(kind=EventKind.CODE_REFUSED).count() == 1
    not_zip = client.post(url, {"archive": io.BytesIO(b"hello")})
    assert not_zip.status_code == 400 and "not a zip or tar archive" in not_zip.content.decode()
    assert CodeVersion.objects.count() == 2


def test_actions_run_in_the_sandbox_on_the_extract(world: World, permit: Any) -> None:
    client = _client(world.applicant)
    client.post(f"/spe/workspace/{permit.number}/code/", {"archive": _zip(PROJECT)})
    run = client.post(
        f"/spe/workspace/{permit.number}/run/",
        {"code": 1, "action": ["counts"], "data": DataKind.EXTRACT},
    )
    assert run.status_code == 302
    workspace = Workspace.objects.get(permit=permit)
    cohort, counts = Job.objects.filter(workspace=workspace).order_by("pk")
    assert (cohort.action, counts.action) == ("cohort", "counts")
    assert list(counts.needs.all()) == [cohort]
    _run_all(workspace)
    cohort.refresh_from_db()
    counts.refresh_from_db()
    assert cohort.state == JobState.SUCCEEDED, (cohort.code, _log(cohort))
    assert counts.state == JobState.SUCCEEDED, (counts.code, _log(counts))
    [table] = counts.outputs
    assert table["path"] == "output/counts.csv" and table["sensitivity"] == "moderately_sensitive"
    # the automatic disclosure checks ran as the job ended (100 stays per diagnosis: no small
    # count, no identifier), stored with the file for the output checkers
    assert table["checks"]["status"] == "pass", table["checks"]
    assert {c["name"] for c in table["checks"]["checks"]} >= {"file_type", "identifiers", "rows"}
    assert "checks" not in cohort.outputs[0]  # highly sensitive: never proposed, not checked
    shown = client.get(f"/spe/workspace/{permit.number}/jobs/{counts.pk}/files/output/counts.csv")
    assert shown.status_code == 200
    assert shown.content.decode().startswith("diagnosis,n\n")
    assert "I50.0" in shown.content.decode()
    hidden = client.get(
        f"/spe/workspace/{permit.number}/jobs/{cohort.pk}/files/output/cohort.parquet"
    )
    assert hidden.status_code == 403
    page = client.get(f"/spe/workspace/{permit.number}/jobs/{counts.pk}/").content.decode()
    assert "counts [(" in page  # the log, in the workspace
    kinds = list(AuditEvent.objects.values_list("kind", flat=True))
    for kind in (EventKind.JOB_REQUESTED, EventKind.JOB_STARTED, EventKind.JOB_FINISHED,
                 EventKind.WORKSPACE_FILE_VIEWED):  # fmt: skip
        assert kind in kinds
    # the same code on the dummy data: the same actions succeed, no real record used
    jobs_before = Job.objects.count()
    workspaces.request_jobs(
        workspace=workspace, version=CodeVersion.objects.get(), actions=["counts"],
        by=world.applicant, data=DataKind.DUMMY,
    )  # fmt: skip
    _run_all(workspace)
    dummy_jobs = Job.objects.filter(data=DataKind.DUMMY)
    assert Job.objects.count() == jobs_before + 2
    assert {j.state for j in dummy_jobs} == {JobState.SUCCEEDED}, [
        (j.action, j.code, _log(j)) for j in dummy_jobs
    ]


def _log(job: Job) -> str:
    path = workspaces.job_dir(job) / "log.txt"
    return path.read_text(errors="replace")[-2000:] if path.exists() else ""


def test_undeclared_outputs_fail_the_job_and_a_failure_stops_what_needs_it(
    world: World, permit: Any
) -> None:
    broken = {
        **PROJECT,
        "analysis/cohort.py": "open('output/cohort.parquet', 'w').write('x')\n"
        "open('output/notes.txt', 'w').write('undeclared')\n",
    }
    workspace, version = _submitted(world, permit, broken)
    workspaces.request_jobs(
        workspace=workspace, version=version, actions=["counts"], by=world.applicant
    )
    _run_all(workspace)
    cohort, counts = Job.objects.order_by("pk")
    assert (cohort.state, cohort.code) == (JobState.FAILED, JobCode.UNMATCHED_OUTPUTS)
    assert (counts.state, counts.code) == (JobState.FAILED, JobCode.DEPENDENCY_FAILED)


def test_a_failing_script_fails_with_its_exit_code(world: World, permit: Any) -> None:
    failing = {**PROJECT, "analysis/cohort.py": "raise SystemExit(3)\n"}
    workspace, version = _submitted(world, permit, failing)
    [job] = workspaces.request_jobs(
        workspace=workspace, version=version, actions=["cohort"], by=world.applicant
    )
    _run_all(workspace)
    job.refresh_from_db()
    assert (job.state, job.code, job.exit_code) == (JobState.FAILED, JobCode.NONZERO_EXIT, 3)


def test_revoking_the_permit_locks_the_workspace(world: World, permit: Any) -> None:
    workspace, version = _submitted(world, permit)
    queued = workspaces.request_jobs(
        workspace=workspace, version=version, actions=["counts"], by=world.applicant,
        enqueue=False,
    )  # fmt: skip
    actions.revoke_permit(permit=permit, by=world.decider, reason="Breach of the conditions.")
    workspace.refresh_from_db()
    assert workspace.locked_at is not None
    assert {(j.state, j.code) for j in Job.objects.filter(pk__in=[j.pk for j in queued])} == {
        (JobState.FAILED, JobCode.WORKSPACE_LOCKED)
    }
    assert AuditEvent.objects.filter(kind=EventKind.WORKSPACE_LOCKED).count() == 1
    page = _client(world.applicant).get(f"/spe/workspace/{permit.number}/")
    assert page.status_code == 403


def test_a_job_whose_worker_was_lost_is_queued_again(world: World, permit: Any) -> None:
    workspace, version = _submitted(world, permit)
    [job] = workspaces.request_jobs(
        workspace=workspace, version=version, actions=["cohort"], by=world.applicant,
        enqueue=False,
    )  # fmt: skip
    long_ago = timezone.now() - timedelta(hours=5)
    Job.objects.filter(pk=job.pk).update(state=JobState.RUNNING, attempts=1, updated_at=long_ago)
    (workspaces.job_dir(job) / "output").mkdir(parents=True)
    (workspaces.job_dir(job) / "output" / "partial.tmp").write_text("half")
    assert workjobs.requeue_stalled() == [job.pk]
    job.refresh_from_db()
    assert job.state == JobState.QUEUED and job.attempts == 2
    assert not (workspaces.job_dir(job) / "output" / "partial.tmp").exists()
    workjobs.run_job(job.pk)
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, _log(job)
    assert AuditEvent.objects.filter(kind=EventKind.JOB_REQUEUED).count() == 1


def test_queued_jobs_wait_for_the_workspace_limit(world: World, permit: Any) -> None:
    workspace = workspaces.enter(permit=permit, by=world.applicant)
    Workspace.objects.filter(pk=workspace.pk).update(max_running_jobs=1)
    workspace.refresh_from_db()
    version = workspaces.submit_code(workspace=workspace, by=world.applicant, archive=_zip(PROJECT))
    for _ in range(3):
        workspaces.request_jobs(
            workspace=workspace, version=version, actions=["cohort"], by=world.applicant,
            enqueue=False,
        )  # fmt: skip
    assert len(workjobs.dispatch(workspace, enqueue=False)) == 1
    assert workjobs.dispatch(workspace, enqueue=False) == []  # one handed out: the limit


def test_cancel_a_queued_job(world: World, permit: Any) -> None:
    workspace, version = _submitted(world, permit)
    [job] = workspaces.request_jobs(
        workspace=workspace, version=version, actions=["cohort"], by=world.applicant,
        enqueue=False,
    )  # fmt: skip
    response = _client(world.applicant).post(
        f"/spe/workspace/{permit.number}/jobs/{job.pk}/cancel/"
    )
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.state, job.code) == (JobState.FAILED, JobCode.CANCELLED)
    assert (
        _client(world.stranger)
        .post(f"/spe/workspace/{permit.number}/jobs/{job.pk}/cancel/")
        .status_code
        == 403
    )


def test_dummy_data_download(world: World, permit: Any) -> None:
    response = _client(world.applicant).get(f"/spe/workspace/{permit.number}/dummy.zip")
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        names = archive.namelist()
    assert "dummy-manifest.json" in names and any(n.endswith(".parquet") for n in names)
    assert AuditEvent.objects.filter(kind=EventKind.DUMMY_DOWNLOADED).count() == 1
    assert (
        _client(world.stranger).get(f"/spe/workspace/{permit.number}/dummy.zip").status_code == 403
    )


def test_the_sample_project_is_offered_and_accepted(world: World, permit: Any) -> None:
    client = _client(world.applicant)
    sample = client.get(f"/spe/workspace/{permit.number}/sample-project.zip")
    assert sample.status_code == 200
    archive = io.BytesIO(sample.content)
    archive.name = "sample-project.zip"
    client.post(f"/spe/workspace/{permit.number}/code/", {"archive": archive})
    version = CodeVersion.objects.get()
    assert [a["name"] for a in version.actions] == ["describe", "stays", "length_of_stay"]
    page = client.get(f"/spe/workspace/{permit.number}/").content.decode()
    assert 'class="action-graph"' in page and "length_of_stay" in page
    assert (
        _client(world.stranger)
        .get(f"/spe/workspace/{permit.number}/sample-project.zip")
        .status_code
        == 403
    )


def test_the_sql_console_runs_read_only_in_the_sandbox(world: World, permit: Any) -> None:
    from datalux.spe.models import Query

    client = _client(world.applicant)
    url = f"/spe/workspace/{permit.number}/queries/"
    extract = permit.preparations.get().manifest["tables"][0]["name"]
    sql = f'select diagnosis, count(*) n from "{extract}" group by 1 order by 1'  # noqa: S608
    done = client.post(url, {"sql": sql, "data": "extract"})
    assert done.status_code == 302
    query = Query.objects.get()
    assert query.code == JobCode.SUCCEEDED, query.error
    assert query.rows == 2 and len(query.sha256) == 64
    page = client.get(done["Location"]).content.decode()
    assert "I50.0" in page and "S72.0" in page
    event = AuditEvent.objects.get(kind=EventKind.WORKSPACE_QUERY_RUN)
    assert "group by" in event.details["sql"]
    # nothing but the extract is readable, and nothing is written
    client.post(url, {"sql": "select * from read_csv('/etc/passwd')", "data": "extract"})
    failed = Query.objects.first()
    assert failed.code == JobCode.NONZERO_EXIT and "disabled" in failed.error
    client.post(url, {"sql": f'delete from "{extract}"', "data": "extract"})  # noqa: S608
    assert Query.objects.first().code == JobCode.NONZERO_EXIT
    assert _client(world.stranger).post(url, {"sql": "select 1"}).status_code == 403
    empty = client.post(url, {"sql": "  "})
    assert empty.status_code == 409


def test_every_workspace_page_refuses_all_but_the_authorised_persons(
    world: World, permit: Any
) -> None:
    """The permission matrix of the workspace: anonymous → sign-in, others → audited 403."""
    workspace, version = _submitted(world, permit)
    [job] = workspaces.request_jobs(
        workspace=workspace, version=version, actions=["cohort"], by=world.applicant,
        enqueue=False,
    )  # fmt: skip
    base = f"/spe/workspace/{permit.number}"
    pages = [
        ("get", f"{base}/"), ("get", f"{base}/dummy.zip"), ("get", f"{base}/sample-project.zip"),
        ("get", f"{base}/jobs/{job.pk}/"), ("get", f"{base}/jobs/{job.pk}/files/log.txt"),
        ("post", f"{base}/code/"), ("post", f"{base}/run/"), ("post", f"{base}/queries/"),
        ("post", f"{base}/jobs/{job.pk}/cancel/"),
    ]  # fmt: skip
    for method, url in pages:
        anonymous = getattr(Client(), method)(url)
        assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"], url
        for outsider in (world.stranger, world.handler, world.decider, world.colleague):
            before = AuditEvent.objects.filter(kind=EventKind.ACCESS_DENIED).count()
            refused = getattr(_client(outsider), method)(url)
            assert refused.status_code == 403, (url, outsider)
            assert AuditEvent.objects.filter(kind=EventKind.ACCESS_DENIED).count() > before
    assert _client(world.applicant).get(f"{base}/").status_code == 200
    job.refresh_from_db()
    assert job.state == JobState.QUEUED  # no refused cancel went through


def test_dummy_data_have_the_extracts_tables_and_columns(world: World, permit: Any) -> None:
    import pyarrow.parquet as pq

    from datalux.dataplane.codelists import code_list
    from datalux.spe.dummydata import _earlier_partner, ensure_dummy

    folder = ensure_dummy(permit, by=world.applicant)
    for table in permit.preparations.get().manifest["tables"]:
        dummy = pq.read_table(folder / table["file"])
        assert dummy.column_names == table["columns"]
        assert dummy.num_rows == min(table["rows"], 5000)
        if "diagnosis" in dummy.column_names:  # codes, never free text where codes are expected
            values = dummy.column("diagnosis").drop_null().to_pylist()
            assert values and all(code_list("icd10").contains(v) for v in values), values[:5]
    assert AuditEvent.objects.filter(kind=EventKind.DUMMY_GENERATED).count() == 1
    ensure_dummy(permit, by=world.applicant)  # made once
    assert AuditEvent.objects.filter(kind=EventKind.DUMMY_GENERATED).count() == 1
    dates = {"admission_date": {"type": "date"}, "discharge_date": {"type": "date"},
             "birth_date": {"type": "date"}, "death_date": {"type": "date"}}  # fmt: skip
    names = list(dates)
    assert _earlier_partner("discharge_date", names, dates) == ("admission_date", 30)
    assert _earlier_partner("death_date", names, dates) == ("birth_date", 36500)
    assert _earlier_partner("admission_date", names, dates) == (None, None)


def test_a_disclosive_output_is_flagged_as_the_job_ends(world: World, permit: Any) -> None:
    leaky = {
        **PROJECT,
        "analysis/cohort.py": 'import duckdb\nduckdb.sql("copy (select 1 x) to '
        "'output/cohort.parquet'\")\n",
        "analysis/counts.py": "import os, duckdb\nfrom pathlib import Path\n"
        "[t] = sorted(Path(os.environ['DATALUX_DATA']).glob('*.parquet'))\n"
        "duckdb.sql(f\"copy (select person_id, count(*) n from read_parquet('{t}') group by 1 "
        "limit 5) to 'output/counts.csv' (header)\")\n",
    }
    workspace, version = _submitted(world, permit, leaky)
    workspaces.request_jobs(
        workspace=workspace, version=version, actions=["counts"], by=world.applicant
    )
    _run_all(workspace)
    counts = Job.objects.get(action="counts")
    assert counts.state == JobState.SUCCEEDED, _log(counts)
    checks = counts.outputs[0]["checks"]
    assert checks["status"] == "fail"
    failed = {c["name"] for c in checks["checks"] if c["status"] == "fail"}
    assert "identifiers" in failed  # a pseudonym column, named without its values
    assert all(len(cell.get("column", "")) < 20 for c in checks["checks"] for cell in c["cells"])
    page = _client(world.applicant).get(f"/spe/workspace/{permit.number}/jobs/{counts.pk}/")
    assert "identifier or pseudonym columns: person_id" in page.content.decode()


def test_the_workspace_is_deleted_with_the_last_extract(world: World, permit: Any) -> None:
    workspace, version = _submitted(world, permit)
    workspaces.request_jobs(
        workspace=workspace, version=version, actions=["counts"], by=world.applicant
    )
    _run_all(workspace)
    folder = workspaces.root(permit)
    assert (folder / "code" / "v1" / "project.yaml").is_file()
    actions.revoke_permit(permit=permit, by=world.decider, reason="Breach of the conditions.")
    assert jobs.delete_expired() == [] and folder.exists()  # kept during the retention period
    later = timezone.now() + timedelta(days=settings.DATALUX_SPE_RETENTION_DAYS + 1)
    assert jobs.delete_expired(later) == [f"{permit.number} v1"]
    assert not folder.exists()  # code, outputs and logs gone, read-only code folders included
    assert Job.objects.filter(workspace=workspace).count() == 2  # the record of what ran stays
    assert AuditEvent.objects.filter(kind=EventKind.WORKSPACE_DELETED).count() == 1
