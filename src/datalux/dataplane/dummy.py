"""Dummy extracts: tables with the shape of a prepared extract, made from metadata alone.

A researcher writes and tests code at home on dummy data, then the same code runs inside the
secure processing environment on the real extract. The dummy is generated from the data
dictionary (types, code lists, units), the published quality profile (missingness, the
coarsened ranges shown to everyone, uniqueness) and the extract's manifest (tables, columns,
row counts): nothing that is not already public to the permit holder, so it costs no privacy
budget and reveals no record.

What code relies on, and the dummy therefore keeps:
- the same file names, column names, column order and types as the real extract;
- codes drawn from the column's code list, never free text where a code is expected;
- missing values at the published rate;
- ranges: the published (coarsened) minimum and maximum where there is one, sane defaults
  otherwise (ages 0 to 105, dates in the last ten years);
- one row per person where the column is unique (``unique``), and the same persons across
  tables so that joins on ``person_id`` match, as in a linked extract;
- order between columns (``after``): a discharge on or after its admission, a death on or
  after the birth; missing stays missing.

Generation is seeded: the same spec and seed give the same files (a test relies on it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from datalux.dataplane.errors import DataplaneError

DUMMY_MANIFEST = "dummy-manifest.json"
PERSON_ID_HEX = 64  # a pseudonym is an HMAC-SHA256 in hex
DEFAULT_MAX_ROWS = 10_000
_DEFAULT_DAYS = 3650  # dates without a published range: the ten years to the reference day
_DEFAULT_GAP_DAYS = 30  # "after" without a published gap: up to a month later

_ARROW = {
    "string": pa.string(),
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "datetime": pa.timestamp("us"),
    "year": pa.int32(),
}


class DummySpecError(DataplaneError):
    """A dummy specification that cannot be generated (names what to fix)."""


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a dummy table. ``values``: the allowed codes (code list), drawn at random;
    ``low``/``high``: the range (numbers, or ISO dates for date columns); ``missing``: the share
    of missing values (0 to 1); ``unique``: no value twice (one row per person for ``person_id``);
    ``after``: the name of a column of the same table this one is never earlier than, with a
    gap of 0 to ``max_gap`` (days for dates, units for numbers)."""

    name: str
    type: str = "string"
    values: tuple[Any, ...] = ()
    low: Any = None
    high: Any = None
    missing: float = 0.0
    unique: bool = False
    after: str | None = None
    max_gap: float | None = None
    person: bool = False  # a pseudonymised person id, shared by every table of the extract


@dataclass(frozen=True)
class TableSpec:
    name: str
    file: str
    rows: int
    columns: tuple[ColumnSpec, ...]


@dataclass(frozen=True)
class DummySpec:
    tables: tuple[TableSpec, ...]
    seed: int = 0
    reference_day: date = field(default_factory=date.today)

    def as_data(self) -> dict[str, Any]:
        data = asdict(self)
        data["reference_day"] = self.reference_day.isoformat()
        return data


def write_dummy(spec: DummySpec, folder: Path, *, max_rows: int = DEFAULT_MAX_ROWS) -> list[Path]:
    """Write each table of ``spec`` as Parquet under ``folder`` (its manifest file name), plus
    ``dummy-manifest.json`` saying what it is. Rows are capped at ``max_rows`` per table."""
    _check(spec)
    rng = np.random.default_rng(spec.seed)
    persons = _person_pool(spec, rng, max_rows)
    tables = [  # all made before any is written: a spec that fails leaves no half dummy
        (t, pa.table(_table(t, min(t.rows, max_rows), rng, persons, spec.reference_day)))
        for t in spec.tables
    ]
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for table, data in tables:
        path = folder / table.file
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(data, path, compression="zstd")
        written.append(path)
    manifest = {
        "dummy": True,
        "note": "Generated from the data dictionary, the published profile and the manifest: "
        "no real record, no privacy budget spent.",
        "generated_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "spec": spec.as_data(),
    }
    (folder / DUMMY_MANIFEST).write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False, default=str), encoding="utf-8"
    )
    return written


def _check(spec: DummySpec) -> None:
    for table in spec.tables:
        names = [c.name for c in table.columns]
        if len(set(names)) != len(names):
            raise DummySpecError(f"table {table.name!r}: a column name appears twice")
        if table.rows < 0:
            raise DummySpecError(f"table {table.name!r}: rows must be 0 or more")
        for column in table.columns:
            if column.type not in _ARROW:
                raise DummySpecError(
                    f"table {table.name!r}, column {column.name!r}: unknown type "
                    f"{column.type!r} (use one of: {', '.join(_ARROW)})"
                )
            if not 0.0 <= column.missing <= 1.0:
                raise DummySpecError(
                    f"table {table.name!r}, column {column.name!r}: "
                    "missing must lie between 0 and 1"
                )
            if column.after is not None:
                if column.after not in names or column.after == column.name:
                    raise DummySpecError(
                        f"table {table.name!r}, column {column.name!r}: 'after' names "
                        f"{column.after!r}, not another column of this table"
                    )
            if column.unique and column.values and len(column.values) < table.rows:
                raise DummySpecError(
                    f"table {table.name!r}, column {column.name!r}: unique, but its code list "
                    f"has {len(column.values)} codes for {table.rows} rows"
                )


def _person_pool(spec: DummySpec, rng: np.random.Generator, max_rows: int) -> np.ndarray:
    """The persons of the extract: as many as the largest table with one row per person, or
    as the largest table when none is unique (then rows share persons)."""
    unique_sizes = [
        min(t.rows, max_rows) for t in spec.tables for c in t.columns if c.person and c.unique
    ]
    all_sizes = [min(t.rows, max_rows) for t in spec.tables if any(c.person for c in t.columns)]
    size = max(unique_sizes or all_sizes or [0])
    raw = rng.bytes(size * (PERSON_ID_HEX // 2))
    hexed = raw.hex()
    return np.array([hexed[i * PERSON_ID_HEX : (i + 1) * PERSON_ID_HEX] for i in range(size)])


def _generation_order(columns: Sequence[ColumnSpec]) -> list[ColumnSpec]:
    by_name = {c.name: c for c in columns}
    done: dict[str, ColumnSpec] = {}

    def visit(column: ColumnSpec, path: tuple[str, ...]) -> None:
        if column.name in done:
            return
        if column.name in path:
            raise DummySpecError(f"'after' goes round in a circle: {' → '.join(path)}")
        if column.after is not None:
            visit(by_name[column.after], (*path, column.name))
        done[column.name] = column

    for column in columns:
        visit(column, ())
    return list(done.values())


def _table(
    table: TableSpec,
    rows: int,
    rng: np.random.Generator,
    persons: np.ndarray,
    reference_day: date,
) -> dict[str, pa.Array]:
    made: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # name -> (values, missing mask)
    for column in _generation_order(table.columns):
        values = _values(column, rows, rng, persons, reference_day, made)
        missing = rng.random(rows) < column.missing if column.missing else np.zeros(rows, bool)
        if column.after is not None:
            missing = missing | made[column.after][1]  # no discharge without an admission
        if column.unique:
            missing = np.zeros(rows, bool)  # a key is never missing
        made[column.name] = (values, missing)
    return {
        c.name: pa.array(made[c.name][0], type=_ARROW[c.type], mask=made[c.name][1])
        for c in table.columns
    }


def _values(
    column: ColumnSpec,
    rows: int,
    rng: np.random.Generator,
    persons: np.ndarray,
    reference_day: date,
    made: Mapping[str, tuple[np.ndarray, np.ndarray]],
) -> np.ndarray:
    if column.person:
        if column.unique:
            return persons[:rows]  # the pool is as large as the largest one-per-person table
        return persons[rng.integers(0, len(persons), rows)] if len(persons) else persons[:0]
    if column.values:
        codes = np.array(list(column.values), dtype=object)
        if column.unique:
            return codes[rng.permutation(len(codes))[:rows]]
        return codes[rng.integers(0, len(codes), rows)]
    if column.after is not None:
        return _after(column, rows, rng, made[column.after][0])
    kind = column.type
    if kind in {"date", "datetime"}:
        first, last = _date_range(column, reference_day)
        days = rng.integers(0, (last - first).days + 1, rows)
        base = np.datetime64(first.isoformat(), "D") + days.astype("timedelta64[D]")
        if kind == "date":
            return base
        seconds = rng.integers(0, 86_400, rows).astype("timedelta64[s]")
        return base.astype("datetime64[s]") + seconds
    if kind == "boolean":
        return rng.random(rows) < 0.5
    if kind in {"integer", "year"}:
        low, high = _number_range(column, kind, reference_day)
        if column.unique:
            span = int(high) - int(low) + 1
            if span < rows:
                high = low + rows - 1
            return rng.permutation(np.arange(int(low), int(high) + 1))[:rows]
        return rng.integers(int(low), int(high) + 1, rows)
    if kind == "number":
        low, high = _number_range(column, kind, reference_day)
        return np.round(rng.uniform(float(low), float(high), rows), 3)
    # free text: a recognisable placeholder, unique when the column is a key
    prefix = column.name[:12] or "value"
    if column.unique:
        return np.array([f"{prefix}-{i:06d}" for i in rng.permutation(rows)], dtype=object)
    return np.array([f"{prefix}-{i:03d}" for i in rng.integers(0, 1000, rows)], dtype=object)


def _after(column: ColumnSpec, rows: int, rng: np.random.Generator, base: np.ndarray) -> np.ndarray:
    if column.type in {"date", "datetime"}:
        gap = int(column.max_gap if column.max_gap is not None else _DEFAULT_GAP_DAYS)
        days = rng.integers(0, gap + 1, rows).astype("timedelta64[D]")
        if column.type == "date":
            return base.astype("datetime64[D]") + days
        return base.astype("datetime64[s]") + days.astype("timedelta64[s]")
    gap_value = float(column.max_gap if column.max_gap is not None else 10)
    if column.type in {"integer", "year"}:
        return base.astype(np.int64) + rng.integers(0, int(gap_value) + 1, rows)
    return np.round(base.astype(float) + rng.uniform(0, gap_value, rows), 3)


def _date_range(column: ColumnSpec, reference_day: date) -> tuple[date, date]:
    high = _as_day(column.high) or reference_day
    low = _as_day(column.low) or high - timedelta(days=_DEFAULT_DAYS)
    if low > high:
        raise DummySpecError(f"column {column.name!r}: the range starts after it ends")
    return low, high


def _number_range(column: ColumnSpec, kind: str, reference_day: date) -> tuple[float, float]:
    if kind == "year":
        default = (reference_day.year - 10, reference_day.year)
    elif "age" in column.name.lower():
        default = (0, 105)
    else:
        default = (0, 100)
    low = default[0] if column.low is None else column.low
    high = default[1] if column.high is None else column.high
    try:
        low, high = float(low), float(high)
    except (TypeError, ValueError) as exc:
        raise DummySpecError(f"column {column.name!r}: the range is not a number") from exc
    if low > high:
        raise DummySpecError(f"column {column.name!r}: the range starts after it ends")
    return low, high


def _as_day(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise DummySpecError(f"{value!r} is not an ISO date (YYYY-MM-DD)") from exc
