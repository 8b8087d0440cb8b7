"""The public register of exchange protocols (no sign-in): the list with filters and CSV, and
one protocol with its public versions."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from datalux.access.views_public import csv_response
from datalux.onceonly import register
from datalux.onceonly.states import PROTOCOL_STATE_LABELS, PUBLIC

PAGE_SIZE = 25


@require_GET
def protocols(request: HttpRequest) -> HttpResponse:
    filters = register.Filters.from_query(request.GET)
    queryset = register.public_protocols(filters)
    if request.GET.get("format") == "csv":
        return csv_response(register.csv_rows(queryset), "exchange-protocols.csv")
    number = request.GET.get("page") or "1"
    page = Paginator(queryset, PAGE_SIZE).get_page(number if number.isdigit() else 1)
    filter_qs = urlencode({k: v for k, v in vars(filters).items() if v})
    return render(
        request,
        "onceonly/protocols.html",
        {
            "page": page,
            "filters": filters,
            "filter_qs": filter_qs,
            "states": [(s.value, PROTOCOL_STATE_LABELS[s]) for s in PUBLIC],
        },
    )


@require_GET
def protocol(request: HttpRequest, reference: str) -> HttpResponse:
    found = register.versions(reference)
    if not found:
        raise Http404("no such protocol in the register")
    return render(
        request,
        "onceonly/protocol.html",
        {"protocol": found[0], "versions": found},
    )
