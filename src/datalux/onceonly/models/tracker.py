"""The data tracker: one record per person per delivered exchange (issue 15, item 5).

A record repeats what the person may learn of the exchange-log entry it comes from (consumer
body, protocol, purpose, items, time) under the person's keyed pseudonym - the same one as the
entry's ``subjects`` - so the citizen's page reads one indexed row set instead of scanning the
log's JSON. No national number and no data item's value is stored. ``visible_from`` is null
when the person may see the record at once; a deferred record stays hidden until that date.
Written in the transaction that appends the entry (:func:`datalux.onceonly.log.append`).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from datalux.onceonly.models.exchanges import ExchangeLogEntry


class TrackerRecord(models.Model):
    subject = models.CharField(max_length=64)  # the person's keyed pseudonym (as the log's)
    entry = models.ForeignKey(
        ExchangeLogEntry, on_delete=models.PROTECT, related_name="tracker_records"
    )
    consumer_slug = models.CharField(max_length=80)
    protocol_reference = models.CharField(max_length=20)
    protocol_version = models.PositiveIntegerField(null=True, blank=True)
    purpose = models.CharField(max_length=80)
    items = models.JSONField(default=list)
    occurred_at = models.DateTimeField()
    visible_from = models.DateField(null=True, blank=True)  # null: visible at once
    # when the person (if they have an account) was told of it (datalux.citizens.use_notices)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["subject", "-occurred_at"], name="onceonly_tracker_subject"),
            # the hourly job's look-up of deferred records that became visible
            models.Index(
                fields=["visible_from"],
                condition=models.Q(visible_from__isnull=False, notified_at__isnull=True),
                name="onceonly_tracker_deferred",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["entry", "subject"], name="onceonly_tracker_once")
        ]
        verbose_name = _("data-tracker record")
        verbose_name_plural = _("data-tracker records")

    def __str__(self) -> str:
        return f"{self.protocol_reference} #{self.entry_id}"
