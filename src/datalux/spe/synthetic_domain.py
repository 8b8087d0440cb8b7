"""The domain of a permit's synthetic twins: which tables and columns may be synthesised, and
every column's possible values, from public metadata only.

The same specification as the dummy data (:func:`datalux.spe.dummydata.spec_for`: the
extract's tables and columns, each column's dictionary type and code list) gives the columns;
the **ranges** of numbers and dates are the holder's *published* quality profile
(:attr:`~datalux.catalogue.models.DatasetVersion.published_quality`: quasi-identifiers and
sensitive variables of a protected dataset coarsened outwards), never the data and never the
exact profile, because a domain learnt from the data would leak it (the library's rule,
:mod:`datalux.privacy.synthetic.domain`).

Left out of a twin, and named in its report with the reason:

* identifiers: the person pseudonym (``person_id``), linkage keys and the names the aggregate
  service refuses (:data:`datalux.spe.aggregate.IDENTIFIERS`), and columns whose every value
  is distinct in the profile (a record number);
* free text: a string without a code list or allowed values;
* a code list the platform knows only by its form (ICD-10, ATC, ISCO-08: no full list of
  codes to draw from);
* a number or date without a published range.

A table gets no twin (the reason is kept) when it has no person pseudonym (a row is then not
known to be one person's) or no column is left to synthesise. Whether each person has at most
one row is checked on the prepared file when the twin is made (:mod:`datalux.spe.synthetic`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from datalux.dataplane.codelists import UnknownCodeList, code_list
from datalux.dataplane.dummy import ColumnSpec
from datalux.dataplane.extract import PERSON_ID
from datalux.privacy.errors import InputError
from datalux.privacy.synthetic import Column, Domain, column_from_dictionary

__all__ = ["LeftOut", "TwinPlan", "twin_plans"]

NUMERIC_TYPES = frozenset({"integer", "number", "year"})
DATE_TYPES = frozenset({"date", "datetime"})


@dataclass(frozen=True)
class LeftOut:
    """A column that is not synthesised: ``code`` a short stable word, ``detail`` in words."""

    column: str
    code: str
    detail: str

    def as_data(self) -> dict[str, str]:
        return {"column": self.column, "code": self.code, "detail": self.detail}


@dataclass(frozen=True)
class TwinPlan:
    """What the twin of one table of the extract would be, or why there is none."""

    table: str
    file: str
    source_sha256: str
    domain: Domain | None
    left_out: tuple[LeftOut, ...] = ()
    refusal_code: str = ""
    refusal: str = ""
    about: dict[str, Any] = field(default_factory=dict)

    @property
    def possible(self) -> bool:
        return self.domain is not None


def twin_plans(permit: Any, manifest: dict[str, Any]) -> list[TwinPlan]:
    """One plan per table of the prepared extract's ``manifest``."""
    from datalux.spe.dummydata import spec_for

    specs = {t.name: t for t in spec_for(permit).tables}
    plans = []
    for table in manifest.get("tables", []):
        spec = specs.get(table["name"])
        columns = spec.columns if spec is not None else ()
        plans.append(_plan(table, columns))
    return plans


def _plan(table: dict[str, Any], columns: tuple[ColumnSpec, ...]) -> TwinPlan:
    about = table.get("about", {})
    base = {
        "table": table["name"],
        "file": table["file"],
        "source_sha256": table.get("sha256", ""),
        "about": about,
    }
    ranges = _published_ranges(about)
    variables = _variables(about)
    kept: list[Column] = []
    left: list[LeftOut] = []
    for spec in columns:
        outcome = _column(spec, ranges.get(spec.name), variables.get(spec.name))
        if isinstance(outcome, LeftOut):
            left.append(outcome)
        else:
            kept.append(outcome)
    if PERSON_ID not in table.get("columns", []):
        return TwinPlan(
            **base, domain=None, left_out=tuple(left), refusal_code="no-person-id",
            refusal="the table has no person pseudonym: a row is not known to be one person's, "
            "which the twin's guarantee (one row) needs",
        )  # fmt: skip
    if not kept:
        return TwinPlan(
            **base, domain=None, left_out=tuple(left), refusal_code="no-column",
            refusal="no column can be synthesised (each is an identifier, free text or has no "
            "published range): give the dictionary code lists or the profile ranges",
        )  # fmt: skip
    return TwinPlan(**base, domain=Domain(tuple(kept)), left_out=tuple(left))


def _column(spec: ColumnSpec, published: tuple[Any, Any] | None, variable: Any) -> Column | LeftOut:
    from datalux.spe.aggregate import IDENTIFIERS

    name = spec.name
    if spec.person or name in IDENTIFIERS or name.lower() in IDENTIFIERS:
        return LeftOut(name, "identifier", "an identifier or pseudonym is never synthesised")
    if spec.unique and not spec.values:
        return LeftOut(name, "identifier", "every value is distinct: a record identifier")
    type_ = spec.type
    values: tuple[Any, ...] = ()
    if type_ in ("string", "boolean"):
        allowed = tuple(variable.allowed_values) if variable and variable.allowed_values else ()
        key = variable.code_list if variable is not None else ""
        if allowed:
            values = allowed
        elif key:
            try:
                listed = code_list(key)
            except UnknownCodeList:
                listed = None
            if listed is None or not listed.exact:
                return LeftOut(
                    name, "code-list-not-enumerated",
                    f"the code list {key!r} is known by the form of its codes only, not every "
                    "code: no domain to draw from",
                )  # fmt: skip
            values = tuple(sorted(listed.values))
        elif type_ == "string":
            return LeftOut(name, "free-text", "free text (no code list): never synthesised")
    low = high = None
    if type_ in NUMERIC_TYPES or type_ in DATE_TYPES:
        low, high = published or (None, None)
        if low is None or high is None:
            return LeftOut(
                name, "no-range",
                "the published quality profile gives no range (minimum and maximum)",
            )  # fmt: skip
        if type_ in NUMERIC_TYPES and float(high) <= float(low):
            high = float(low) + 1  # a constant column: one bin
    try:
        return column_from_dictionary(name, type_, values=values, low=low, high=high)
    except InputError as exc:
        return LeftOut(name, "no-domain", str(exc)[:300])


def _published_ranges(about: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """``{variable: (min, max)}`` from the holder's published (coarsened) quality profile."""
    from datalux.catalogue.models import DatasetVersion

    version = (
        DatasetVersion.objects.select_related("dataset")
        .filter(dataset__pid=about.get("dataset", ""), number=about.get("holder_version", 0))
        .first()
    )
    if version is None or not version.quality:
        return {}
    published = version.published_quality
    return {
        v["name"]: (v.get("min"), v.get("max"))
        for v in published.get("variables", [])
        if isinstance(v, dict) and "name" in v
    }


def _variables(about: dict[str, Any]) -> dict[str, Any]:
    from datalux.catalogue.models import Variable

    return {v.name: v for v in Variable.objects.filter(dataset__pid=about.get("dataset", ""))}
