"""A small durable scheduler: puts periodic tasks in the django-tasks queue, once per period.

django-tasks (0.12) and django-tasks-db (0.13) have no periodic tasks (upstream issue
RealOrangeOne/django-tasks#259 is open; the maintainer recommends an external cron). This
module is that cron, kept in the database so several schedulers can run at once:

- :data:`JOBS` is the schedule, as data: a name, a task, a period and an offset.
- Periods are aligned on the UTC epoch plus the offset (an hourly job is due once per clock
  hour, the nightly one once per day at its offset), so "once per period" does not drift.
- :func:`enqueue_due` claims each due job with one conditional ``UPDATE`` (``WHERE
  last_enqueued_at IS NULL OR last_enqueued_at < start of the current period``) and enqueues
  the task in the same transaction. Only one scheduler's UPDATE can match per period (both
  SQLite and PostgreSQL re-check the condition after waiting for a concurrent writer), and the
  queued row commits with the claim or not at all.
- A scheduler that was down for several periods enqueues a job once, not once per missed
  period: every job here is a catch-up job that handles everything due when it runs.

The worker (``datalux manage db_worker``) runs what is queued; ``datalux scheduler`` runs
:func:`run` in a loop (``--once`` for one round, e.g. from a system cron).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import DatabaseError, close_old_connections, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from datalux.core.models import PeriodicJob

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Job:
    """One periodic job: ``task`` (dotted path of a django-tasks Task) every ``every``."""

    name: str
    task: str
    every: timedelta
    offset: timedelta = timedelta(0)
    description: str = ""

    def period_start(self, now: datetime) -> datetime:
        """The start of the period that contains ``now``."""
        periods = (now - EPOCH - self.offset) // self.every
        return EPOCH + self.offset + periods * self.every


JOBS: tuple[Job, ...] = (
    Job(
        "access.expire_permits",
        "datalux.access.tasks.expire_permits",
        HOUR,
        description="expire permits past their end date (cuts access, audited)",
    ),
    Job(
        "access.send_reminders",
        "datalux.access.tasks.send_reminders",
        HOUR,
        description="remind handlers and deciders of near or passed decision deadlines",
    ),
    Job(
        "access.publication_reminders",
        "datalux.access.tasks.send_publication_reminders",
        HOUR,
        description="remind permits' named persons to publish their results (30 days before "
        "the deadline, and once it has passed)",
    ),
    Job(
        "spe.lifecycle",
        "datalux.spe.jobs.lifecycle_task",
        HOUR,
        description="lock extracts and workspaces of ended permits, delete extracts after "
        "retention, resume stalled preparations, requeue jobs whose worker was lost",
    ),
    Job(
        "catalogue.harvest_due",
        "datalux.catalogue.harvest_sources.harvest_due_task",
        HOUR,
        description="queue the harvest of each source whose interval has passed (a source's "
        "schedule is set with 'datalux catalogue source schedule')",
    ),
    Job(
        "citizens.rectification_reminders",
        "datalux.citizens.tasks_rectification.send_rectification_reminders",
        HOUR,
        description="remind stewards of correction requests due within a week, and once "
        "of those overdue",
    ),
    Job(
        "citizens.notify_uses",
        "datalux.citizens.use_notices.notify_uses_task",
        HOUR,
        description="tell citizens with an account of exchanges that became visible (deferred "
        "ones on their date) and of research uses not told yet",
    ),
    Job(
        "accountability.roll_up_exchanges",
        "datalux.accountability.rollup.roll_up_task",
        HOUR,
        description="add the exchange log's new entries to the dashboard's monthly tallies",
    ),
    Job(
        "audit.write_checkpoint",
        "datalux.audit.tasks.write_checkpoint",
        HOUR,
        description="sign a checkpoint of the audit chain's head and publish it as a file",
    ),
    Job(
        "audit.verify_chain",
        "datalux.audit.tasks.verify_chain",
        DAY,
        offset=timedelta(hours=1, minutes=30),  # 01:30 UTC, a quiet hour in Luxembourg
        description="verify the audit hash chain",
    ),
)


def sync_jobs(jobs: Iterable[Job] = JOBS) -> dict[str, PeriodicJob]:
    """Create or update the rows of ``jobs`` (definitions from code; state stays in the table)."""
    rows: dict[str, PeriodicJob] = {}
    for job in jobs:
        definition = {
            "task_path": job.task,
            "every_seconds": int(job.every.total_seconds()),
            "offset_seconds": int(job.offset.total_seconds()),
        }
        row, created = PeriodicJob.objects.get_or_create(name=job.name, defaults=definition)
        if not created and any(getattr(row, k) != v for k, v in definition.items()):
            PeriodicJob.objects.filter(pk=row.pk).update(**definition)
            for key, value in definition.items():
                setattr(row, key, value)
        rows[job.name] = row
    return rows


def claim(job: Job, now: datetime) -> bool:
    """Mark ``job`` as enqueued for the period of ``now``; False if someone already did.

    One conditional UPDATE: atomic against any number of concurrent schedulers.
    """
    start = job.period_start(now)
    return bool(
        PeriodicJob.objects.filter(name=job.name, enabled=True)
        .filter(Q(last_enqueued_at__isnull=True) | Q(last_enqueued_at__lt=start))
        .update(last_enqueued_at=now)
    )


def enqueue_due(now: datetime | None = None, *, jobs: Iterable[Job] = JOBS) -> list[str]:
    """Enqueue every job not yet enqueued in its current period; return their names."""
    now = now or timezone.now()
    jobs = list(jobs)
    sync_jobs(jobs)
    enqueued: list[str] = []
    for job in jobs:
        with transaction.atomic():
            if not claim(job, now):
                continue
            result = import_string(job.task).enqueue()
            PeriodicJob.objects.filter(name=job.name).update(last_result_id=str(result.id))
        enqueued.append(job.name)
    return enqueued


def run(
    *,
    interval: float = 30.0,
    once: bool = False,
    stopping: Callable[[], bool] = lambda: False,
    echo: Callable[[str], None] = print,
) -> None:
    """Call :func:`enqueue_due` every ``interval`` seconds until ``stopping()`` (or once).

    A database that does not answer is reported and retried at the next round.
    """
    while not stopping():
        close_old_connections()
        try:
            for name in enqueue_due():
                echo(f"scheduler: enqueued {name}")
        except DatabaseError as exc:
            if once:
                raise
            echo(f"scheduler: the database did not answer ({exc}); retrying in {interval:g} s")
        if once:
            return
        deadline = time.monotonic() + interval
        while not stopping() and time.monotonic() < deadline:
            time.sleep(min(0.5, interval))
