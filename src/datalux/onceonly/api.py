"""``/api/v1/onceonly``: the public register of exchange protocols (no token, no session)."""

from __future__ import annotations

import math
from datetime import date, datetime

from django.http import Http404, HttpRequest
from ninja import Query, Router, Schema

from datalux.onceonly import register

router = Router(tags=["onceonly"])

MAX_PAGE_SIZE = 100


class ProtocolOut(Schema):
    reference: str
    version: int
    title: str
    state: str
    state_label: str
    provider: str
    provider_slug: str
    consumer: str
    consumer_slug: str
    source_pid: str
    source_title: str
    items: list[str]
    legal_basis: str
    purpose: str
    purpose_description: str
    frequency: str
    retention_days: int
    dpia_reference: str
    valid_from: date
    valid_until: date | None
    approved_at: datetime | None
    activated_at: datetime | None
    suspended_at: datetime | None
    retired_at: datetime | None
    state_reason: str
    supersedes_version: int | None


class ProtocolPage(Schema):
    count: int
    page: int
    pages: int
    results: list[ProtocolOut]


class ProtocolFilters(Schema):
    source: str = ""
    consumer: str = ""
    provider: str = ""
    state: str = ""
    page: int = 1
    page_size: int = 25


class ProtocolDetail(Schema):
    reference: str
    current: ProtocolOut
    versions: list[ProtocolOut]


@router.get("/protocols", response=ProtocolPage, auth=None)
def list_protocols(request: HttpRequest, filters: Query[ProtocolFilters]) -> dict:
    """Public versions of every protocol (approved, active, suspended, retired)."""
    queryset = register.public_protocols(register.Filters.from_query(filters.dict()))
    size = max(1, min(filters.page_size, MAX_PAGE_SIZE))
    count = queryset.count()
    pages = max(1, math.ceil(count / size))
    page = max(1, min(filters.page, pages))
    rows = queryset[(page - 1) * size : page * size]
    return {
        "count": count,
        "page": page,
        "pages": pages,
        "results": [register.entry(p) for p in rows],
    }


@router.get("/protocols/{reference}", response=ProtocolDetail, auth=None)
def protocol_detail(request: HttpRequest, reference: str) -> dict:
    """One protocol: its newest public version and all its public versions, newest first."""
    found = register.versions(reference)
    if not found:
        raise Http404
    entries = [register.entry(p) for p in found]
    return {"reference": reference, "current": entries[0], "versions": entries}
