"""The public register of exchange protocols: what the page, the CSV and the API publish.

Approved, active, suspended and retired versions are public; drafts and submissions are the
bodies' own work until the data authority approves them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from datalux.onceonly.models import Protocol
from datalux.onceonly.states import PUBLIC, ProtocolState


@dataclass(frozen=True)
class Filters:
    source: str = ""  # dataset PID
    consumer: str = ""  # organisation slug
    provider: str = ""  # organisation slug
    state: str = ""

    @classmethod
    def from_query(cls, query: Any) -> Filters:
        state = str(query.get("state") or "")
        return cls(
            source=str(query.get("source") or "")[:40],
            consumer=str(query.get("consumer") or "")[:80],
            provider=str(query.get("provider") or "")[:80],
            state=state if state in {s.value for s in PUBLIC} else "",
        )


def public_protocols(filters: Filters | None = None) -> QuerySet[Protocol]:
    filters = filters or Filters()
    queryset = Protocol.objects.filter(state__in=[s.value for s in PUBLIC]).select_related(
        "provider", "consumer", "source__dataset", "supersedes"
    )
    if filters.source:
        queryset = queryset.filter(source__dataset__pid=filters.source)
    if filters.consumer:
        queryset = queryset.filter(consumer__slug=filters.consumer)
    if filters.provider:
        queryset = queryset.filter(provider__slug=filters.provider)
    if filters.state:
        queryset = queryset.filter(state=filters.state)
    return queryset.order_by("reference", "-version")


def versions(reference: str) -> list[Protocol]:
    """The public versions of one protocol, newest first (empty: none is public)."""
    return list(public_protocols().filter(reference=reference))


def entry(protocol: Protocol) -> dict[str, Any]:
    """One version as the API and the CSV publish it."""
    dataset = protocol.source.dataset
    return {
        "reference": protocol.reference,
        "version": protocol.version,
        "title": protocol.title,
        "state": protocol.state,
        "state_label": protocol.state_label,
        "provider": protocol.provider.name,
        "provider_slug": protocol.provider.slug,
        "consumer": protocol.consumer.name,
        "consumer_slug": protocol.consumer.slug,
        "source_pid": dataset.pid,
        "source_title": dataset.display_title,
        "items": list(protocol.items),
        "legal_basis": protocol.legal_basis,
        "purpose": protocol.purpose,
        "purpose_description": protocol.purpose_description,
        "frequency": protocol.frequency,
        "retention_days": protocol.retention_days,
        "dpia_reference": protocol.dpia_reference,
        "valid_from": protocol.valid_from,
        "valid_until": protocol.valid_until,
        "approved_at": protocol.approved_at,
        "activated_at": protocol.activated_at,
        "suspended_at": (
            protocol.suspended_at if protocol.state == ProtocolState.SUSPENDED else None
        ),
        "retired_at": protocol.retired_at,
        "state_reason": protocol.state_reason
        if protocol.state in (ProtocolState.SUSPENDED, ProtocolState.RETIRED)
        else "",
        "supersedes_version": protocol.supersedes.version if protocol.supersedes_id else None,
    }


CSV_COLUMNS = [
    "reference",
    "version",
    "title",
    "state",
    "provider",
    "consumer",
    "source_pid",
    "items",
    "legal_basis",
    "purpose",
    "purpose_description",
    "frequency",
    "retention_days",
    "dpia_reference",
    "valid_from",
    "valid_until",
    "approved_at",
    "activated_at",
    "retired_at",
]


def csv_rows(protocols: Any) -> list[list[Any]]:
    rows: list[list[Any]] = [list(CSV_COLUMNS)]
    for protocol in protocols:
        data = entry(protocol)
        data["items"] = " ".join(data["items"])
        rows.append(["" if data[c] is None else str(data[c]) for c in CSV_COLUMNS])
    return rows
