"""Release requests: taking output files out of a workspace after two independent checks.

Every function here is an action in the STYLE sense (keyword-only, checks who may do it,
changes state and writes the audit event in one transaction). The state machine is
:mod:`datalux.spe.release_states`; the automatic checks are
:mod:`datalux.privacy.output_checks`, run when a file is added and again on submission (a
failed check refuses the submission, naming the file and the check).

Who does what:

- the researcher: a named person of the permit who may work with its data now
  (:func:`datalux.spe.workspaces.check_access`) drafts, edits, submits, resubmits and withdraws
  their own request (one open request per person per project);
- an output checker: holds ``outputs.check`` and is not involved (not the requester, no role in
  the permit's organisation or in one of the requester's organisations, not named on the
  permit). Two checkers review each round, blind: neither sees the other's votes before both
  reviews are in. Any uninvolved checker consolidates a disagreement, rejects or releases;
- the download of a released file: a named person of the permit, whatever its state now (a
  released file holds no personal data). Nothing else is ever downloaded.

Released files are copied, read-only, to ``<storage>/spe/<permit>/released/<file id>/<name>``
after their SHA-256 is checked against the one the checkers saw.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from datalux.access.actions.conflicts import conflict_of
from datalux.access.actions.permits import NoAccess
from datalux.access.models import Permit
from datalux.accounts.permissions import grants, has_permission
from datalux.accounts.roles import Permission
from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.core.errors import Conflict
from datalux.spe.models import (
    DataKind,
    FileDecision,
    Job,
    JobState,
    ReleaseFile,
    ReleaseRequest,
    Review,
    Vote,
    Workspace,
)
from datalux.spe.release_states import (
    CHECKING,
    ReleaseAction,
    ReleaseState,
    check_release,
)
from datalux.spe.workspaces import check_access, job_dir

S = ReleaseState
A = ReleaseAction
RELEASABLE = "moderately_sensitive"
REVIEWERS_PER_ROUND = 2


class NotAChecker(PermissionDenied):
    """The user may not check this request (no role, or involved in it)."""


def released_root(permit: Permit) -> Path:
    return Path(settings.DATALUX_STORAGE) / "spe" / permit.number / "released"


def released_path(file: ReleaseFile) -> Path:
    return released_root(file.request.workspace.permit) / str(file.pk) / file.filename


def source_path(file: ReleaseFile) -> Path:
    return job_dir(file.job) / file.path


def _audit(kind: EventKind, request: ReleaseRequest, by: Any, **details: Any) -> None:
    permit = request.workspace.permit
    record(
        kind,
        actor=by,
        organisation=permit.organisation,
        obj=request,
        details={"permit": permit.number, "request": request.pk, **details},
    )


def _locked(request: ReleaseRequest) -> ReleaseRequest:
    return ReleaseRequest.objects.select_for_update().get(pk=request.pk)


# --- the researcher ------------------------------------------------------------------------


def releasable_outputs(workspace: Workspace) -> list[tuple[Job, dict[str, Any]]]:
    """The outputs that may be proposed: moderately sensitive outputs of jobs that succeeded on
    the extract (dummy-data outputs show nothing worth releasing)."""
    jobs = workspace.jobs.filter(state=JobState.SUCCEEDED, data=DataKind.EXTRACT).order_by("-pk")
    return [(job, o) for job in jobs for o in job.outputs if o.get("sensitivity") == RELEASABLE]


def _own(request: ReleaseRequest, by: Any) -> None:
    check_access(request.workspace.permit, by)
    if request.requested_by_id != by.pk:
        raise NoAccess(
            _("only the person who made release request %(id)s may change it") % {"id": request.pk}
        )


def start(*, workspace: Workspace, by: Any, title: str, summary: str = "") -> ReleaseRequest:
    """Open a draft request (one open request per person per project)."""
    check_access(workspace.permit, by)
    title = title.strip()
    if not title:
        raise Conflict(_("give the release request a title (what the outputs are about)"))
    try:
        with transaction.atomic():
            request = ReleaseRequest.objects.create(
                workspace=workspace, title=title[:200], summary=summary.strip(), requested_by=by
            )
            _audit(EventKind.RELEASE_CREATED, request, by, title=request.title)
    except IntegrityError:
        raise Conflict(
            _(
                "you have an open release request for this project: add the files to it, or "
                "withdraw it first"
            )
        ) from None
    return request


def open_request(workspace: Workspace, user: Any) -> ReleaseRequest | None:
    from datalux.spe.release_states import OPEN

    return workspace.releases.filter(requested_by=user, state__in=[s.value for s in OPEN]).first()


def _columns(value: Iterable[str] | str) -> list[str]:
    items = value.split(",") if isinstance(value, str) else list(value)
    return [c.strip() for c in items if c and c.strip()]


def add_file(
    *,
    request: ReleaseRequest,
    by: Any,
    job: Job,
    path: str,
    description: str,
    underlying_counts: str = "",
    controls: str = "",
    count_columns: Iterable[str] | str = (),
    magnitude_columns: Iterable[str] | str = (),
) -> ReleaseFile:
    """Propose one output of a finished job, with its context (what it shows, the counts
    behind every rate or figure, the disclosure controls applied). Adding a file that is
    already proposed updates its context. The automatic checks run at once."""
    _own(request, by)
    with transaction.atomic():
        request = _locked(request)
        check_release(request.state, A.EDIT)
        if job.workspace_id != request.workspace_id:
            raise Conflict(_("job %(id)s belongs to another workspace") % {"id": job.pk})
        output = next((o for o in job.outputs if o["path"] == path), None)
        if job.state != JobState.SUCCEEDED or output is None:
            raise Conflict(_("job %(id)s has no output %(path)s") % {"id": job.pk, "path": path})
        if output.get("sensitivity") != RELEASABLE:
            raise Conflict(
                _(
                    "%(path)s is declared highly sensitive in project.yaml: it never leaves the "
                    "workspace; write an aggregate output declared moderately_sensitive"
                )
                % {"path": path}
            )
        if job.data != DataKind.EXTRACT:
            raise Conflict(
                _("outputs computed on dummy data are not released: run the action on the extract")
            )
        if not description.strip():
            raise Conflict(_("say what %(path)s shows") % {"path": path})
        file, _created = ReleaseFile.objects.update_or_create(
            request=request,
            job=job,
            path=path,
            defaults={
                "name": output.get("name", ""),
                "sha256": output["sha256"],
                "size": output.get("size", 0),
                "description": description.strip(),
                "underlying_counts": underlying_counts.strip(),
                "controls": controls.strip(),
                "count_columns": _columns(count_columns),
                "magnitude_columns": _columns(magnitude_columns),
                "decision": "",
            },
        )
        _run_checks(file)
        _audit(
            EventKind.RELEASE_EDITED,
            request,
            by,
            change="file_added",
            job=job.pk,
            file=path,
            sha256=file.sha256,
            check=file.checks.get("status"),
        )
    return file


def remove_file(*, request: ReleaseRequest, by: Any, file: ReleaseFile) -> None:
    _own(request, by)
    with transaction.atomic():
        request = _locked(request)
        check_release(request.state, A.EDIT)
        if file.request_id != request.pk:
            raise Conflict(_("that file is not part of this release request"))
        _audit(
            EventKind.RELEASE_EDITED,
            request,
            by,
            change="file_removed",
            job=file.job_id,
            file=file.path,
            sha256=file.sha256,
        )
        file.delete()


def _rules(file: ReleaseFile) -> Any:
    from datalux.privacy.output_checks import Rules

    rules = Rules.from_permit(file.request.workspace.permit.output_rules or {})
    return dataclasses.replace(
        rules,
        count_columns=tuple(file.count_columns),
        magnitude_columns=tuple(file.magnitude_columns),
    )


def _earlier(file: ReleaseFile) -> list[Path]:
    """What a table might be differenced against: the project's released files, and the other
    files of the same request."""
    workspace_id = file.request.workspace_id
    released = ReleaseFile.objects.filter(
        request__workspace_id=workspace_id, request__state=S.RELEASED
    ).exclude(released_sha256="")
    siblings = file.request.files.exclude(pk=file.pk)
    paths = [released_path(f) for f in released] + [source_path(f) for f in siblings]
    return [p for p in paths if p.is_file()]


def _run_checks(file: ReleaseFile) -> None:
    """The automatic checks of one file, stored with its SHA-256 and the rules used. A file
    that changed since its job wrote it (or is gone) fails."""
    from datalux.privacy.output_checks import FAIL, check_file

    path = source_path(file)
    now = timezone.now()
    if not path.is_file():
        file.checks = {
            "status": FAIL,
            "sha256": "",
            "rules": {},
            "checks": [
                {
                    "name": "file",
                    "status": FAIL,
                    "cells": [],
                    "detail": _("the file is no longer in the workspace: run the action again"),
                }
            ],
        }
    else:
        verdict = check_file(path, _rules(file), earlier=_earlier(file))
        data = verdict.as_data()
        if data["sha256"] != file.sha256:
            data["status"] = FAIL
            data["checks"].insert(
                0,
                {
                    "name": "integrity",
                    "status": FAIL,
                    "cells": [],
                    "detail": _("the file changed after its job wrote it"),
                },
            )
        file.checks = data
    file.checked_at = now
    file.save(update_fields=["checks", "checked_at"])


def submit(*, request: ReleaseRequest, by: Any) -> ReleaseRequest:
    """Submit (or resubmit) for checking: every check runs again; one that fails refuses the
    submission (audited ``release.refused``), naming the file and the check."""
    from datalux.privacy.output_checks import FAIL

    _own(request, by)
    with transaction.atomic():
        request = _locked(request)
        action = A.RESUBMIT if request.state == S.RETURNED else A.SUBMIT
        check_release(request.state, action)
        files = list(request.files.select_related("job", "request__workspace__permit"))
        if not files:
            raise Conflict(_("add at least one output file to the release request"))
        for file in files:
            _run_checks(file)
        failed = [(f, c) for f in files for c in f.checks.get("checks", []) if c["status"] == FAIL]
    if failed:
        with transaction.atomic():
            _audit(
                EventKind.RELEASE_REFUSED,
                request,
                by,
                failed=[{"file": f.path, "check": c["name"]} for f, c in failed],
            )
        raise Conflict(
            _(
                "the automatic checks refuse %(items)s: fix the outputs (or their declared count "
                "columns), run the action again and add the new output"
            )
            % {
                "items": "; ".join(
                    f"{f.filename}: {c['name']} ({c['detail']})" for f, c in failed[:5]
                )
            }
        )
    with transaction.atomic():
        request = _locked(request)
        now = timezone.now()
        request.state, request.round = S.SUBMITTED, request.round + 1
        request.submitted_at = now
        request.first_submitted_at = request.first_submitted_at or now
        request.reasons = ""
        request.save()
        request.files.update(decision="")
        _audit(
            EventKind.RELEASE_SUBMITTED,
            request,
            by,
            round=request.round,
            files=[
                {
                    "file": f.path,
                    "job": f.job_id,
                    "sha256": f.sha256,
                    "check": f.checks.get("status"),
                }
                for f in files
            ],
        )
    return request


def withdraw(*, request: ReleaseRequest, by: Any, reason: str = "") -> ReleaseRequest:
    if request.requested_by_id != by.pk:
        raise NoAccess(
            _("only the person who made release request %(id)s may withdraw it")
            % {"id": request.pk}
        )
    with transaction.atomic():
        request = _locked(request)
        check_release(request.state, A.WITHDRAW)
        request.state, request.decided_at = S.WITHDRAWN, timezone.now()
        request.reasons = reason.strip()
        request.save(update_fields=["state", "decided_at", "reasons"])
        _audit(EventKind.RELEASE_WITHDRAWN, request, by)
    return request


# --- output checkers -----------------------------------------------------------------------


def checker_refusal(request: ReleaseRequest, user: Any) -> str:
    """Why ``user`` may not check ``request`` ('' when they may)."""
    if not getattr(user, "is_authenticated", False):
        return _("sign in as an output checker")
    if not has_permission(user, Permission.CHECK_OUTPUTS):
        return _("only output checkers check release requests")
    permit = request.workspace.permit
    if request.requested_by_id == user.pk:
        return _("you made this release request: nobody checks their own request")
    theirs = {g.organisation_id for g in grants(request.requested_by)} - {None}
    if any(g.organisation_id in theirs for g in grants(user)):
        return _(
            "you hold a role in the requester's organisation: a checker from outside it "
            "must check this request"
        )
    conflict = conflict_of(user, permit.application)
    if conflict is not None:
        return _("conflict of interest: %(why)s") % {"why": conflict.for_you()}
    return ""


def _as_checker(request: ReleaseRequest, by: Any, action: str) -> None:
    reason = checker_refusal(request, by)
    if reason:
        permit = request.workspace.permit
        record(
            EventKind.ACCESS_DENIED,
            actor=by if getattr(by, "is_authenticated", False) else None,
            organisation=permit.organisation,
            obj=request,
            details={"action": f"release.{action}", "reason": reason[:500]},
        )
        raise NotAChecker(reason)


def view_file(*, file: ReleaseFile, by: Any) -> Path:
    """The proposed file, for a checker of its request (audited) or its requester (who may
    work with the data: a workspace file view)."""
    request = file.request
    if request.requested_by_id == getattr(by, "pk", None):
        check_access(request.workspace.permit, by)
    else:
        _as_checker(request, by, "view_file")
        if request.state not in CHECKING:
            raise NoAccess(_("release request %(id)s is not being checked") % {"id": request.pk})
    path = source_path(file)
    if not path.is_file():
        raise NoAccess(_("the file is not there (any more)"))
    with transaction.atomic():
        _audit(EventKind.RELEASE_FILE_VIEWED, request, by, file=file.path, job=file.job_id)
    return path


def current_reviews(request: ReleaseRequest) -> list[Review]:
    return list(request.reviews.filter(round=request.round, consolidation=False))


def votes_visible(request: ReleaseRequest, user: Any) -> bool:
    """Blinding: a checker sees the other checker's votes only once both reviews of the round
    are submitted (or the round has moved on). Read from the database, never from a stale
    object."""
    request = ReleaseRequest.objects.get(pk=request.pk)
    reviews = current_reviews(request)
    submitted = [r for r in reviews if r.submitted_at]
    return len(submitted) >= REVIEWERS_PER_ROUND or request.state != S.SUBMITTED


def review(
    *,
    request: ReleaseRequest,
    by: Any,
    votes: Mapping[int, Mapping[str, str]],
    submit: bool = True,
) -> Review:
    """Record ``by``'s votes on the round's files ({file id: {decision, private_comment,
    public_comment}}); ``submit`` closes the review (a vote on every file is needed). The second
    submitted review decides the round: all approved → approved; a disagreement on a file →
    consolidating; otherwise (changes requested) → returned."""
    _as_checker(request, by, "review")
    with transaction.atomic():
        request = _locked(request)
        check_release(request.state, A.REVIEW)
        mine = Review.objects.filter(
            request=request, round=request.round, checker=by, consolidation=False
        ).first()
        if mine is None:
            others = Review.objects.filter(
                request=request, round=request.round, consolidation=False
            ).count()
            if others >= REVIEWERS_PER_ROUND:
                raise Conflict(
                    _("two checkers already review this round of request %(id)s")
                    % {"id": request.pk}
                )
            mine = Review.objects.create(request=request, round=request.round, checker=by)
        elif mine.submitted_at:
            raise Conflict(_("you submitted your review of this round already"))
        files = {f.pk: f for f in request.files.all()}
        for file_id, vote in votes.items():
            if int(file_id) not in files:
                raise Conflict(_("file %(id)s is not part of this request") % {"id": file_id})
            decision = vote.get("decision", "")
            if decision not in FileDecision.values:
                raise Conflict(_("vote approve or changes on each file"))
            public = vote.get("public_comment", "").strip()
            if decision == FileDecision.CHANGES and not public:
                raise Conflict(
                    _(
                        "say what the researcher must change in %(file)s (a comment "
                        "the researcher sees)"
                    )
                    % {"file": files[int(file_id)].filename}
                )
            Vote.objects.update_or_create(
                review=mine,
                file=files[int(file_id)],
                defaults={
                    "decision": decision,
                    "public_comment": public,
                    "private_comment": vote.get("private_comment", "").strip(),
                },
            )
        if not submit:
            return mine
        missing = set(files) - set(mine.votes.values_list("file_id", flat=True))
        if missing:
            raise Conflict(
                _("vote on every file before you submit the review (%(n)s left)")
                % {"n": len(missing)}
            )
        mine.submitted_at = timezone.now()
        mine.save(update_fields=["submitted_at"])
        _audit(
            EventKind.RELEASE_REVIEWED,
            request,
            by,
            round=request.round,
            votes=[
                {"file": v.file.path, "decision": v.decision}
                for v in mine.votes.select_related("file")
            ],
        )
        submitted = [r for r in current_reviews(request) if r.submitted_at]
        if len(submitted) >= REVIEWERS_PER_ROUND:
            _decide_round(request, submitted, by)
    return mine


def _decide_round(request: ReleaseRequest, reviews: list[Review], by: Any) -> None:
    decisions: dict[int, set[str]] = {}
    for r in reviews:
        for v in r.votes.all():
            decisions.setdefault(v.file_id, set()).add(v.decision)
    disputed = [f for f, d in decisions.items() if len(d) > 1]
    for file_id, d in decisions.items():
        if len(d) == 1:
            ReleaseFile.objects.filter(pk=file_id).update(decision=d.pop())
    if disputed:
        request.state = S.CONSOLIDATING
        request.save(update_fields=["state"])
        return
    _settle(request, by)


def _settle(request: ReleaseRequest, by: Any) -> None:
    """Every file has a decision: approved when all approve, else returned for changes."""
    changes = request.files.filter(decision=FileDecision.CHANGES)
    if changes.exists():
        request.state = S.RETURNED
        request.save(update_fields=["state"])
        _audit(
            EventKind.RELEASE_RETURNED,
            request,
            by,
            round=request.round,
            files=[f.path for f in changes],
        )
    else:
        request.state = S.APPROVED
        request.save(update_fields=["state"])
        _audit(EventKind.RELEASE_APPROVED, request, by, round=request.round)


def consolidate(
    *, request: ReleaseRequest, by: Any, decisions: Mapping[int, Mapping[str, str]]
) -> ReleaseRequest:
    """Decide each file the two reviews disagree on ({file id: {decision, public_comment}})."""
    _as_checker(request, by, "consolidate")
    with transaction.atomic():
        request = _locked(request)
        check_release(request.state, A.CONSOLIDATE)
        disputed = {f.pk: f for f in request.files.filter(decision="")}
        if set(map(int, decisions)) != set(disputed):
            raise Conflict(_("decide every file on which the checkers disagree, and only those"))
        review_ = Review.objects.create(
            request=request,
            round=request.round,
            checker=by,
            consolidation=True,
            submitted_at=timezone.now(),
        )
        for file_id, vote in decisions.items():
            decision = vote.get("decision", "")
            if decision not in FileDecision.values:
                raise Conflict(_("decide approve or changes on each disputed file"))
            public = vote.get("public_comment", "").strip()
            if decision == FileDecision.CHANGES and not public:
                raise Conflict(
                    _("say what the researcher must change (a comment the researcher sees)")
                )
            file = disputed[int(file_id)]
            Vote.objects.create(
                review=review_,
                file=file,
                decision=decision,
                public_comment=public,
                private_comment=vote.get("private_comment", "").strip(),
            )
            file.decision = decision
            file.save(update_fields=["decision"])
        _audit(
            EventKind.RELEASE_CONSOLIDATED,
            request,
            by,
            round=request.round,
            decisions=[
                {"file": disputed[int(k)].path, "decision": v["decision"]}
                for k, v in decisions.items()
            ],
        )
        _settle(request, by)
    return request


def reject(*, request: ReleaseRequest, by: Any, reasons: str) -> ReleaseRequest:
    """Refuse the request for good, with reasons the researcher reads."""
    _as_checker(request, by, "reject")
    if not reasons.strip():
        raise Conflict(_("give the reasons for the rejection (the researcher reads them)"))
    with transaction.atomic():
        request = _locked(request)
        check_release(request.state, A.REJECT)
        request.state, request.decided_at = S.REJECTED, timezone.now()
        request.reasons = reasons.strip()
        request.save(update_fields=["state", "decided_at", "reasons"])
        _audit(EventKind.RELEASE_REJECTED, request, by, round=request.round)
    return request


def release(*, request: ReleaseRequest, by: Any) -> ReleaseRequest:
    """Copy the approved files out of the workspace, read-only, after checking each is
    byte-for-byte the file the checkers approved."""
    _as_checker(request, by, "release")
    with transaction.atomic():
        request = _locked(request)
        check_release(request.state, A.RELEASE)
        files = list(request.files.select_related("job", "request__workspace__permit"))
        copied: list[Path] = []
        try:
            for file in files:
                source, target = source_path(file), released_path(file)
                digest = hashlib.sha256(source.read_bytes()).hexdigest() if source.is_file() else ""
                if digest != file.sha256:
                    raise Conflict(
                        _(
                            "%(file)s changed or vanished since it was checked: it "
                            "cannot be released"
                        )
                        % {"file": file.filename}
                    )
                target.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
                shutil.copyfile(source, target)
                target.chmod(0o440)
                copied.append(target)
                file.released_sha256 = digest
                file.save(update_fields=["released_sha256"])
        except Exception:
            for path in copied:
                shutil.rmtree(path.parent, ignore_errors=True)
            raise
        request.state, request.decided_at, request.released_by = S.RELEASED, timezone.now(), by
        request.save(update_fields=["state", "decided_at", "released_by"])
        _audit(
            EventKind.RELEASE_RELEASED,
            request,
            by,
            files=[{"file": f.path, "sha256": f.released_sha256} for f in files],
        )
    return request


def download(*, file: ReleaseFile, by: Any) -> Path:
    """A released file, for a named person of the permit (audited). Nothing unreleased."""
    request = file.request
    permit = request.workspace.permit
    named = (
        getattr(by, "is_authenticated", False)
        and permit.application.named_persons.filter(user=by).exists()
    )
    reason = ""
    if not named:
        reason = _("only the named persons of permit %(number)s download its released files") % {
            "number": permit.number
        }
    elif request.state != S.RELEASED or not file.released_sha256:
        reason = _("%(file)s is not released: only released files leave the environment") % {
            "file": file.filename
        }
    if reason:
        record(
            EventKind.ACCESS_DENIED,
            actor=by if getattr(by, "is_authenticated", False) else None,
            organisation=permit.organisation,
            obj=request,
            details={"action": "release.download", "reason": reason[:500]},
        )
        raise NoAccess(reason)
    path = released_path(file)
    if not path.is_file():
        raise NoAccess(_("the released file is missing: tell the operators"))
    with transaction.atomic():
        _audit(
            EventKind.RELEASE_FILE_DOWNLOADED,
            request,
            by,
            file=file.filename,
            sha256=file.released_sha256,
        )
    return path
