"""Operators' management of harvest sources: their schedule, pausing, removal; and the
scheduled harvests (the ``catalogue.harvest_due`` job of :mod:`datalux.core.scheduler`).

Each source may be harvested every ``harvest_every_hours`` hours. The hourly job queues one
``harvest_task`` per due source (active, with a schedule, not queued within its interval),
after claiming it with a compare-and-set on ``last_scheduled_at``: two schedulers, or two
workers running the job at once, queue a source's run once. A run the worker cannot do (the
source unreachable, its document broken, too many withdrawals) is recorded like any run.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.catalogue.models import DataService, Dataset, DatasetSeries, HarvestSource

MAX_EVERY_HOURS = 24 * 366  # a year and a day


def check_every(every_hours: int | None) -> int | None:
    """A schedule in hours (None: by hand only); a ValidationError saying what to give."""
    if every_hours is None:
        return None
    if not isinstance(every_hours, int) or not 1 <= every_hours <= MAX_EVERY_HOURS:
        raise ValidationError(
            {
                "harvest_every_hours": _(
                    "give the hours between two harvests as a whole number from 1 to "
                    "%(most)s (e.g. 24 for daily), or no schedule to harvest by hand only"
                )
                % {"most": MAX_EVERY_HOURS}
            }
        )
    return every_hours


def set_schedule(
    *, source: HarvestSource, every_hours: int | None, active: bool | None = None, by: Any = None
) -> HarvestSource:
    """Harvest ``source`` every ``every_hours`` hours (None: by hand only); ``active`` False
    pauses it (the scheduler skips it), True resumes it."""
    from datalux.catalogue.harvest import _require_operator

    _require_operator(by)
    every_hours = check_every(every_hours)
    with transaction.atomic():
        locked = HarvestSource.objects.select_for_update().get(pk=source.pk)
        before = {"harvest_every_hours": locked.harvest_every_hours, "active": locked.active}
        locked.harvest_every_hours = every_hours
        if active is not None:
            locked.active = active
        after = {"harvest_every_hours": locked.harvest_every_hours, "active": locked.active}
        if after != before:
            locked.save(update_fields=["harvest_every_hours", "active"])
            record(
                EventKind.HARVEST_SOURCE_CHANGED,
                actor=by,
                organisation=locked.publisher,
                obj=locked,
                details={"name": locked.name, "before": before, "after": after},
            )
    return locked


def remove_source(*, source: HarvestSource, by: Any = None) -> dict[str, int]:
    """Delete a source with its catalogue, its harvested records, services, series and runs.

    Refused, changing nothing, when another record refers to one of its datasets (an access
    application, say): pause the source instead. Returns what was deleted.
    """
    from datalux.catalogue.harvest import HarvestError, _require_operator

    _require_operator(by)
    try:
        with transaction.atomic():
            locked = HarvestSource.objects.select_for_update().get(pk=source.pk)
            catalogue = locked.catalogue
            counts = {
                "datasets": Dataset.objects.filter(harvest_source=locked).count(),
                "services": DataService.objects.filter(catalogue=catalogue).count(),
                "series": DatasetSeries.objects.filter(catalogue=catalogue).count(),
                "runs": locked.runs.count(),
            }
            record(
                EventKind.HARVEST_SOURCE_REMOVED,
                actor=by,
                organisation=locked.publisher,
                obj=locked,
                details={"name": locked.name, "url": locked.url[:200], **counts},
            )
            Dataset.objects.filter(harvest_source=locked).delete()
            DataService.objects.filter(catalogue=catalogue).delete()
            DatasetSeries.objects.filter(catalogue=catalogue).delete()
            locked.delete()  # its runs with it
            catalogue.delete()
    except ProtectedError:
        raise HarvestError(
            f"{source.name} cannot be removed: other records (access applications) refer to "
            "some of its datasets. Nothing was deleted; pause the source instead "
            f"(datalux catalogue source schedule {source.name!r} --pause)"
        ) from None
    return counts


def is_due(source: HarvestSource, now: datetime) -> bool:
    if not source.active or not source.harvest_every_hours:
        return False
    last = source.last_scheduled_at
    return last is None or last <= now - timedelta(hours=source.harvest_every_hours)


def claim(source: HarvestSource, now: datetime) -> bool:
    """Mark ``source`` queued at ``now`` unless someone did since it was read (one UPDATE)."""
    return bool(
        HarvestSource.objects.filter(pk=source.pk, last_scheduled_at=source.last_scheduled_at)
        .filter(active=True)
        .update(last_scheduled_at=now)
    )


def queue_due(now: datetime | None = None) -> list[str]:
    """Queue a harvest of every due source; the names of those queued."""
    from datalux.catalogue.harvest import harvest_task

    now = now or timezone.now()
    queued = []
    sources = HarvestSource.objects.filter(active=True, harvest_every_hours__isnull=False)
    for source in sources.order_by("name"):
        if not is_due(source, now):
            continue
        with transaction.atomic():
            if not claim(source, now):
                continue
            harvest_task.enqueue(source.pk, scheduled=True)
        queued.append(source.name)
    return queued


@task()
def harvest_due_task() -> dict[str, Any]:
    """The hourly job: queue the harvests that are due (each runs as its own task)."""
    names = queue_due()
    record(
        EventKind.TASK_FINISHED,
        object_type="task",
        object_id="catalogue.harvest_due",
        details={"queued": len(names), "sources": names[:100]},
    )
    return {"queued": names}
