"""The secure processing environment's records: a preparation per permit version, and the
trusted third party's secret of each project's pseudonym domain."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from datalux.spe.release_states import OPEN, RELEASE_STATE_LABELS, ReleaseState

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


class Workspace(models.Model):
    """A permit's workspace: the read-only extract, the submitted code, a private output folder
    per job. Its limits bound every job (a permit's processing needs, set by the trusted third
    party; the defaults suit a desktop-sized analysis). It is open while the permit is active
    and the person is an authorised person who accepted the terms; ``locked_at`` records when it
    was locked (the permit ended or was revoked), after which no job starts."""

    permit = models.OneToOneField(
        "access.Permit", on_delete=models.PROTECT, related_name="workspace"
    )
    created_at = models.DateTimeField(default=timezone.now)
    locked_at = models.DateTimeField(null=True, blank=True)
    cpu_seconds = models.PositiveIntegerField(default=3600)
    memory_mb = models.PositiveIntegerField(default=4096)
    wall_seconds = models.PositiveIntegerField(default=7200)
    max_processes = models.PositiveIntegerField(default=64)
    output_mb = models.PositiveIntegerField(default=1024)
    max_running_jobs = models.PositiveSmallIntegerField(default=2)

    def __str__(self) -> str:
        return f"workspace of {self.permit.number}"

    def owning_organisation_id(self) -> int | None:
        return self.permit.organisation_id  # type: ignore[no-any-return]


class CodeVersion(models.Model):
    """One submitted version of the project's code, kept as it was (``sha256``: the
    fingerprint of its files, see :func:`datalux.spe.code.fingerprint`)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    files = models.JSONField(default=list)  # [{path, size, sha256}]
    actions = models.JSONField(default=list)  # [{name, run, needs, outputs}] from project.yaml
    note = models.CharField(max_length=200, blank=True)
    uploaded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "number"], name="spe_code_number")
        ]

    def __str__(self) -> str:
        return f"{self.workspace.permit.number} code v{self.number} ({self.sha256[:12]})"


class JobState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    PREPARING = "preparing", _("Preparing")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class JobCode(models.TextChoices):
    """Why a job ended as it did: shown to the researcher with a fixed message."""

    SUCCEEDED = "succeeded", _("The action ran and wrote its declared outputs.")
    NONZERO_EXIT = "nonzero_exit", _("The code stopped with an error: see the log.")
    OUT_OF_MEMORY = "out_of_memory", _("The code used more memory than the workspace allows.")
    TIMED_OUT = "timed_out", _("The code ran longer than the workspace allows.")
    OUTPUT_TOO_LARGE = "output_too_large", _("The code wrote more than the workspace allows.")
    UNMATCHED_OUTPUTS = (
        "unmatched_outputs",
        _("The code wrote files that project.yaml does not declare, or missed declared ones."),
    )
    DEPENDENCY_FAILED = "dependency_failed", _("An action this one needs did not succeed.")
    CANCELLED = "cancelled", _("The job was cancelled.")
    WORKSPACE_LOCKED = "workspace_locked", _("The permit no longer allows work on the data.")
    SANDBOX_UNAVAILABLE = (
        "sandbox_unavailable",
        _("The sandbox cannot run on this server: the operators have been told."),
    )
    INTERNAL_ERROR = (
        "internal_error",
        _("The platform failed to run the job: the operators have been told."),
    )


class DataKind(models.TextChoices):
    EXTRACT = "extract", _("the prepared extract")
    DUMMY = "dummy", _("dummy data")


class Job(models.Model):
    """One run of one action of one code version, in the sandbox.

    ``state`` moves queued → preparing → running → succeeded, or to failed with a ``code``
    (:class:`JobCode`). A queued job waits for the jobs it needs (``needs``) to succeed and
    fails with ``dependency_failed`` when one fails. The log and the outputs stay in the
    workspace (they may hold data).

    A job with a ``query`` and no ``code_version`` is a console query's result saved as a table
    (:mod:`datalux.spe.console_outputs`): it ran in the sandbox when it was saved, is created
    succeeded (never queued) and its outputs are proposed for release like any other."""

    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="jobs")
    code_version = models.ForeignKey(
        CodeVersion, on_delete=models.PROTECT, related_name="jobs", null=True, blank=True
    )
    query = models.ForeignKey(
        "Query", on_delete=models.PROTECT, related_name="saved_outputs", null=True, blank=True
    )
    action = models.CharField(max_length=64)
    data = models.CharField(max_length=8, choices=DataKind.choices, default=DataKind.EXTRACT)
    needs = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="+")
    state = models.CharField(max_length=12, choices=JobState.choices, default=JobState.QUEUED)
    code = models.CharField(max_length=24, choices=JobCode.choices, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    outputs = models.JSONField(default=list)  # [{path, name, sensitivity, size, sha256}]
    limits = models.JSONField(default=dict)  # the limits it ran under, and which were enforced
    requested_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-requested_at", "-pk"]

    def __str__(self) -> str:
        return f"job {self.pk} {self.action} ({self.state})"

    def owning_organisation_id(self) -> int | None:
        return self.workspace.permit.organisation_id  # type: ignore[no-any-return]

    @property
    def finished(self) -> bool:
        return self.state in (JobState.SUCCEEDED, JobState.FAILED)

    @property
    def message(self) -> str:
        return str(JobCode(self.code).label) if self.code else ""


class Query(models.Model):
    """One SQL query of the workspace's console, run in the sandbox on the extract (or the
    dummy data), read-only. The result stays in the workspace as a CSV file
    (``queries/<id>/result.csv``), which a release request may later propose."""

    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="queries")
    sql = models.TextField()
    data = models.CharField(max_length=8, choices=DataKind.choices, default=DataKind.EXTRACT)
    code = models.CharField(max_length=24, choices=JobCode.choices, blank=True)
    error = models.TextField(blank=True)  # the engine's message, shown in the workspace only
    rows = models.PositiveIntegerField(null=True, blank=True)
    truncated = models.BooleanField(default=False)
    sha256 = models.CharField(max_length=64, blank=True)
    requested_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]

    def __str__(self) -> str:
        return f"query {self.pk} ({self.code or 'running'})"


class ReleaseRequest(models.Model):
    """A request to take output files out of a workspace (STYLE.md 5: the state machine is
    :mod:`datalux.spe.release_states`). ``round`` counts the review rounds: each submission
    opens one, in which two output checkers review every file."""

    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="releases")
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)  # what the outputs show, for the results summary
    state = models.CharField(
        max_length=16,
        choices=[(s.value, label) for s, label in RELEASE_STATE_LABELS.items()],
        default=ReleaseState.DRAFT.value,
    )
    round = models.PositiveSmallIntegerField(default=0)
    requested_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)  # the latest (re)submission
    first_submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)  # released, rejected or withdrawn
    reasons = models.TextField(blank=True)  # of a rejection, or why it was returned
    released_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    data_product = models.ForeignKey(
        "catalogue.DataProduct", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="releases",
    )  # fmt: skip

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "requested_by"],
                condition=models.Q(state__in=sorted(s.value for s in OPEN)),
                name="spe_one_open_release",
            )
        ]

    def __str__(self) -> str:
        return f"release request {self.pk} of {self.workspace.permit.number} ({self.state})"

    def owning_organisation_id(self) -> int | None:
        return self.workspace.permit.organisation_id  # type: ignore[no-any-return]


class FileDecision(models.TextChoices):
    """A checker's vote on a file: its labels are the verbs of the voting form."""

    APPROVE = "approve", _("Approve")
    CHANGES = "changes", _("Request changes")


#: A decision once taken, as pages show it (the outcome, not the verb of the form).
DECISION_OUTCOMES: dict[str, Any] = {
    "approve": _("Approved"),
    "changes": _("Changes requested"),
}


class ReleaseFile(models.Model):
    """One output file proposed for release, with the researcher's context and the automatic
    checks (with the file's SHA-256 and the rules used). ``decision`` is the outcome of the
    round (both checkers' votes, or the consolidation)."""

    request = models.ForeignKey(ReleaseRequest, on_delete=models.CASCADE, related_name="files")
    job = models.ForeignKey(Job, on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=300)  # the output's path in the job (output/...)
    name = models.CharField(max_length=200)  # the output's name in project.yaml
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField(default=0)
    description = models.TextField(blank=True)  # what it shows
    underlying_counts = models.TextField(blank=True)  # the counts behind every rate or figure
    controls = models.TextField(blank=True)  # disclosure controls applied
    count_columns = models.JSONField(default=list)
    magnitude_columns = models.JSONField(default=list)
    checks = models.JSONField(default=dict)  # the verdict: {status, checks, rules, sha256}
    checked_at = models.DateTimeField(null=True, blank=True)
    decision = models.CharField(max_length=8, choices=FileDecision.choices, blank=True)
    released_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["request", "job", "path"], name="spe_release_file_once")
        ]

    def __str__(self) -> str:
        return f"{self.path} of job {self.job_id}"

    @property
    def filename(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def outcome(self) -> str:
        """What became of the file, as pages show it: the request's end (released, rejected,
        withdrawn) where it has ended, else the round's decision; "" while undecided."""
        state = self.request.state
        if state == ReleaseState.RELEASED and self.released_sha256:
            return str(RELEASE_STATE_LABELS[ReleaseState.RELEASED])
        if state in (ReleaseState.REJECTED, ReleaseState.WITHDRAWN):
            return str(RELEASE_STATE_LABELS[ReleaseState(state)])
        if state == ReleaseState.RETURNED and self.decision == FileDecision.CHANGES:
            return str(RELEASE_STATE_LABELS[ReleaseState.RETURNED])
        return str(DECISION_OUTCOMES.get(self.decision, ""))


class Review(models.Model):
    """One output checker's review of one round of a request: a vote per file. Until
    ``submitted_at`` it is the checker's draft; the other checker's votes stay hidden until
    both reviews of the round are submitted. ``consolidation`` marks the decision taken on
    disagreement."""

    request = models.ForeignKey(ReleaseRequest, on_delete=models.CASCADE, related_name="reviews")
    round = models.PositiveSmallIntegerField()
    checker = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    consolidation = models.BooleanField(default=False)
    started_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["round", "started_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "round", "checker", "consolidation"], name="spe_review_once"
            )
        ]

    def __str__(self) -> str:
        return f"review of request {self.request_id} round {self.round} by {self.checker_id}"


class Vote(models.Model):
    """A checker's vote on one file, with a comment for the checkers only and one for the
    researcher."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="votes")
    file = models.ForeignKey(ReleaseFile, on_delete=models.CASCADE, related_name="votes")
    decision = models.CharField(max_length=8, choices=FileDecision.choices)
    private_comment = models.TextField(blank=True)
    public_comment = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["review", "file"], name="spe_vote_once")]

    def __str__(self) -> str:
        return f"{self.decision} on file {self.file_id}"

    @property
    def outcome(self) -> str:
        """The vote as pages show it ("Approved", "Changes requested")."""
        return str(DECISION_OUTCOMES.get(self.decision, self.decision))


class AggregateStatus(models.TextChoices):
    RELEASED = "released", _("Released")
    REFUSED = "refused", _("Refused")


class AggregateMethod(models.TextChoices):
    CHECKED = "checked", _("Disclosure checks (suppression and rounding)")
    DP = "dp", _("Differential privacy")


class AggregateQuery(models.Model):
    """One query of the aggregate-only service of an aggregate permit: the typed spec (no SQL),
    how it was protected, and what was released: the checked or differentially private table
    and its report (never a row, never the value of a suppressed cell), or why it was refused.
    ``epsilon_spent`` is what a DP query charged to the project's budget ledger."""

    permit = models.ForeignKey(
        "access.Permit", on_delete=models.PROTECT, related_name="aggregate_queries"
    )
    permit_version = models.PositiveSmallIntegerField()
    spec = models.JSONField(default=dict)
    method = models.CharField(
        max_length=8, choices=AggregateMethod.choices, default=AggregateMethod.CHECKED
    )
    status = models.CharField(max_length=8, choices=AggregateStatus.choices)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    epsilon_spent = models.FloatField(null=True, blank=True)
    requested_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]

    def __str__(self) -> str:
        return f"aggregate query {self.pk} of {self.permit_id} ({self.status})"

    def owning_organisation_id(self) -> int | None:
        return self.permit.organisation_id  # type: ignore[no-any-return]


class SyntheticTwin(models.Model):
    """A differentially private synthetic twin of one table of a permit's extract
    (:mod:`datalux.spe.synthetic`): the file under ``<storage>/spe/<permit>/synthetic/``
    (``path``, relative to the storage root, with its SHA-256), what it cost (``epsilon``,
    ``delta``, charged to the project's budget ledger) and its fidelity and privacy report.
    One per table of a permit: a twin, once made, is what the budget paid for."""

    permit = models.ForeignKey(
        "access.Permit", on_delete=models.PROTECT, related_name="synthetic_twins"
    )
    permit_version = models.PositiveSmallIntegerField()  # the extract's version it learnt from
    table = models.CharField(max_length=120)
    path = models.CharField(max_length=500)
    sha256 = models.CharField(max_length=64)
    rows = models.PositiveIntegerField()
    epsilon = models.FloatField()
    delta = models.FloatField()
    report = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )  # None: made by the pipeline after the preparation
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["table"]
        constraints = [
            models.UniqueConstraint(fields=["permit", "table"], name="spe_one_twin_per_table")
        ]

    def __str__(self) -> str:
        return f"synthetic twin of {self.table} ({self.permit_id})"

    def owning_organisation_id(self) -> int | None:
        return self.permit.organisation_id  # type: ignore[no-any-return]

    @property
    def report_path(self) -> str:
        return self.path.removesuffix(".parquet") + ".report.json"

    def headline(self) -> dict[str, Any]:
        """The report's headline figures (``None`` where the report has none)."""
        fidelity = self.report.get("fidelity") or {}
        privacy = self.report.get("privacy") or {}
        dcr = privacy.get("dcr") or {}
        copies = dcr.get("synthetic_to_train") or {}
        baseline = dcr.get("holdout_to_train") or {}
        attack = privacy.get("membership_inference") or {}
        utility = fidelity.get("utility") or {}
        return {
            "epsilon": self.epsilon,
            "delta": self.delta,
            "tvd_2way_mean": fidelity.get("tvd_2way_mean"),
            "tvd_2way_max": fidelity.get("tvd_2way_max"),
            "utility_ratio": utility.get("ratio"),
            "exact_copy_share": copies.get("exact_copy_share"),
            "holdout_exact_copy_share": baseline.get("exact_copy_share"),
            "membership_auc": attack.get("auc"),
            "membership_passed": attack.get("passed"),
        }
