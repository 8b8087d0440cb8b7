"""The release pages: the researcher's requests in the workspace, the output checkers' queue
and review page, and the download of released files (``spe:release*``, ``spe:check*``).

Every action goes through :mod:`datalux.spe.releases` (which checks who may do it and audits
it); refusals are 403 pages naming the reason, bad input a 409 with the form again.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from datalux.access.actions.permits import NoAccess
from datalux.access.models import Permit
from datalux.access.states import TransitionError
from datalux.accounts.permissions import has_permission
from datalux.accounts.roles import Permission
from datalux.core.errors import Conflict
from datalux.core.guards import deny
from datalux.spe import releases, workspaces
from datalux.spe.models import FileDecision, Job, ReleaseFile, ReleaseRequest, Review
from datalux.spe.release_states import CHECKING, RELEASE_STATE_LABELS, ReleaseState
from datalux.spe.views_workspace import SHOWN_TYPES, _permit

S = ReleaseState


def _named(permit: Permit, user: Any) -> bool:
    return bool(permit.application.named_persons.filter(user=user).exists())


def _for_named(request: HttpRequest, number: str) -> Permit:
    """The permit, for one of its named persons (its release pages stay readable after the
    permit ends; what changes state needs the workspace open, see the actions)."""
    permit = _permit(number)
    if not _named(permit, request.user):
        raise deny(
            request,
            "spe.release",
            _("only the named persons of permit %(number)s see its release requests")
            % {"number": permit.number},
        )
    return permit


def _request_of(permit: Permit, request_id: int) -> ReleaseRequest:
    return get_object_or_404(
        ReleaseRequest.objects.select_related("workspace__permit", "requested_by"),
        pk=request_id,
        workspace__permit=permit,
    )


def _state_label(state: str) -> str:
    return str(RELEASE_STATE_LABELS[ReleaseState(state)])


def _public_comments(item: ReleaseRequest) -> dict[int, list[str]]:
    """What the checkers said to the researcher on each file in the latest decided round
    (never who said it, never the private comments)."""
    decided = item.round - 1 if item.state in (S.SUBMITTED, S.CONSOLIDATING) else item.round
    comments: dict[int, list[str]] = {}
    for review in item.reviews.filter(round=decided, submitted_at__isnull=False):
        for vote in review.votes.all():
            if vote.public_comment:
                comments.setdefault(vote.file_id, []).append(vote.public_comment)
    return comments


def _columns(file: ReleaseFile) -> list[str]:
    """A table's column names (its header row), to help declare the count columns."""
    import csv

    path = releases.source_path(file)
    if path.suffix.lower() != ".csv" or not path.is_file():
        return []
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        return next(csv.reader([handle.readline(4096)]), [])


# --- the researcher ------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def release_list(request: HttpRequest, number: str) -> HttpResponse:
    permit = _for_named(request, number)
    workspace = workspaces.workspace_of(permit)
    error = ""
    if request.method == "POST":
        try:
            item = releases.start(
                workspace=workspace,
                by=request.user,
                title=request.POST.get("title", ""),
                summary=request.POST.get("summary", ""),
            )
        except NoAccess as exc:
            raise PermissionDenied(str(exc)) from exc
        except Conflict as exc:
            error = str(exc)
        else:
            return redirect("spe:release", number=permit.number, request_id=item.pk)
    items = workspace.releases.select_related("requested_by").order_by("-pk")
    response = render(
        request,
        "spe/releases.html",
        {
            "permit": permit,
            "items": items,
            "error": error,
            "open": releases.open_request(workspace, request.user),
            "labels": RELEASE_STATE_LABELS,
        },
        status=409 if error else 200,
    )
    add_never_cache_headers(response)
    return response


def _render_release(
    request: HttpRequest,
    permit: Permit,
    item: ReleaseRequest,
    *,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    files = list(item.files.select_related("job"))
    comments = _public_comments(item)
    for f in files:
        f.public_comments = comments.get(f.pk, [])  # type: ignore[attr-defined]
        f.columns = _columns(f)  # type: ignore[attr-defined]
    proposed = {(f.job_id, f.path) for f in files}
    mine = item.requested_by_id == request.user.pk
    offer = []
    if mine and item.state in (S.DRAFT, S.RETURNED):
        offer = [
            {
                "value": f"{job.pk}:{o['path']}",
                "job": job,
                "output": o,
                "proposed": (job.pk, o["path"]) in proposed,
            }
            for job, o in releases.releasable_outputs(item.workspace)
        ]
    response = render(
        request,
        "spe/release.html",
        {
            "permit": permit,
            "item": item,
            "files": files,
            "offer": offer,
            "mine": mine,
            "state_label": _state_label(item.state),
            "editable": mine and item.state in (S.DRAFT, S.RETURNED),
            "error": error,
            "published": item.data_product,
        },
        status=status,
    )
    add_never_cache_headers(response)
    return response


@require_GET
@login_required
def release(request: HttpRequest, number: str, request_id: int) -> HttpResponse:
    permit = _for_named(request, number)
    return _render_release(request, permit, _request_of(permit, request_id))


def _act(
    request: HttpRequest, permit: Permit, item: ReleaseRequest, action: Any, done: str
) -> HttpResponse:
    try:
        action()
    except NoAccess as exc:
        raise PermissionDenied(str(exc)) from exc
    except Conflict as exc:  # TransitionError is a Conflict
        return _render_release(request, permit, item, error=str(exc), status=409)
    messages.success(request, done)
    return redirect("spe:release", number=permit.number, request_id=item.pk)


@require_POST
@login_required
def release_add(request: HttpRequest, number: str, request_id: int) -> HttpResponse:
    permit = _for_named(request, number)
    item = _request_of(permit, request_id)
    job_id, _sep, path = request.POST.get("output", "").partition(":")
    job = (
        Job.objects.filter(pk=job_id, workspace=item.workspace).first()
        if job_id.isdigit()
        else None
    )
    if job is None:
        return _render_release(
            request, permit, item, status=409, error=_("choose an output of a finished job")
        )
    post = request.POST
    return _act(
        request,
        permit,
        item,
        lambda: releases.add_file(
            request=item,
            by=request.user,
            job=job,
            path=path,
            description=post.get("description", ""),
            underlying_counts=post.get("underlying_counts", ""),
            controls=post.get("controls", ""),
            count_columns=post.get("count_columns", ""),
            magnitude_columns=post.get("magnitude_columns", ""),
        ),
        _("%(path)s added and checked.") % {"path": path},
    )


@require_POST
@login_required
def release_remove(
    request: HttpRequest, number: str, request_id: int, file_id: int
) -> HttpResponse:
    permit = _for_named(request, number)
    item = _request_of(permit, request_id)
    file = get_object_or_404(ReleaseFile, pk=file_id, request=item)
    return _act(
        request,
        permit,
        item,
        lambda: releases.remove_file(request=item, by=request.user, file=file),
        _("%(path)s removed.") % {"path": file.path},
    )


@require_POST
@login_required
def release_submit(request: HttpRequest, number: str, request_id: int) -> HttpResponse:
    permit = _for_named(request, number)
    item = _request_of(permit, request_id)
    return _act(
        request,
        permit,
        item,
        lambda: releases.submit(request=item, by=request.user),
        _("Submitted: two output checkers will review each file."),
    )


@require_POST
@login_required
def release_withdraw(request: HttpRequest, number: str, request_id: int) -> HttpResponse:
    permit = _for_named(request, number)
    item = _request_of(permit, request_id)
    return _act(
        request,
        permit,
        item,
        lambda: releases.withdraw(
            request=item, by=request.user, reason=request.POST.get("reason", "")
        ),
        _("Release request withdrawn."),
    )


@require_POST
@login_required
def release_publish(request: HttpRequest, number: str, request_id: int) -> HttpResponse:
    from datalux.spe.publication import publish

    permit = _for_named(request, number)
    item = _request_of(permit, request_id)
    return _act(
        request,
        permit,
        item,
        lambda: publish(
            request=item,
            by=request.user,
            summary=request.POST.get("summary", ""),
            licence=request.POST.get("licence", ""),
        ),
        _("Published in the catalogue as a data product."),
    )


@require_GET
@login_required
def released_file(request: HttpRequest, file_id: int, filename: str) -> HttpResponse:
    file = get_object_or_404(
        ReleaseFile.objects.select_related("request__workspace__permit__application"), pk=file_id
    )
    if filename != file.filename:
        raise Http404(_("no such released file"))
    try:
        path = releases.download(file=file, by=request.user)
    except NoAccess as exc:
        raise PermissionDenied(str(exc)) from exc
    response = FileResponse(path.open("rb"), as_attachment=True, filename=file.filename)
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- output checkers -----------------------------------------------------------------------


def _checker_only(request: HttpRequest) -> None:
    if not has_permission(request.user, Permission.CHECK_OUTPUTS):
        raise deny(request, Permission.CHECK_OUTPUTS, _("this page is for output checkers"))


@require_GET
@login_required
def checking_queue(request: HttpRequest) -> HttpResponse:
    _checker_only(request)
    rows = []
    items = ReleaseRequest.objects.filter(state__in=[s.value for s in CHECKING]).select_related(
        "workspace__permit__application", "workspace__permit__organisation", "requested_by"
    )
    for item in items.order_by("submitted_at", "pk"):
        refusal = releases.checker_refusal(item, request.user)
        mine = item.reviews.filter(round=item.round, checker=request.user).first()
        rows.append(
            {
                "item": item,
                "refusal": refusal,
                "mine": mine,
                "reviews": item.reviews.filter(
                    round=item.round, consolidation=False, submitted_at__isnull=False
                ).count(),
                "label": _state_label(item.state),
            }
        )
    recent = (
        ReleaseRequest.objects.filter(reviews__checker=request.user)
        .exclude(state__in=[s.value for s in CHECKING])
        .distinct()
        .order_by("-decided_at")[:20]
    )
    response = render(
        request,
        "spe/checking_queue.html",
        {"rows": rows, "recent": recent, "labels": RELEASE_STATE_LABELS},
    )
    add_never_cache_headers(response)
    return response


def _checked(request: HttpRequest, request_id: int) -> ReleaseRequest:
    _checker_only(request)
    item = get_object_or_404(
        ReleaseRequest.objects.select_related("workspace__permit__application", "requested_by"),
        pk=request_id,
    )
    reason = releases.checker_refusal(item, request.user)
    if reason:
        raise deny(request, Permission.CHECK_OUTPUTS, reason)
    return item


def _render_check(
    request: HttpRequest, item: ReleaseRequest, *, error: str = "", status: int = 200
) -> HttpResponse:
    files = list(item.files.select_related("job"))
    mine = Review.objects.filter(
        request=item, round=item.round, checker=request.user, consolidation=False
    ).first()
    my_votes = {v.file_id: v for v in mine.votes.all()} if mine else {}
    visible = releases.votes_visible(item, request.user)
    others: dict[int, list[Any]] = {}
    if visible:
        for review in item.reviews.filter(round=item.round).exclude(checker=request.user):
            for vote in review.votes.all():
                others.setdefault(vote.file_id, []).append(vote)
    rows = [
        {
            "file": f,
            "mine": my_votes.get(f.pk),
            "others": others.get(f.pk, []),
            "shown": f.path.rsplit(".", 1)[-1].lower()
            in {"csv", "txt", "md", "json", "png", "svg"},
        }
        for f in files
    ]
    may_vote = item.state == S.SUBMITTED and not (mine and mine.submitted_at)
    response = render(
        request,
        "spe/check.html",
        {
            "item": item,
            "permit": item.workspace.permit,
            "rows": rows,
            "mine": mine,
            "may_vote": may_vote,
            "visible": visible,
            "error": error,
            "state_label": _state_label(item.state),
            "decisions": FileDecision.choices,
            "earlier": item.reviews.filter(round__lt=item.round).select_related("checker"),
        },
        status=status,
    )
    add_never_cache_headers(response)
    return response


@require_GET
@login_required
def check(request: HttpRequest, request_id: int) -> HttpResponse:
    return _render_check(request, _checked(request, request_id))


def _checker_act(
    request: HttpRequest, item: ReleaseRequest, action: Any, done: str
) -> HttpResponse:
    try:
        action()
    except releases.NotAChecker as exc:
        raise PermissionDenied(str(exc)) from exc
    except (Conflict, TransitionError) as exc:
        return _render_check(request, item, error=str(exc), status=409)
    messages.success(request, done)
    return redirect("spe:check", request_id=item.pk)


def _votes(request: HttpRequest, item: ReleaseRequest) -> dict[int, dict[str, str]]:
    votes = {}
    for file in item.files.all():
        decision = request.POST.get(f"decision-{file.pk}", "")
        if decision:
            votes[file.pk] = {
                "decision": decision,
                "public_comment": request.POST.get(f"public-{file.pk}", ""),
                "private_comment": request.POST.get(f"private-{file.pk}", ""),
            }
    return votes


@require_POST
@login_required
def check_review(request: HttpRequest, request_id: int) -> HttpResponse:
    item = _checked(request, request_id)
    final = request.POST.get("submit") == "1"
    return _checker_act(
        request,
        item,
        lambda: releases.review(
            request=item, by=request.user, votes=_votes(request, item), submit=final
        ),
        _("Review submitted.") if final else _("Votes saved as a draft."),
    )


@require_POST
@login_required
def check_consolidate(request: HttpRequest, request_id: int) -> HttpResponse:
    item = _checked(request, request_id)
    return _checker_act(
        request,
        item,
        lambda: releases.consolidate(
            request=item, by=request.user, decisions=_votes(request, item)
        ),
        _("Consolidation recorded."),
    )


@require_POST
@login_required
def check_reject(request: HttpRequest, request_id: int) -> HttpResponse:
    item = _checked(request, request_id)
    return _checker_act(
        request,
        item,
        lambda: releases.reject(
            request=item, by=request.user, reasons=request.POST.get("reasons", "")
        ),
        _("Release request rejected."),
    )


@require_POST
@login_required
def check_release(request: HttpRequest, request_id: int) -> HttpResponse:
    item = _checked(request, request_id)
    return _checker_act(
        request, item, lambda: releases.release(request=item, by=request.user), _("Files released.")
    )


@require_GET
@login_required
def check_file(request: HttpRequest, request_id: int, file_id: int) -> HttpResponse:
    """A proposed file, shown to a checker (or its requester) in the page, never as a download."""
    item = get_object_or_404(ReleaseRequest, pk=request_id)
    file = get_object_or_404(ReleaseFile.objects.select_related("job"), pk=file_id, request=item)
    try:
        path = releases.view_file(file=file, by=request.user)
    except (NoAccess, releases.NotAChecker) as exc:
        raise PermissionDenied(str(exc)) from exc
    kind = SHOWN_TYPES.get(path.suffix.lower())
    if kind is None:
        raise deny(request, Permission.CHECK_OUTPUTS, _("this kind of file is not shown"))
    response = HttpResponse(path.read_bytes(), content_type=kind)
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    add_never_cache_headers(response)
    return response
