"""``/api/v1/onceonly``: the public register of exchange protocols and the signing keys (no
token, no session), and the exchange itself (an exchange token)."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

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


# -- the published operations data --------------------------------------------------------


class OperationsRowOut(Schema):
    month: str
    protocol: str
    protocol_version: int | None
    provider: str
    provider_slug: str
    consumer: str
    consumer_slug: str
    outcome: str
    exchanges: int
    persons: int
    first_hour: str
    last_hour: str
    month_complete: bool


class OperationsPage(Schema):
    published_until: datetime
    count: int
    page: int
    pages: int
    results: list[OperationsRowOut]


class OperationsFilters(Schema):
    protocol: str = ""
    page: int = 1
    page_size: int = 100


@router.get("/operations", response=OperationsPage, auth=None)
def list_operations(request: HttpRequest, filters: Query[OperationsFilters]) -> dict:
    """Exchanges per protocol, consumer, provider, month and outcome (open data): entries
    from before ``published_until`` only (a delay of 10 days), first and last hours rounded
    to the hour, security agencies left out, nothing about a person, case or official."""
    from django.utils import timezone

    from datalux.onceonly import operations

    today = timezone.localdate()
    rows = operations.operations_rows(
        today=today, filters=operations.Filters.from_query(filters.dict())
    )
    size = max(1, min(filters.page_size, MAX_PAGE_SIZE))
    pages = max(1, math.ceil(len(rows) / size))
    page = max(1, min(filters.page, pages))
    return {
        "published_until": operations.cutoff(today),
        "count": len(rows),
        "page": page,
        "pages": pages,
        "results": rows[(page - 1) * size : page * size],
    }


# -- the exchange -------------------------------------------------------------------------


class ExchangeIn(Schema):
    """Every field is optional here so that what is missing gets its own error code (and a
    refused entry in the exchange log) instead of a generic validation error."""

    protocol: str = Field("", description="the protocol's reference, e.g. OOP-0001")
    items: list[str] = Field(default_factory=list, description="data items, from the protocol")
    purpose: str = Field("", description="the protocol's purpose code")
    case_reference: str = Field("", description="the case the exchange is for (required)")
    on_behalf_of: str = Field("", description="the official the exchange is made for (required)")
    national_number: str | None = Field(None, description="one person's national number")
    national_numbers: list[str] | None = Field(None, description="a batch (at most 500)")
    defer_visibility_until: date | None = Field(
        None,
        description="keep the record from the person until this date (investigations; "
        "within the protocol's longest deferral)",
    )


class ExchangeResultOut(Schema):
    index: int
    found: bool
    data: dict[str, Any] | None


class ExchangeOut(Schema):
    protocol: str
    protocol_version: int
    source_pid: str
    source_version: int
    items: list[str]
    results: list[ExchangeResultOut]
    receipt: dict[str, Any]


@router.post("/exchanges", response={200: ExchangeOut}, auth=None)
def create_exchange(request: HttpRequest, payload: ExchangeIn) -> dict:
    """Obtain data items about one person (``national_number``) or a batch
    (``national_numbers``) under an active protocol of your body. Authorization: Bearer with a
    token of the scope ``exchange`` of your body's exchange system. Every call - delivered,
    not found or refused - is logged and answered with a signed receipt (on refusals in
    ``error.details.receipt``); check it offline with ``datalux onceonly verify-receipt``."""
    from datalux.core.api import ApiError
    from datalux.onceonly import exchange as service

    try:
        token = service.find_token(service.bearer(request.headers.get("Authorization", "")))
    except service.Unauthenticated:
        raise ApiError(
            401,
            "unauthenticated",
            "send a valid exchange token: Authorization: Bearer dlx_...",
        ) from None
    try:
        result = service.exchange(token=token, request=service.ExchangeRequest(**payload.dict()))
    except service.ExchangeRefused as refused:
        raise ApiError(refused.status, refused.code, refused.message, refused.details) from None
    return {
        "protocol": result.protocol.reference,
        "protocol_version": result.protocol.version,
        "source_pid": result.protocol.source.dataset.pid,
        "source_version": result.source_version,
        "items": result.items,
        "results": result.results,
        "receipt": result.receipt,
    }


class KeyOut(Schema):
    key_id: str
    algorithm: str
    pem: str


@router.get("/keys", response=list[KeyOut], auth=None)
def public_keys(request: HttpRequest) -> list[dict]:
    """The public keys that sign exchange-log entries and receipts (current and earlier)."""
    from datalux.audit.signing import ALGORITHM, public_pem
    from datalux.onceonly import keys

    keys.signing_key()  # made on first use outside production, so there is one to publish
    return [
        {"key_id": key, "algorithm": ALGORITHM, "pem": public_pem(public)}
        for key, public in sorted(keys.trusted_keys().items())
    ]


# -- protocol actions (a write token or a signed-in session) ------------------------------


class ProtocolIn(Schema):
    source: str = Field(description="the authentic source's dataset PID")
    consumer: str = Field(description="the consumer body's organisation slug")
    title: str
    items: list[str]
    legal_basis: str
    purpose: str
    purpose_description: str
    frequency: str
    retention_days: int
    dpia_reference: str
    valid_from: date
    valid_until: date | None = None
    max_deferral_days: int = 0


class ActionIn(Schema):
    reason: str = ""


ACTIONS = ("submit", "agree", "return", "approve", "activate", "suspend", "resume", "retire")


@router.post("/protocols", response={201: ProtocolOut})
def create_protocol(request: HttpRequest, payload: ProtocolIn) -> Status:
    """Draft a protocol for your body (an official of the consumer body)."""
    from django.shortcuts import get_object_or_404

    from datalux.accounts.models import Organisation
    from datalux.core.api import user_of
    from datalux.onceonly import actions
    from datalux.onceonly.models import AuthenticSource

    source = get_object_or_404(AuthenticSource, dataset__pid=payload.source)
    consumer = get_object_or_404(Organisation, slug=payload.consumer)
    fields = payload.dict(exclude={"source", "consumer"})
    protocol = actions.create_protocol(
        source=source, consumer=consumer, by=user_of(request), **fields
    )
    return Status(201, register.entry(protocol))


@router.post("/protocols/{reference}/versions/{version}/{action}", response=ProtocolOut)
def protocol_action(
    request: HttpRequest, reference: str, version: int, action: str, payload: ActionIn
) -> dict:
    """One step of the protocol's state machine (``submit``, ``agree``, ``return``,
    ``approve``, ``activate``, ``suspend``, ``resume``, ``retire``; ``reason`` for return,
    suspend and retire), or ``new_version`` (a draft of the next version)."""
    from django.shortcuts import get_object_or_404

    from datalux.core.api import ApiError, user_of
    from datalux.onceonly import actions
    from datalux.onceonly.models import Protocol

    protocol = get_object_or_404(Protocol, reference=reference, version=version)
    by = user_of(request)
    if action == "new_version":
        return register.entry(actions.new_protocol_version(protocol=protocol, by=by))
    if action not in ACTIONS:
        raise ApiError(
            404,
            "not_found",
            f"no action {action!r}: use one of {', '.join((*ACTIONS, 'new_version'))}",
        )
    step = getattr(actions, f"{action}_protocol")
    kwargs: dict[str, Any] = {"protocol": protocol, "by": by}
    if action in ("return", "suspend", "retire"):
        kwargs["reason"] = payload.reason
    return register.entry(step(**kwargs))
