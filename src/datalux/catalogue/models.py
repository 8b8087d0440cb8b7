"""The catalogue, following DCAT-AP 3.0.1: catalogues, datasets, distributions, data services,
dataset series, the data dictionary (variables), quality profiles, data products, harvesting.

Multilingual text (title, description) is stored as
``{"en": ..., "fr": ..., "de": ..., "lb": ...}``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from datalux.accounts.models import Organisation
from datalux.accounts.permissions import RestrictedQuerySet, organisations_with
from datalux.accounts.roles import Permission
from datalux.catalogue.langtags import validate_language_map
from datalux.catalogue.pids import new_pid
from datalux.catalogue.vocabularies import AccessRights, Frequency, LinkageKind, PrivacyRole, Theme
from datalux.core.absolute import absolute


def pick_language(text: dict[str, str] | None, language: str | None = None) -> str:
    """The text in the current language, else English, else any language present."""
    if not text:
        return ""
    language = (language or get_language() or "en")[:2]
    return text.get(language) or text.get("en") or next(iter(text.values()), "")


def fallback_language(text: dict[str, str] | None, language: str | None = None) -> str:
    """The language ``pick_language`` fell back to ("" when the current one is present).

    Templates put it in a ``lang`` attribute so screen readers read an English title as English.
    """
    if not text:
        return ""
    language = (language or get_language() or "en")[:2]
    if text.get(language):
        return ""
    return "en" if text.get("en") else next((k for k, v in text.items() if v), "")


class Catalogue(models.Model):
    """The platform's own catalogue, and one per harvested source."""

    slug = models.SlugField(unique=True)
    title = models.JSONField(default=dict, validators=[validate_language_map])
    description = models.JSONField(default=dict, validators=[validate_language_map])
    publisher = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    homepage = models.URLField(blank=True)
    licence = models.CharField(max_length=32, blank=True)
    is_local = models.BooleanField(default=True)
    issued = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return pick_language(self.title) or self.slug


class DatasetStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class DatasetQuerySet(RestrictedQuerySet):
    def visible_to(self, user: Any) -> DatasetQuerySet:
        """Published datasets for everyone; drafts and withdrawn ones to their stewards."""
        platform, orgs = organisations_with(user, Permission.MANAGE_HOLDINGS)
        if platform:
            return self.all()
        query = models.Q(status=DatasetStatus.PUBLISHED)
        if orgs:
            query |= models.Q(publisher_id__in=orgs)
        return self.filter(query)

    def restrict(self, user: Any, perm: Permission) -> DatasetQuerySet:  # type: ignore[override]
        if perm is Permission.MANAGE_HOLDINGS:
            platform, orgs = organisations_with(user, perm)
            return self.all() if platform else self.filter(publisher_id__in=orgs)
        return self.visible_to(user)


class Dataset(models.Model):
    pid = models.CharField(max_length=20, unique=True, default=new_pid, editable=False)
    catalogue = models.ForeignKey(Catalogue, on_delete=models.PROTECT, related_name="datasets")
    publisher = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="datasets")
    slug = models.SlugField(max_length=120)
    title = models.JSONField(default=dict, validators=[validate_language_map])
    description = models.JSONField(default=dict, validators=[validate_language_map])
    keywords = models.JSONField(default=list, blank=True)
    themes = models.JSONField(default=list, blank=True)  # EU data-theme codes
    access_rights = models.CharField(max_length=16, choices=AccessRights.choices)
    legal_basis = models.TextField(blank=True)
    conditions_for_reuse = models.TextField(blank=True)
    licence = models.CharField(max_length=32, blank=True)  # key of vocabularies.LICENCES
    contact_name = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(blank=True)
    temporal_start = models.DateField(null=True, blank=True)
    temporal_end = models.DateField(null=True, blank=True)
    spatial = models.JSONField(default=list, blank=True)  # URIs
    accrual_periodicity = models.CharField(
        max_length=16, choices=Frequency.choices, default=Frequency.UNKNOWN
    )
    version = models.CharField(max_length=32, blank=True)
    in_series = models.ForeignKey(
        "DatasetSeries", on_delete=models.SET_NULL, null=True, blank=True, related_name="datasets"
    )
    status = models.CharField(
        max_length=16, choices=DatasetStatus.choices, default=DatasetStatus.DRAFT
    )
    issued = models.DateTimeField(null=True, blank=True)
    modified = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    # Harvested records keep their provenance; local records leave these empty.
    harvest_source = models.ForeignKey(
        "HarvestSource", on_delete=models.PROTECT, null=True, blank=True, related_name="datasets"
    )
    remote_id = models.CharField(max_length=500, blank=True)
    last_harvested = models.DateTimeField(null=True, blank=True)
    # when a harvest run found the record gone from its source (it is deleted after the grace
    # period, DATALUX_HARVEST_GRACE_DAYS, unless a later run sees it again)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    # What a remote catalogue says that has no other field (harvested records; see
    # datalux.catalogue.harvest_map): the publisher it names ({"uri", "name"}; the record still
    # belongs to the source's organisation), a licence outside our list (its IRI), the
    # languages (EU language codes, or the IRI or tag given), themes outside the EU data-theme
    # table (IRIs), spatial geometries ({"property", "value", "datatype"}), the legislation the
    # dataset falls under (IRIs), and every contact point ({"name", "email", "url"}, sorted).
    remote_publisher = models.JSONField(default=dict, blank=True)
    licence_uri = models.CharField(max_length=500, blank=True)
    languages = models.JSONField(default=list, blank=True)
    other_themes = models.JSONField(default=list, blank=True)
    geometries = models.JSONField(default=list, blank=True)
    applicable_legislation = models.JSONField(default=list, blank=True)
    contact_points = models.JSONField(default=list, blank=True)
    # What the source says of the record's dates and page, exported exactly as it came
    # (datalux.catalogue.dcat): its dct:issued and dct:modified literals ({"issued": {"value",
    # "datatype", "language"}, "modified": ...}) and its dcat:landingPage.
    remote_dates = models.JSONField(default=dict, blank=True)
    remote_landing_page = models.URLField(max_length=500, blank=True)
    # Findings of the DCAT-AP SHACL validation at the last publication.
    shacl_conforms = models.BooleanField(null=True, blank=True)
    shacl_report = models.JSONField(default=list, blank=True)
    views = models.PositiveBigIntegerField(default=0)

    objects = DatasetQuerySet.as_manager()
    restrict_organisation_field = "publisher"

    class Meta:
        ordering = ["-modified"]
        constraints = [
            models.UniqueConstraint(fields=["publisher", "slug"], name="unique_dataset_slug"),
            models.UniqueConstraint(
                fields=["harvest_source", "remote_id"],
                condition=models.Q(harvest_source__isnull=False),
                name="unique_harvested_record",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pid} {self.display_title}"

    @property
    def organisation_id(self) -> int:
        """Datasets belong to their publisher (used by has_permission)."""
        return self.publisher_id

    @property
    def display_title(self) -> str:
        return pick_language(self.title)

    @property
    def display_description(self) -> str:
        return pick_language(self.description)

    @property
    def title_lang(self) -> str:
        return fallback_language(self.title)

    @property
    def theme_labels(self) -> list[str]:
        """The EU data themes by name, in the reader's language (an unknown code as it is)."""
        names = dict(Theme.choices)
        return [str(names.get(code, code)) for code in self.themes]

    @property
    def description_lang(self) -> str:
        return fallback_language(self.description)

    @property
    def uri(self) -> str:
        return absolute(f"/id/dataset/{self.pid}")

    @property
    def is_protected(self) -> bool:
        return self.access_rights != AccessRights.PUBLIC

    @property
    def is_harvested(self) -> bool:
        """Described by a remote catalogue: held elsewhere, its addresses are external."""
        return self.harvest_source_id is not None


class Distribution(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="distributions")
    title = models.JSONField(default=dict, validators=[validate_language_map])
    description = models.JSONField(default=dict, blank=True, validators=[validate_language_map])
    file_format = models.CharField(max_length=16, default="PARQUET")
    media_type = models.CharField(max_length=100, blank=True)
    access_url = models.URLField(max_length=500, blank=True)
    download_url = models.URLField(max_length=500, blank=True)  # open data only
    byte_size = models.PositiveBigIntegerField(null=True, blank=True)
    licence = models.CharField(max_length=32, blank=True)
    licence_uri = models.CharField(max_length=500, blank=True)  # a licence outside our list
    data_file = models.ForeignKey(
        "holdings.DataFile", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # a harvested distribution served by a harvested data service (dcat:accessService)
    access_service = models.ForeignKey(
        "DataService", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    issued = models.DateTimeField(default=timezone.now)
    modified = models.DateTimeField(default=timezone.now)  # when its data last changed
    # harvested: the source's dct:issued and dct:modified literals, exported as they came
    remote_dates = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-issued"]

    def __str__(self) -> str:
        return pick_language(self.title) or str(_("distribution %(n)s") % {"n": self.pk})


class DataService(models.Model):
    catalogue = models.ForeignKey(Catalogue, on_delete=models.PROTECT, related_name="services")
    publisher = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    title = models.JSONField(default=dict, validators=[validate_language_map])
    description = models.JSONField(default=dict, blank=True, validators=[validate_language_map])
    endpoint_url = models.URLField(max_length=500)
    endpoint_description = models.URLField(max_length=500, blank=True)
    serves_datasets = models.ManyToManyField(Dataset, blank=True, related_name="services")
    access_rights = models.CharField(
        max_length=16, choices=AccessRights.choices, default=AccessRights.PUBLIC
    )
    licence = models.CharField(max_length=32, blank=True)
    remote_id = models.CharField(max_length=500, blank=True)  # harvested: its id at the source

    def __str__(self) -> str:
        return pick_language(self.title)


class DatasetSeries(models.Model):
    catalogue = models.ForeignKey(Catalogue, on_delete=models.PROTECT, related_name="series")
    publisher = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    title = models.JSONField(default=dict, validators=[validate_language_map])
    description = models.JSONField(default=dict, validators=[validate_language_map])
    remote_id = models.CharField(max_length=500, blank=True)  # harvested: its id at the source

    class Meta:
        verbose_name_plural = _("dataset series")

    def __str__(self) -> str:
        return pick_language(self.title)


class Variable(models.Model):
    """One field of a dataset's data dictionary (a Frictionless Table Schema field)."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="variables")
    position = models.PositiveIntegerField()
    name = models.CharField(max_length=100)
    label = models.JSONField(default=dict, blank=True)
    description = models.JSONField(default=dict, blank=True)
    type = models.CharField(max_length=32)  # Frictionless types: string, integer, number, date...
    unit = models.CharField(max_length=50, blank=True)
    code_list = models.CharField(max_length=32, blank=True)  # key of vocabularies.CODE_LISTS
    allowed_values = models.JSONField(default=list, blank=True)
    missing_values = models.JSONField(default=list, blank=True)
    required = models.BooleanField(default=False)
    # Quasi-identifier until a steward decides: the safer guess for profiles and extracts.
    privacy_role = models.CharField(
        max_length=24, choices=PrivacyRole.choices, default=PrivacyRole.QUASI_IDENTIFIER
    )
    # the date a permitted period applies to (one per dataset): admission, not discharge
    period = models.BooleanField(default=False)
    # who the record is, for the trusted third party's linkage (LinkageKind; blank: not used)
    linkage_kind = models.CharField(max_length=16, choices=LinkageKind.choices, blank=True)

    class Meta:
        ordering = ["dataset", "position"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "name"], name="unique_variable_name")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def display_label(self) -> str:
        return pick_language(self.label) or self.name


class DatasetVersion(models.Model):
    """One uploaded version of a dataset's data (the file itself lives in holdings)."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    data_file = models.OneToOneField(
        "holdings.DataFile", on_delete=models.PROTECT, related_name="dataset_version"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    source_name = models.CharField(max_length=255, blank=True)
    quality = models.JSONField(default=dict, blank=True)  # the quality profile of this version

    class Meta:
        ordering = ["dataset", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "number"], name="unique_dataset_version")
        ]

    def __str__(self) -> str:
        return f"{self.dataset.pid} v{self.number}"

    @cached_property
    def published_quality(self) -> dict[str, Any]:
        """The quality profile as the pages, the API and DQV show it: the extremes of each
        variable under :func:`datalux.dataplane.profile.publishable`, for the dictionary's
        privacy roles and the dataset's access rights as they are now (quasi-identifiers and
        sensitive variables of a protected dataset: coarsened ranges only)."""
        from datalux.dataplane.profile import publishable

        roles = dict(self.dataset.variables.values_list("name", "privacy_role"))
        return publishable(self.quality or {}, roles=roles, protected=self.dataset.is_protected)


class DataProductKind(models.TextChoices):
    ALGORITHM = "algorithm", _("Algorithm")
    SOURCE_CODE = "source_code", _("Source code")
    RESULT = "result", _("Result of reuse")
    PUBLICATION = "publication", _("Publication")


class DataProduct(models.Model):
    """The register of data products: code, algorithms and results of reuse."""

    kind = models.CharField(max_length=16, choices=DataProductKind.choices)
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    url = models.URLField(max_length=500, blank=True)
    licence = models.CharField(max_length=32, blank=True)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="data_products"
    )
    datasets = models.ManyToManyField(Dataset, related_name="data_products", blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # A result of reuse published from the secure processing environment: the permit it was
    # made under, the exact code versions that produced it and its released files.
    permit_number = models.CharField(max_length=24, blank=True)
    code_versions = models.JSONField(default=list, blank=True)  # [{number, sha256, files}]
    outputs = models.JSONField(default=list, blank=True)  # [{name, sha256, size, description}]

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class HarvestSource(models.Model):
    """A remote DCAT-AP catalogue (udata, CKAN, piveau...) imported on a schedule."""

    name = models.CharField(max_length=200, unique=True)
    url = models.URLField(max_length=500)
    publisher = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    catalogue = models.OneToOneField(
        Catalogue, on_delete=models.PROTECT, related_name="harvest_source"
    )
    active = models.BooleanField(default=True)  # False: paused, the scheduler skips it
    # scheduled harvests: every so many hours (None: run by hand only), and when the scheduler
    # last queued a run (the claim that keeps two schedulers from queueing the same run)
    harvest_every_hours = models.PositiveIntegerField(null=True, blank=True)
    last_scheduled_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_status = models.CharField(max_length=16, blank=True)
    last_report = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return self.name


class HarvestRunStatus(StrEnum):
    """The outcome of one harvest run (see :data:`HARVEST_RUN_TRANSITIONS`)."""

    COMPLETED = "completed"
    FAILED = "failed"
    HELD = "held"
    CONFIRMED = "confirmed"
    DISCARDED = "discarded"


HARVEST_RUN_STATUS_LABELS = {
    HarvestRunStatus.COMPLETED: _("Completed"),
    HarvestRunStatus.FAILED: _("Failed, nothing changed"),
    HarvestRunStatus.HELD: _("Held for an operator: nothing changed"),
    HarvestRunStatus.CONFIRMED: _("Held, then confirmed by an operator"),
    HarvestRunStatus.DISCARDED: _("Held, then discarded by an operator"),
}


# A held run (it would have withdrawn more of the source's records than the limit allows) is
# the only one an operator decides on; every other outcome is final.
HARVEST_RUN_TRANSITIONS: dict[str, frozenset[str]] = {
    HarvestRunStatus.HELD: frozenset({HarvestRunStatus.CONFIRMED, HarvestRunStatus.DISCARDED}),
}


class HarvestRun(models.Model):
    """One run of a harvest source: its counts, the problems of single records, its outcome.

    A held run keeps the digest of what it read and the remote ids it would have withdrawn:
    confirming it applies the source again only if the source still says the same thing.
    """

    source = models.ForeignKey(HarvestSource, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(
        max_length=16, choices=[(s.value, HARVEST_RUN_STATUS_LABELS[s]) for s in HarvestRunStatus]
    )
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    scheduled = models.BooleanField(default=False)  # started by the scheduler, not a person
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    withdrawn = models.PositiveIntegerField(default=0)
    deleted = models.PositiveIntegerField(default=0)  # withdrawn records past their grace
    skipped = models.PositiveIntegerField(default=0)  # our own records, and invalid ones
    errors = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list, blank=True)  # per-record messages (capped)
    error = models.TextField(blank=True)  # why a failed run failed
    pages = models.PositiveIntegerField(default=0)
    digest = models.CharField(max_length=64, blank=True)  # SHA-256 of the pages read
    # a held run: ``withdrawn`` counts what it would have withdrawn, of ``held_of`` records;
    # ``held_withdrawals`` lists their remote ids (the first 200) for the operator to check
    held_withdrawals = models.JSONField(default=list, blank=True)
    held_of = models.PositiveIntegerField(default=0)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    confirms = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="confirmed_by_run"
    )

    class Meta:
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.source} #{self.pk} ({self.status})"

    @property
    def ok(self) -> bool:
        return self.status == HarvestRunStatus.COMPLETED

    @property
    def is_held(self) -> bool:
        return self.status == HarvestRunStatus.HELD

    @property
    def held_share(self) -> int:
        """The percentage of the source's records the held run would have withdrawn."""
        return round(100 * self.withdrawn / self.held_of) if self.held_of else 0
