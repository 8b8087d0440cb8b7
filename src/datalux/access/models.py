"""Applications, their reviews and decisions, permits and notifications.

Nothing here is ever deleted by the application: state changes go through ``actions`` and
leave audit events; resubmissions keep snapshots; permits keep every version.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from datalux.access import clock
from datalux.access.states import (
    APPLICATION_STATE_LABELS,
    DECIDED,
    PERMIT_STATE_LABELS,
    ApplicationState,
)
from datalux.access.vocabularies import (
    FORM_SCHEMA_VERSION,
    AttachmentKind,
    ClockStart,
    ConditionKind,
    DataForm,
    LegalBasisArt6,
    LegalBasisArt9,
    PurposeCategory,
    Vote,
)
from datalux.accounts.models import Organisation
from datalux.accounts.permissions import has_permission, organisations_with
from datalux.accounts.roles import Permission
from datalux.catalogue.models import Dataset

USER = settings.AUTH_USER_MODEL
AUTHORITY_PERMS = (Permission.HANDLE_APPLICATIONS, Permission.DECIDE_APPLICATIONS)


class Procedure(models.Model):
    """A legal procedure: its decision period, extension and when the clock starts."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    legal_reference = models.CharField(max_length=200, blank=True)
    decision_months = models.PositiveSmallIntegerField(default=2)
    extension_days = models.PositiveSmallIntegerField(default=30)
    clock_start = models.CharField(
        max_length=16, choices=ClockStart.choices, default=ClockStart.RECEIVED
    )
    reminder_days = models.JSONField(default=list)  # e.g. [14, 3]: days before the deadline
    redress = models.TextField(blank=True)  # how to seek redress against a decision
    is_default = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.name


class ApplicationQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> ApplicationQuerySet:
        """Applications ``user`` may see: their own, ones naming them, and the authority's work.

        Authority staff (handlers, deciders) see everything but drafts; the assistance desk
        also sees drafts (to help before submission); reviewers see the applications whose
        opinion was asked of their organisation.
        """
        if user is None or not user.is_authenticated:
            return self.none()
        mine = Q(applicant=user) | Q(named_persons__user=user)
        if user.email:
            # Named before their account existed: matched by the e-mail address the platform
            # administrators registered (accounts are not self-registered); accepting the
            # terms links the account.
            mine |= Q(named_persons__user__isnull=True, named_persons__email__iexact=user.email)
        if has_permission(user, Permission.ASSIST_APPLICANTS):
            return self.all()
        if any(has_permission(user, perm) for perm in AUTHORITY_PERMS):
            return self.filter(mine | ~Q(state=ApplicationState.DRAFT)).distinct()
        platform, orgs = organisations_with(user, Permission.REVIEW_APPLICATIONS)
        if platform:
            return self.filter(mine | ~Q(state=ApplicationState.DRAFT)).distinct()
        if orgs:
            asked = Q(opinion_requests__organisation__in=orgs)
            return self.filter(mine | asked).distinct()
        return self.filter(mine).distinct()


class Application(models.Model):
    reference = models.CharField(max_length=20, unique=True)  # DLX-A-2026-0001
    procedure = models.ForeignKey(Procedure, on_delete=models.PROTECT, related_name="applications")
    schema_version = models.CharField(max_length=8, default=FORM_SCHEMA_VERSION)
    state = models.CharField(
        max_length=32, choices=list(APPLICATION_STATE_LABELS.items()), default="draft"
    )
    applicant = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="applications")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="applications"
    )
    handler = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="handled_applications"
    )

    # The form (schema_version 1.0).
    title = models.CharField(max_length=300)
    purpose_category = models.CharField(max_length=32, choices=PurposeCategory.choices, blank=True)
    purpose_description = models.TextField(blank=True)
    expected_benefit = models.TextField(blank=True)
    lay_summary = models.TextField(blank=True)
    data_form = models.CharField(max_length=16, choices=DataForm.choices, blank=True)
    pseudonymised_justification = models.TextField(blank=True)
    linkage_needed = models.BooleanField(default=False)
    linkage_description = models.TextField(blank=True)
    legal_basis_art6 = models.CharField(max_length=8, choices=LegalBasisArt6.choices, blank=True)
    legal_basis_art9 = models.CharField(
        max_length=8, choices=LegalBasisArt9.choices, blank=True, default=""
    )
    special_categories = models.BooleanField(default=False)
    ethics_reference = models.CharField(max_length=200, blank=True)
    funding = models.TextField(blank=True)
    commercial_involvement = models.BooleanField(default=False)
    commercial_description = models.TextField(blank=True)
    safeguards = models.TextField(blank=True)
    requested_months = models.PositiveSmallIntegerField(null=True, blank=True)
    processing_tools = models.TextField(blank=True)
    processing_compute = models.TextField(blank=True)

    # The clock.
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    received_at = models.DateTimeField(null=True, blank=True)  # first submission
    complete_at = models.DateTimeField(null=True, blank=True)  # accepted as complete
    decided_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    access_granted_at = models.DateTimeField(null=True, blank=True)  # first workspace access
    extended_days = models.PositiveSmallIntegerField(default=0)
    extension_reason = models.TextField(blank=True)
    returns = models.PositiveSmallIntegerField(default=0)  # returned for incompleteness
    submissions = models.PositiveSmallIntegerField(default=0)
    reminders_sent = models.JSONField(default=list, blank=True)  # reminder day marks already sent

    objects = ApplicationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state"]), models.Index(fields=["received_at"])]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    def owning_organisation_id(self) -> int | None:
        return self.organisation_id

    @property
    def clock_starts_at(self) -> Any:
        if self.procedure.clock_start == ClockStart.COMPLETE:
            return self.complete_at
        return self.received_at

    @property
    def deadline(self) -> Any:
        return clock.deadline(
            self.clock_starts_at,
            months=self.procedure.decision_months,
            extension_days=self.extended_days,
        )

    def clock(self, now: Any = None) -> clock.Clock:
        stopped = self.decided_at or self.withdrawn_at
        return clock.Clock(self.clock_starts_at, self.deadline, now or timezone.now(), stopped)

    @property
    def is_decided(self) -> bool:
        return self.state in DECIDED

    def form_data(self) -> dict[str, Any]:
        """The whole form as plain data: what snapshots store and resubmission diffs compare."""
        data: dict[str, Any] = {name: getattr(self, name) for name in FORM_FIELDS}
        data["datasets"] = [item.as_data() for item in self.datasets.order_by("dataset__pid")]
        data["named_persons"] = sorted((p.email for p in self.named_persons.all()), key=str.lower)
        data["attachments"] = sorted(a.sha256 for a in self.attachments.all())
        return data


FORM_FIELDS = (
    "title",
    "purpose_category",
    "purpose_description",
    "expected_benefit",
    "lay_summary",
    "data_form",
    "pseudonymised_justification",
    "linkage_needed",
    "linkage_description",
    "legal_basis_art6",
    "legal_basis_art9",
    "special_categories",
    "ethics_reference",
    "funding",
    "commercial_involvement",
    "commercial_description",
    "safeguards",
    "requested_months",
    "processing_tools",
    "processing_compute",
)


class ApplicationDataset(models.Model):
    """One requested dataset: which variables, which rows (filters) and which period."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="datasets")
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="requests")
    variables = models.JSONField(default=list)  # names from the data dictionary
    time_start = models.DateField(null=True, blank=True)
    time_end = models.DateField(null=True, blank=True)
    filters = models.JSONField(default=list, blank=True)  # [{"variable","op","value"}]
    population = models.TextField(blank=True)  # the population in words

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["application", "dataset"], name="one_request_per_dataset"
            )
        ]

    def __str__(self) -> str:
        return f"{self.application_id}: {self.dataset_id}"

    def as_data(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset.pid,
            "variables": sorted(self.variables),
            "time_start": self.time_start.isoformat() if self.time_start else None,
            "time_end": self.time_end.isoformat() if self.time_end else None,
            "filters": self.filters,
            "population": self.population,
        }


class NamedPerson(models.Model):
    """A person who will access the data; must accept the terms before any access."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="named_persons"
    )
    user = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="named_in"
    )
    name = models.CharField(max_length=200)
    email = models.EmailField()
    role_in_project = models.CharField(max_length=200, blank=True)
    terms_accepted_at = models.DateTimeField(null=True, blank=True)
    terms_version = models.CharField(max_length=16, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["application", "email"], name="named_once")]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class Attachment(models.Model):
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="attachments"
    )
    kind = models.CharField(max_length=32, choices=AttachmentKind.choices)
    name = models.CharField(max_length=255)
    media_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    path = models.CharField(max_length=500)  # relative to the storage root
    uploaded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class Snapshot(models.Model):
    """The form as it was at each (re)submission; the handler sees what changed."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="snapshots")
    number = models.PositiveSmallIntegerField()
    schema_version = models.CharField(max_length=8)
    data = models.JSONField()
    changed = models.JSONField(default=list)  # fields changed since the previous snapshot
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["application", "number"], name="snapshot_number")
        ]

    def __str__(self) -> str:
        return f"snapshot {self.number} of application {self.application_id}"


class Comment(models.Model):
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    field = models.CharField(max_length=64, blank=True)  # the form field it is about, if any
    internal = models.BooleanField(default=False)  # authority-only note, hidden from applicants
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"comment {self.pk} by {self.author_id}"


class OpinionRequest(models.Model):
    """The handler asks an organisation (a data holder, an ethics committee) for an opinion."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="opinion_requests"
    )
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    question = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["application", "organisation"], name="ask_once")
        ]

    def __str__(self) -> str:
        return f"opinion of {self.organisation_id} on {self.application_id}"

    def owning_organisation_id(self) -> int | None:
        return self.organisation_id


class Opinion(models.Model):
    request = models.ForeignKey(OpinionRequest, on_delete=models.CASCADE, related_name="opinions")
    reviewer = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    vote = models.CharField(max_length=32, choices=Vote.choices)
    text = models.TextField()
    conditions = models.JSONField(default=list, blank=True)  # suggested condition codes
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["request", "reviewer"], name="one_vote_each")
        ]

    def __str__(self) -> str:
        return f"{self.vote} by {self.reviewer_id}"


class Decision(models.Model):
    application = models.OneToOneField(
        Application, on_delete=models.PROTECT, related_name="decision"
    )
    outcome = models.CharField(
        max_length=32, choices=[(s.value, APPLICATION_STATE_LABELS[s]) for s in sorted(DECIDED)]
    )
    reasons = models.TextField()
    redress = models.TextField()
    decided_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.outcome} on {self.application_id}"


class Permit(models.Model):
    """What the secure processing environment will prepare, exactly (see ``spec()``)."""

    number = models.CharField(max_length=24, unique=True)  # DLX-P-2026-0001
    version = models.PositiveSmallIntegerField(default=1)
    application = models.OneToOneField(Application, on_delete=models.PROTECT, related_name="permit")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="permits")
    state = models.CharField(
        max_length=16, choices=list(PERMIT_STATE_LABELS.items()), default="active"
    )
    data_form = models.CharField(max_length=16, choices=DataForm.choices)
    linkage = models.BooleanField(default=False)
    starts_on = models.DateField()
    ends_on = models.DateField()
    output_rules = models.JSONField(default=dict)  # disclosure thresholds for the SPE
    decided_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    reasons = models.TextField()
    redress = models.TextField()
    issued_at = models.DateTimeField(default=timezone.now)
    changed_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at"]

    def __str__(self) -> str:
        return f"{self.number} v{self.version}"

    def owning_organisation_id(self) -> int | None:
        return self.organisation_id

    def authorised_persons(self) -> models.QuerySet[NamedPerson]:
        return self.application.named_persons.all()

    @property
    def aggregate_only(self) -> bool:
        """Whether the permit gives aggregate statistics only (the *aggregate* form, or the
        output rule ``aggregate_only``): the aggregate service, never a workspace."""
        return self.data_form == DataForm.AGGREGATE or bool(
            (self.output_rules or {}).get("aggregate_only")
        )

    def spec(self) -> dict[str, Any]:
        """The machine-readable permit: the SPE prepares exactly this and nothing else."""
        return {
            "permit": self.number,
            "version": self.version,
            "state": self.state,
            "application": self.application.reference,
            "holder_organisation": self.organisation.name,
            "authorised_persons": [
                {
                    "name": p.name,
                    "email": p.email,
                    "terms_accepted": p.terms_accepted_at is not None,
                }
                for p in self.authorised_persons().order_by("email")
            ],
            "purpose": self.application.purpose_category,
            "form": self.data_form,
            "linkage": self.linkage,
            "starts_on": self.starts_on.isoformat(),
            "ends_on": self.ends_on.isoformat(),
            "datasets": [d.as_data() for d in self.datasets.order_by("dataset__pid")],
            "conditions": [c.as_data() for c in self.conditions.order_by("pk")],
            "output_rules": self.output_rules,
            "decided_by": self.decided_by.get_username(),
            "reasons": self.reasons,
            "redress": self.redress,
        }


class PermitDataset(models.Model):
    permit = models.ForeignKey(Permit, on_delete=models.CASCADE, related_name="datasets")
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="+")
    variables = models.JSONField(default=list)
    time_start = models.DateField(null=True, blank=True)
    time_end = models.DateField(null=True, blank=True)
    filters = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"{self.permit_id}: {self.dataset_id}"

    def as_data(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset.pid,
            "holder": self.dataset.publisher.name,
            "variables": sorted(self.variables),
            "time_start": self.time_start.isoformat() if self.time_start else None,
            "time_end": self.time_end.isoformat() if self.time_end else None,
            "filters": self.filters,
        }


class Condition(models.Model):
    permit = models.ForeignKey(Permit, on_delete=models.CASCADE, related_name="conditions")
    kind = models.CharField(max_length=16, choices=ConditionKind.choices)
    code = models.CharField(max_length=64, blank=True)  # a STANDARD_CONDITIONS key, or blank
    text = models.TextField()

    def __str__(self) -> str:
        return f"{self.kind}: {self.text[:40]}"

    def as_data(self) -> dict[str, Any]:
        return {"kind": self.kind, "code": self.code, "text": self.text}


class PermitVersion(models.Model):
    """Every version of a permit as it was issued, amended or extended (never rewritten)."""

    permit = models.ForeignKey(Permit, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveSmallIntegerField()
    spec = models.JSONField()
    change = models.CharField(max_length=16)  # issued / amended / extended
    reason = models.TextField(blank=True)
    by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["version"]
        constraints = [models.UniqueConstraint(fields=["permit", "version"], name="permit_version")]

    def __str__(self) -> str:
        return f"{self.permit_id} v{self.version}"


class Notification(models.Model):
    """The in-app inbox; the same text is e-mailed."""

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="notifications")
    subject = models.CharField(max_length=200)
    body = models.TextField()
    url = models.CharField(max_length=300, blank=True)
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return self.subject
