"""Catalogue state changes: each checks the permission, changes state and writes its audit event."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from datalux.accounts.models import Organisation
from datalux.accounts.permissions import has_permission
from datalux.accounts.roles import OrganisationKind, Permission
from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.catalogue.dictionary import data_mismatches, parse_table_schema, to_table_schema
from datalux.catalogue.models import Catalogue, Dataset, DatasetStatus, Variable
from datalux.catalogue.search import reindex_dataset
from datalux.catalogue.vocabularies import (
    LICENCES,
    LUXEMBOURG_URI,
    AccessRights,
    Theme,
    is_place_uri,
)
from datalux.core.edit_versions import fields_to_write, version_token

EDITABLE_FIELDS = {
    "title",
    "description",
    "keywords",
    "themes",
    "access_rights",
    "legal_basis",
    "conditions_for_reuse",
    "licence",
    "contact_name",
    "contact_email",
    "temporal_start",
    "temporal_end",
    "spatial",
    "accrual_periodicity",
    "version",
    "in_series",
}


def _require_steward(by: Any, publisher: Organisation) -> None:
    if by is not None and not has_permission(by, Permission.MANAGE_HOLDINGS, publisher):
        raise PermissionDenied(
            _("only stewards of %(publisher)s can change its datasets") % {"publisher": publisher}
        )


def local_catalogue() -> Catalogue:
    catalogue = Catalogue.objects.filter(is_local=True).order_by("pk").first()
    if catalogue is None:
        raise ValidationError(
            _("the platform has no local catalogue yet: run `datalux demo seed` or create one")
        )
    return catalogue


def _check(fields: dict[str, Any]) -> None:
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError({k: "this field cannot be set" for k in sorted(unknown)})
    errors: dict[str, str] = {}
    title = fields.get("title")
    if title is not None and not (
        isinstance(title, dict) and any(str(v).strip() for v in title.values())
    ):
        errors["title"] = 'give a title in at least one language, e.g. {"en": "Hospital stays"}'
    for theme in fields.get("themes", []) or []:
        if theme not in Theme.values:
            errors["themes"] = (
                f"{theme!r} is not an EU data theme (use one of {', '.join(Theme.values)})"
            )
    rights = fields.get("access_rights")
    if rights is not None and rights not in AccessRights.values:
        errors["access_rights"] = f"use one of {', '.join(AccessRights.values)}"
    licence = fields.get("licence")
    if licence and licence not in LICENCES:
        errors["licence"] = f"use one of {', '.join(LICENCES)}"
    spatial = fields.get("spatial")
    if spatial is not None and (
        not isinstance(spatial, list) or not all(is_place_uri(p) for p in spatial)
    ):
        errors["spatial"] = (
            "give places as URIs of the EU country, place or ATU tables or of GeoNames, e.g. "
            f"{LUXEMBOURG_URI}"
        )
    start, end = fields.get("temporal_start"), fields.get("temporal_end")
    if start and end and start > end:
        errors["temporal_end"] = "the coverage ends before it starts"
    if errors:
        raise ValidationError(errors)


def create_dataset(
    *, publisher: Organisation, by: Any = None, slug: str = "", **fields: Any
) -> Dataset:
    _require_steward(by, publisher)
    if publisher.kind != OrganisationKind.DATA_HOLDER:
        raise ValidationError(
            {"publisher": _("%(publisher)s is not a data holder") % {"publisher": publisher}}
        )
    if "title" not in fields or "access_rights" not in fields:
        raise ValidationError({"title": _("required"), "access_rights": _("required")})
    _check(fields)
    slug = slugify(slug or fields["title"].get("en") or next(iter(fields["title"].values())))[:120]
    with transaction.atomic():
        if Dataset.objects.filter(publisher=publisher, slug=slug).exists():
            raise ValidationError(
                {
                    "slug": _("%(publisher)s already has a dataset %(slug)s: choose another")
                    % {"publisher": publisher, "slug": repr(slug)}
                }
            )
        dataset = Dataset(publisher=publisher, catalogue=local_catalogue(), slug=slug, **fields)
        dataset.full_clean()
        dataset.save()
        record(
            EventKind.DATASET_CREATED,
            actor=by,
            organisation=publisher,
            obj=dataset,
            details={"pid": dataset.pid},
        )
    return dataset


def metadata_version(dataset: Dataset) -> str:
    """The version token of the metadata edit form (see ``core/edit_versions.py``)."""
    return version_token({k: getattr(dataset, k) for k in EDITABLE_FIELDS})


def dictionary_version(dataset: Dataset) -> str:
    """The version token of the dictionary editor: one digest per variable."""
    return version_token(_dictionary_values(dataset))


def _dictionary_values(dataset: Dataset) -> dict[str, Any]:
    schema = to_table_schema(dataset.variables.order_by("position"))
    return {"order": [f["name"] for f in schema["fields"]]} | {
        f["name"]: f for f in schema["fields"]
    }


def _lock(dataset: Dataset) -> None:
    fresh = Dataset.objects.select_for_update().get(pk=dataset.pk)
    dataset.__dict__.update({k: v for k, v in fresh.__dict__.items() if not k.startswith("_")})


def update_dataset(
    *, dataset: Dataset, by: Any = None, expected_version: str | None = None, **fields: Any
) -> Dataset:
    """Change the metadata. With the ``expected_version`` token the form was shown with,
    fields somebody else changed since are kept unless this edit changed them too: then
    EditConflict names them and nothing is saved."""
    _require_steward(by, dataset.publisher)
    if dataset.harvest_source_id is not None and by is not None:
        raise ValidationError(_("harvested records are updated by their source, not edited here"))
    _check(fields)
    with transaction.atomic():
        _lock(dataset)
        current = {k: getattr(dataset, k) for k in EDITABLE_FIELDS}
        write = fields_to_write(expected_version, current, fields)
        fields = {k: v for k, v in fields.items() if k in write}
        changed = sorted(k for k, v in fields.items() if getattr(dataset, k) != v)
        for key, value in fields.items():
            setattr(dataset, key, value)
        dataset.modified = timezone.now()
        dataset.full_clean()
        dataset.save()
        record(
            EventKind.DATASET_UPDATED,
            actor=by,
            organisation=dataset.publisher,
            obj=dataset,
            details={"pid": dataset.pid, "changed": changed},
        )
    return dataset


def set_dictionary(
    *,
    dataset: Dataset,
    table_schema: dict[str, Any],
    by: Any = None,
    expected_version: str | None = None,
) -> list[Variable]:
    """Replace the data dictionary with the fields of a Table Schema descriptor. With the
    ``expected_version`` token the editor was shown with, a dictionary changed since is not
    replaced: EditConflict names the variables that changed."""
    _require_steward(by, dataset.publisher)
    specs = parse_table_schema(table_schema)
    with transaction.atomic():
        _lock(dataset)
        fields_to_write(expected_version, _dictionary_values(dataset))
        dataset.variables.all().delete()
        variables = Variable.objects.bulk_create(
            [
                Variable(
                    dataset=dataset,
                    position=i,
                    name=s.name,
                    label=s.label,
                    description=s.description,
                    type=s.type,
                    unit=s.unit,
                    code_list=s.code_list,
                    allowed_values=s.allowed_values,
                    missing_values=s.missing_values,
                    required=s.required,
                    privacy_role=s.privacy_role,
                    period=s.period,
                    linkage_kind=s.linkage_kind,
                )
                for i, s in enumerate(specs, start=1)
            ]
        )
        Dataset.objects.filter(pk=dataset.pk).update(modified=timezone.now())
        record(
            EventKind.DICTIONARY_SET,
            actor=by,
            organisation=dataset.publisher,
            obj=dataset,
            details={"pid": dataset.pid, "variables": len(variables)},
        )
        reindex_dataset(dataset)  # bulk_create sends no signal: refresh the search index
    return variables


class DictionaryMismatch(ValidationError):
    """The data dictionary no longer describes the latest stored data version."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            {
                "dictionary": "the data dictionary does not match the latest data version: "
                + "; ".join(problems)
                + ". Correct the dictionary or upload data that fits it, then publish again."
            }
        )


def _require_matching_dictionary(dataset: Dataset, by: Any) -> None:
    """Refuse (audited) to publish a dictionary that no longer describes the stored data."""
    latest = dataset.versions.select_related("data_file").first()
    if latest is None:
        return
    fields = list(dataset.variables.order_by("position").values_list("name", "type"))
    problems = data_mismatches(fields, latest.data_file.columns, latest.number)
    if not problems:
        return
    with transaction.atomic():
        record(
            EventKind.DATASET_PUBLICATION_REFUSED,
            actor=by,
            organisation=dataset.publisher,
            obj=dataset,
            details={"pid": dataset.pid, "version": latest.number, "mismatches": problems[:50]},
        )
    raise DictionaryMismatch(problems)


def publish_dataset(*, dataset: Dataset, by: Any = None) -> Dataset:
    """Validate the record against the DCAT-AP shapes and publish it; findings stay on the record.

    A record with SHACL violations is not published: the steward sees the findings and fixes them.
    A record whose dictionary no longer matches its latest data version (column names and
    types) is refused with :class:`DictionaryMismatch` naming the columns.
    """
    from datalux.catalogue.shacl import validate_dataset

    _require_steward(by, dataset.publisher)
    if dataset.status == DatasetStatus.PUBLISHED:
        return dataset
    _require_matching_dictionary(dataset, by)
    result = validate_dataset(dataset)
    with transaction.atomic():
        dataset.shacl_conforms = result.conforms
        dataset.shacl_report = result.findings
        if result.conforms:
            dataset.status = DatasetStatus.PUBLISHED
            dataset.issued = dataset.issued or timezone.now()
            dataset.modified = timezone.now()
        dataset.save()
        record(
            EventKind.DATASET_PUBLISHED
            if result.conforms
            else EventKind.DATASET_PUBLICATION_REFUSED,
            actor=by,
            organisation=dataset.publisher,
            obj=dataset,
            details={
                "pid": dataset.pid,
                "violations": sum(1 for f in result.findings if f.get("severity") == "Violation"),
            },
        )
    return dataset


def withdraw_dataset(*, dataset: Dataset, by: Any = None, reason: str = "") -> Dataset:
    _require_steward(by, dataset.publisher)
    with transaction.atomic():
        dataset.status = DatasetStatus.WITHDRAWN
        dataset.modified = timezone.now()
        dataset.save(update_fields=["status", "modified"])
        record(
            EventKind.DATASET_WITHDRAWN,
            actor=by,
            organisation=dataset.publisher,
            obj=dataset,
            details={"pid": dataset.pid, "reason": reason[:200]},
        )
    return dataset


def count_view(dataset: Dataset) -> None:
    """One more view of the dataset page (metrics); no audit event for anonymous reading."""
    Dataset.objects.filter(pk=dataset.pk).update(views=F("views") + 1)
