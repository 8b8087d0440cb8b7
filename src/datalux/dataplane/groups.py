"""Group counts through the engine: equivalence classes for k-anonymity checks."""

from __future__ import annotations

from collections.abc import Sequence

import ibis.expr.types as ir
import pyarrow as pa

from datalux.dataplane.engine import Backend
from datalux.dataplane.errors import EngineError

__all__ = ["COUNT_COLUMN", "equivalence_class_sizes", "group_count", "min_class_size"]

#: Name of the count column in :func:`group_count`'s result.
COUNT_COLUMN = "n"


def group_count(table: ir.Table, columns: Sequence[str]) -> ir.Table:
    """An expression: one row per distinct combination of ``columns`` (nulls form their
    own group), with its number of rows in column ``n``."""
    cols = list(columns)
    if not cols:
        raise EngineError("name at least one column to group by")
    missing = [c for c in cols if c not in table.columns]
    if missing:
        raise EngineError(
            f"column(s) not in the table: {', '.join(missing)}; it has: {', '.join(table.columns)}"
        )
    if COUNT_COLUMN in cols:
        raise EngineError(f"a grouping column may not be named {COUNT_COLUMN!r}")
    return table.group_by(cols).aggregate(**{COUNT_COLUMN: table.count()})


def equivalence_class_sizes(backend: Backend, table_name: str, columns: Sequence[str]) -> pa.Table:
    """The size of every equivalence class of ``columns`` (the quasi-identifiers) of a
    registered table, as Arrow: the columns plus ``n``, smallest classes first."""
    expr = group_count(backend.table(table_name), columns)
    order = [expr[COUNT_COLUMN], *(expr[c] for c in columns)]
    return backend.to_arrow(expr.order_by(order))


def min_class_size(backend: Backend, table_name: str, columns: Sequence[str]) -> int:
    """The size of the smallest equivalence class: the table is k-anonymous over
    ``columns`` for every k up to this number. 0 for an empty table."""
    counts = group_count(backend.table(table_name), columns)
    result = backend.to_arrow(counts.aggregate(k=counts[COUNT_COLUMN].min()))
    value = result.column("k")[0].as_py()
    return 0 if value is None else int(value)
