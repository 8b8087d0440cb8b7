"""The aggregate-only service's page (``spe:aggregate``): a form for one request (table,
statistic, value, grouping, method, epsilon) and the permit's earlier queries with their
released tables. Only the permit's authorised persons who may work with its data now (an
audited 403 naming the reason otherwise); a permit of another form answers 409."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from datalux.access.actions.permits import NoAccess
from datalux.access.models import Permit
from datalux.core.errors import Conflict
from datalux.spe import aggregate
from datalux.spe.aggregate_data import Unavailable, source_for
from datalux.spe.aggregate_history import Refused
from datalux.spe.models import AggregateMethod
from datalux.spe.synthetic import overview as synthetic_overview

SHOWN_QUERIES = 20


def _permit(number: str) -> Permit:
    try:
        return Permit.objects.select_related("organisation", "application").get(number=number)
    except Permit.DoesNotExist:
        raise Http404(_("no permit %(number)s") % {"number": number}) from None


def _form_data(request: HttpRequest) -> dict[str, Any]:
    """The form's fields as a request of the service (empty fields left out)."""
    post = request.POST
    data: dict[str, Any] = {
        key: post.get(key, "").strip()
        for key in ("table", "join", "statistic", "value", "q", "method", "epsilon", "levels")
    }
    data["by"] = [b for b in post.getlist("by") if b.strip()]
    low, high = post.get("bounds_low", "").strip(), post.get("bounds_high", "").strip()
    if low or high:
        data["bounds"] = [low, high]
    if post.get("max_rows_per_person", "").strip():
        data["max_rows_per_person"] = post["max_rows_per_person"].strip()
    return {k: v for k, v in data.items() if v not in ("", [])}


def _shown(query: Any) -> dict[str, Any]:
    """A query as the page shows it: its released table as a header and rows of text."""
    result = query.result or {}
    columns = list(result.get("columns", []))
    rows = [
        {"cells": ["—" if r.get(c) is None else r.get(c) for c in columns], "status": r["status"]}
        for r in result.get("rows", [])
    ]
    return {"query": query, "columns": columns, "rows": rows, "report": result.get("report", {})}


def _names(tables: list[dict[str, Any]], joinable: bool, *, numeric_only: bool) -> list[str]:
    """The columns the form offers; a name in several tables also with its table (a joined
    query takes ``table.column`` for it)."""
    seen: dict[str, int] = {}
    for t in tables:
        for c in t["columns"]:
            seen[c["name"]] = seen.get(c["name"], 0) + 1
    out: set[str] = set()
    for t in tables:
        for c in t["columns"]:
            if c["numeric"] or not numeric_only:
                out.add(c["name"])
                if joinable and seen[c["name"]] > 1:
                    out.add(f"{t['name']}.{c['name']}")
    return sorted(out)


def _render(
    request: HttpRequest,
    permit: Permit,
    *,
    errors: dict[str, list[str]] | None = None,
    error: str = "",
    posted: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    tables: list[dict[str, Any]] = []
    unavailable = ""
    joinable = False
    try:
        source = source_for(permit)
        joinable = source.linked and sum(t.persons for t in source.tables.values()) > 1
        for table in source.tables.values():
            columns = [
                {"name": c.name, "kind": c.kind, "numeric": c.numeric}
                for c in table.columns
                if c.name.lower() not in aggregate.IDENTIFIERS
            ]
            tables.append({"name": table.name, "columns": columns, "persons": table.persons})
    except Unavailable as exc:
        unavailable = str(exc)
    grouping = _names(tables, joinable, numeric_only=False)
    numeric = _names(tables, joinable, numeric_only=True)
    queries = permit.aggregate_queries.select_related("requested_by")[:SHOWN_QUERIES]
    budget = aggregate.budget_state(permit)
    context = {
        "permit": permit,
        "tables": tables,
        "joinable": [t["name"] for t in tables if t["persons"]] if joinable else [],
        "grouping": grouping,
        "numeric": numeric,
        "unavailable": unavailable,
        "statistics": aggregate.STATISTICS,
        "methods": AggregateMethod.choices,
        "max_by": aggregate.MAX_BY,
        "budget": budget,
        # the ledger's total once it exists (an amendment's new total is appended to it)
        "total_epsilon": budget.epsilon_total if budget else aggregate.total_epsilon(permit),
        "queries": [_shown(q) for q in queries],
        "errors": errors or {},
        "error": error,
        "posted": posted or {},
        "synthetic": synthetic_overview(permit),
        "researcher": True,  # require_service let only the permit's authorised persons in
    }
    response = render(request, "spe/aggregate.html", context, status=status)
    add_never_cache_headers(response)
    return response


@require_http_methods(["GET", "POST"])
@login_required
def aggregate_page(request: HttpRequest, number: str) -> HttpResponse:
    permit = _permit(number)
    try:
        aggregate.require_service(permit, request.user)
    except NoAccess as exc:
        raise PermissionDenied(str(exc)) from exc
    except aggregate.NotAggregate as exc:
        response = render(
            request, "spe/aggregate.html", {"permit": permit, "refused": str(exc)}, status=409
        )
        add_never_cache_headers(response)
        return response
    if request.method == "GET":
        return _render(request, permit)
    data = _form_data(request)
    try:
        query = aggregate.run_aggregate(permit=permit, by=request.user, data=data)
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        return _render(request, permit, errors=errors, posted=data, status=400)
    except Refused as exc:
        return _render(request, permit, error=str(exc), posted=data, status=exc.status)
    except Conflict as exc:
        return _render(request, permit, error=str(exc), posted=data, status=409)
    url = reverse("spe:aggregate", args=[permit.number])
    return redirect(f"{url}#query-{query.pk}")
