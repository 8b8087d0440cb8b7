"""The runs of each harvest source, and the operator's decision on a held run.

Every run is a :class:`~datalux.catalogue.models.HarvestRun` (its counts, per-record
problems, start and end) written with its ``harvest.run`` audit event. A run that would have
withdrawn more of its source's records than ``DATALUX_HARVEST_WITHDRAW_LIMIT_PERCENT`` is
*held*: it changed nothing. Its state machine (``HARVEST_RUN_TRANSITIONS``)::

    held --confirm--> confirmed   (the source is read again; applied only if unchanged)
    held --discard--> discarded   (nothing changes)

Only the newest run of a source that read it (a completed or held one) can be confirmed:
an older held run was overtaken by what the source said since.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.catalogue.models import (
    HARVEST_RUN_TRANSITIONS,
    HarvestRun,
    HarvestRunStatus,
)

RUNS_SHOWN = 10  # per source on the sources page, newest first
HISTORY_SHOWN = 100  # on a source's run history page


class RunDecisionRefused(Exception):
    """The run is not in a state the decision applies to; the message says why."""


def recent_runs(sources: Iterable[Any], limit: int = RUNS_SHOWN) -> dict[int, list[HarvestRun]]:
    """The newest ``limit`` runs of each source, by source pk."""
    ids = [source.pk for source in sources]
    runs: dict[int, list[HarvestRun]] = defaultdict(list)
    if not ids:
        return runs
    for run in HarvestRun.objects.filter(source_id__in=ids).select_related("by").iterator():
        mine = runs[run.source_id]
        if len(mine) < limit:
            mine.append(run)
    return runs


def _check(run: HarvestRun, target: HarvestRunStatus, action: str) -> None:
    allowed = HARVEST_RUN_TRANSITIONS.get(run.status, frozenset())
    if target not in allowed:
        raise RunDecisionRefused(
            f"run {run.pk} of {run.source.name} is {run.get_status_display().lower()}: only "
            f"a held run can be {action}"
        )


def _newer_reading(run: HarvestRun) -> HarvestRun | None:
    return (
        HarvestRun.objects.filter(source_id=run.source_id, started_at__gt=run.started_at)
        .exclude(status=HarvestRunStatus.FAILED)
        .order_by("started_at")
        .first()
    )


def confirm_run(*, run: HarvestRun, by: Any = None) -> Any:
    """Apply a held run: read its source again and, if it still serves exactly what the
    held run read, import it with its withdrawals; returns the new run's report.

    Raises :class:`RunDecisionRefused` (a run that is not held, or an older one) and
    ``HarvestError`` (the source cannot be read, or has changed: nothing changes, the run
    stays held).
    """
    from datalux.catalogue.harvest import _require_operator, run_harvest

    _require_operator(by)
    _check(run, HarvestRunStatus.CONFIRMED, "confirmed")
    newer = _newer_reading(run)
    if newer is not None:
        raise RunDecisionRefused(
            f"run {run.pk} of {run.source.name} was overtaken by run {newer.pk}: decide on "
            "the newest run (or discard this one)"
        )
    return run_harvest(source=run.source, by=by, confirming=run)


def mark_confirmed(*, held: HarvestRun, run: HarvestRun, by: Any) -> None:
    """The confirmation's state change and event (inside the run's transaction)."""
    locked = HarvestRun.objects.select_for_update().get(pk=held.pk)
    _check(locked, HarvestRunStatus.CONFIRMED, "confirmed")
    locked.status = HarvestRunStatus.CONFIRMED
    locked.decided_by = by if getattr(by, "is_authenticated", False) else None
    locked.decided_at = timezone.now()
    locked.save(update_fields=["status", "decided_by", "decided_at"])
    run.confirms = locked
    run.save(update_fields=["confirms"])
    held.status, held.decided_at = locked.status, locked.decided_at
    record(
        EventKind.HARVEST_RUN_CONFIRMED,
        actor=by,
        organisation=locked.source.publisher,
        obj=locked.source,
        details={"run": locked.pk, "applied_by_run": run.pk, "withdrawn": run.withdrawn},
    )


def discard_run(*, run: HarvestRun, by: Any = None) -> HarvestRun:
    """Close a held run without applying it: nothing of the source changes."""
    from datalux.catalogue.harvest import _require_operator

    _require_operator(by)
    with transaction.atomic():
        locked = HarvestRun.objects.select_for_update().select_related("source").get(pk=run.pk)
        _check(locked, HarvestRunStatus.DISCARDED, "discarded")
        locked.status = HarvestRunStatus.DISCARDED
        locked.decided_by = by if getattr(by, "is_authenticated", False) else None
        locked.decided_at = timezone.now()
        locked.save(update_fields=["status", "decided_by", "decided_at"])
        record(
            EventKind.HARVEST_RUN_DISCARDED,
            actor=by,
            organisation=locked.source.publisher,
            obj=locked.source,
            details={"run": locked.pk, "would_withdraw": locked.withdrawn, "of": locked.held_of},
        )
    return locked
