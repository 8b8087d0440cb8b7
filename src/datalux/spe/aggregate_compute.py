"""The aggregate-only service's computations on Arrow microdata: what is released, never a row.

**checked** (the default): :func:`datalux.privacy.disclosure.check_table` under the permit's
output rules: the threshold, (n,k)-dominance and p% rules on each cell, the contributor being
the person (``person_id``) where the table has one, else the row; secondary suppression
(hypercube boxes), so that no suppressed cell can be worked out from the published cells and
margins; published counts rounded to the permit's ``rounding_base`` (conventional rounding:
deterministic, so asking again gives the same answer and nothing averages out). Suppressed
cells are ``null`` with the status ``suppressed``; primary and secondary suppressions are not
told apart, nor the rule a cell failed (that would say a cell is small or dominated).

* ``count`` — persons (contributors) in each cell; ``sum`` — the total of ``value`` (and the
  count); ``mean`` — the mean of ``value`` over the cell's records (and the count), published
  only where the sum would be.
* ``quantile`` — the ``q`` quantile of ``value`` (linear interpolation) in each cell, released
  only where the cell has at least ``threshold`` contributors *and* at least half the threshold
  (rounded up) on either side of the quantile (``n·q`` and ``n·(1-q)``), so that an extreme
  quantile is never one person's value; released rounded to 2 significant digits.

**dp**: differential privacy through OpenDP (:func:`datalux.privacy.disclosure.prepare`):
the cells are the cross product of the ``levels`` the caller names for each grouping column
(never taken from the data, whose categories would otherwise leak); each person keeps at most
``max_rows_per_person`` rows (their own rows, in a fixed order); one measurement calibrated for
that many rows per person is run once per cell. The cells split the rows, and a person's rows
are at most ``max_rows_per_person`` across all cells, so the whole table costs the
measurement's epsilon once (parallel composition): that is what is charged to the project's
budget ledger, before any noise is drawn. Counts are published rounded to whole numbers and
never below 0; means are clamped into the bounds.

In both checked methods a grouping column's levels come from the data, so a level that fewer
than ``threshold`` contributors have (a rare diagnosis, one person's exact amount) is pooled
into the level ``(other)`` first: the data's rare values never appear as a key of the table,
not even beside a suppressed cell.

Rows with no ``value`` are left out of sums, means and quantiles. Every identifier in the
DuckDB queries here comes from the extract's metadata and is quoted; values are bound.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from datalux.dataplane.extract import PERSON_ID
from datalux.privacy.disclosure import (
    BudgetStore,
    Rounding,
    RuleSet,
    Spend,
    check_table,
    prepare,
)
from datalux.privacy.errors import PrivacyError
from datalux.privacy.output_checks import Rules

__all__ = ["ALL", "MAX_CELLS", "MAX_DP_CELLS", "OTHER", "checked", "dp", "quantile", "rule_set"]

#: Most cells of a released table (the product of the grouping columns' levels).
MAX_CELLS = 5_000
#: Most cells of a DP table (each cell is one draw of noise).
MAX_DP_CELLS = 1_000
#: The grouping column of a table without grouping: one cell for all rows.
ALL = "datalux_all"
#: The level that pools a grouping column's rare values (fewer contributors than the threshold).
OTHER = "(other)"
SIGNIFICANT_DIGITS = 2


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def rule_set(output_rules: dict[str, Any]) -> tuple[RuleSet, Rounding | None]:
    """The disclosure rules and the rounding of the permit's output rules (the authority's
    defaults where the permit sets none; the same reading as the release checks)."""
    try:
        rules = Rules.from_permit(output_rules or {})
    except ValueError as exc:
        raise PrivacyError(str(exc)) from None
    base = (output_rules or {}).get("rounding_base", 5)
    rounding = Rounding(base=int(base)) if isinstance(base, int) and base >= 2 else None
    return RuleSet(threshold=rules.min_count, p=rules.p, nk=rules.nk), rounding


def _grouped(data: pa.Table, by: Sequence[str]) -> tuple[pa.Table, list[str]]:
    """``data`` with a constant grouping column when ``by`` is empty (one cell)."""
    if by:
        return data, list(by)
    return data.append_column(ALL, pa.array(["all"] * data.num_rows, pa.string())), [ALL]


def _check_cells(data: pa.Table, by: Sequence[str]) -> list[int]:
    levels = [len(pc.unique(data.column(c))) for c in by]
    cells = math.prod(levels)
    if cells > MAX_CELLS:
        raise ValidationError(
            {
                "by": _(
                    "the table would have %(cells)s cells (levels per column: %(levels)s); at "
                    "most %(max)s are released: group by fewer or coarser columns"
                )
                % {
                    "cells": cells,
                    "levels": ", ".join(f"{c} {n}" for c, n in zip(by, levels, strict=True)),
                    "max": MAX_CELLS,
                }
            }
        )
    return levels


def _pool_rare(
    data: pa.Table, by: Sequence[str], persons: bool, threshold: int
) -> tuple[pa.Table, list[str]]:
    """``data`` with each level of a grouping column that fewer than ``threshold``
    contributors have recoded as :data:`OTHER` (the column then as text): the data's rare
    values (a rare diagnosis, one person's exact amount) never appear as a key of the table,
    not even beside a suppressed cell. Returns the columns where levels were pooled."""
    contributors = f"count(DISTINCT {_q(PERSON_ID)})" if persons else "count(*)"
    pooled = []
    con = duckdb.connect()
    try:
        con.register("microdata", data)
        for c in by:
            if c == ALL:
                continue
            rare = [
                row[0]
                for row in con.sql(
                    f"SELECT {_q(c)}, {contributors} AS n FROM microdata GROUP BY ALL "  # noqa: S608
                    f"HAVING {contributors} < {int(threshold)}"
                ).fetchall()
            ]
            if not rare:
                continue
            column = data.column(c)
            values = [v for v in rare if v is not None]
            mask = pc.is_in(column, value_set=pa.array(values, column.type))
            if len(values) < len(rare):  # missing values are rare too
                mask = pc.or_(pc.fill_null(mask, False), pc.is_null(column))
            text = column if pa.types.is_string(column.type) else pc.cast(column, pa.string())
            recoded = pc.if_else(pc.fill_null(mask, False), pa.scalar(OTHER), text)
            data = data.set_column(data.schema.get_field_index(c), c, recoded)
            pooled.append(c)
    finally:
        con.close()
    return data, pooled


def _json(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return str(value)  # dates, decimals


def _rows(
    keys: list[dict[str, Any]], values: dict[str, list[Any]], status: list[str]
) -> list[dict[str, Any]]:
    out = []
    for i, key in enumerate(keys):
        row = {k: _json(v) for k, v in key.items() if k != ALL}
        row.update({name: _json(column[i]) for name, column in values.items()})
        row["status"] = status[i]
        out.append(row)
    return out


def _drop_missing(data: pa.Table, value: str | None) -> pa.Table:
    if value is None:
        return data
    mask = pc.is_valid(data.column(value))
    if pa.types.is_floating(data.schema.field(value).type):
        mask = pc.and_(mask, pc.invert(pc.is_nan(data.column(value))))
    return data.filter(mask)


def _summary(status: list[str]) -> dict[str, int]:
    published = status.count("published")
    return {"cells": len(status), "published": published, "suppressed": len(status) - published}


def checked(
    data: pa.Table,
    *,
    statistic: str,
    by: Sequence[str],
    value: str | None,
    persons: bool,
    output_rules: dict[str, Any],
) -> dict[str, Any]:
    """A count, sum or mean table under the permit's rules (see the module's docstring)."""
    rules, rounding = rule_set(output_rules)
    data = _drop_missing(data, value)
    data, keys = _grouped(data, by)
    _check_cells(data, keys)
    data, pooled = _pool_rare(data, keys, persons, rules.threshold)
    unit = PERSON_ID if persons else None
    if data.num_rows == 0:
        raise ValidationError({"table": _("no rows are left to count: nothing is released")})
    table = check_table(
        data,
        keys,
        value=value,
        unit=unit,
        rules=rules,
        rounding=rounding,
        stats=("count",) if value is None else ("count", "sum"),
    )
    status = ["published" if s == "published" else "suppressed" for s in table.status]
    cell_keys = table.table.select(keys).to_pylist()
    values: dict[str, list[Any]] = {"count": table.table.column("count").to_pylist()}
    if statistic == "sum":
        values["sum"] = table.table.column("sum").to_pylist()
    elif statistic == "mean":
        records = _records(data, keys)
        sums = table.table.column("sum").to_pylist()
        values["mean"] = [
            None if s is None or not records.get(_key(k, keys)) else s / records[_key(k, keys)]
            for s, k in zip(sums, cell_keys, strict=True)
        ]
    report = table.report()
    parameters = {
        k: report["parameters"][k]
        for k in ("threshold", "p", "nk", "zeros_disclosive", "secondary_suppression", "rounding")
    }
    return {
        "columns": [*by, *values],
        "rows": _rows(cell_keys, values, status),
        "summary": _summary(status),
        "report": {
            "parameters": {
                **parameters,
                "contributor": "person" if persons else "row",
                "rare_levels_pooled": pooled,
            },
            "summary": _summary(status),
        },
        # the checker's view (primary, secondary, rules failed, no value): audit only
        "audit": {k: report["summary"][k] for k in ("primary", "secondary", "failed_by_rule")},
    }


def _key(row: dict[str, Any], keys: Sequence[str]) -> tuple[Any, ...]:
    return tuple(row[k] for k in keys)


def _records(data: pa.Table, keys: Sequence[str]) -> dict[tuple[Any, ...], int]:
    """Records per cell (a cell's mean is over its records)."""
    con = duckdb.connect()
    try:
        con.register("microdata", data)
        cols = ", ".join(_q(c) for c in keys)
        rows = con.sql(f"SELECT {cols}, count(*) FROM microdata GROUP BY ALL").fetchall()  # noqa: S608
    finally:
        con.close()
    return {tuple(r[:-1]): int(r[-1]) for r in rows}


def round_significant(x: float, digits: int = SIGNIFICANT_DIGITS) -> float:
    """``x`` rounded to ``digits`` significant digits (1234 -> 1200, 0.04567 -> 0.046)."""
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))


def quantile(
    data: pa.Table,
    *,
    by: Sequence[str],
    value: str,
    q: float,
    persons: bool,
    output_rules: dict[str, Any],
) -> dict[str, Any]:
    """The ``q`` quantile of ``value`` per cell, where enough contributors lie on each side."""
    rules, _rounding = rule_set(output_rules)
    data = _drop_missing(data, value)
    data, keys = _grouped(data, by)
    _check_cells(data, keys)
    data, pooled = _pool_rare(data, keys, persons, rules.threshold)
    side = math.ceil(rules.threshold / 2)
    contributors = f"count(DISTINCT {_q(PERSON_ID)})" if persons else "count(*)"
    cols = ", ".join(_q(c) for c in keys)
    con = duckdb.connect()
    try:
        con.register("microdata", data)
        found = con.execute(
            f"SELECT {cols}, {contributors}, "  # noqa: S608
            f"quantile_cont(CAST({_q(value)} AS DOUBLE), ?) FROM microdata GROUP BY ALL",
            [q],
        ).fetchall()
    finally:
        con.close()
    cells = {tuple(r[:-2]): (int(r[-2]), r[-1]) for r in found}
    levels = [sorted({k[i] for k in cells}, key=_order) for i in range(len(keys))]
    grid = list(itertools.product(*levels))
    out, status = [], []
    for key in grid:
        n, qv = cells.get(key, (0, None))
        ok = qv is not None and n >= rules.threshold and n * q >= side and n * (1 - q) >= side
        out.append(round_significant(float(qv)) if ok else None)
        status.append("published" if ok else "suppressed")
    keyed = [dict(zip(keys, key, strict=True)) for key in grid]
    summary = _summary(status)
    return {
        "columns": [*by, "quantile"],
        "rows": _rows(keyed, {"quantile": out}, status),
        "summary": summary,
        "report": {
            "parameters": {
                "q": q,
                "threshold": rules.threshold,
                "contributors_each_side": side,
                "significant_digits": SIGNIFICANT_DIGITS,
                "contributor": "person" if persons else "row",
                "rare_levels_pooled": pooled,
            },
            "summary": summary,
        },
        "audit": {"refused_cells": summary["suppressed"]},
    }


def _order(v: Any) -> tuple[int, str]:
    """Levels sorted as check_table sorts them: values first (as text), missing last."""
    return (1, "") if v is None else (0, v if isinstance(v, str) else f"{v!r:>40}")


def _as_text(data: pa.Table, column: str) -> list[str | None]:
    values = data.column(column)
    if not pa.types.is_string(values.type):
        values = pc.cast(values, pa.string())
    return values.to_pylist()  # type: ignore[no-any-return]


def _bounded(data: pa.Table, per_person: int, persons: bool) -> pa.Table:
    """At most ``per_person`` rows per person: their own rows, in a fixed order (so the rows
    kept of one person never depend on anyone else's)."""
    if not persons:
        return data
    others = [c for c in data.column_names if c != PERSON_ID]
    order = ", ".join(_q(c) for c in others) or _q(PERSON_ID)
    con = duckdb.connect()
    try:
        con.register("microdata", data)
        return con.sql(
            f"SELECT * EXCLUDE (datalux_rank) FROM (SELECT *, row_number() OVER ("  # noqa: S608
            f"PARTITION BY {_q(PERSON_ID)} ORDER BY {order}) AS datalux_rank FROM microdata) "
            f"WHERE datalux_rank <= {int(per_person)}"
        ).to_arrow_table()
    finally:
        con.close()


def dp(
    data: pa.Table,
    *,
    statistic: str,
    by: Sequence[str],
    levels: dict[str, list[str]],
    value: str | None,
    epsilon: float,
    bounds: tuple[float, float] | None,
    max_rows_per_person: int,
    persons: bool,
    budget: BudgetStore,
    query: str,
) -> dict[str, Any]:
    """A DP count, sum or mean per cell of the named levels, charged once to ``budget``."""
    grid = list(itertools.product(*(levels[c] for c in by)))
    if len(grid) > MAX_DP_CELLS:
        raise ValidationError(
            {
                "levels": _(
                    "the table would have %(cells)s cells; a DP table has at most %(max)s: name "
                    "fewer levels"
                )
                % {"cells": len(grid), "max": MAX_DP_CELLS}
            }
        )
    wanted = {c: set(levels[c]) for c in by}
    text = {c: _as_text(data, c) for c in by}
    keep = [all(text[c][i] in wanted[c] for c in by) for i in range(data.num_rows)]
    data = _bounded(data.filter(pa.array(keep, pa.bool_())), max_rows_per_person, persons)
    prepared = prepare(
        statistic,  # type: ignore[arg-type]
        epsilon=epsilon,
        bounds=bounds,
        max_contributions=max_rows_per_person,
    )
    state = budget.charge(
        Spend(epsilon=prepared.epsilon, delta=prepared.delta, query=query, mechanism="laplace")
    )
    text = {c: _as_text(data, c) for c in by}
    cells: dict[tuple[str | None, ...], list[int]] = {}
    for i in range(data.num_rows):
        cells.setdefault(tuple(text[c][i] for c in by), []).append(i)
    column = (
        np.zeros(data.num_rows)
        if value is None
        else np.asarray(pc.cast(data.column(value), pa.float64()).to_numpy(zero_copy_only=False))
    )
    released: list[Any] = []
    for key in grid:
        rows = cells.get(tuple(key), [])
        drawn = prepared.draw(column[rows] if rows else np.zeros(0)).value
        released.append(max(0, round(drawn)) if statistic == "count" else drawn)
    keyed = [dict(zip(by, key, strict=True)) for key in grid]
    status = ["published"] * len(grid)
    summary = _summary(status)
    return {
        "columns": [*by, statistic],
        "rows": _rows(keyed, {statistic: released}, status),
        "summary": summary,
        "report": {
            "parameters": {
                "mechanism": "laplace",
                "epsilon": prepared.epsilon,
                "delta": prepared.delta,
                "noise_scale": prepared.noise_scale,
                "count_noise_scale": prepared.count_noise_scale,
                "bounds": list(bounds) if bounds else None,
                "max_rows_per_person": max_rows_per_person,
                "privacy_unit": "person" if persons else "row",
            },
            "summary": summary,
            "budget": state.summary(),
        },
        "audit": {"epsilon": prepared.epsilon},
    }
