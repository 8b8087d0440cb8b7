"""The runs of each harvest source, read back from the audit log (each run writes one
``harvest.run`` event: its counts, start time and errors; the event's time is its end)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent

RUNS_SHOWN = 10  # per source, newest first


@dataclass(frozen=True)
class HarvestRun:
    ok: bool
    started_at: datetime | None  # None for runs recorded before start times were kept
    ended_at: datetime
    by: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    withdrawn: int = 0
    skipped: int = 0  # our own records re-published by the remote, and invalid ones
    errors: int = 0
    error: str = ""

    @classmethod
    def from_event(cls, event: AuditEvent) -> HarvestRun:
        d: dict[str, Any] = event.details or {}
        started = d.get("started_at")
        return cls(
            ok=bool(d.get("ok")),
            started_at=datetime.fromisoformat(started) if isinstance(started, str) else None,
            ended_at=event.occurred_at,
            by=event.actor_label,
            created=int(d.get("created", 0)),
            updated=int(d.get("updated", 0)),
            unchanged=int(d.get("unchanged", 0)),
            withdrawn=int(d.get("withdrawn", 0)),
            skipped=int(d.get("skipped_own", 0)) + int(d.get("skipped_invalid", 0)),
            errors=int(d.get("errors", 0 if d.get("ok") else 1)),
            error=str(d.get("error", "")),
        )


def recent_runs(sources: Iterable[Any], limit: int = RUNS_SHOWN) -> dict[int, list[HarvestRun]]:
    """The newest ``limit`` runs of each source, by source pk."""
    ids = {str(source.pk): source.pk for source in sources}
    runs: dict[int, list[HarvestRun]] = defaultdict(list)
    if not ids:
        return runs
    events = AuditEvent.objects.filter(
        kind=EventKind.HARVEST_RUN, object_type="catalogue.harvestsource", object_id__in=ids
    ).order_by("-seq")
    for event in events.iterator():
        mine = runs[ids[event.object_id]]
        if len(mine) < limit:
            mine.append(HarvestRun.from_event(event))
    return runs
