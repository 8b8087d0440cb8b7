"""Evidence for the dominance rules of an aggregate table, written beside it (no Django).

A CSV of sums or means cannot be checked for (n,k)-dominance or the p% rule: those need each
cell's largest contributions, which the table does not hold. :func:`write_table` groups the
microdata inside the workspace, writes the table (key columns, ``count`` and the statistic)
and, beside it, ``<table>.evidence.json``: per row of the CSV, in the same order, the cell
key, its contributor count, the shares of its one, two and three largest contributions in
the cell total, its p-ratio ``(total - x1 - x2) / x1`` and its number of negative
contributions — ratios and counts only, never a contribution's value — with the SHA-256 of
the CSV it was written with. The output checks (:mod:`datalux.privacy.output_checks`) read it
to apply the rules; the evidence stays in the workspace (declare it ``highly_sensitive``).

The evidence is written by the job's own code: it is evidence for the output checkers against
honest mistakes, not proof against a researcher who forges it (see docs/security.md).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datalux.privacy.disclosure.rules import CellStats, RuleSet, evaluate, primary_mask
from datalux.privacy.errors import InputError

if TYPE_CHECKING:
    from datalux.privacy.output_checks import Rules

EVIDENCE_SUFFIX = ".evidence.json"
EVIDENCE_FORMAT = "datalux-output-evidence/1"
COUNT_COLUMN = "count"
STATISTICS = ("sum", "mean", "count")
TOP_SHARES = 3  # shares of the 1, 2 and 3 largest contributions kept per cell
_REWRITE = "write the table and its evidence again with datalux.privacy.output_checks.write_table"


def evidence_path(table: Path) -> Path:
    """Where the evidence of ``table`` lies: beside it, named ``<table name>.evidence.json``."""
    return table.with_name(table.name + EVIDENCE_SUFFIX)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _arrow(microdata: Any) -> pa.Table:
    if isinstance(microdata, pa.Table):
        return microdata
    if isinstance(microdata, pa.RecordBatch):
        return pa.Table.from_batches([microdata])
    to_arrow = getattr(microdata, "to_arrow_table", None)  # a DuckDB relation
    if callable(to_arrow):
        table = to_arrow()
        if isinstance(table, pa.Table):
            return table
    if hasattr(microdata, "columns") and hasattr(microdata, "iloc"):  # a pandas DataFrame
        return pa.Table.from_pandas(microdata, preserve_index=False)
    raise InputError(
        f"write_table takes a pyarrow Table, a pandas DataFrame or a DuckDB relation, "
        f"not {type(microdata).__name__}"
    )


def _validate(
    table: pa.Table, by: list[str], value: str | None, statistic: str, path: Path
) -> str | None:
    if path.suffix.lower() != ".csv":
        raise InputError(f"write_table writes CSV: name the table *.csv, not {path.name}")
    if not by or not all(isinstance(c, str) for c in by):
        raise InputError("write_table needs the grouping columns in by, e.g. by=['region']")
    if len(set(by)) != len(by):
        raise InputError("a grouping column is named twice in by")
    if statistic not in STATISTICS:
        raise InputError(f"unknown statistic {statistic!r}: use {', '.join(STATISTICS)}")
    if statistic == "count" and value is not None:
        raise InputError("a count table has no value column: drop value, or use sum or mean")
    if statistic != "count" and value is None:
        raise InputError(f"a {statistic} table needs the value column: pass value='...'")
    missing = [c for c in [*by, *([value] if value else [])] if c not in table.column_names]
    if missing:
        raise InputError(
            f"column(s) {', '.join(missing)} not in the data; it has "
            f"{', '.join(table.column_names)}"
        )
    if COUNT_COLUMN in by:
        raise InputError(f"a grouping column may not be named {COUNT_COLUMN!r}: rename it")
    if table.num_rows == 0:
        raise InputError("the data has no rows: there is no table to write")
    if value is None:
        return None
    if value in by:
        raise InputError(f"the value column {value!r} is also a grouping column")
    kind = table.schema.field(value).type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)):
        raise InputError(f"the value column {value!r} must be numeric, it is {kind}")
    column = table.column(value)
    if column.null_count or (pa.types.is_floating(kind) and pc.any(pc.is_nan(column)).as_py()):
        raise InputError(
            f"the value column {value!r} has missing values: drop or impute them first, so "
            "that the count and the statistic describe the same contributors"
        )
    name = f"{statistic}_{value}"
    if name in by:
        raise InputError(f"a grouping column may not be named {name!r}: rename it")
    return name


def _aggregate(table: pa.Table, by: list[str], value: str | None, top: int) -> pa.Table:
    import duckdb

    keys = ", ".join(_q(c) for c in by)
    order = ", ".join(f"{_q(c)} NULLS LAST" for c in by)
    if value is None:
        sql = f"SELECT {keys}, count(*) AS n FROM microdata GROUP BY ALL ORDER BY {order}"  # noqa: S608
    else:
        v = f"CAST({_q(value)} AS DOUBLE)"
        sql = (
            f"SELECT {keys}, count(*) AS n, sum({v}) AS total, max({v}, {int(top)}) AS top, "  # noqa: S608
            f"CAST(count(*) FILTER (WHERE {v} < 0) AS BIGINT) AS neg "
            f"FROM microdata GROUP BY ALL ORDER BY {order}"
        )
    con = duckdb.connect()
    try:
        con.execute("SET threads=2")
        con.register("microdata", table)
        return con.sql(sql).to_arrow_table()
    finally:
        con.close()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _number(value: float, whole: bool, decimals: int | None) -> str:
    if whole and float(value).is_integer():
        return str(int(value))
    if decimals is not None:
        value = round(value, decimals)
    return repr(float(value))


def _ratio(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else float(value)


def write_table(
    microdata: Any,
    by: Sequence[str],
    path: str | Path,
    *,
    value: str | None = None,
    statistic: str | None = None,
    suppress: Rules | None = None,
    decimals: int | None = None,
) -> Path:
    """Write the table of ``microdata`` grouped by ``by`` to ``path`` (CSV) and its evidence.

    The CSV has the ``by`` columns, ``count`` (contributors per cell) and, with ``value``, the
    ``statistic`` of it (``sum`` by default, or ``mean``) in a column ``<statistic>_<value>``,
    one row per non-empty cell, sorted by key. With ``suppress`` (output :class:`Rules`),
    cells failing the threshold, (n,k)-dominance or p% rule are written blank (primary
    suppression only: a total elsewhere can still give them away). ``decimals`` rounds the
    statistic. Returns the path of the CSV; the evidence lies at :func:`evidence_path`.
    """
    path = Path(path)
    table = _arrow(microdata)
    by = list(by)
    statistic = statistic or ("sum" if value is not None else "count")
    value_column = _validate(table, by, value, statistic, path)
    nk_n = suppress.nk[0] if suppress is not None and suppress.nk else 0
    top = max(TOP_SHARES, nk_n)
    cells = _aggregate(table.select([*by, *([value] if value else [])]), by, value, top)
    count = cells.column("n").to_numpy().astype(np.int64)
    size = len(count)
    if value is not None:
        total = cells.column("total").to_numpy().astype(np.float64)
        lists = cells.column("top").combine_chunks()
        lengths = pc.list_value_length(lists).to_numpy()
        flat = pc.list_flatten(lists).to_numpy()
        top_values = np.zeros((size, top), dtype=np.float64)
        rows = np.repeat(np.arange(size), lengths)
        top_values[
            rows, np.arange(len(flat)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        ] = flat
        negatives = cells.column("neg").to_numpy().astype(np.int64)
        stats = CellStats(count=count, total=total, top=top_values, negatives=negatives)
        with np.errstate(divide="ignore", invalid="ignore"):
            shares = np.where(
                total[:, None] != 0,
                np.cumsum(top_values[:, :TOP_SHARES], axis=1) / total[:, None],
                np.nan,
            )
            x1 = top_values[:, 0]
            p_ratio = np.where(x1 != 0, (total - x1 - top_values[:, 1]) / x1, np.nan)
    else:
        stats = CellStats(count=count)
        total = np.zeros(size)
        negatives = np.zeros(size, dtype=np.int64)
    hidden = np.zeros(size, dtype=np.bool_)
    if suppress is not None:
        rules = RuleSet(threshold=suppress.min_count, p=suppress.p, nk=suppress.nk,
                        zeros_disclosive=False)  # fmt: skip
        hidden = primary_mask(evaluate(stats, rules), size)

    keys = [[_text(v) for v in cells.column(c).to_pylist()] for c in by]
    whole_sum = (
        statistic == "sum"
        and value is not None
        and (pa.types.is_integer(table.schema.field(value).type))
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*by, COUNT_COLUMN, *([value_column] if value_column else [])])
    evidence_rows: list[dict[str, Any]] = []
    for i in range(size):
        key = [k[i] for k in keys]
        n = int(count[i])
        if hidden[i]:
            figures = ["", *([""] if value_column else [])]
        else:
            figures = [str(n)]
            if value_column:
                figure = total[i] if statistic == "sum" else total[i] / n
                figures.append(_number(float(figure), whole_sum, decimals))
        writer.writerow([*key, *figures])
        row: dict[str, Any] = {"key": key, "count": n, "top_shares": None, "p_ratio": None,
                               "negatives": int(negatives[i]),
                               "suppressed": bool(hidden[i])}  # fmt: skip
        if value is not None and not math.isnan(shares[i, 0]):
            row["top_shares"] = [_ratio(s) for s in shares[i]]
        if value is not None:
            row["p_ratio"] = _ratio(float(p_ratio[i]))
        evidence_rows.append(row)
    data = buffer.getvalue().encode("utf-8")
    path.write_bytes(data)
    evidence = {
        "format": EVIDENCE_FORMAT,
        "table": path.name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "by": by,
        "value": value,
        "statistic": statistic,
        "count_column": COUNT_COLUMN,
        "value_column": value_column,
        "suppressed_under": None
        if suppress is None
        else {
            "min_count": suppress.min_count,
            "nk": list(suppress.nk) if suppress.nk else None,
            "p": suppress.p,
        },
        "rows": evidence_rows,
    }
    evidence_path(path).write_text(json.dumps(evidence, allow_nan=False), encoding="utf-8")
    return path


@dataclass(frozen=True)
class Evidence:
    """The evidence of a table, checked against the table it was written with."""

    by: tuple[str, ...]
    value_column: str | None
    count_column: str
    rows: list[dict[str, Any]]


class EvidenceMismatch(Exception):
    """The evidence cannot be used for this table; the message says what to do."""


def is_evidence(path: Path, data: bytes) -> bool:
    """Whether a file is the evidence of a table (by its name, or by its content if renamed)."""
    if path.name.lower().endswith(EVIDENCE_SUFFIX):
        return True
    if path.suffix.lower() != ".json" or EVIDENCE_FORMAT.encode() not in data[:4096]:
        return False
    try:
        loaded = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(loaded, Mapping) and loaded.get("format") == EVIDENCE_FORMAT


def load_evidence(
    table_path: Path, data: bytes, header: list[str], rows: list[list[str]]
) -> Evidence | None:
    """The evidence beside ``table_path`` if there is one, checked against the table's bytes
    (SHA-256), columns, keys and counts; :class:`EvidenceMismatch` where it does not match."""
    path = evidence_path(table_path)
    if not path.is_file():
        return None
    try:
        loaded = json.loads(path.read_bytes())
        if not isinstance(loaded, Mapping) or loaded.get("format") != EVIDENCE_FORMAT:
            raise ValueError
        sha256, by = loaded["sha256"], tuple(loaded["by"])
        count_column, value_column = loaded["count_column"], loaded.get("value_column")
        evidence_rows = loaded["rows"]
        if not isinstance(evidence_rows, list) or not all(isinstance(c, str) for c in by):
            raise ValueError
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise EvidenceMismatch(f"the evidence {path.name} cannot be read: {_REWRITE}") from None
    mismatch = EvidenceMismatch(
        f"evidence does not match the table: rewrite both ({_REWRITE}; change the code or the "
        "data, never the CSV by hand)"
    )
    if sha256 != hashlib.sha256(data).hexdigest():
        raise mismatch
    wanted = [*by, count_column, *([value_column] if value_column else [])]
    if header != wanted or len(evidence_rows) != len(rows):
        raise mismatch
    count_at = len(by)
    for row, entry in zip(rows, evidence_rows, strict=True):
        if not isinstance(entry, Mapping) or list(entry.get("key", ())) != row[:count_at]:
            raise mismatch
        written = row[count_at] if len(row) > count_at else ""
        if not entry.get("suppressed") and written != str(entry.get("count")):
            raise mismatch
    return Evidence(by, value_column, count_column, evidence_rows)
