"""Roll-ups the dashboard reads instead of scanning the exchange log (ten million entries)."""

from __future__ import annotations

from django.db import models


class ExchangeTally(models.Model):
    """Exchanges of one month, protocol, consumer body and outcome, counted from the log up
    to :class:`RollupMark` ``exchanges`` (the log is append-only, so a sequence number is an
    exact watermark)."""

    month = models.DateField()  # the first day of the month (UTC)
    protocol_reference = models.CharField(max_length=20, blank=True)
    consumer_slug = models.CharField(max_length=80, blank=True)
    outcome = models.CharField(max_length=16)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "protocol_reference", "consumer_slug", "outcome"],
                name="accountability_one_tally",
            )
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.protocol_reference} {self.outcome}: {self.count}"


class RollupMark(models.Model):
    name = models.CharField(max_length=40, unique=True)
    last_seq = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} up to {self.last_seq}"
