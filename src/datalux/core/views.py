from __future__ import annotations

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from datalux.accounts.models import Organisation
from datalux.accounts.permissions import grants
from datalux.core.refusals import audit_page_refusal


def home(request: HttpRequest) -> HttpResponse:
    """Public landing page, or the signed-in user's list of workspaces."""
    roles = []
    seen = set()
    for grant in grants(request.user):
        if grant.role.slug not in seen:
            seen.add(grant.role.slug)
            roles.append(grant.role)
    return render(
        request,
        "core/home.html",
        {"roles": roles, "organisation_count": Organisation.objects.count()},
    )


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The 403 page; the refusal is audited (once per request: a guard may have done it)."""
    audit_page_refusal(request, 403, exception)
    return render(request, "core/403.html", {"reason": str(exception or "")}, status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The 404 page; a signed-in user's 404 is audited (datalux.core.refusals says which)."""
    audit_page_refusal(request, 404, exception)
    return render(request, "core/404.html", status=404)


@never_cache
@require_safe
def health(request: HttpRequest) -> JsonResponse:
    """Liveness and readiness for load balancers and container health checks.

    Public and cheap: it says whether the database answers, nothing about the installation.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})
