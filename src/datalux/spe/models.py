"""The secure processing environment's records: a preparation per permit version, and the
trusted third party's secret of each project's pseudonym domain."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

USER = settings.AUTH_USER_MODEL


class PreparationState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    EXTRACTING = "extracting", _("Extracting")
    PSEUDONYMISING = "pseudonymising", _("Pseudonymising")
    LINKING = "linking", _("Linking")
    ANONYMISING = "anonymising", _("Anonymising")
    VERIFYING = "verifying", _("Verifying")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


RUNNING_STATES = frozenset(
    {
        PreparationState.EXTRACTING,
        PreparationState.PSEUDONYMISING,
        PreparationState.LINKING,
        PreparationState.ANONYMISING,
        PreparationState.VERIFYING,
    }
)


class Preparation(models.Model):
    """The preparation of one permit version's extract: a job on the task queue.

    ``state`` moves queued → extracting → pseudonymising → (linking) → (anonymising) →
    verifying → ready, or to failed with a ``code`` and a human ``message``. The extract
    itself is a folder under the storage root; ``manifest`` is its manifest once ready.
    ``locked_at`` is set when the permit stops being active (the extract is read-only and no
    workspace mounts it), ``deleted_at`` when the retention period has passed and the files are
    gone."""

    permit = models.ForeignKey(
        "access.Permit", on_delete=models.PROTECT, related_name="preparations"
    )
    version = models.PositiveSmallIntegerField()  # the permit version prepared
    engine = models.CharField(max_length=16, default="duckdb")
    state = models.CharField(
        max_length=16, choices=PreparationState.choices, default=PreparationState.QUEUED
    )
    step_detail = models.CharField(max_length=200, blank=True)  # e.g. the table being written
    code = models.CharField(max_length=40, blank=True)  # why it failed, a stable short word
    message = models.TextField(blank=True)  # why it failed, in words (names what to fix)
    manifest = models.JSONField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    requested_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    locked_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["permit", "version"], name="spe_one_preparation")
        ]

    def __str__(self) -> str:
        return f"{self.permit.number} v{self.version}: {self.state}"

    def owning_organisation_id(self) -> int | None:
        return self.permit.organisation_id  # type: ignore[no-any-return]

    @property
    def running(self) -> bool:
        return self.state in RUNNING_STATES

    @property
    def available(self) -> bool:
        """Ready, not locked and not deleted: a workspace may mount it."""
        return self.state == PreparationState.READY and not self.locked_at and not self.deleted_at

    def summary(self) -> dict[str, Any]:
        return {
            "permit": self.permit.number,
            "version": self.version,
            "engine": self.engine,
            "state": self.state,
            "step": self.step_detail,
            "code": self.code,
            "message": self.message,
            "attempts": self.attempts,
            "requested_at": self.requested_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "locked_at": self.locked_at.isoformat() if self.locked_at else None,
            "deleted_at": self.deleted_at.isoformat() if self.deleted_at else None,
        }


class ProjectKey(models.Model):
    """The trusted third party's random secret of one project's pseudonym domain.

    The domain's keys are derived from the master key (outside the database) *and* this
    secret (:meth:`datalux.privacy.keys.MasterKey.domain_keys`): neither alone gives them.
    Shredding sets ``secret`` to nothing, so the project's pseudonyms can never be derived
    again, by anyone (crypto-shredding); backups taken before keep it until they expire."""

    domain = models.CharField(max_length=80, unique=True)
    secret = models.BinaryField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    shredded_at = models.DateTimeField(null=True, blank=True)
    shredded_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.domain}{' (shredded)' if self.shredded_at else ''}"

    def __repr__(self) -> str:
        return f"<ProjectKey {self.domain} <redacted>>"
