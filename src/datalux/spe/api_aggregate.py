"""The aggregate-only service's API (``/api/v1/spe/permits/{number}/aggregates``).

``POST`` runs one typed request (never SQL) and answers the released table (201); running
needs a token of the scope ``write`` (a read-only token gets 403 ``token_scope``). ``GET``
lists the permit's queries, newest first, or reads one. Only the permit's authorised persons
who may work with its data now are served (403, audited ``access.denied``); a permit of
another form gets 409 (``invalid_state``); a bad request 422 (``invalid``) with the field and
what to fix; a query over the permit's caps 429 (``query_cap``, ``details.resets_at`` for the
daily cap). Errors have the API's one shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import Http404, HttpRequest
from ninja import Router, Schema
from ninja.responses import Status

from datalux.access.models import Permit
from datalux.core.api import ApiError, user_of
from datalux.spe.aggregate import require_service, run_aggregate
from datalux.spe.aggregate_history import Refused
from datalux.spe.models import AggregateQuery

router = Router(tags=["spe"])


class AggregateIn(Schema):
    table: str
    join: str | None = None  # a second table, joined on person_id (a permit that links)
    statistic: str = "count"
    value: str | None = None
    by: list[str] = []
    q: float | None = None
    method: str = "checked"
    epsilon: float | None = None
    bounds: list[float] | None = None
    levels: dict[str, list[str | int | float | bool]] | None = None
    max_rows_per_person: int = 1


class AggregateOut(Schema):
    id: int
    permit: str
    permit_version: int
    spec: dict[str, Any]
    method: str
    status: str
    result: dict[str, Any]
    error: str
    epsilon_spent: float | None
    requested_by: str
    requested_at: datetime
    finished_at: datetime | None


def _out(q: AggregateQuery) -> dict[str, Any]:
    return {
        "id": q.pk,
        "permit": q.permit.number,
        "permit_version": q.permit_version,
        "spec": q.spec,
        "method": q.method,
        "status": q.status,
        "result": q.result,
        "error": q.error,
        "epsilon_spent": q.epsilon_spent,
        "requested_by": q.requested_by.get_username(),
        "requested_at": q.requested_at,
        "finished_at": q.finished_at,
    }


def _permit(request: HttpRequest, number: str) -> Permit:
    """The permit, when the caller may use its aggregate service now (else audited)."""
    permit = Permit.objects.select_related("organisation", "application").filter(number=number)
    found = permit.first()
    if found is None:
        raise Http404
    require_service(found, user_of(request))
    return found


@router.post("/permits/{number}/aggregates", response={201: AggregateOut})
def run(request: HttpRequest, number: str, body: AggregateIn) -> Status:
    """Run a count, sum, mean or quantile (checked, or DP from the project's budget)."""
    found = Permit.objects.select_related("organisation", "application").filter(number=number)
    permit = found.first()
    if permit is None:
        raise Http404
    try:
        query = run_aggregate(permit=permit, by=user_of(request), data=body.dict(exclude_none=True))
    except Refused as exc:  # audited by the action
        raise ApiError(exc.status, exc.code, str(exc), exc.details or None) from None
    return Status(201, _out(query))


@router.get("/permits/{number}/aggregates", response=list[AggregateOut])
def list_queries(request: HttpRequest, number: str, limit: int = 100) -> list[Any]:
    """The permit's queries, newest first (released and refused)."""
    permit = _permit(request, number)
    rows = permit.aggregate_queries.select_related("permit", "requested_by")
    return [_out(q) for q in rows[: max(1, min(limit, 500))]]


@router.get("/permits/{number}/aggregates/{query_id}", response=AggregateOut)
def read(request: HttpRequest, number: str, query_id: int) -> dict[str, Any]:
    """One query with its released table (or why it was refused)."""
    permit = _permit(request, number)
    query = permit.aggregate_queries.select_related("permit", "requested_by").filter(pk=query_id)
    found = query.first()
    if found is None:
        raise Http404
    return _out(found)
