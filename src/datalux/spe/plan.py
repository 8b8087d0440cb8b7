"""A permit as an extract plan: what :func:`datalux.dataplane.extract.prepare_extract` prepares.

Everything comes from the permit (``PermitDataset`` rows: datasets, variables, period, row
filters; the form of the data) and from each dataset's data dictionary and latest stored
version at preparation time. The dictionary says which column holds the national number (the
``national-id`` code list), which are direct identifiers (never copied) and which date the
period applies to (``period``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings

from datalux.catalogue.models import Dataset
from datalux.catalogue.vocabularies import PrivacyRole
from datalux.dataplane.extract import ExtractError, ExtractPlan, Filter, TablePlan

__all__ = ["NATIONAL_ID_CODE_LIST", "opt_out_table", "plan_for", "project_domain", "table_name"]

NATIONAL_ID_CODE_LIST = "national-id"
PREPARED_FORMS = ("pseudonymised",)


def project_domain(permit: Any) -> str:
    """The project's own pseudonym domain: one per permit, shared by its versions."""
    return f"project:{permit.number.lower()}"


def table_name(dataset: Dataset) -> str:
    """The dataset's table name in the extract: holder and dataset short names."""
    return f"{dataset.publisher.slug}-{dataset.slug}"[:120]


def opt_out_table() -> Path | None:
    """The trusted third party's table of persons who objected (national numbers), if any."""
    path = Path(settings.DATALUX_STORAGE) / "ttp" / "opt_outs.parquet"
    return path if path.exists() else None


def plan_for(permit: Any) -> ExtractPlan:
    """The plan of ``permit``; :class:`ExtractError` names what to fix when the permit, the
    dictionary or the stored data do not allow one."""
    if permit.state != "active":
        raise ExtractError(
            f"permit {permit.number} is {permit.get_state_display()}: nothing is prepared",
            code="permit-inactive",
        )
    form = permit.data_form
    if form not in PREPARED_FORMS:
        raise ExtractError(
            f"permit {permit.number} grants {form} data: only pseudonymised extracts are "
            "prepared so far; anonymised and aggregate forms come with the next release",
            code="form-not-supported",
        )
    tables = []
    for granted in permit.datasets.select_related("dataset__publisher").order_by("dataset__pid"):
        tables.append(_table_plan(granted))
    return ExtractPlan(
        tables=tuple(tables), domain=project_domain(permit), opt_outs=opt_out_table()
    )


def _table_plan(granted: Any) -> TablePlan:
    dataset: Dataset = granted.dataset
    dictionary = {v.name: v for v in dataset.variables.all()}
    gone = sorted(set(granted.variables) - set(dictionary))
    if gone:
        raise ExtractError(
            f"{dataset.pid}: {', '.join(gone)} no longer in the data dictionary; amend the "
            "permit or restore the variables",
            code="dictionary-changed",
        )
    version = dataset.versions.select_related("data_file").order_by("-number").first()
    if version is None:
        raise ExtractError(
            f"{dataset.pid} has no stored data version: its steward must upload the data",
            code="data-missing",
        )
    national = [v.name for v in dictionary.values() if v.code_list == NATIONAL_ID_CODE_LIST]
    identifiers = tuple(
        sorted(
            v.name for v in dictionary.values() if v.privacy_role == PrivacyRole.DIRECT_IDENTIFIER
        )
    )
    period = [v.name for v in dictionary.values() if v.period]
    if (granted.time_start or granted.time_end) and not period:
        raise ExtractError(
            f"{dataset.pid}: the permit limits the period, but the data dictionary marks no "
            "date the period applies to; its steward must mark one",
            code="dictionary-changed",
        )
    variables = tuple(sorted(granted.variables, key=lambda n: dictionary[n].position))
    return TablePlan(
        name=table_name(dataset),
        source=version.data_file.path,
        variables=variables,
        filters=tuple(Filter.from_data(item) for item in granted.filters),
        period_column=period[0] if period else None,
        period_start=granted.time_start,
        period_end=granted.time_end,
        national_id=national[0] if national else None,
        direct_identifiers=identifiers,
        about=_about(dataset, version, [dictionary[n] for n in variables]),
    )


def _about(dataset: Dataset, version: Any, variables: list[Any]) -> dict[str, Any]:
    """The manifest's account of a table: its dataset, the holder's data version, and the
    dictionary entry of each column it may hold (the national number becomes person_id)."""
    entries = {
        v.name: {
            "label": v.label,
            "description": v.description,
            "type": v.type,
            "unit": v.unit,
            "code_list": v.code_list,
        }
        for v in variables
        if v.privacy_role != PrivacyRole.DIRECT_IDENTIFIER and v.code_list != NATIONAL_ID_CODE_LIST
    }
    return {
        "dataset": dataset.pid,
        "title": dataset.title,
        "holder": dataset.publisher.name,
        "holder_version": version.number,
        "uploaded_at": version.uploaded_at.isoformat(),
        "dictionary": entries,
    }
