"""The citizens' records (issue 16). Persons appear only as a citizen's own identity or as
keyed pseudonyms (``subject``, :func:`datalux.citizens.identity.subject_for`), never by
their national number in clear."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

USER = settings.AUTH_USER_MODEL


class IdentitySource(models.TextChoices):
    OIDC = "oidc", _("State identity provider")
    DEMO = "demo", _("Demo account")
    ADMIN = "admin", _("Registered by an operator")


class CitizenIdentity(models.Model):
    """A citizen's account and the person it is: one account per person, one person per
    account. The national number is stored sealed (:mod:`datalux.citizens.identity`)."""

    user = models.OneToOneField(USER, on_delete=models.CASCADE, related_name="citizen_identity")
    subject = models.CharField(max_length=64, unique=True, editable=False)
    sealed_number = models.CharField(max_length=200, editable=False)
    source = models.CharField(max_length=8, choices=IdentitySource.choices)
    created_at = models.DateTimeField(default=timezone.now)
    last_verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("citizen identity")
        verbose_name_plural = _("citizen identities")

    def __str__(self) -> str:
        return f"citizen identity of {self.user}"


class SecondaryUseChoice(models.Model):
    """One change of a person's objection to the secondary use of their data (the opt-out);
    the newest row is in force. Rows are never edited: they are the history."""

    identity = models.ForeignKey(
        CitizenIdentity, on_delete=models.CASCADE, related_name="secondary_use_choices"
    )
    opted_out = models.BooleanField()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{'opted out' if self.opted_out else 'no objection'} at {self.at:%Y-%m-%d}"


class AltruismPurpose(models.TextChoices):
    """Objectives of general interest (Data Governance Act, Art. 2(16))."""

    HEALTH_CARE = "health_care", _("Health care")
    CLIMATE = "climate", _("Combating climate change")
    MOBILITY = "mobility", _("Improving mobility")
    OFFICIAL_STATISTICS = "official_statistics", _("Official statistics")
    PUBLIC_SERVICES = "public_services", _("Improving public services")
    PUBLIC_POLICY = "public_policy", _("Public policy making")
    SCIENTIFIC_RESEARCH = "scientific_research", _("Scientific research in the general interest")


class AltruismConsent(models.Model):
    """Consent to data altruism in the terms of the European data altruism consent form:
    purposes, data, the organisation processing it, duration. Withdrawal sets
    ``withdrawn_at`` (never deletes): the row stays as history."""

    reference = models.CharField(max_length=24, unique=True, editable=False)
    identity = models.ForeignKey(
        CitizenIdentity, on_delete=models.CASCADE, related_name="altruism_consents"
    )
    purposes = models.JSONField(_("purposes"), default=list)  # AltruismPurpose values
    datasets = models.ManyToManyField(
        "catalogue.Dataset", related_name="altruism_consents", verbose_name=_("data")
    )
    organisation = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        related_name="altruism_consents",
        verbose_name=_("data altruism organisation"),
    )
    valid_until = models.DateField(_("valid until"))
    form_version = models.CharField(max_length=40)
    given_at = models.DateTimeField(default=timezone.now)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-given_at", "-pk"]

    def __str__(self) -> str:
        return self.reference


class PersonUse(models.Model):
    """The trusted third party's record that a permit's extract included a person's records
    (written at preparation, from the TTP's own mapping; the project never sees it)."""

    subject = models.CharField(max_length=64)
    permit = models.ForeignKey(
        "access.Permit", on_delete=models.PROTECT, related_name="person_uses"
    )
    version = models.PositiveIntegerField()  # the permit version whose extract it was
    datasets = models.JSONField(default=list)  # PIDs of the datasets the person's rows came from
    on_consent = models.BooleanField(default=False)  # donated data (DGA Art. 20 record)
    prepared_at = models.DateTimeField(default=timezone.now)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "permit", "version"], name="citizens_one_use_per_extract"
            )
        ]
        indexes = [models.Index(fields=["subject", "-prepared_at"], name="citizens_use_subject")]

    def __str__(self) -> str:
        return f"use by permit {self.permit_id} v{self.version}"


class RectificationState(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    EXTENDED = "extended", _("Deadline extended")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Rectification(models.Model):
    """A request (GDPR Art. 16) to correct one item an authentic source holds about the
    requester; answered by a steward of the source's holder within the deadline."""

    reference = models.CharField(max_length=24, unique=True, editable=False)
    identity = models.ForeignKey(
        CitizenIdentity, on_delete=models.CASCADE, related_name="rectifications"
    )
    source = models.ForeignKey(
        "onceonly.AuthenticSource", on_delete=models.PROTECT, related_name="rectifications"
    )
    item = models.CharField(_("data item"), max_length=100)
    proposed_value = models.CharField(_("correct value"), max_length=500)
    explanation = models.TextField(_("explanation"))
    state = models.CharField(
        max_length=16, choices=RectificationState.choices, default=RectificationState.SUBMITTED
    )
    submitted_at = models.DateTimeField(default=timezone.now)
    due_on = models.DateField()
    extension_reason = models.TextField(blank=True)
    answer = models.TextField(blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    applied_version = models.PositiveIntegerField(null=True, blank=True)  # the source's new version
    reminded_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-pk"]

    def __str__(self) -> str:
        return self.reference
