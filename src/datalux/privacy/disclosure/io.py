"""Reading input tables and writing outputs atomically (CSV or Parquet, chosen by extension).

Every write goes to a temporary file in the destination folder and is moved into place with
:func:`os.replace` only when complete, so a failure never leaves a partial output behind.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from datalux.privacy.errors import InputError

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def table_format(path: Path) -> str:
    """The format named by ``path``'s extension, or an :class:`InputError` naming the choices."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"unsupported file extension {path.suffix!r} for {path.name}: use .csv or .parquet"
        )
    return fmt


def read_table(path: str | os.PathLike[str]) -> pa.Table:
    """Read a CSV or Parquet file into an Arrow table; clear errors for missing/empty files."""
    p = Path(path)
    fmt = table_format(p)
    if not p.is_file():
        raise InputError(f"input file not found: {p}; check the path")
    if p.stat().st_size == 0:
        raise InputError(f"input file is empty: {p}; it needs a header row and data rows")
    try:
        table = pacsv.read_csv(p) if fmt == "csv" else pq.read_table(p)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"cannot read {p.name} as {fmt}: {exc}") from exc
    if table.num_rows == 0:
        raise InputError(f"input file has no data rows: {p}")
    return table


def require_columns(table: pa.Table, columns: Sequence[str], what: str) -> None:
    """Raise :class:`InputError` naming every column of ``columns`` missing from ``table``."""
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise InputError(
            f"unknown {what} column(s) {', '.join(map(repr, missing))}; "
            f"available columns: {', '.join(table.column_names)}"
        )


def write_table_to(table: pa.Table, tmp: Path, fmt: str) -> None:
    """Write ``table`` in ``fmt`` (``csv`` or ``parquet``) to ``tmp``."""
    if fmt == "csv":
        pacsv.write_csv(table, tmp)
    else:
        pq.write_table(table, tmp)


def write_json_to(obj: Any, tmp: Path) -> None:
    """Write ``obj`` as indented JSON to ``tmp``."""
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, indent=2, sort_keys=False, allow_nan=False)
        fh.write("\n")
