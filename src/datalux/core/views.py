from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from datalux.accounts.models import Organisation
from datalux.accounts.permissions import grants


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
    return render(request, "core/403.html", {"reason": str(exception or "")}, status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "core/404.html", status=404)
