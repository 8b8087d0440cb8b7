"""What each authentic source holds about a citizen (GDPR Art. 15): per source and dataset,
the published items of the person's record in the source's current version, with the data
dictionary's labels and descriptions.

A source whose current data cannot be read is reported as unavailable (its reason is logged,
never shown); a source that has no row for the person says so. The national number is used
in memory to find the row and is never part of what is returned.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from datalux.catalogue.models import DatasetVersion, pick_language
from datalux.onceonly import lookup
from datalux.onceonly.models import AuthenticSource

logger = logging.getLogger("datalux.citizens")

__all__ = [
    "FOUND",
    "NO_RECORD",
    "UNAVAILABLE",
    "Item",
    "SourceRecord",
    "csv_rows",
    "my_data",
    "to_json",
]

FOUND = "found"
NO_RECORD = "no_record"
UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class Item:
    name: str
    label: str
    description: str
    value: Any
    in_data: bool = True  # False: the item is designated but the current data lack it


@dataclass
class SourceRecord:
    """One authentic source (one dataset) and what it holds about the person."""

    source_id: int
    dataset_pid: str
    dataset_title: str
    holder: str
    status: str  # FOUND, NO_RECORD or UNAVAILABLE
    version: int | None = None
    version_date: datetime | None = None
    items: list[Item] = field(default_factory=list)


def my_data(national_number: str) -> list[SourceRecord]:
    """The person's record in every authentic source, in the sources' order."""
    sources = AuthenticSource.objects.select_related("dataset", "responsible_body")
    return [_record_in(source, national_number) for source in sources]


def _record_in(source: AuthenticSource, number: str) -> SourceRecord:
    dataset = source.dataset
    result = SourceRecord(
        source_id=source.pk,
        dataset_pid=dataset.pid,
        dataset_title=dataset.display_title or dataset.slug,
        holder=source.responsible_body.name,
        status=UNAVAILABLE,
    )
    try:
        index = lookup.index(dataset.pk, source.key_item)
        items = list(source.items)
        missing = set(lookup.missing_columns(index, items))
        row = index.record(number, [name for name in items if name not in missing])
    except lookup.SourceUnavailable as exc:
        logger.warning("authentic source %s unavailable to a citizen: %s", dataset.pid, exc)
        return result
    except Exception:  # never an error page: the source is shown as unavailable
        logger.exception("authentic source %s could not be read for a citizen", dataset.pid)
        return result
    result.version = index.version
    result.version_date = (
        DatasetVersion.objects.filter(dataset=dataset, number=index.version)
        .values_list("uploaded_at", flat=True)
        .first()
    )
    if row is None:
        result.status = NO_RECORD
        return result
    result.status = FOUND
    variables = {v.name: v for v in dataset.variables.all()}
    for name in items:
        variable = variables.get(name)
        result.items.append(
            Item(
                name=name,
                label=(variable.display_label if variable is not None else "") or name,
                description=pick_language(variable.description) if variable is not None else "",
                value=row.get(name),
                in_data=name not in missing,
            )
        )
    return result


def to_json(records: list[SourceRecord], *, generated_at: datetime) -> dict[str, Any]:
    """The download's content: every source, its status and (when found) the items."""
    return {
        "generated_at": generated_at.isoformat(),
        "sources": [
            {
                "dataset": r.dataset_pid,
                "title": r.dataset_title,
                "holder": r.holder,
                "status": r.status,
                "version": r.version,
                "version_date": r.version_date.isoformat() if r.version_date else None,
                "items": [
                    {
                        "item": i.name,
                        "label": i.label,
                        "description": i.description,
                        "value": i.value,
                    }
                    for i in r.items
                    if i.in_data
                ],
            }
            for r in records
        ],
    }


CSV_HEADER = ["source", "dataset", "item", "label", "value"]


def csv_rows(records: list[SourceRecord]) -> list[list[Any]]:
    """Header, then one row per item found (source: the holder; dataset: title and PID)."""
    rows: list[list[Any]] = [list(CSV_HEADER)]
    for r in records:
        for i in r.items:
            if i.in_data:
                value = "" if i.value is None else i.value
                rows.append(
                    [r.holder, f"{r.dataset_title} ({r.dataset_pid})", i.name, i.label, value]
                )
    return rows
