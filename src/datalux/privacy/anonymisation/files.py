"""Read an input table (CSV or Parquet) and write the release and report atomically.

CSV files are read with every column as text (values are matched against hierarchy labels as
written) and their delimiter is detected from the header line (``,``, ``;``, tab or ``|``)
unless given. Outputs are written to temporary files beside their targets and renamed into
place only once every output is complete, so a failure never leaves a partial file.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from datalux.dataplane.errors import StorageError
from datalux.dataplane.storage import atomic_output, file_format
from datalux.privacy.errors import InputError

__all__ = ["detect_delimiter", "outputs", "read_table", "write_json", "write_table"]

_DELIMITERS = (",", ";", "\t", "|")


def _format(path: Path) -> str:
    try:
        return file_format(path)
    except StorageError as exc:
        raise InputError(str(exc)) from None


def detect_delimiter(header: str) -> str:
    """The candidate delimiter that occurs most in the header line (``,`` if none)."""
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_table(
    path: str | os.PathLike[str], *, delimiter: str | None = None
) -> tuple[pa.Table, str]:
    """The table in ``path`` (all columns text for CSV) and the CSV delimiter used."""
    src = Path(path)
    if not src.is_file():
        raise InputError(f"input file {src} does not exist: check the path")
    fmt = _format(src)
    if src.stat().st_size == 0:
        raise InputError(f"input file {src.name} is empty: give a header line and data rows")
    if fmt == "parquet":
        try:
            return pq.read_table(src), ","
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(f"cannot read {src.name} as Parquet: {_first_line(exc)}") from None
    with src.open(encoding="utf-8-sig", errors="replace") as fh:
        header = fh.readline().rstrip("\r\n")
    if not header.strip():
        raise InputError(f"input file {src.name} has no header line: put column names first")
    delim = delimiter or detect_delimiter(header)
    if len(delim) != 1:
        raise InputError(f"delimiter {delim!r} must be one character, e.g. ';'")
    names = [n.strip() for n in header.lstrip("\ufeff").split(delim)]
    if len(set(names)) != len(names):
        raise InputError(f"input file {src.name} repeats a column name: make the names unique")
    try:
        table = pacsv.read_csv(
            src,
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            parse_options=pacsv.ParseOptions(delimiter=delim),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
            ),
        )
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"cannot read {src.name} as CSV: {_first_line(exc)}") from None
    return table, delim


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def write_table(table: pa.Table, tmp: Path, target: Path, *, delimiter: str = ",") -> None:
    """Write ``table`` to the temporary path ``tmp`` in the format of ``target``'s name."""
    if _format(target) == "parquet":
        pq.write_table(table, tmp, compression="zstd")
    else:
        pacsv.write_csv(table, tmp, write_options=pacsv.WriteOptions(delimiter=delimiter))


def write_json(data: Any, tmp: Path) -> None:
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


@contextlib.contextmanager
def outputs(*targets: str | os.PathLike[str] | None) -> Iterator[list[Path | None]]:
    """Temporary paths for each target (``None`` stays ``None``); all are renamed into place
    together when the block succeeds, none otherwise."""
    paths = [Path(t) if t is not None else None for t in targets]
    real = [p for p in paths if p is not None]
    if len({p.resolve() for p in real}) != len(real):
        raise InputError("two outputs have the same path: give different file names")
    with contextlib.ExitStack() as stack:
        temps: list[Path | None] = []
        for p in paths:
            if p is None:
                temps.append(None)
                continue
            try:
                temps.append(stack.enter_context(atomic_output(p)))
            except StorageError as exc:
                raise InputError(str(exc)) from None
        yield temps
