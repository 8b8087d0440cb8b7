"""The data the aggregate-only service computes on: never shown, never written by it.

Two sources, one small interface (:class:`DataSource`: its tables with their columns, and
``read`` of some columns of one table into Arrow):

* **the prepared extract** of a permit whose output rules say ``aggregate_only`` (its form is
  pseudonymised or anonymised, so the trusted third party prepared an extract): the extract's
  Parquet tables, as its manifest lists them;
* **the permit's plan, run in memory** for a permit of the *aggregate* form, which gets no
  extract at all (:func:`datalux.spe.plan.plan_for` refuses to prepare microdata for it): the
  same plan as the pseudonymised form (the permitted datasets, variables, period and row
  filters; persons who opted out left out; direct identifiers never read; the national number
  replaced by ``person_id``, the one-way pseudonym of the project's domain), executed for each
  query by :func:`datalux.dataplane.extract.prepare_table` and read into this process. Nothing
  is written to disk, so nothing outlives the query. A table the trusted third party would
  link first (it has no national number) is not served yet: the message says so.

``person_id`` is the contributor the disclosure rules count (persons, not rows) and the
privacy unit of differential privacy; the service never groups by it and never returns it.
Where the permit links its datasets (one pseudonym of the project in every table), two tables
may be joined on it (:meth:`DataSource.read_joined`: inner, one join, in DuckDB in memory).
"""

from __future__ import annotations

import abc
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from datalux.core.errors import Conflict
from datalux.dataplane.extract import (
    OPT_OUT_KEY,
    PERSON_ID,
    ExtractError,
    ExtractPlan,
    TablePlan,
    prepare_table,
    table_key,
)

__all__ = ["MAX_JOINED_ROWS", "Column", "DataSource", "SourceTable", "Unavailable", "source_for"]

#: Most rows of two joined tables the service computes on (in the web process's memory).
MAX_JOINED_ROWS = 5_000_000


class Unavailable(Conflict):
    """The permitted data cannot be read now (a fixed message; the cause goes to the audit
    event only). ``code`` names the cause for the operators."""

    def __init__(self, message: str, *, code: str, detail: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType

    @property
    def numeric(self) -> bool:
        t = self.type
        return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t))

    @property
    def kind(self) -> str:
        """The column's type in a word for the form: number, date, text, yes/no."""
        t = self.type
        if self.numeric:
            return "number"
        if pa.types.is_temporal(t):
            return "date"
        if pa.types.is_boolean(t):
            return "yes/no"
        return "text"


@dataclass(frozen=True)
class SourceTable:
    name: str
    columns: tuple[Column, ...]
    persons: bool  # whether the rows carry person_id (the contributor)
    served: bool = True  # False: a linked table the service does not compute on yet

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


class DataSource(abc.ABC):
    """The permit's tables; :meth:`read` returns some of one table's columns as Arrow.
    ``linked``: the tables' ``person_id`` are one pseudonym of the project (the permit links
    its datasets), so two tables may be joined on it (:meth:`read_joined`)."""

    def __init__(self, tables: Sequence[SourceTable], *, linked: bool = False) -> None:
        self.tables = {t.name: t for t in tables}
        self.linked = linked

    @abc.abstractmethod
    def read(self, table: str, columns: Sequence[str]) -> pa.Table:
        """Some of one table's columns (an extract's file, or the plan run in memory)."""

    def read_joined(
        self, left: str, left_columns: Sequence[str], right: str, right_columns: Sequence[str]
    ) -> pa.Table:
        """Some columns of two tables joined on ``person_id`` (inner, one join), with
        ``person_id``: each pair of one person's rows of the two tables; when one table gives
        no column, the other's rows of the persons it has too (a filter, no row doubled).
        Records without a ``person_id`` (not linked) match nothing. The column names must
        differ; at most :data:`MAX_JOINED_ROWS` rows (else a ``ValidationError``)."""
        a = self.read(left, [*left_columns, PERSON_ID])
        b = self.read(right, [*right_columns, PERSON_ID])
        pid = '"' + PERSON_ID + '"'
        con = duckdb.connect()
        try:
            con.register("datalux_left", a)
            con.register("datalux_right", b)
            if not right_columns or not left_columns:
                kept, other = ("datalux_left", "datalux_right") if not right_columns else (
                    "datalux_right", "datalux_left")  # fmt: skip
                sql = f"SELECT * FROM {kept} WHERE {pid} IN (SELECT {pid} FROM {other})"  # noqa: S608
            else:
                join = f"FROM datalux_left JOIN datalux_right USING ({pid})"
                [(rows,)] = con.execute(f"SELECT count(*) {join}").fetchall()
                if rows > MAX_JOINED_ROWS:
                    raise ValidationError(
                        {
                            "join": _(
                                "the join would have %(rows)s rows (each pair of a person's "
                                "rows); at most %(max)s are computed on: take the columns of "
                                "one table and use the other as a filter, or join a smaller "
                                "table"
                            )
                            % {"rows": rows, "max": MAX_JOINED_ROWS}
                        }
                    )
                sql = f"SELECT datalux_left.*, datalux_right.* EXCLUDE ({pid}) {join}"
            return con.sql(sql).to_arrow_table()
        finally:
            con.close()


def _unavailable(exc: ExtractError) -> Unavailable:
    return Unavailable(
        _(
            "the permitted data cannot be read now (%(code)s): the refusal is recorded for the "
            "operators; try again later"
        )
        % {"code": exc.code or "extract"},
        code=exc.code or "extract",
        detail=str(exc)[:500],
    )


def _schema(path: Path) -> pa.Schema:
    return ds.dataset(path, format="parquet").schema


class ExtractSource(DataSource):
    """The tables of the permit's prepared extract (``folder`` with its manifest)."""

    def __init__(self, folder: Path, manifest: dict[str, Any], *, linked: bool = False) -> None:
        self.folder = folder
        self.files: dict[str, Path] = {}
        tables = []
        for item in manifest.get("tables", []):
            path = folder / item["file"]
            if not path.exists():
                raise Unavailable(
                    _("the extract's files are not there: the operators see the refusal"),
                    code="extract-missing",
                )
            schema = _schema(path)
            self.files[item["name"]] = path
            columns = tuple(Column(f.name, f.type) for f in schema)
            tables.append(SourceTable(item["name"], columns, persons=PERSON_ID in schema.names))
        super().__init__(tables, linked=linked)

    def read(self, table: str, columns: Sequence[str]) -> pa.Table:
        return ds.dataset(self.files[table], format="parquet").to_table(columns=list(columns))


class _AsPseudonymised:
    """``permit`` seen by :func:`~datalux.spe.plan.plan_for` as of the pseudonymised form: the
    plan of what the permit grants, computed on here and never prepared as an extract."""

    data_form = "pseudonymised"

    def __init__(self, permit: Any) -> None:
        self._permit = permit

    def __getattr__(self, name: str) -> Any:
        return getattr(self._permit, name)


class PlanSource(DataSource):
    """The permit's plan, run in memory for each read (the aggregate form)."""

    def __init__(self, permit: Any) -> None:
        from datalux.spe.plan import plan_for

        self.permit = permit
        try:
            self.plan: ExtractPlan = plan_for(_AsPseudonymised(permit))
        except ExtractError as exc:
            raise _unavailable(exc) from None
        self.plans: dict[str, TablePlan] = {t.name: t for t in self.plan.tables}
        tables = []
        for t in self.plan.tables:
            try:
                schema = _schema(t.source)
            except (OSError, pa.ArrowException):
                raise Unavailable(
                    _("a stored data version cannot be read: the operators see the refusal"),
                    code="data-missing",
                ) from None
            hidden = {*t.direct_identifiers, t.national_id}
            columns = [Column(PERSON_ID, pa.string())] if t.national_id else []
            columns += [
                Column(v, schema.field(v).type)
                for v in t.variables
                if v not in hidden and v in schema.names
            ]
            tables.append(
                SourceTable(
                    t.name, tuple(columns), persons=bool(t.national_id), served=t.link is None
                )
            )
        super().__init__(tables, linked=self.plan.linked)

    def read(self, table: str, columns: Sequence[str]) -> pa.Table:
        from datalux.dataplane.engine import connect
        from datalux.spe.keys import configured_master_key, project_keys

        plan = self.plans[table]
        if plan.link is not None:
            raise Unavailable(
                _(
                    "%(table)s has no national number and would be linked by the trusted third "
                    "party first: the aggregate service does not compute on linked tables yet"
                )
                % {"table": table},
                code="linkage-not-served",
            )
        try:
            keys = project_keys(configured_master_key(), self.plan.domain)
            with connect("duckdb", threads=2) as backend:  # the web process: a neighbour
                opt_outs = None
                if self.plan.opt_outs is not None:
                    opt_outs = backend.register_parquet(
                        f"datalux_opt_outs_{time.monotonic_ns()}", self.plan.opt_outs
                    )
                    if OPT_OUT_KEY not in opt_outs.columns:
                        raise ExtractError("the opt-out table has no national numbers")
                expr = prepare_table(
                    backend,
                    plan,
                    hmac_key=table_key(keys.hmac_key, self.plan, plan),
                    opt_outs=opt_outs,
                )
                return backend.to_arrow(expr.select(*columns))
        except ExtractError as exc:
            raise _unavailable(exc) from None


def source_for(permit: Any) -> DataSource:
    """The data of ``permit`` for the service: its ready extract when it has one, else (the
    aggregate form) its plan run in memory. :class:`Unavailable` when neither can be read."""
    from datalux.spe.prepare import extract_folder

    if permit.data_form == "aggregate":
        return PlanSource(permit)
    extract = permit.preparations.filter(version=permit.version).first()
    if extract is None or not extract.available or not extract.manifest:
        raise Unavailable(
            _("the extract of permit %(number)s is not ready: try again once it is prepared")
            % {"number": permit.number},
            code="extract-not-ready",
        )
    # a pseudonymised extract of a permit that links its datasets has one person_id throughout
    linked = bool(permit.linkage) and permit.data_form == "pseudonymised"
    return ExtractSource(extract_folder(permit), extract.manifest, linked=linked)
