"""The public register of exchange protocols (no sign-in): the list with filters and CSV, and
one protocol with its public versions."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from datalux.access.views_public import csv_response
from datalux.onceonly import operations as operations_data
from datalux.onceonly import register
from datalux.onceonly.models import Outcome
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


@require_GET
def operations(request: HttpRequest) -> HttpResponse:
    """Exchanges per protocol and month (open data, 10 days late, hours only, no security
    agencies); ``?protocol=`` filters, ``?format=csv`` downloads."""
    filters = operations_data.Filters.from_query(request.GET)
    today = timezone.localdate()
    rows = operations_data.operations_rows(today=today, filters=filters)
    if request.GET.get("format") == "csv":
        return csv_response(operations_data.csv_rows(rows), "exchange-operations.csv")
    number = request.GET.get("page") or "1"
    page = Paginator(rows, PAGE_SIZE * 4).get_page(number if number.isdigit() else 1)
    labels = dict(Outcome.choices)
    for row in page.object_list:
        row["outcome_label"] = labels.get(row["outcome"], row["outcome"])
    filter_qs = urlencode({k: v for k, v in vars(filters).items() if v})
    return render(
        request,
        "onceonly/operations.html",
        {
            "page": page,
            "filters": filters,
            "filter_qs": filter_qs,
            "published_until": operations_data.cutoff(today),
            "delay_days": operations_data.DELAY_DAYS,
        },
    )
