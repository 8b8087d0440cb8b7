"""A URL configuration for tests/core/test_web_refusals.py: the site, and views that refuse in
each way."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path

from datalux.accounts.roles import Permission
from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.core.guards import deny
from datalux.urls import urlpatterns as site  # the pages' templates link to the whole site

handler403 = "datalux.core.views.permission_denied"
handler404 = "datalux.core.views.page_not_found"


def bare_forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied("not yours")


def guarded(request: HttpRequest) -> HttpResponse:
    raise deny(request, Permission.MANAGE_HOLDINGS, "stewards only")


def audited_elsewhere(request: HttpRequest) -> HttpResponse:
    record(EventKind.APPLICATION_ACTION_REFUSED, actor=request.user, details={"action": "x"})
    raise PermissionDenied("the action said no")


def hidden(request: HttpRequest, ref: str) -> HttpResponse:
    raise Http404("no such thing, or not visible to you")


urlpatterns = [
    path("bare/", bare_forbidden),
    path("guarded/", guarded),
    path("audited/", audited_elsewhere),
    path("hidden/<str:ref>/", hidden),
    *site,
]
