from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from datalux.accounts.roles import Permission
from datalux.audit.actions import run_verification
from datalux.audit.models import AuditEvent
from datalux.core.guards import require_permission


@require_permission(Permission.VIEW_AUDIT_LOG)
def events(request: HttpRequest) -> HttpResponse:
    queryset = AuditEvent.objects.restrict(request.user).order_by("-seq")
    kind = request.GET.get("kind", "")
    if kind:
        queryset = queryset.filter(kind=kind)
    page = Paginator(queryset, 50).get_page(request.GET.get("page"))
    return render(request, "audit/events.html", {"page": page, "kind": kind})


@require_POST
@require_permission(Permission.VERIFY_AUDIT_CHAIN)
def verify(request: HttpRequest) -> HttpResponse:
    result = run_verification(by=request.user, latest_checkpoint=True)
    (messages.success if result.ok else messages.error)(request, result.summary())
    return redirect("audit:events")
