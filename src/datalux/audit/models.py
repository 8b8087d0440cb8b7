"""The audit event table. Rows are only ever inserted (database triggers refuse the rest)."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from datalux.accounts.permissions import organisations_with
from datalux.accounts.roles import Permission
from datalux.audit.kinds import DESCRIPTIONS, EventKind


class AuditEventQuerySet(models.QuerySet):
    def restrict(
        self, user: Any, perm: Permission = Permission.VIEW_AUDIT_LOG
    ) -> AuditEventQuerySet:
        """Platform auditors see everything; others the events of their organisations."""
        platform, orgs = organisations_with(user, perm)
        if platform:
            return self.all()
        if not orgs:
            return self.none()
        return self.filter(organisation_id__in=orgs)


class AuditEvent(models.Model):
    seq = models.PositiveBigIntegerField(unique=True, editable=False)
    occurred_at = models.DateTimeField(editable=False)
    # validated by ``audit.log.record`` (``EventKind(kind)``), not by field choices: choices
    # would make every new event kind a migration that rewrites the whole list
    kind = models.CharField(max_length=64)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    actor_label = models.CharField(max_length=200, blank=True)
    organisation = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    details_json = models.TextField(default="{}")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]
        verbose_name = _("audit event")

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind}"

    @property
    def details(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.details_json)
        return value

    @property
    def description(self) -> str:
        try:
            return str(DESCRIPTIONS[EventKind(self.kind)])
        except ValueError:
            return str(_("(unknown event kind)"))


class AuditCheckpoint(models.Model):
    """A signed statement of the chain's head (``datalux.audit.checkpoints``), also published
    as a file outside the database. Rows are only ever inserted (database triggers)."""

    seq = models.PositiveBigIntegerField(unique=True, editable=False)
    head_hash = models.CharField(max_length=64, editable=False)
    event_count = models.PositiveBigIntegerField(editable=False)
    created_at = models.DateTimeField(editable=False)
    key_id = models.CharField(max_length=16, editable=False)
    signature = models.CharField(max_length=128, editable=False)

    class Meta:
        ordering = ["seq"]
        verbose_name = _("audit checkpoint")

    def __str__(self) -> str:
        return f"checkpoint #{self.seq}"
