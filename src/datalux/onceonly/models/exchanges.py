"""The exchange log: one row per exchange asked for, delivered or refused. Metadata only.

Rows are only ever inserted (database triggers refuse UPDATE, DELETE and TRUNCATE), each holds
the previous row's hash, its own SHA-256 over its statement (:mod:`datalux.onceonly.receipts`)
and the Ed25519 signature of that hash with a key kept outside the database. Persons are keyed
pseudonyms (``subjects``); no national number, no data item's value is ever stored here.

What later features derive from it (issue 15, items 5 and 7): each subject's data-tracker
record is the entry seen through ``visibility`` (``public``: the person may see it at once;
``deferred``: not before ``visible_from``, e.g. during an investigation the protocol allows to
keep quiet), and the published operations data are counts per protocol and month.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from datalux.audit.chain import timestamp
from datalux.onceonly.receipts import ENTRY_FORMAT


class Outcome(models.TextChoices):
    DELIVERED = "delivered", _("Delivered")
    NOT_FOUND = "not_found", _("Person not in the source")
    REFUSED = "refused", _("Refused")


class Visibility(models.TextChoices):
    PUBLIC = "public", _("Visible to the person at once")
    DEFERRED = "deferred", _("Visible to the person from a later date")


class ExchangeLogEntry(models.Model):
    seq = models.PositiveBigIntegerField(unique=True, editable=False)
    request_id = models.CharField(max_length=32, unique=True, editable=False)
    occurred_at = models.DateTimeField(editable=False)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    refusal_code = models.CharField(max_length=40, blank=True)
    consumer_slug = models.CharField(max_length=80, blank=True, db_index=True)
    system = models.CharField(max_length=150, blank=True)  # the service account's user name
    token_key_id = models.CharField(max_length=16, blank=True)
    on_behalf_of = models.CharField(max_length=100, blank=True)
    protocol_reference = models.CharField(max_length=20, blank=True, db_index=True)
    protocol_version = models.PositiveIntegerField(null=True, blank=True)
    purpose = models.CharField(max_length=80, blank=True)
    items = models.JSONField(default=list)
    case_reference = models.CharField(max_length=100, blank=True)
    subjects = models.JSONField(default=list)  # keyed pseudonyms of the persons asked about
    subject_count = models.PositiveIntegerField(default=0)  # persons asked (valid or not)
    visibility = models.CharField(
        max_length=16, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    visible_from = models.DateField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    key_id = models.CharField(max_length=16)
    signature = models.CharField(max_length=100)

    class Meta:
        ordering = ["seq"]
        verbose_name_plural = _("exchange log entries")

    def __str__(self) -> str:
        return f"#{self.seq} {self.outcome} {self.protocol_reference}"

    def statement(self) -> dict[str, Any]:
        """The entry as hashed, signed and handed out in the receipt."""
        return {
            "format": ENTRY_FORMAT,
            "seq": self.seq,
            "request_id": self.request_id,
            "occurred_at": timestamp(self.occurred_at),
            "outcome": self.outcome,
            "refusal_code": self.refusal_code,
            "consumer": self.consumer_slug,
            "system": self.system,
            "token_key_id": self.token_key_id,
            "on_behalf_of": self.on_behalf_of,
            "protocol": self.protocol_reference,
            "protocol_version": self.protocol_version,
            "purpose": self.purpose,
            "items": list(self.items),
            "case_reference": self.case_reference,
            "subjects": list(self.subjects),
            "subject_count": self.subject_count,
            "visibility": self.visibility,
            "visible_from": self.visible_from.isoformat() if self.visible_from else None,
            "prev_hash": self.prev_hash,
        }
