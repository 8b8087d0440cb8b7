"""Shared tables: the schedule of periodic background jobs (see :mod:`datalux.core.scheduler`)."""

from __future__ import annotations

from django.db import models


class PeriodicJob(models.Model):
    """A task that the scheduler puts in the task queue once per period.

    The definitions (task, period, offset) come from :data:`datalux.core.scheduler.JOBS` and
    are copied here on every round so the table shows what runs; ``enabled`` and
    ``last_enqueued_at`` are the table's own state. Periods are aligned on the UTC epoch plus
    the offset: an hourly job is due once per clock hour, a daily one once per day.
    """

    name = models.CharField(max_length=100, unique=True)
    task_path = models.CharField(max_length=200)  # dotted path of a django-tasks Task
    every_seconds = models.PositiveIntegerField()
    offset_seconds = models.PositiveIntegerField(default=0)
    enabled = models.BooleanField(default=True)  # operators may pause a job here
    last_enqueued_at = models.DateTimeField(null=True, blank=True)
    last_result_id = models.CharField(max_length=64, blank=True)  # the queued task result's id

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} every {self.every_seconds}s"
