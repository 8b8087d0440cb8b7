"""Exchange protocols: the agreements that let one public body obtain data items about a person
from another body's authentic source (the public register of Once Only exchanges).

A protocol is versioned: every version is a row with the same ``reference`` and a higher
``version``, pointing at the version it ``supersedes``. At most one version of a reference is
active or suspended at any time (a database constraint).
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from datalux.accounts.models import Organisation
from datalux.onceonly.states import PROTOCOL_STATE_LABELS, ProtocolState


class ExchangeFrequency(models.TextChoices):
    """How often the consumer may ask (what the protocol allows, not a rate limit)."""

    ON_DEMAND = "on_demand", _("On demand, case by case")
    DAILY = "daily", _("Daily batch")
    WEEKLY = "weekly", _("Weekly batch")
    MONTHLY = "monthly", _("Monthly batch")
    ANNUAL = "annual", _("Annual batch")


class Protocol(models.Model):
    reference = models.CharField(max_length=20, db_index=True)  # OOP-0001, kept by new versions
    version = models.PositiveIntegerField(default=1)
    supersedes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )
    source = models.ForeignKey(
        "onceonly.AuthenticSource", on_delete=models.PROTECT, related_name="protocols"
    )
    provider = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="provided_protocols",
        verbose_name=_("provider body"),
    )
    consumer = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="consumed_protocols",
        verbose_name=_("consumer body"),
    )
    title = models.CharField(_("title"), max_length=200)
    items = models.JSONField(_("data items"), default=list)  # names in the source's dictionary
    legal_basis = models.TextField(_("legal basis"))
    purpose = models.SlugField(_("purpose code"), max_length=80)  # what an exchange must name
    purpose_description = models.TextField(_("purpose"))
    frequency = models.CharField(_("frequency"), max_length=16, choices=ExchangeFrequency.choices)
    retention_days = models.PositiveIntegerField(_("retention at the consumer (days)"))
    dpia_reference = models.CharField(_("DPIA reference"), max_length=200)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    # how long an exchange may keep its record from the person (investigations); 0: never
    max_deferral_days = models.PositiveIntegerField(_("longest deferral (days)"), default=0)
    # the consumer body is a security agency: its exchanges are left out of the published
    # operations data (X-Road's rule; issue 15, item 7), every version and refusal included
    consumer_security_agency = models.BooleanField(
        _("consumer is a security agency (left out of the published operations data)"),
        default=False,
    )
    state = models.CharField(
        max_length=16,
        choices=[(s.value, PROTOCOL_STATE_LABELS[s]) for s in ProtocolState],
        default=ProtocolState.DRAFT,
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    provider_agreed_at = models.DateTimeField(null=True, blank=True)
    provider_agreed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    activated_at = models.DateTimeField(null=True, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    # the last return, suspension or retirement reason (each also in its audit event)
    state_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["reference", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["reference", "version"], name="unique_protocol_version"
            ),
            models.UniqueConstraint(
                fields=["reference"],
                condition=models.Q(state__in=[ProtocolState.ACTIVE, ProtocolState.SUSPENDED]),
                name="one_live_protocol_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} v{self.version} {self.title}"

    @property
    def organisation_id(self) -> int:
        """A protocol belongs to its consumer body (whose officials draft it)."""
        return self.consumer_id

    @property
    def state_label(self) -> str:
        return str(PROTOCOL_STATE_LABELS[ProtocolState(self.state)])

    def in_force(self, today: date) -> bool:
        """Active and within its validity dates on ``today``."""
        return (
            self.state == ProtocolState.ACTIVE
            and self.valid_from <= today
            and (self.valid_until is None or today <= self.valid_until)
        )
