"""Public pages of the data authority (the permit register, the metrics) and the user's inbox.

The register and the metrics need no sign-in: they publish approved projects and aggregate
figures only, never anything about a refused application but its count. The inbox shows a
user their own notifications; anyone else's answers 404.
"""

from __future__ import annotations

import csv
import re
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from datalux.access import metrics as authority
from datalux.access import register
from datalux.access.models import Notification
from datalux.spe.release_metrics import release_metrics

REGISTER_PAGE_SIZE = 25
INBOX_PAGE_SIZE = 50
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A spreadsheet set to French or German (Luxembourg's) splits a CSV file at ";" (and one told
# so, at tabs), not at the commas it was written with: every piece of a value after one of
# those starts a cell of its own. A piece that starts (after spaces or quotes) like a formula
# gets the apostrophe that makes it text.
_FORMULA_PIECE = re.compile(r"(?:^|(?<=[;\t]))(?=[ \"]*[=+\-@\t\r])")


def _cell(value: Any) -> Any:
    """A CSV cell that spreadsheet programs will not run as a formula, however they split it."""
    if isinstance(value, str):
        return _FORMULA_PIECE.sub("'", value)
    return value


def csv_response(rows: list[list[Any]], filename: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return response


def _year(value: str | None) -> int | None:
    if value and value.isdigit() and len(value) == 4:
        return int(value)
    return None


def _page_number(value: str | None) -> int:
    return int(value) if value and value.isdigit() and 0 < int(value) < 100_000 else 1


@require_GET
def register_page(request: HttpRequest) -> HttpResponse:
    """Approved projects (search, holder and year filters), refusals counted; ``?format=csv``."""
    q = request.GET.get("q", "")[: register.MAX_QUERY]
    holder = request.GET.get("holder", "")[:80]
    year = _year(request.GET.get("year"))
    projects = register.approved_projects(q=q, holder=holder, year=year)
    wanted = request.GET.get("format")
    if wanted == "csv":
        if request.GET.get("table") == "refusals":
            return csv_response(
                register.refusal_csv_rows(register.refusals()), "permit-register-refusals.csv"
            )
        return csv_response(register.csv_rows(register.entries(projects)), "permit-register.csv")
    page = Paginator(projects, REGISTER_PAGE_SIZE).get_page(_page_number(request.GET.get("page")))
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("format", None)
    return render(
        request,
        "access/public/register.html",
        {
            "entries": register.entries(page.object_list),
            "page": page,
            "q": q,
            "holder": holder,
            "year": year,
            "holders": register.holders(),
            "years": register.years(),
            "refusals": register.refusals(),
            "filter_qs": params.urlencode(),
        },
    )


@require_GET
def metrics_page(request: HttpRequest) -> HttpResponse:
    """The authority's figures as tables; ``?format=csv`` for one CSV of every group and the
    output-checking figures."""
    figures = authority.authority_metrics()
    output_checking = release_metrics()
    if request.GET.get("format") == "csv":
        rows = authority.csv_rows(figures, extra=output_checking.csv_figures())
        return csv_response(rows, "data-authority-metrics.csv")
    context = {"metrics": figures, "output_checking": output_checking}
    return render(request, "access/public/metrics.html", context)


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    """The signed-in user's notifications, newest first, unread ones marked."""
    notes = Notification.objects.filter(user=request.user).order_by("-created_at", "-pk")
    page = Paginator(notes, INBOX_PAGE_SIZE).get_page(_page_number(request.GET.get("page")))
    return render(
        request,
        "access/public/inbox.html",
        {"page": page, "unread": notes.filter(read_at__isnull=True).count()},
    )


@login_required
@require_POST
def inbox_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one of the user's notifications as read, then go where it points."""
    note = get_object_or_404(Notification, pk=pk, user=request.user)
    if note.read_at is None:
        Notification.objects.filter(pk=note.pk, read_at__isnull=True).update(read_at=timezone.now())
    safe = url_has_allowed_host_and_scheme(
        note.url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return redirect(note.url if note.url and safe else "access:inbox")


@login_required
@require_POST
def inbox_read_all(request: HttpRequest) -> HttpResponse:
    Notification.objects.filter(user=request.user, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    return redirect("access:inbox")
