"""A permit as an extract plan: what :func:`datalux.dataplane.extract.prepare_extract` prepares.

Everything comes from the permit (``PermitDataset`` rows: datasets, variables, period, row
filters; the form of the data) and from each dataset's data dictionary and latest stored
version at preparation time. The dictionary says which column holds the national number (the
``national-id`` code list), which are direct identifiers (never copied) and which date the
period applies to (``period``).

When the permit allows linkage, a table without national numbers (a school register) is linked
by the trusted third party to a table that has them: another dataset of the permit, else the
configured spine (``DATALUX_SPE_LINKAGE_SPINE``, e.g. the population register), comparing the
variables the two dictionaries mark with the same ``linkage_kind`` (at least two, besides the
record identifier). When it does not, each table's pseudonyms have their own key.

When the application's legal basis is the persons' consent (Art. 6(1)(a) or 9(2)(a)), each
table keeps only the persons whose data altruism consent in force covers the permit's purpose
and that dataset (:func:`consent_table`, read afresh at every preparation); the opt-out list
applies to every permit, on consent or not.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from django.conf import settings

from datalux.catalogue.models import Dataset
from datalux.catalogue.vocabularies import LinkageKind, PrivacyRole
from datalux.dataplane.extract import ExtractError, ExtractPlan, Filter, LinkPlan, TablePlan

__all__ = [
    "NATIONAL_ID_CODE_LIST",
    "consent_based",
    "consent_table",
    "opt_out_table",
    "plan_for",
    "project_domain",
    "table_name",
]

NATIONAL_ID_CODE_LIST = "national-id"
PREPARED_FORMS = ("pseudonymised", "anonymised")
# the authority's defaults for the anonymised form; a permit's output rules may set k, l, t
# and max_suppression
ANONYMISED_DEFAULTS: dict[str, Any] = {"k": 5, "l": 2, "t": None, "max_suppression": 0.05}


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


def consent_based(application: Any) -> bool:
    """Whether the permit rests on the persons' consent (GDPR Art. 6(1)(a) or 9(2)(a)): its
    extract then holds only persons whose data altruism consent covers it."""
    from datalux.citizens.ttp_lists import consent_based as rests_on_consent

    return rests_on_consent(application)


def consent_table(permit: Any, dataset: Dataset) -> Path:
    """The trusted third party's table of the persons whose consent in force covers the
    permit's purpose and ``dataset``, written now (each preparation reads the consents as they
    are): ``<DATALUX_STORAGE>/ttp/consents/<permit>/<table>.parquet``, column ``national_id``.
    The purpose mapping is :data:`datalux.citizens.ttp_lists.ALTRUISM_PURPOSE_OF`."""
    from datalux.citizens.ttp_lists import ALTRUISM_PURPOSE_OF, consenting_numbers, write_numbers

    category = permit.application.purpose_category
    purpose = ALTRUISM_PURPOSE_OF.get(category)
    if purpose is None:
        raise ExtractError(
            f"permit {permit.number} rests on the persons' consent, but its purpose "
            f"({category or 'none'}) is not an objective of general interest a data altruism "
            "consent can cover: amend the legal basis or the purpose",
            code="consent-purpose-not-covered",
        )
    path = Path(settings.DATALUX_STORAGE) / "ttp" / "consents" / permit.number
    path = path / f"{table_name(dataset)}.parquet"
    write_numbers(path, consenting_numbers(purpose=purpose, dataset_id=dataset.pk))
    return path


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
            f"permit {permit.number} grants {form} data: no microdata is prepared for it; "
            "the project queries the data through the output-checked query service",
            code="form-not-supported",
        )
    granted = list(permit.datasets.select_related("dataset__publisher").order_by("dataset__pid"))
    tables = [_table_plan(item) for item in granted]
    if consent_based(permit.application):
        tables = [
            replace(table, consents=consent_table(permit, item.dataset))
            for table, item in zip(tables, granted, strict=True)
        ]
    if form == "anonymised":
        if permit.linkage and len(tables) > 1:
            raise ExtractError(
                f"permit {permit.number} grants anonymised data linked across datasets: the "
                "linked table must be anonymised as one, which is not prepared yet; amend the "
                "permit to pseudonymised data or to one dataset",
                code="form-not-supported",
            )
        parameters = {**ANONYMISED_DEFAULTS, **_anonymisation_rules(permit.output_rules)}
        tables = [
            replace(table, anonymise=_anonymise_plan(item.dataset, table, parameters))
            for table, item in zip(tables, granted, strict=True)
        ]
        return ExtractPlan(
            tables=tuple(tables), domain=project_domain(permit), opt_outs=opt_out_table(),
            linked=False,
        )  # fmt: skip
    if permit.linkage:
        datasets = [item.dataset for item in granted]
        tables = [
            _linked(table, dataset, datasets) if table.national_id is None else table
            for table, dataset in zip(tables, datasets, strict=True)
        ]
    return ExtractPlan(
        tables=tuple(tables),
        domain=project_domain(permit),
        opt_outs=opt_out_table(),
        linked=bool(permit.linkage),
    )


def _anonymisation_rules(rules: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (rules or {}).items() if k in ANONYMISED_DEFAULTS}


def _hierarchy(variable: Any) -> str:
    """The generalisation recipe of a quasi-identifier, from its dictionary type."""
    if variable.type in ("date", "datetime"):
        return "date:month,year,decade"
    if variable.type in ("integer", "number", "year"):
        return "interval:5,10,20,40"
    if variable.code_list in ("icd10", "atc", "nace2", "isco08") or "postcode" in variable.name:
        return "prefix:1"  # hierarchical codes: I50.0, I50, I5, I, *
    return "prefix:1000"  # a category: kept or suppressed whole


def _anonymise_plan(dataset: Dataset, table: TablePlan, parameters: dict[str, Any]) -> Any:
    from datalux.dataplane.extract import AnonymisePlan

    dictionary = {v.name: v for v in dataset.variables.all()}
    kept = [n for n in table.variables if n not in table.direct_identifiers]
    quasi = tuple(n for n in kept if dictionary[n].privacy_role == PrivacyRole.QUASI_IDENTIFIER)
    sensitive = next((n for n in kept if dictionary[n].privacy_role == PrivacyRole.SENSITIVE), None)
    return AnonymisePlan(
        quasi_identifiers=quasi,
        hierarchies={n: _hierarchy(dictionary[n]) for n in quasi},
        k=int(parameters["k"]),
        l=int(parameters["l"]) if parameters.get("l") else None,
        t=float(parameters["t"]) if parameters.get("t") is not None else None,
        sensitive=sensitive,
        max_suppression=float(parameters["max_suppression"]),
    )


# the comparison each linkage kind gets in datalux.privacy.linkage
SPLINK_KINDS = {
    LinkageKind.GIVEN_NAME: "given_name",
    LinkageKind.SURNAME: "surname",
    LinkageKind.FULL_NAME: "name",
    LinkageKind.BIRTH_DATE: "date",
    LinkageKind.SEX: "categorical",
    LinkageKind.STREET_ADDRESS: "address",
    LinkageKind.POSTCODE: "postcode",
    LinkageKind.COMMUNE: "city",
}
MIN_SHARED_KINDS = 2


def _kinds(dataset: Dataset) -> dict[str, str]:
    return {v.linkage_kind: v.name for v in dataset.variables.all() if v.linkage_kind}


def _national_column(dataset: Dataset) -> str | None:
    found = dataset.variables.filter(code_list=NATIONAL_ID_CODE_LIST).order_by("position")
    first = found.first()
    return first.name if first else None


def _linked(table: TablePlan, dataset: Dataset, granted: list[Dataset]) -> TablePlan:
    """``table`` (no national number) with the plan of its linkage to the best partner."""
    kinds = _kinds(dataset)
    record_id = kinds.pop(LinkageKind.RECORD_ID, None)
    if record_id is None:
        raise ExtractError(
            f"{dataset.pid} has no national number and its dictionary marks no record "
            "identifier (linkage kind record_id): its steward must mark one before it can be "
            "linked",
            code="linkage-impossible",
        )
    candidates = [d for d in granted if d.pk != dataset.pk]
    spine = settings.DATALUX_SPE_LINKAGE_SPINE
    if spine:
        candidates += list(Dataset.objects.filter(pid=spine).exclude(pk=dataset.pk))
    best: tuple[int, Dataset, dict[str, str], str] | None = None
    for partner in candidates:
        national = _national_column(partner)
        if national is None:
            continue
        theirs = _kinds(partner)
        shared = len(set(kinds) & set(theirs))
        if shared >= MIN_SHARED_KINDS and (best is None or shared > best[0]):
            best = (shared, partner, theirs, national)
    if best is None:
        raise ExtractError(
            f"{dataset.pid} has no national number and no dataset with national numbers "
            f"shares {MIN_SHARED_KINDS} linkage variables with it (given name, surname, date "
            "of birth...): grant one in the permit (e.g. the population register) or set "
            "DATALUX_SPE_LINKAGE_SPINE",
            code="linkage-impossible",
        )
    _, partner, theirs, national = best
    version = partner.versions.select_related("data_file").order_by("-number").first()
    if version is None:
        raise ExtractError(
            f"{partner.pid}, which {dataset.pid} is linked to, has no stored data version: "
            "its steward must upload the data",
            code="data-missing",
        )
    columns = tuple(
        (kinds[k], theirs[k], SPLINK_KINDS[LinkageKind(k)])
        for k in sorted(set(kinds) & set(theirs))
    )
    link = LinkPlan(
        partner=version.data_file.path,
        partner_name=table_name(partner),
        partner_national_id=national,
        record_id=record_id,
        columns=columns,
    )
    return replace(table, link=link)


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
