"""The extract pages: the trusted third party's queue of preparations and, per permit, the
preparation with its steps, its manifest and "prepare" / "run again".

The trusted-third-party operators and the data authority's case handlers see and start
preparations (an audited 403 for anyone else); researchers see the manifest of their own
permit's extract on the permit page (:func:`extract_tables`), never an identifier.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.db.models import OuterRef, Q, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from datalux.access.models import Permit
from datalux.accounts.permissions import has_permission
from datalux.accounts.roles import Permission
from datalux.audit.models import AuditEvent
from datalux.core.errors import Conflict
from datalux.core.guards import deny
from datalux.spe import jobs, synthetic
from datalux.spe.models import Preparation, PreparationState
from datalux.spe.present import extract_tables

S = PreparationState
OPERATORS = (Permission.OPERATE_PRIVACY_SERVICES, Permission.HANDLE_APPLICATIONS)
PAGE_SIZE = 50
STEP_ORDER = [S.EXTRACTING, S.PSEUDONYMISING, S.LINKING, S.ANONYMISING, S.VERIFYING]


def may_operate(user: Any) -> bool:
    return any(has_permission(user, perm) for perm in OPERATORS)


def _operator(request: HttpRequest) -> HttpResponse | None:
    """The login page for anonymous users; an audited 403 for users who may not operate."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not may_operate(request.user):
        raise deny(
            request,
            Permission.OPERATE_PRIVACY_SERVICES,
            _("only the trusted third party's operators and the case handlers prepare extracts"),
        )
    return None


@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    """Active permits waiting for their extract, then every preparation, newest first."""
    if (refused := _operator(request)) is not None:
        return refused
    state = request.GET.get("state", "")
    preparations = Preparation.objects.select_related("permit", "permit__organisation")
    if state in S.values:
        preparations = preparations.filter(state=state)
    current = Preparation.objects.filter(permit=OuterRef("pk"), version=OuterRef("version"))
    waiting = (
        Permit.objects.filter(state="active")
        .annotate(prepared=Subquery(current.values("state")[:1]))
        .filter(Q(prepared=None) | Q(prepared=S.FAILED))
        .select_related("organisation")
        .order_by("issued_at", "pk")
    )
    page = Paginator(preparations, PAGE_SIZE).get_page(request.GET.get("page"))
    counts = {value: Preparation.objects.filter(state=value).count() for value, _label in S.choices}
    context = {
        "waiting": waiting,
        "page": page,
        "state": state,
        "states": [(value, label, counts[value]) for value, label in S.choices],
    }
    return render(request, "spe/queue.html", context)


def _permit(number: str) -> Permit:
    try:
        return Permit.objects.select_related("organisation", "application").get(number=number)
    except Permit.DoesNotExist:
        raise Http404(_("no permit %(number)s") % {"number": number}) from None


def _render(
    request: HttpRequest, permit: Permit, *, refusal: str = "", status: int = 200
) -> HttpResponse:
    preparations = list(permit.preparations.select_related("requested_by").order_by("-version"))
    current = next((p for p in preparations if p.version == permit.version), None)
    events = AuditEvent.objects.filter(
        object_type="access.permit", object_id=str(permit.pk), kind__startswith="extract."
    ).order_by("-seq")[:60]
    labels = dict(S.choices)
    steps = [
        {"event": e, "details": e.details, "step": labels.get(e.details.get("step", ""), "")}
        for e in events
    ]
    can_prepare = permit.state == "active" and (
        current is None or current.state == S.FAILED or (current.running and jobs.stalled(current))
    )
    context = {
        "permit": permit,
        "preparations": preparations,
        "current": current,
        "tables": extract_tables(current.manifest if current else None),
        "steps": steps,
        "step_order": [(s.value, s.label) for s in STEP_ORDER],
        "can_prepare": can_prepare,
        "refusal": refusal,
        "sees_case": has_permission(request.user, Permission.HANDLE_APPLICATIONS),
        "synthetic": synthetic.overview(permit),
        "can_make_twin": (
            synthetic.allows_twin(permit)
            and permit.state == "active"
            and bool(current and current.available)
            and has_permission(request.user, Permission.OPERATE_PRIVACY_SERVICES)
        ),
    }
    return render(request, "spe/preparation.html", context, status=status)


@require_GET
def preparation(request: HttpRequest, number: str) -> HttpResponse:
    if (refused := _operator(request)) is not None:
        return refused
    return _render(request, _permit(number))


@require_POST
def prepare(request: HttpRequest, number: str) -> HttpResponse:
    """Queue the preparation of the permit's current version (or run a failed one again)."""
    if (refused := _operator(request)) is not None:
        return refused
    permit = _permit(number)
    try:
        done = jobs.request_preparation(permit, by=request.user)
    except Conflict as exc:
        return _render(request, permit, refusal=str(exc), status=409)
    if done.state == S.READY:
        messages.info(request, _("This version is prepared already."))
    else:
        messages.success(
            request,
            _("The preparation of %(number)s version %(version)s is queued.")
            % {"number": permit.number, "version": permit.version},
        )
    return redirect("spe:preparation", number=permit.number)
