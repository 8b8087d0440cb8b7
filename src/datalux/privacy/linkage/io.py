"""Reading the inputs into DuckDB and writing the outputs atomically (CSV or Parquet).

CSV columns are read as text, so that ids such as ``00123`` keep their leading zeros. Every
output goes to a temporary file beside the destination and is moved into place with
:func:`os.replace` only once complete: a failure never leaves a partial file behind.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeAlias

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from datalux.privacy.errors import InputError
from datalux.privacy.outputs import atomic_path

__all__ = [
    "FORMATS",
    "Source",
    "file_format",
    "load_table",
    "write_table",
    "write_table_as",
]

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}

Source: TypeAlias = str | os.PathLike[str] | pa.Table


def file_format(path: Path) -> str:
    """``csv`` or ``parquet`` from the extension, or an :class:`InputError` naming the choices."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"unsupported file extension {path.suffix or '(none)'!r} for {path.name}: "
            "use .csv or .parquet"
        )
    return fmt


def _engine_message(exc: Exception) -> str:
    # DuckDB's later lines can quote a data line ("Original Line: ..."): keep the first only.
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return first.split("Original Line")[0].strip()


def load_table(con: duckdb.DuckDBPyConnection, source: Source, table: str, what: str) -> int:
    """Load ``source`` into the new DuckDB table ``table``; return its row count.

    ``what`` names the input in errors ("left input"). Raises :class:`InputError` for a
    missing, empty or unreadable file or an empty table.
    """
    if isinstance(source, pa.Table):
        label = what
        con.register("__datalux_arrow_input", source)
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM __datalux_arrow_input")  # noqa: S608
        con.unregister("__datalux_arrow_input")
    else:
        path = Path(source)
        label = f"{what} ({path.name})"
        fmt = file_format(path)
        if not path.is_file():
            raise InputError(f"{what}: file not found: {path}; check the path")
        if path.stat().st_size == 0:
            raise InputError(f"{label} is an empty file; it needs a header row and data rows")
        try:
            if fmt == "csv":
                rel = con.read_csv(str(path), all_varchar=True, header=True)
            else:
                rel = con.read_parquet(str(path))
            rel.create(table)
        except duckdb.Error as exc:
            raise InputError(f"cannot read {label} as {fmt}: {_engine_message(exc)}") from None
    rows = int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])  # noqa: S608
    if rows == 0:
        raise InputError(f"{label} has no data rows")
    return rows


def write_table(table: pa.Table, dest: str | os.PathLike[str]) -> None:
    """Write ``table`` to ``dest`` (format from the extension), atomically."""
    fmt = file_format(Path(dest))
    with atomic_path(dest) as tmp:
        write_table_as(table, tmp, fmt)


def write_table_as(table: pa.Table, path: Path, fmt: str) -> None:
    """Write ``table`` to ``path`` in ``fmt`` (``csv`` or ``parquet``), not atomically."""
    if fmt == "csv":
        pacsv.write_csv(table, path)
    else:
        pq.write_table(table, path)
