"""The citizen's own pages: home, my data (with its downloads), who used my data.

Every view takes the signed-in citizen's identity (``citizen_required``) and reads only that
person's rows; the national number is opened in memory to find them and never appears in a
URL, a log line or an audit event. Reading and downloading are audited (the identity, never
the number; no organisation, so no project or body sees who looked).
"""

from __future__ import annotations

import json
import logging

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET

from datalux.access.views_public import csv_response
from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.citizens import identity as identities
from datalux.citizens import mydata, uses
from datalux.citizens.access import citizen_required
from datalux.citizens.models import CitizenIdentity

logger = logging.getLogger("datalux.citizens")

EXCHANGES_PER_PAGE = 25


class _Unavailable(Exception):
    pass


def _number(identity: CitizenIdentity) -> str:
    try:
        return identities.unseal(identity.sealed_number)
    except Exception:
        # the reason (a missing key, a damaged seal) goes to the log, never the value
        logger.exception("citizen identity %s could not be opened", identity.pk)
        raise _Unavailable from None


def _unavailable(request: HttpRequest) -> HttpResponse:
    response = render(request, "citizens/unavailable.html", status=503)
    add_never_cache_headers(response)
    return response


def _private(response: HttpResponse) -> HttpResponse:
    add_never_cache_headers(response)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
@citizen_required
def home(request: HttpRequest, identity: CitizenIdentity) -> HttpResponse:
    return _private(render(request, "citizens/home.html", {"section": "home"}))


@require_GET
@citizen_required
def my_data(request: HttpRequest, identity: CitizenIdentity) -> HttpResponse:
    try:
        records = mydata.my_data(_number(identity))
    except _Unavailable:
        return _unavailable(request)
    record(
        EventKind.CITIZEN_DATA_VIEWED,
        actor=request.user,
        obj=identity,
        details={"sources": len(records)},
    )
    context = {
        "section": "data",
        "records": records,
        "FOUND": mydata.FOUND,
        "NO_RECORD": mydata.NO_RECORD,
    }
    return _private(render(request, "citizens/my_data.html", context))


def _download(request: HttpRequest, identity: CitizenIdentity, fmt: str) -> HttpResponse:
    try:
        records = mydata.my_data(_number(identity))
    except _Unavailable:
        return _unavailable(request)
    record(
        EventKind.CITIZEN_DATA_DOWNLOADED,
        actor=request.user,
        obj=identity,
        details={"format": fmt, "sources": len(records)},
    )
    if fmt == "csv":
        return _private(csv_response(mydata.csv_rows(records), "my-data.csv"))
    body = json.dumps(
        mydata.to_json(records, generated_at=timezone.now()), ensure_ascii=False, indent=2
    )
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="my-data.json"'
    return _private(response)


@require_GET
@citizen_required
def data_json(request: HttpRequest, identity: CitizenIdentity) -> HttpResponse:
    return _download(request, identity, "json")


@require_GET
@citizen_required
def data_csv(request: HttpRequest, identity: CitizenIdentity) -> HttpResponse:
    return _download(request, identity, "csv")


@require_GET
@citizen_required
def who_used(request: HttpRequest, identity: CitizenIdentity) -> HttpResponse:
    try:
        found = uses.exchanges_for(_number(identity), today=timezone.localdate())
    except _Unavailable:
        return _unavailable(request)
    except Exception:  # the exchange log's key is not usable: said plainly, details logged
        logger.exception("data tracker unavailable to citizen identity %s", identity.pk)
        return _unavailable(request)
    number = request.GET.get("page") or "1"
    page = Paginator(found, EXCHANGES_PER_PAGE).get_page(number if number.isdigit() else 1)
    exchanges = uses.describe_exchanges(list(page.object_list))
    projects, more_projects = uses.projects_for(identity.subject)
    record(
        EventKind.CITIZEN_USES_VIEWED,
        actor=request.user,
        obj=identity,
        details={"page": page.number},
    )
    context = {
        "section": "uses",
        "page": page,
        "exchanges": exchanges,
        "projects": projects,
        "more_projects": more_projects,
        "max_projects": uses.MAX_PROJECTS,
    }
    return _private(render(request, "citizens/uses.html", context))
