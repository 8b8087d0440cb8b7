"""Release requests: automatic checks as a gate, two blinded checkers, consolidation, release,
download of released files only, and the audit of every step (issue 13)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent
from datalux.core.errors import Conflict
from datalux.spe import releases
from datalux.spe.models import DataKind, Job, JobState, ReleaseFile, ReleaseRequest, Workspace
from datalux.spe.release_states import ReleaseState
from datalux.spe.workspaces import job_dir
from tests.access.world import World, _member
from tests.spe.test_workspace import _submitted

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("workspace_key")]

SAFE = "region,n\nNorth,120\nSouth,85\nEast,40\n"
SMALL = "region,n\nNorth,120\nSouth,3\nEast,40\n"


def _job(workspace: Workspace, files: dict[str, str], *, data: str = DataKind.EXTRACT) -> Job:
    """A job that succeeded and wrote ``files`` (moderately sensitive), as the worker leaves
    it (the sandbox itself is tested in test_workspace)."""
    version = workspace.versions.first()
    job = Job.objects.create(
        workspace=workspace,
        code_version=version,
        action="counts",
        data=data,
        state=JobState.SUCCEEDED,
        code="succeeded",
        requested_by=workspace.permit.application.applicant,
    )
    outputs = []
    for path, text in files.items():
        target = job_dir(job) / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        outputs.append(
            {
                "path": path,
                "name": Path(path).stem,
                "sensitivity": "moderately_sensitive",
                "size": len(text),
                "sha256": hashlib.sha256(text.encode()).hexdigest(),
            }
        )
    job.outputs = outputs
    job.save(update_fields=["outputs"])
    return job


def _draft(world: World, permit: Any, files: dict[str, str]) -> tuple[ReleaseRequest, Job]:
    workspace, _version = _submitted(world, permit)
    job = _job(workspace, files)
    request = releases.start(workspace=workspace, by=world.applicant, title="Stays by region")
    for path in files:
        releases.add_file(
            request=request,
            by=world.applicant,
            job=job,
            path=path,
            description="Stays by region",
            count_columns=["n"],
            underlying_counts="n is the number of stays",
            controls="none needed",
        )
    return request, job


def _approve_all(request: ReleaseRequest, *checkers: Any) -> None:
    """Each of ``checkers`` approves every file of the request, in turn."""
    for checker in checkers:
        votes = {f.pk: {"decision": "approve"} for f in request.files.all()}
        releases.review(request=request, by=checker, votes=votes)


def _kinds(request: ReleaseRequest) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="spe.releaserequest", object_id=str(request.pk))
        .order_by("pk")
        .values_list("kind", flat=True)
    )


def test_two_approvals_release_and_only_released_files_are_downloaded(
    world: World, permit: Any, checkers: tuple[Any, Any, Any]
) -> None:
    olga, oscar, _otto = checkers
    request, _ = _draft(world, permit, {"output/by_region.csv": SAFE})
    [file] = request.files.all()
    assert file.checks["status"] == "pass" and file.checks["sha256"] == file.sha256
    with pytest.raises(releases.NoAccess, match="not released"):
        releases.download(file=file, by=world.applicant)
    releases.submit(request=request, by=world.applicant)
    _approve_all(request, olga)
    request.refresh_from_db()
    assert request.state == ReleaseState.SUBMITTED  # one review is not enough
    _approve_all(request, oscar)
    request.refresh_from_db()
    assert request.state == ReleaseState.APPROVED
    with pytest.raises(releases.NoAccess, match="not released"):
        releases.download(file=file, by=world.applicant)
    releases.release(request=request, by=olga)
    path = releases.download(file=ReleaseFile.objects.get(pk=file.pk), by=world.applicant)
    assert path.read_text() == SAFE and not path.stat().st_mode & 0o222
    # only the permit's named persons download, not a checker nor a stranger
    for outsider in (olga, world.stranger):
        with pytest.raises(releases.NoAccess, match="named persons"):
            releases.download(file=file, by=outsider)
    assert _kinds(request) == [
        EventKind.RELEASE_CREATED,
        EventKind.RELEASE_EDITED,
        EventKind.ACCESS_DENIED,
        EventKind.RELEASE_SUBMITTED,
        EventKind.RELEASE_REVIEWED,
        EventKind.RELEASE_REVIEWED,
        EventKind.RELEASE_APPROVED,
        EventKind.ACCESS_DENIED,
        EventKind.RELEASE_RELEASED,
        EventKind.RELEASE_FILE_DOWNLOADED,
        EventKind.ACCESS_DENIED,
        EventKind.ACCESS_DENIED,
    ]


def test_a_small_cell_refuses_the_submission_with_the_reason(
    world: World, permit: Any, checkers: tuple[Any, Any, Any]
) -> None:
    request, _ = _draft(world, permit, {"output/by_region.csv": SMALL})
    [file] = request.files.all()
    failed = [c for c in file.checks["checks"] if c["status"] == "fail"]
    assert [c["name"] for c in failed] == ["min_count"]
    assert failed[0]["cells"] == [{"row": 2, "column": "n"}]
    assert "3" not in failed[0]["detail"].replace("under 10", "")  # the value is never named
    with pytest.raises(Conflict, match=r"by_region\.csv: min_count"):
        releases.submit(request=request, by=world.applicant)
    request.refresh_from_db()
    assert request.state == ReleaseState.DRAFT
    assert EventKind.RELEASE_REFUSED in _kinds(request)


def test_a_hidden_pseudonym_column_is_refused(world: World, permit: Any) -> None:
    pseudonym = hashlib.sha256(b"someone").hexdigest()
    table = f"group,ref,n\nA,{pseudonym},40\nB,{pseudonym[::-1]},50\n"
    request, _ = _draft(world, permit, {"output/t.csv": table})
    with pytest.raises(Conflict, match="identifiers"):
        releases.submit(request=request, by=world.applicant)


def test_differencing_against_an_earlier_release_is_refused(
    world: World, permit: Any, checkers: tuple[Any, Any, Any]
) -> None:
    olga, oscar, _ = checkers
    first, _ = _draft(world, permit, {"output/all_ages.csv": SAFE})
    releases.submit(request=first, by=world.applicant)
    _approve_all(first, olga, oscar)
    releases.release(request=first, by=olga)
    # the same table for adults only: South differs by 4, which isolates 4 children
    adults = "region,n\nNorth,120\nSouth,81\nEast,40\n"
    workspace = first.workspace
    job = _job(workspace, {"output/adults.csv": adults})
    second = releases.start(workspace=workspace, by=world.applicant, title="Adults")
    releases.add_file(
        request=second,
        by=world.applicant,
        job=job,
        path="output/adults.csv",
        description="adults by region",
        count_columns="n",
    )
    with pytest.raises(Conflict, match="differencing"):
        releases.submit(request=second, by=world.applicant)


def test_a_checker_cannot_see_the_other_vote_before_submitting(
    world: World, permit: Any, checkers: tuple[Any, Any, Any]
) -> None:
    olga, oscar, otto = checkers
    request, _ = _draft(world, permit, {"output/by_region.csv": SAFE})
    releases.submit(request=request, by=world.applicant)
    [file] = request.files.all()
    releases.review(request=request, by=olga, votes={file.pk: {"decision": "approve"}})
    assert not releases.votes_visible(request, oscar)
    releases.review(
        request=request,
        by=oscar,
        submit=False,
        votes={file.pk: {"decision": "changes", "public_comment": "round it"}},
    )
    assert not releases.votes_visible(request, oscar)  # a draft review is not submitted
    with pytest.raises(Conflict, match="two checkers"):
        releases.review(request=request, by=otto, votes={file.pk: {"decision": "approve"}})
    releases.review(request=request, by=oscar, votes={})
    request.refresh_from_db()
    assert releases.votes_visible(request, oscar)
    assert request.state == ReleaseState.CONSOLIDATING  # they disagree
    with pytest.raises(Conflict, match="every file on which"):
        releases.consolidate(request=request, by=otto, decisions={})
    releases.consolidate(
        request=request,
        by=otto,
        decisions={file.pk: {"decision": "changes", "public_comment": "round to 5"}},
    )
    request.refresh_from_db()
    assert request.state == ReleaseState.RETURNED
    # the researcher changes the file and resubmits: a new round with two new reviews
    releases.add_file(
        request=request,
        by=world.applicant,
        job=file.job,
        path=file.path,
        description="Stays by region, rounded",
        count_columns="n",
    )
    releases.submit(request=request, by=world.applicant)
    request.refresh_from_db()
    assert request.state == ReleaseState.SUBMITTED and request.round == 2
    assert not releases.votes_visible(request, olga)


def test_nobody_checks_their_own_request_or_one_of_their_organisation(
    world: World, permit: Any, checkers: tuple[Any, Any, Any]
) -> None:
    request, _ = _draft(world, permit, {"output/by_region.csv": SAFE})
    releases.submit(request=request, by=world.applicant)
    [file] = request.files.all()
    # a checker who also holds a role in the requester's lab
    insider = _member("output_checker", checkers[0].memberships.first().organisation, "ivan")
    from tests.factories.accounts import MembershipFactory

    MembershipFactory(user=insider, organisation=world.lab, role="applicant")
    for user, reason in [
        (world.applicant, "only output checkers"),
        (world.decider, "only output checkers"),
        (insider, "requester's organisation"),
    ]:
        with pytest.raises(releases.NotAChecker, match=reason):
            releases.review(request=request, by=user, votes={file.pk: {"decision": "approve"}})
    denied = AuditEvent.objects.filter(
        kind=EventKind.ACCESS_DENIED, object_id=str(request.pk), object_type="spe.releaserequest"
    )
    assert [e.details["action"] for e in denied] == ["release.review"] * 3


def test_only_moderately_sensitive_outputs_of_extract_jobs_are_proposed(
    world: World, permit: Any
) -> None:
    workspace, _ = _submitted(world, permit)
    dummy = _job(workspace, {"output/t.csv": SAFE}, data=DataKind.DUMMY)
    secret = _job(workspace, {"output/c.csv": SAFE})
    secret.outputs = [{**secret.outputs[0], "sensitivity": "highly_sensitive"}]
    secret.save()
    request = releases.start(workspace=workspace, by=world.applicant, title="t")
    with pytest.raises(Conflict, match="dummy data"):
        releases.add_file(
            request=request, by=world.applicant, job=dummy, path="output/t.csv", description="x"
        )
    with pytest.raises(Conflict, match="highly sensitive"):
        releases.add_file(
            request=request, by=world.applicant, job=secret, path="output/c.csv", description="x"
        )
    with pytest.raises(Conflict, match="open release request"):
        releases.start(workspace=workspace, by=world.applicant, title="another")
    assert [(j.pk, o["path"]) for j, o in releases.releasable_outputs(workspace)] == []


def test_a_file_changed_after_the_checks_is_not_released(
    world: World, permit: Any, checkers: tuple[Any, Any, Any]
) -> None:
    olga, oscar, _ = checkers
    request, job = _draft(world, permit, {"output/by_region.csv": SAFE})
    releases.submit(request=request, by=world.applicant)
    _approve_all(request, olga, oscar)
    (job_dir(job) / "output/by_region.csv").write_text(SMALL)
    with pytest.raises(Conflict, match="changed or vanished"):
        releases.release(request=request, by=olga)
    request.refresh_from_db()
    assert request.state == ReleaseState.APPROVED
    assert not releases.released_root(permit).exists() or not any(
        releases.released_root(permit).rglob("*.csv")
    )


def test_reject_needs_reasons_and_withdraw_is_the_requesters(
    world: World, permit: Any, checkers: tuple[Any, Any, Any]
) -> None:
    olga = checkers[0]
    request, _ = _draft(world, permit, {"output/by_region.csv": SAFE})
    with pytest.raises(Exception, match="cannot reject"):
        releases.reject(request=request, by=olga, reasons="no")  # still a draft
    releases.submit(request=request, by=world.applicant)
    with pytest.raises(Conflict, match="reasons"):
        releases.reject(request=request, by=olga, reasons=" ")
    with pytest.raises(releases.NoAccess):
        releases.withdraw(request=request, by=world.colleague)
    releases.reject(request=request, by=olga, reasons="Row-level data")
    request.refresh_from_db()
    assert request.state == ReleaseState.REJECTED and request.reasons == "Row-level data"
    with pytest.raises(Exception, match="cannot withdraw"):
        releases.withdraw(request=request, by=world.applicant)
