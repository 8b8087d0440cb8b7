"""The accountability pages: the records of processing (authority and members, CSV and JSON)
and the public register of data-sharing cases."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from datalux.access.views_public import csv_response
from datalux.accountability import register
from datalux.accounts.permissions import grants
from datalux.audit.kinds import EventKind
from datalux.audit.log import record


def _records(request: HttpRequest) -> list[register.Record]:
    if not grants(request.user):
        raise PermissionDenied(
            _("The records of processing are for the data authority and member organisations.")
        )
    found = register.visible_records(request.user)
    kind = request.GET.get("kind", "")
    if kind in register.KINDS:
        found = [r for r in found if r.kind == kind]
    return found


@login_required
def records_page(request: HttpRequest) -> HttpResponse:
    found = _records(request)
    return render(
        request,
        "accountability/records.html",
        {
            "records": found,
            "kind": request.GET.get("kind", ""),
            "kinds": register.KINDS,
            "everything": register.sees_everything(request.user),
        },
    )


@login_required
def records_export(request: HttpRequest, fmt: str) -> HttpResponse:
    if fmt not in ("csv", "json"):
        raise Http404("records are downloadable as csv or json")
    found = _records(request)
    record(
        EventKind.ACCOUNTABILITY_EXPORTED,
        actor=request.user,
        details={"format": fmt, "records": len(found)},
    )
    if fmt == "json":
        body = json.dumps({"records": [r.as_data() for r in found]}, ensure_ascii=False, indent=1)
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
    else:
        rows: list[list[Any]] = [list(register.CSV_COLUMNS), *(r.csv_row() for r in found)]
        return csv_response(rows, "records-of-processing.csv")
    response["Content-Disposition"] = 'attachment; filename="records-of-processing.json"'
    return response


def sharing_cases_page(request: HttpRequest) -> HttpResponse:
    return render(request, "accountability/sharing_cases.html", {"cases": register.sharing_cases()})


def _dashboard(request: HttpRequest) -> Any:
    from datalux.accountability.dashboard import figures

    authority = register.sees_everything(request.user)
    wanted = request.GET.get("view") == "authority"
    if wanted and not authority:
        raise PermissionDenied(_("The authority's view of the dashboard is for its staff."))
    return figures(public=not wanted)


def dashboard_page(request: HttpRequest) -> HttpResponse:
    from datalux.accountability.charts import bar_chart

    board = _dashboard(request)
    charts = [(series, bar_chart(series)) for series in board.trends]
    return render(
        request,
        "accountability/dashboard.html",
        {"board": board, "charts": charts, "authority": register.sees_everything(request.user)},
    )


def dashboard_csv(request: HttpRequest) -> HttpResponse:
    board = _dashboard(request)
    return csv_response(board.csv_rows(), "governance-dashboard.csv")
