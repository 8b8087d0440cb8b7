"""The published operations data (issue 15, item 7): exchanges per protocol and month as open
data, under X-Road's rule for its published operational data.

- **A delay of 10 days**: only entries older than the start of the day 10 days before today
  (local time) are counted, so every counted exchange is at least 10 days old whenever today's
  data are read.
- **Times rounded to the hour**: a row gives the hour of its first and last exchange
  (truncated to the hour), never an exact time.
- **Security agencies removed**: a consumer body with any protocol version marked
  ``consumer_security_agency`` is left out entirely (delivered and refused exchanges, every
  version, with or without a protocol), and so is every entry naming such a protocol.
- **Metadata about the exchange, never about a person or an official**: no pseudonym, case
  reference, official, system, token, purpose text or data item. A protocol reference is
  published only when it names a public version of the register (a refused request may name
  anything); otherwise the row has no protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Max, Min, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from datalux.accounts.models import Organisation
from datalux.onceonly.models import ExchangeLogEntry, Protocol
from datalux.onceonly.states import PUBLIC

DELAY_DAYS = 10


@dataclass(frozen=True)
class Filters:
    protocol: str = ""  # a protocol reference, e.g. OOP-0001

    @classmethod
    def from_query(cls, query: Any) -> Filters:
        return cls(protocol=str(query.get("protocol") or "")[:20])


def cutoff(today: date) -> datetime:
    """Entries at or after this moment are not published yet (the delay of 10 days)."""
    return timezone.make_aware(datetime.combine(today - timedelta(days=DELAY_DAYS), time.min))


def _hour(moment: datetime) -> str:
    local = timezone.localtime(moment)
    return local.replace(minute=0, second=0, microsecond=0).isoformat()


def _withheld() -> tuple[set[str], set[str]]:
    """(consumer slugs, protocol references) of security agencies."""
    flagged = Protocol.objects.filter(consumer_security_agency=True)
    slugs = set(flagged.values_list("consumer__slug", flat=True))
    references = set(flagged.values_list("reference", flat=True))
    return slugs, references


def published_entries(today: date) -> QuerySet[ExchangeLogEntry]:
    slugs, references = _withheld()
    return (
        ExchangeLogEntry.objects.filter(occurred_at__lt=cutoff(today))
        .exclude(consumer_slug__in=slugs)
        .exclude(protocol_reference__in=references)
    )


def operations_rows(*, today: date, filters: Filters | None = None) -> list[dict[str, Any]]:
    """One row per (protocol reference, version, consumer body, provider body, month, outcome):
    how many exchanges, how many persons they covered (batch sizes summed), the hours of the
    first and last, and whether the month is complete (wholly before the delay)."""
    filters = filters or Filters()
    entries = published_entries(today)
    if filters.protocol:
        entries = entries.filter(protocol_reference=filters.protocol)
    groups = (
        entries.annotate(month=TruncMonth("occurred_at"))
        .values("protocol_reference", "protocol_version", "consumer_slug", "month", "outcome")
        .annotate(
            exchanges=Count("id"),
            persons=Sum("subject_count"),
            first=Min("occurred_at"),
            last=Max("occurred_at"),
        )
        .order_by()
    )
    groups = list(groups)
    public = {
        (p.reference, p.version): p
        for p in Protocol.objects.filter(
            state__in=[s.value for s in PUBLIC],
            reference__in={g["protocol_reference"] for g in groups},
        ).select_related("provider", "consumer")
    }
    names = dict(
        Organisation.objects.filter(slug__in={g["consumer_slug"] for g in groups}).values_list(
            "slug", "name"
        )
    )
    limit = cutoff(today).date()
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for group in groups:
        protocol = public.get((group["protocol_reference"], group["protocol_version"]))
        month = group["month"]
        if isinstance(month, datetime):
            month = timezone.localtime(month).date()
        slug = group["consumer_slug"] if group["consumer_slug"] in names else ""
        key = (
            protocol.reference if protocol else "",
            protocol.version if protocol else None,
            slug,
            protocol.provider.slug if protocol else "",
            month,
            group["outcome"],
        )
        row = merged.get(key)
        if row is None:
            next_month = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
            merged[key] = {
                "protocol": key[0],
                "protocol_version": key[1],
                "consumer": names.get(slug, ""),
                "consumer_slug": slug,
                "provider": protocol.provider.name if protocol else "",
                "provider_slug": key[3],
                "month": month.strftime("%Y-%m"),
                "outcome": group["outcome"],
                "exchanges": group["exchanges"],
                "persons": group["persons"] or 0,
                "first_hour": group["first"],
                "last_hour": group["last"],
                "month_complete": next_month <= limit,
            }
        else:  # a refused request naming no public protocol, merged under "no protocol"
            row["exchanges"] += group["exchanges"]
            row["persons"] += group["persons"] or 0
            row["first_hour"] = min(row["first_hour"], group["first"])
            row["last_hour"] = max(row["last_hour"], group["last"])
    rows = sorted(
        merged.values(),
        key=lambda r: (r["protocol"], r["protocol_version"] or 0, r["consumer_slug"], r["outcome"]),
    )
    rows.sort(key=lambda r: r["month"], reverse=True)  # newest month first (a stable sort)
    for row in rows:
        row["first_hour"] = _hour(row["first_hour"])
        row["last_hour"] = _hour(row["last_hour"])
    return rows


CSV_COLUMNS = [
    "month",
    "protocol",
    "protocol_version",
    "provider",
    "consumer",
    "outcome",
    "exchanges",
    "persons",
    "first_hour",
    "last_hour",
    "month_complete",
]


def csv_rows(rows: list[dict[str, Any]]) -> list[list[Any]]:
    out: list[list[Any]] = [list(CSV_COLUMNS)]
    for row in rows:
        out.append(["" if row[c] is None else str(row[c]) for c in CSV_COLUMNS])
    return out
