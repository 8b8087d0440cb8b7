"""Prepare a project's extract exactly as a permit says: the first stage of the secure
processing environment (SPE).

A plan (:class:`ExtractPlan`) lists, per permitted dataset, the stored file to read, the
permitted variables, the period and the row filters, and the identifier columns. Preparing it
(:func:`prepare_extract`) builds one Ibis expression per table, so the same preparation runs on
DuckDB or on Spark (:mod:`datalux.dataplane.engine`):

1. persons who objected to secondary use (the trusted third party's opt-out table, keyed by
   national number) are left out, by an anti-join on the source's national number; when the
   permit rests on the persons' consent, only those whose consent covers it are kept (the
   table's consent table, a semi-join);
2. the period and every row filter are applied as Ibis expressions over typed literals: a
   value is never pasted into SQL text;
3. only the permitted variables are kept, and direct identifiers never are: the national
   number becomes ``person_id``, the one-way pseudonym in the *project's* domain (one domain
   per project, so two projects' extracts cannot be joined), and any other direct identifier
   is dropped;
   a table without national numbers gets the number of the person it was linked to first
   (:class:`LinkPlan`: the trusted third party's probabilistic linkage, Splink, against a
   table that has them; unlinked records get no ``person_id``); when the permit allows no
   linkage, each table gets ``person_id`` under its own key, so tables cannot be joined;
4. every table is written into a private staging folder, then the folder is renamed into
   place with its manifest: an extract is visible whole or not at all, and a rerun over the
   same inputs gives files with the same SHA-256.

This module is a pure library (no Django): the web application turns a ``Permit.spec()`` and
the catalogue's dictionary into a plan.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from datalux.dataplane.engine import Backend
from datalux.dataplane.errors import DataplaneError, StorageError
from datalux.dataplane.storage import file_sha256 as _sha256

__all__ = [
    "MANIFEST",
    "PERSON_ID",
    "ExtractError",
    "ExtractPlan",
    "Filter",
    "Manifest",
    "TablePlan",
    "filter_expression",
    "prepare_extract",
    "prepare_table",
    "verify_table",
]

PERSON_ID = "person_id"
MANIFEST = "manifest.json"
OPT_OUT_KEY = "national_id"
Progress = Callable[[str, str], None]  # (step, table name)


class ExtractError(DataplaneError):
    """A plan that cannot be prepared as it is; the message says what to fix and ``code``
    (a short stable word, for pages and the API) what kind of fix it is."""

    def __init__(self, message: str, *, code: str = "invalid-plan") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Filter:
    """One row filter, as the data authority stored it: ``{"variable", "op", "value"}``."""

    variable: str
    op: str
    value: Any = None

    @classmethod
    def from_data(cls, item: dict[str, Any]) -> Filter:
        return cls(item["variable"], item["op"], item.get("value"))


@dataclass(frozen=True)
class LinkPlan:
    """How the trusted third party finds the national number of a table that has none: by
    probabilistic linkage (:func:`datalux.privacy.linkage.link`) to a table that has them."""

    partner: Path  # the stored Parquet file of the table with national numbers
    partner_name: str  # its name in the linkage report
    partner_national_id: str
    record_id: str  # this table's unique record identifier
    # (column here, column in the partner, privacy.linkage kind) for each comparison
    columns: tuple[tuple[str, str, str], ...]


@dataclass(frozen=True)
class AnonymisePlan:
    """The anonymised form: the table is generalised and suppressed until the privacy models
    hold (:func:`datalux.privacy.anonymisation.anonymise`), and has no ``person_id``."""

    quasi_identifiers: tuple[str, ...]
    # column -> hierarchy recipe: "interval:5,10,20", "date:month,year", "prefix:1", or a file
    hierarchies: Mapping[str, str] = field(default_factory=dict, compare=False)
    k: int = 5
    l: int | None = None  # noqa: E741 - the model's name: distinct l-diversity
    t: float | None = None  # t-closeness of the sensitive variable
    sensitive: str | None = None
    max_suppression: float = 0.05  # largest share of records that may be suppressed


@dataclass(frozen=True)
class TablePlan:
    """One permitted dataset: what to read and what to keep."""

    name: str  # the table's name in the extract (a file name: letters, digits, - and _)
    source: Path  # the holder's stored Parquet file (the version current at preparation)
    variables: tuple[str, ...]  # the permitted variables, in the extract's column order
    filters: tuple[Filter, ...] = ()
    period_column: str | None = None  # the date variable the permitted period applies to
    period_start: date | None = None
    period_end: date | None = None
    national_id: str | None = None  # the column holding the national number, if any
    direct_identifiers: tuple[str, ...] = ()  # never copied, whatever the permit says
    # what the manifest says of the table's origin (dataset, holder version, dictionary
    # entries of the columns): JSON-safe, copied as it is
    about: Mapping[str, Any] = field(default_factory=dict, compare=False)
    link: LinkPlan | None = None  # a table without national numbers, linked by the TTP
    anonymise: AnonymisePlan | None = None  # the anonymised form
    # a permit on the persons' consent: the TTP's table of the national numbers whose consent
    # covers it (column national_id); only these persons are kept (a semi-join)
    consents: Path | None = None

    @property
    def has_persons(self) -> bool:
        """Whether the table's rows get a ``person_id`` (never in an anonymised table)."""
        return self.anonymise is None and (self.national_id is not None or self.link is not None)


@dataclass(frozen=True)
class ExtractPlan:
    tables: tuple[TablePlan, ...]
    domain: str  # the project's pseudonym domain, e.g. "project:DLX-P-2026-00001"
    opt_outs: Path | None = None  # TTP table of national numbers excluded from every extract
    linked: bool = True  # False: the permit allows no linkage, each table has its own key


@dataclass
class TableManifest:
    name: str
    file: str
    rows: int
    columns: list[str]
    sha256: str
    source_sha256: str
    filters: list[dict[str, Any]]
    period: list[str | None]
    opted_out_excluded: bool
    about: dict[str, Any] = field(default_factory=dict)
    linkage: dict[str, Any] = field(default_factory=dict)  # how persons were found, in counts
    anonymisation: dict[str, Any] = field(default_factory=dict)  # models, transformation, risk
    consented_only: bool = False  # only persons whose consent covers the permit were kept


@dataclass
class Manifest:
    domain: str
    engine: str
    prepared_at: str
    tables: list[TableManifest] = field(default_factory=list)

    def as_data(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        tables = [TableManifest(**t) for t in data.pop("tables")]
        return cls(**data, tables=tables)


# --- filters -------------------------------------------------------------------------------


def _literal(value: Any, column: ir.Column) -> Any:
    """The filter value as a typed literal of the column's type (dates as dates)."""
    dtype = column.type()
    if value is None:
        return None
    try:
        if dtype.is_date() and isinstance(value, str):
            return ibis.literal(date.fromisoformat(value), type=dt.date)
        if dtype.is_timestamp() and isinstance(value, str):
            return ibis.literal(datetime.fromisoformat(value), type=dtype)
        if dtype.is_integer() and isinstance(value, float) and value.is_integer():
            value = int(value)
        return ibis.literal(value, type=dtype)
    except (TypeError, ValueError) as exc:
        raise ExtractError(
            f"the value {value!r} does not fit the column's type {dtype}: {exc}"
        ) from None


def filter_expression(table: ir.Table, item: Filter) -> ir.BooleanValue:
    """The Ibis condition of one row filter (never SQL text)."""
    if item.variable not in table.columns:
        raise ExtractError(
            f"the filter on {item.variable!r} names a variable the stored data no longer "
            f"have; the data have: {', '.join(table.columns)}. Amend the permit.",
            code="dictionary-changed",
        )
    column = table[item.variable]
    op, value = item.op, item.value
    if op == "is_null":
        return column.isnull()
    if op == "not_null":
        return column.notnull()
    if op == "in":
        if not isinstance(value, list) or not value:
            raise ExtractError(f"the filter 'in' on {item.variable} needs a non-empty list")
        return column.isin([_literal(v, column) for v in value])
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise ExtractError(f"the filter 'between' on {item.variable} needs [low, high]")
        return column.between(_literal(value[0], column), _literal(value[1], column))
    comparisons = {
        "=": column.__eq__,
        "!=": column.__ne__,
        "<": column.__lt__,
        "<=": column.__le__,
        ">": column.__gt__,
        ">=": column.__ge__,
    }
    if op not in comparisons:
        raise ExtractError(f"unknown filter operator {op!r} on {item.variable}")
    return comparisons[op](_literal(value, column))  # type: ignore[no-any-return]


# --- one table ------------------------------------------------------------------------------


LINKED_ID = "datalux_linked_national_id"  # the national number a linked record was given
LINKED_KEY = "datalux_linked_record_key"
PSEUDONYM_LENGTH = 64  # hex digits of an HMAC-SHA256
NATIONAL = "datalux_national_id"  # the national number, until the pseudonym replaces it
PERSONS_KEY = "national_id"  # the column of a persons file (prepare_extract's ``persons``)


def _filtered(backend: Backend, plan: TablePlan) -> ir.Table:
    """The source of one table with the permitted period and row filters applied."""
    name = f"datalux_extract_{time.monotonic_ns()}"
    try:
        table = backend.register_parquet(name, plan.source)
    except StorageError as exc:
        raise ExtractError(
            f"{plan.name}: the stored data version cannot be read ({exc}); was it removed "
            "since the decision? Upload it again or amend the permit.",
            code="data-missing",
        ) from None
    wanted = [*plan.variables, plan.period_column, plan.national_id]
    if plan.link is not None:
        wanted += [plan.link.record_id, *(here for here, _, _ in plan.link.columns)]
    missing = sorted({c for c in wanted if c and c not in table.columns})
    if missing:
        raise ExtractError(
            f"{plan.name}: the stored data have no column {', '.join(missing)}; the data "
            "dictionary and the data differ. Correct the dictionary or amend the permit.",
            code="dictionary-changed",
        )
    if (plan.period_start or plan.period_end) and plan.period_column is None:
        raise ExtractError(
            f"{plan.name}: the permit limits the period, but the dataset has no date "
            "variable to apply it to. Mark one in the data dictionary."
        )
    for item in (*_period_filters(plan), *plan.filters):
        table = table.filter(filter_expression(table, item))
    return table


def prepare_table(
    backend: Backend,
    plan: TablePlan,
    *,
    hmac_key: bytes,
    opt_outs: ir.Table | None,
    linked_ids: Path | None = None,
    persons_only: bool = False,
) -> ir.Table:
    """The expression of one table of the extract (nothing runs yet). ``linked_ids`` is the
    linkage's mapping (``record_key`` to ``national_id``) for a table with a :class:`LinkPlan`.
    ``persons_only``: instead, the distinct national numbers (column ``national_id``) of the
    persons whose rows the table includes, after every exclusion and filter - the trusted
    third party's own record, never part of the extract."""
    table = _filtered(backend, plan)
    national_id = plan.national_id
    if plan.link is not None:
        if linked_ids is None:
            raise ExtractError(f"{plan.name}: the table must be linked before it is prepared")
        mapping = backend.register_parquet(f"datalux_linked_{time.monotonic_ns()}", linked_ids)
        mapping = mapping.rename({LINKED_KEY: "record_key", LINKED_ID: "national_id"})
        record = table[plan.link.record_id].cast("string")
        table = table.left_join(mapping, record == mapping[LINKED_KEY]).drop(LINKED_KEY)
        national_id = LINKED_ID
    if opt_outs is not None:
        if national_id is None:
            raise ExtractError(
                f"{plan.name}: persons who opted out cannot be excluded: the table has no "
                "national number. Link it to a table that has one first."
            )
        key = table[national_id].cast("string")
        table = table.anti_join(opt_outs, key == opt_outs[OPT_OUT_KEY].cast("string"))
    if plan.consents is not None:
        table = _consented(backend, plan, table, national_id)
    if persons_only:
        # whom the table includes (for the trusted third party's person-use index)
        if national_id is None:
            raise ExtractError(f"{plan.name}: the table has no national number")
        key = table[national_id].cast("string")
        return table.filter(key.notnull()).select(**{PERSONS_KEY: key}).distinct()
    identifiers = set(plan.direct_identifiers)
    if plan.national_id:
        identifiers.add(plan.national_id)
    keep = [v for v in plan.variables if v not in identifiers]
    columns: dict[str, ir.Value] = {v: table[v] for v in keep}
    if national_id is not None and plan.anonymise is None:
        selected = table.select(**{NATIONAL: table[national_id].cast("string")}, **columns)
        selected = backend.with_pseudonym(selected, NATIONAL, hmac_key, PERSON_ID)
    else:
        selected = table.select(**columns)
    # a stable row order, so that a rerun writes the same bytes: the source's order where the
    # engine keeps it (DuckDB, no join), else every column sorted
    if backend.preserves_order and opt_outs is None and plan.link is None and not plan.consents:
        return selected
    return selected.order_by([selected[c] for c in selected.columns])


def _consented(
    backend: Backend, plan: TablePlan, table: ir.Table, national_id: str | None
) -> ir.Table:
    """``table`` with only the persons of the plan's consent table (a semi-join on the
    national number): a permit on consent includes nobody else."""
    assert plan.consents is not None
    if national_id is None:
        raise ExtractError(
            f"{plan.name}: the permit rests on the persons' consent, but the table has no "
            "national number to find whose consent covers it. Link it to a table that has one.",
            code="consents-inapplicable",
        )
    try:
        consents = backend.register_parquet(
            f"datalux_consents_{time.monotonic_ns()}", plan.consents
        )
    except StorageError as exc:
        raise ExtractError(
            f"{plan.name}: the consent table cannot be read: {exc}", code="consents-unreadable"
        ) from None
    if OPT_OUT_KEY not in consents.columns:
        raise ExtractError(f"{plan.name}: the consent table has no column {OPT_OUT_KEY}")
    key = table[national_id].cast("string")
    return table.semi_join(consents, key == consents[OPT_OUT_KEY].cast("string"))


def link_table(
    backend: Backend, plan: TablePlan, workdir: Path
) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """Find the national number of each record of a table that has none (its :class:`LinkPlan`):
    Splink against the partner table, inside the trusted third party. Returns the mapping file
    (``record_key``, ``national_id``: one best match per record in the match band, written in
    ``workdir``, never in the extract), the manifest's summary and the full linkage report
    (counts only, never a value)."""
    from datalux.privacy.errors import PrivacyError
    from datalux.privacy.linkage import link

    assert plan.link is not None
    spec = plan.link
    filtered = _filtered(backend, plan)
    left = backend.to_arrow(
        filtered.select(spec.record_id, *dict.fromkeys(here for here, _, _ in spec.columns))
    )
    try:
        partner = backend.register_parquet(f"datalux_partner_{time.monotonic_ns()}", spec.partner)
    except StorageError as exc:
        raise ExtractError(
            f"{plan.name}: the table it is linked to ({spec.partner_name}) cannot be read "
            f"({exc}); its steward must upload it again",
            code="data-missing",
        ) from None
    wanted = [spec.partner_national_id, *dict.fromkeys(there for _, there, _ in spec.columns)]
    missing = [c for c in wanted if c not in partner.columns]
    if missing:
        raise ExtractError(
            f"{plan.name}: the table it is linked to ({spec.partner_name}) has no column "
            f"{', '.join(missing)}; correct its data dictionary",
            code="dictionary-changed",
        )
    right = backend.to_arrow(partner.select(*wanted))
    link_spec = {
        # the report's side names (the manifest's summary names the tables)
        "left": {"id": spec.record_id, "name": "table"},
        "right": {"id": spec.partner_national_id, "name": "partner"},
        "columns": [{"left": a, "right": b, "kind": k} for a, b, k in spec.columns],
    }
    try:
        result = link(left, right, link_spec)
    except PrivacyError as exc:
        raise ExtractError(
            f"{plan.name}: the linkage to {spec.partner_name} failed ({exc})",
            code="linkage-failed",
        ) from None
    links = _in_band(result.links, "match")
    best: dict[str, tuple[float, str]] = {}
    for left_id, right_id, p in zip(
        links["left_id"].to_pylist(),
        links["right_id"].to_pylist(),
        links["match_probability"].to_pylist(),
        strict=True,
    ):
        if left_id not in best or (p, right_id) > best[left_id]:
            best[left_id] = (p, right_id)
    keys = sorted(best)
    mapping = pa.table(
        {
            "record_key": pa.array(keys, pa.string()),
            "national_id": pa.array([best[k][1] for k in keys], pa.string()),
        }
    )
    path = workdir / f"{plan.name}.parquet"
    pq.write_table(mapping, path)
    in_review = set(_in_band(result.links, "review")["left_id"].to_pylist()) - set(best)
    report = result.report.to_dict()
    report.pop("seconds", None)  # the only part that differs between reruns
    summary = {
        "method": "probabilistic",
        "partner": spec.partner_name,
        "compared": [here for here, _, _ in spec.columns],
        "records": left.num_rows,
        "linked": len(best),
        "unlinked": left.num_rows - len(best),
        "review_only": len(in_review),
        "thresholds": report.get("thresholds", {}),
        "bands": report.get("bands", {}),
        "blocking_recall": report.get("blocking_recall"),
        "report": f"linkage-{plan.name}.json",
    }
    return path, summary, report


def _in_band(links: pa.Table, band: str) -> pa.Table:
    return links.filter(pc.equal(links["band"], band))


def table_key(hmac_key: bytes, plan: ExtractPlan, table: TablePlan) -> bytes:
    """The key of ``table``'s pseudonyms: the project's key when its tables may be linked,
    else one derived per table (the same person differs between tables). Same form as the
    project's key (64 hex digits as ASCII), so every engine takes it as a string."""
    if plan.linked:
        return hmac_key
    label = b"datalux/v1/unlinked-table\x00" + table.name.encode()
    return hmac.new(hmac_key, label, "sha256").hexdigest().encode("ascii")


def _period_filters(plan: TablePlan) -> list[Filter]:
    """The permitted period as two filters on its date (typed like any filter value)."""
    bounds = ((">=", plan.period_start), ("<=", plan.period_end))
    return [Filter(str(plan.period_column), op, day.isoformat()) for op, day in bounds if day]


# --- the extract ----------------------------------------------------------------------------


def _check_names(tables: Sequence[TablePlan]) -> None:
    seen: set[str] = set()
    for plan in tables:
        if not plan.name or not all(ch.isalnum() or ch in "-_" for ch in plan.name):
            raise ExtractError(f"{plan.name!r} is not a table name: use letters, digits, - and _")
        if plan.name in seen:
            raise ExtractError(f"two tables are named {plan.name}")
        seen.add(plan.name)


def prepare_extract(
    backend: Backend,
    plan: ExtractPlan,
    output: Path,
    *,
    hmac_key: bytes,
    prepared_at: str | None = None,
    progress: Progress | None = None,
    persons: Path | None = None,
) -> Manifest:
    """Prepare every table of ``plan`` into the folder ``output``, which must not exist yet,
    with a ``manifest.json``. ``hmac_key`` is the project domain's one-way key (from the
    trusted third party's :class:`~datalux.privacy.keys.DomainKeys`); it never reaches a log.

    Nothing is visible at ``output`` until every table is written and checked: the work happens
    in a staging folder beside it, removed on any failure. ``progress(step, table)`` is called
    as each step starts (``extracting``, ``linking`` for a linked table, ``pseudonymising``,
    ``verifying``).

    ``persons`` (a folder of the trusted third party's, outside ``output``, created by the
    caller): for each table with national numbers, ``<table>.parquet`` there lists the distinct
    national numbers (column ``national_id``) of the persons whose rows the table includes -
    before suppression for an anonymised table. The caller owns and removes it; it is written
    before the extract becomes visible."""

    def report(step: str, table: str) -> None:
        if progress is not None:
            progress(step, table)

    if not plan.tables:
        raise ExtractError("the plan has no table: a permit grants at least one dataset")
    _check_names(plan.tables)
    output = Path(output)
    if output.exists():
        raise ExtractError(f"{output} exists already: an extract is never overwritten")
    if persons is not None:
        home, where = output.parent.resolve(), Path(persons).resolve()
        if home == where or home in where.parents:  # where the extract and staging live
            raise ExtractError(f"the persons folder must be outside {output.parent}")
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = output.with_name(f".{output.name}.partial-{os.getpid()}-{time.monotonic_ns()}")
    staging.mkdir(mode=0o700)  # the extract is its owner's only (its files are 0600)
    workdir: Path | None = None
    try:
        opt_outs = None
        if plan.opt_outs is not None:
            try:
                opt_outs = backend.register_parquet(
                    f"datalux_opt_outs_{time.monotonic_ns()}", plan.opt_outs
                )
            except StorageError as exc:
                raise ExtractError(
                    f"the opt-out table cannot be read: {exc}", code="opt-outs-unreadable"
                ) from None
            if OPT_OUT_KEY not in opt_outs.columns:
                raise ExtractError(f"the opt-out table has no column {OPT_OUT_KEY}")
        manifest = Manifest(
            domain=plan.domain,
            engine=backend.name,
            prepared_at=prepared_at or datetime.now().astimezone().isoformat(timespec="seconds"),
        )
        persons_tables = sum(1 for t in plan.tables if t.has_persons)
        for table_plan in plan.tables:
            report("extracting", table_plan.name)
            linked_ids: Path | None = None
            linkage: dict[str, Any] = {}
            if table_plan.link is not None:
                report("linking", table_plan.name)
                if workdir is None:  # national numbers: beside the staging folder, never in it
                    workdir = staging.with_name(f"{staging.name}-linking")
                    workdir.mkdir(mode=0o700)
                linked_ids, linkage, full_report = link_table(backend, table_plan, workdir)
                (staging / linkage["report"]).write_text(
                    json.dumps(full_report, indent=2, sort_keys=True, default=str) + "\n",
                    encoding="utf-8",
                )
            elif table_plan.national_id and plan.linked and persons_tables > 1:
                linkage = {"method": "national number", "key": "keyed national number, exact"}
            expr = prepare_table(
                backend,
                table_plan,
                hmac_key=table_key(hmac_key, plan, table_plan),
                opt_outs=opt_outs,
                linked_ids=linked_ids,
            )
            if persons is not None and (table_plan.national_id or table_plan.link):
                included = prepare_table(
                    backend, table_plan, hmac_key=b"", opt_outs=opt_outs,
                    linked_ids=linked_ids, persons_only=True,
                )  # fmt: skip
                backend.write_parquet(included, persons / f"{table_plan.name}.parquet")
            target = staging / f"{table_plan.name}.parquet"
            anonymisation: dict[str, Any] = {}
            if table_plan.anonymise is not None:
                report("anonymising", table_plan.name)
                written, anonymisation = anonymise_table(backend, expr, table_plan, target)
            else:
                # selection, filters and pseudonyms run as one query: rows are pseudonymised
                # as they are written, so no file ever holds a national number
                report("pseudonymising", table_plan.name)
                written = backend.write_parquet(expr, target)
            rows = _row_count(written)
            manifest.tables.append(
                TableManifest(
                    name=table_plan.name,
                    file=written.name,
                    rows=rows,
                    columns=_columns(written),
                    sha256=_tree_sha256(written),
                    source_sha256=_sha256(table_plan.source),
                    filters=[asdict(f) for f in table_plan.filters],
                    period=[
                        table_plan.period_start.isoformat() if table_plan.period_start else None,
                        table_plan.period_end.isoformat() if table_plan.period_end else None,
                    ],
                    opted_out_excluded=opt_outs is not None,
                    about=dict(table_plan.about),
                    linkage=linkage,
                    anonymisation=anonymisation,
                    consented_only=table_plan.consents is not None,
                )
            )
        report("verifying", "")
        for table_plan, table_manifest in zip(plan.tables, manifest.tables, strict=True):
            verify_table(backend, table_plan, staging / table_manifest.file, table_manifest)
        (staging / MANIFEST).write_text(
            json.dumps(manifest.as_data(), indent=2, sort_keys=True, default=str) + "\n",
            encoding="utf-8",
        )
        os.replace(staging, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
    return manifest


def _columns(path: Path) -> list[str]:
    files = [path] if path.is_file() else sorted(path.glob("*.parquet"))
    return list(pq.ParquetFile(files[0]).schema_arrow.names)


def anonymise_table(
    backend: Backend, expr: ir.Table, plan: TablePlan, target: Path
) -> tuple[Path, dict[str, Any]]:
    """Write the anonymised form of one table: generalised and suppressed until its models
    hold, checked by the anonymiser's own verification; returns the file and the report
    (models, transformation, suppressed records, utility, risk before and after)."""
    from datalux.privacy.anonymisation import (
        DistinctLDiversity,
        KAnonymity,
        TCloseness,
        anonymise,
        parse_hierarchy_spec,
    )
    from datalux.privacy.errors import PrivacyError

    assert plan.anonymise is not None
    spec = plan.anonymise
    records = backend.to_arrow(expr)
    if not spec.quasi_identifiers:
        pq.write_table(records, target)
        return target, {"quasi_identifiers": [], "records": records.num_rows,
                        "note": "no quasi-identifier among the permitted variables"}  # fmt: skip
    models: list[Any] = [KAnonymity(spec.k)]
    if spec.sensitive and spec.l:
        models.append(DistinctLDiversity(spec.l))
    if spec.sensitive and spec.t is not None:
        models.append(TCloseness(spec.t))
    hierarchies = {
        column: parse_hierarchy_spec(f"{column}={recipe}")[1]
        for column, recipe in spec.hierarchies.items()
    }
    try:
        result = anonymise(
            records,
            quasi_identifiers=spec.quasi_identifiers,
            hierarchies=hierarchies,
            models=models,
            sensitive=spec.sensitive if len(models) > 1 else None,
            max_suppression=spec.max_suppression,
            strategy="optimal",
        )
    except PrivacyError as exc:
        raise ExtractError(
            f"{plan.name}: the anonymised form cannot be made ({exc}); the authority may "
            "relax the parameters or narrow the variables by amending the permit",
            code="anonymisation-impossible",
        ) from None
    released = result.table
    released = released.sort_by([(c, "ascending") for c in released.column_names])
    pq.write_table(released, target)
    report = {
        "quasi_identifiers": list(spec.quasi_identifiers),
        "sensitive": spec.sensitive if len(models) > 1 else None,
        "models": [m.describe() for m in models],
        "max_suppression": spec.max_suppression,
        "records": records.num_rows,
        "records_suppressed": result.records_suppressed,
        "transformation": [
            {
                "attribute": t.attribute,
                "level": t.level,
                "hierarchy": t.hierarchy,
                "distinct_before": t.distinct_before,
                "distinct_after": t.distinct_after,
            }
            for t in result.transformation
        ],
        "utility": result.utility.as_dict(),
        "risk_before": result.risk_before.as_dict(),
        "risk_after": result.risk_after.as_dict(),
        "verification": result.verification.as_dict(),
    }
    return target, report


def verify_table(backend: Backend, plan: TablePlan, path: Path, manifest: TableManifest) -> None:
    """Check a written table by reading it back, independently of the query that wrote it:
    exactly the permitted columns (and ``person_id``), no identifier column of the source, the
    row count of the manifest, every ``person_id`` a pseudonym (64 hex digits, so never a
    national number of the source), and for the anonymised form k-anonymity
    counted by the engine itself (an independent check of the anonymiser's)."""
    written = backend.register_parquet(f"datalux_verify_{time.monotonic_ns()}", path)
    identifiers = set(plan.direct_identifiers)
    if plan.national_id:
        identifiers.add(plan.national_id)
    expected = [PERSON_ID] if plan.has_persons else []
    expected += [v for v in plan.variables if v not in identifiers]
    problems = []
    if list(written.columns) != expected:
        problems.append(f"columns {list(written.columns)} instead of {expected}")
    leaked = sorted(identifiers & set(written.columns))
    if leaked:
        problems.append(f"identifier columns {leaked} in the output")
    rows = _count(backend, written)
    if rows != manifest.rows:
        problems.append(f"{rows} rows read back, {manifest.rows} written")
    if plan.anonymise is not None and plan.anonymise.quasi_identifiers:
        from datalux.privacy.anonymisation import engine_k_anonymity

        name = f"datalux_verify_k_{time.monotonic_ns()}"
        backend.register_parquet(name, path)
        check = engine_k_anonymity(backend, name, plan.anonymise.quasi_identifiers,
                                   plan.anonymise.k)  # fmt: skip
        if not check.satisfied:
            problems.append(
                f"smallest class of {int(check.observed['smallest_class'])} records, "
                f"k is {plan.anonymise.k}"
            )
    if PERSON_ID in written.columns:
        # a pseudonym is 64 characters long; a national number (13 digits) or another value
        # of the source that slipped through is not (a length test: 5x faster than a regex)
        person = written[PERSON_ID]
        bad = written.filter(person.notnull() & (person.length() != PSEUDONYM_LENGTH))
        if _count(backend, bad):
            problems.append("person_id values that are not pseudonyms (64 hex digits)")
    if problems:
        raise ExtractError(
            f"{plan.name}: the written extract fails its check ({'; '.join(problems)}); nothing "
            "was released. Report this to the platform operators.",
            code="verification-failed",
        )


def _count(backend: Backend, table: ir.Table) -> int:
    return int(backend.to_arrow(table.aggregate(n=table.count()))["n"][0].as_py())


def _row_count(path: Path) -> int:
    files = [path] if path.is_file() else sorted(path.glob("*.parquet"))
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def _tree_sha256(path: Path) -> str:
    """The SHA-256 of a file, or of a folder of part files (Spark) in name order (Spark's part
    names carry a random job id, so only their contents count)."""
    if path.is_file():
        return _sha256(path)
    digest = hashlib.sha256()
    for part in sorted(path.glob("*.parquet")):
        digest.update(bytes.fromhex(_sha256(part)))
    return digest.hexdigest()
