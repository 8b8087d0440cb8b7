"""Check an aggregate table: group microdata (or take a precomputed table), apply the rules,
suppress, round, and report each cell's status and the rules it failed.

The grouping runs in DuckDB over the Arrow table (identifiers quoted, no user SQL); the rules
and suppression run in numpy on a dense grid with one axis per grouping column, whose levels
are every value seen in that column (cells absent from the data are empty cells, count 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from datalux.privacy.disclosure.io import require_columns
from datalux.privacy.disclosure.rounding import Method, round_counts
from datalux.privacy.disclosure.rules import CellStats, RuleSet, evaluate, primary_mask
from datalux.privacy.disclosure.suppression import SuppressionResult, suppress
from datalux.privacy.errors import InputError

#: Largest grid (product of the numbers of levels) checked; beyond it, coarsen the grouping.
MAX_CELLS = 5_000_000

PUBLISHED = "published"
PRIMARY = "primary"
SECONDARY = "secondary"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Rounding:
    """Round published counts to a multiple of ``base`` with ``method``."""

    base: int = 5
    method: Method = "conventional"
    seed: int | None = None


@dataclass
class CheckedTable:
    """The result of :func:`check_table`: the safe table and the per-cell verdicts."""

    table: pa.Table
    status: list[str]
    failed: list[list[str]]
    rules: RuleSet
    by: list[str]
    suppression: SuppressionResult | None
    rounding: Rounding | None
    params: dict[str, Any] = field(default_factory=dict)

    def report(self) -> dict[str, Any]:
        """A JSON-ready report: parameters, summary, and each cell's key, status and rules.

        It holds no cell value, so it does not disclose what was suppressed.
        """
        keys = self.table.select(self.by).to_pylist()
        counts = {s: self.status.count(s) for s in (PUBLISHED, PRIMARY, SECONDARY)}
        by_rule: dict[str, int] = {}
        for rules in self.failed:
            for r in rules:
                by_rule[r] = by_rule.get(r, 0) + 1
        return {
            "parameters": {
                "by": self.by,
                "threshold": self.rules.threshold,
                "p": self.rules.p,
                "nk": list(self.rules.nk) if self.rules.nk else None,
                "zeros_disclosive": self.rules.zeros_disclosive,
                "secondary_suppression": self.suppression is not None
                and self.params.get("secondary", True),
                "rounding": None
                if self.rounding is None
                else {"base": self.rounding.base, "method": self.rounding.method},
                **{k: v for k, v in self.params.items() if k != "secondary"},
            },
            "summary": {
                "cells": len(self.status),
                **counts,
                "failed_by_rule": by_rule,
                "secondary_method": "hypercube (GHMITER-style boxes)"
                if self.params.get("secondary", True)
                else None,
                "exact_audit_complete": None
                if self.suppression is None
                else self.suppression.audit_complete,
            },
            "cells": [
                {"key": _jsonable(k), "status": s, "failed": f}
                for k, s, f in zip(keys, self.status, self.failed, strict=True)
            ],
        }


def _jsonable(key: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v if v is None or isinstance(v, (str, int, float, bool)) else str(v)
        for k, v in key.items()
    }


def _validate(
    table: pa.Table,
    by: Sequence[str],
    value: str | None,
    unit: str | None,
    count_column: str | None,
) -> None:
    if not by:
        raise InputError("no grouping column given: pass at least one column in --by")
    if len(set(by)) != len(by):
        raise InputError("a grouping column is named twice in --by")
    require_columns(table, list(by), "grouping")
    for name, what in ((value, "value"), (unit, "unit"), (count_column, "count")):
        if name is None:
            continue
        require_columns(table, [name], what)
        if name in by:
            raise InputError(f"the {what} column {name!r} is also a grouping column")
    if value is not None and count_column is not None:
        raise InputError("a precomputed count table has no contributions: drop --value")
    if unit is not None and count_column is not None:
        raise InputError("--unit applies to microdata, not to a precomputed count table")
    for name, what in ((value, "value"), (count_column, "count")):
        if name is not None:
            t = table.schema.field(name).type
            if not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)):
                raise InputError(f"the {what} column {name!r} must be numeric, it is {t}")
    if table.num_rows == 0:
        raise InputError("the input table has no rows")


def _check_values(table: pa.Table, name: str, what: str) -> None:
    column = table.column(name)
    if column.null_count:
        raise InputError(
            f"the {what} column {name!r} has {column.null_count} missing value(s); "
            "impute or drop them before checking the table"
        )
    if pa.types.is_floating(column.type) and pc.any(pc.is_nan(column)).as_py():
        raise InputError(f"the {what} column {name!r} has NaN values; impute or drop them")
    if what == "count" and pc.min(column).as_py() < 0:
        raise InputError(f"the count column {name!r} has negative values; counts are >= 0")


def _aggregate_sql(
    by: Sequence[str],
    value: str | None,
    unit: str | None,
    count_column: str | None,
    top_needed: int,
) -> str:
    """The grouping query; every identifier is quoted, nothing else comes from the caller."""
    keys = ", ".join(_q(c) for c in by)
    if count_column is not None:
        return f"SELECT {keys}, CAST(sum({_q(count_column)}) AS BIGINT) AS n FROM microdata GROUP BY ALL"  # noqa: S608, E501
    source = "microdata"
    v = _q(value) if value is not None else None
    if unit is not None:
        inner = f"sum({v})" if v is not None else "NULL"
        source = f"(SELECT {keys}, {_q(unit)}, {inner} AS v FROM microdata GROUP BY ALL)"  # noqa: S608
        v = "v" if v is not None else None
    if v is None:
        return f"SELECT {keys}, count(*) AS n FROM {source} AS t GROUP BY ALL"  # noqa: S608
    return (
        f"SELECT {keys}, count(*) AS n, CAST(sum({v}) AS DOUBLE) AS total, "  # noqa: S608
        f"max(CAST({v} AS DOUBLE), {int(top_needed)}) AS top, "
        f"CAST(count(*) FILTER (WHERE {v} < 0) AS BIGINT) AS neg "
        f"FROM {source} AS t GROUP BY ALL"
    )


def _aggregate(
    table: pa.Table,
    by: Sequence[str],
    value: str | None,
    unit: str | None,
    count_column: str | None,
    top_needed: int,
) -> pa.Table:
    if count_column is not None:
        _check_values(table, count_column, "count")
    if value is not None:
        _check_values(table, value, "value")
    con = duckdb.connect()
    try:
        con.execute("SET threads=2")
        con.register("microdata", table)
        sql = _aggregate_sql(by, value, unit, count_column, top_needed)
        return con.sql(sql).to_arrow_table()
    finally:
        con.close()


def _levels(column: pa.ChunkedArray) -> tuple[pa.Array, npt.NDArray[np.intp]]:
    """Sorted distinct values (nulls last) and each row's level index."""
    levels = pc.unique(column)
    order = pc.array_sort_indices(levels, null_placement="at_end")
    levels = pc.take(levels, order)
    codes = pc.index_in(column, value_set=levels, skip_nulls=False)
    return levels, np.asarray(codes.to_numpy(zero_copy_only=False), dtype=np.intp)


def check_table(
    table: pa.Table,
    by: Sequence[str],
    *,
    value: str | None = None,
    unit: str | None = None,
    count_column: str | None = None,
    rules: RuleSet | None = None,
    secondary: bool = True,
    rounding: Rounding | None = None,
    stats: Sequence[str] = ("count", "sum"),
) -> CheckedTable:
    """Apply the disclosure rules to the table of ``table`` grouped by ``by``.

    ``table`` is microdata (one row per contributor, or per record with ``unit`` naming the
    contributor whose rows are summed first), or a precomputed frequency table whose
    ``count_column`` holds each cell's count. With ``value`` the table is a magnitude table
    (``count``, ``sum`` and/or ``mean`` of ``value``) and the dominance rules apply.
    Suppressed cells are null in the output; published counts are rounded if asked.
    """
    rules = rules or RuleSet()
    by = list(by)
    _validate(table, by, value, unit, count_column)
    unknown = [s for s in stats if s not in ("count", "sum", "mean")]
    if unknown or not stats:
        raise InputError(f"unknown statistic(s) {unknown}; choose from count, sum, mean")
    cells = _aggregate(table, by, value, unit, count_column, rules.top_needed)

    level_arrays: list[pa.Array] = []
    codes: list[npt.NDArray[np.intp]] = []
    for c in by:
        lv, cd = _levels(cells.column(c))
        level_arrays.append(lv)
        codes.append(cd)
    shape = tuple(len(lv) for lv in level_arrays)
    size = int(np.prod(shape, dtype=np.int64))
    if size > MAX_CELLS:
        raise InputError(
            f"the table would have {size} cells (levels per column: "
            f"{dict(zip(by, shape, strict=True))}); the limit is {MAX_CELLS}: "
            "group by fewer or coarser columns"
        )
    flat = np.ravel_multi_index(tuple(codes), shape) if by else np.zeros(0, dtype=np.intp)

    count = np.zeros(size, dtype=np.int64)
    count[flat] = cells.column("n").to_numpy()
    magnitude = value is not None
    if magnitude:
        m = rules.top_needed
        total = np.zeros(size, dtype=np.float64)
        total[flat] = cells.column("total").to_numpy()
        top = np.zeros((size, m), dtype=np.float64)
        top_lists = cells.column("top").combine_chunks()
        lengths = pc.list_value_length(top_lists).to_numpy()
        values = pc.list_flatten(top_lists).to_numpy()
        rows = np.repeat(flat, lengths)
        pos = np.arange(len(values)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        top[rows, pos] = values
        neg = np.zeros(size, dtype=np.int64)
        neg[flat] = cells.column("neg").to_numpy()
        cell_stats = CellStats(count=count, total=total, top=top, negatives=neg)
    else:
        cell_stats = CellStats(count=count)

    outcome = evaluate(cell_stats, rules)
    prim = primary_mask(outcome, size)
    cost = np.abs(cell_stats.total) if cell_stats.total is not None else count.astype(float)
    result = suppress(
        prim.reshape(shape),
        cost.reshape(shape),
        secondary=secondary,
        empty=(count == 0).reshape(shape),
    )
    sec = result.secondary.ravel()
    hidden = prim | sec

    published_count = count
    rng = None
    if rounding is not None:
        if rounding.method == "random":
            rng = np.random.default_rng(rounding.seed)
        published_count = round_counts(count, rounding.base, rounding.method, rng)

    grid_index = np.indices(shape).reshape(len(shape), -1) if size else np.zeros((len(by), 0))
    columns: dict[str, pa.Array] = {
        c: pc.take(level_arrays[i], pa.array(grid_index[i], type=pa.int64()))
        for i, c in enumerate(by)
    }
    mask = pa.array(hidden)
    if "count" in stats:
        columns["count"] = pc.if_else(mask, pa.nulls(size, pa.int64()), pa.array(published_count))
    if magnitude and cell_stats.total is not None:
        if "sum" in stats:
            columns["sum"] = pc.if_else(
                mask, pa.nulls(size, pa.float64()), pa.array(cell_stats.total)
            )
        if "mean" in stats:
            with np.errstate(divide="ignore", invalid="ignore"):
                mean = np.where(count > 0, cell_stats.total / np.maximum(count, 1), np.nan)
            columns["mean"] = pc.if_else(
                pa.array(hidden | (count == 0)), pa.nulls(size, pa.float64()), pa.array(mean)
            )
    out = pa.table(columns)

    names = list(outcome)
    failed = [[] for _ in range(size)]  # type: list[list[str]]
    for name in names:
        for i in np.flatnonzero(outcome[name]):
            failed[int(i)].append(name)
    status = [PRIMARY if prim[i] else SECONDARY if sec[i] else PUBLISHED for i in range(size)]
    params: dict[str, Any] = {
        "value": value,
        "unit": unit,
        "count_column": count_column,
        "secondary": secondary,
    }
    return CheckedTable(out, status, failed, rules, by, result, rounding, params)
