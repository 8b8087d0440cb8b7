"""Generalisation hierarchies: ARX CSV files and built-in interval, date and prefix builders.

A hierarchy maps every original value of an attribute to one label per generalisation level:
level 0 is the value itself, the last level is usually ``*`` (fully generalised). The ARX file
format has one row per value, ``value;level1;level2;...``, e.g. (Adult ``age``)::

    39;35-39;30-39;20-39;*

Levels must nest: two values with the same label at level ``i`` have the same label at every
level above ``i`` (otherwise generalising would split a group, and the lattice search, which
relies on monotonicity, would be wrong). :meth:`Hierarchy.from_rows` checks this.

Built-in builders make a hierarchy from the distinct values of a column:

- :func:`interval_hierarchy`: integers or decimals grouped into intervals of growing widths
  (each width a multiple of the previous one, so intervals nest), e.g. widths ``5,10,20``
  give ``35-39``, ``30-39``, ``20-39``, then ``*``;
- :func:`date_hierarchy`: ISO dates ``YYYY-MM-DD`` generalised to month ``YYYY-MM``, year
  ``YYYY``, decade ``1990-1999``, then ``*`` (the levels are configurable);
- :func:`prefix_hierarchy`: codes (postcodes, NACE codes...) with trailing characters masked,
  one or more characters per level (``75014`` -> ``7501*`` -> ``750**`` ...), then ``*``.

A :class:`HierarchySpec` (the CLI's ``--hierarchy age=FILE`` or ``age=interval:5,10,20``) is
a recipe that :meth:`HierarchySpec.build` turns into a :class:`Hierarchy` once the column's
values are known.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from datalux.privacy.errors import InputError

__all__ = [
    "DATE_LEVELS",
    "Hierarchy",
    "HierarchySpec",
    "date_hierarchy",
    "interval_hierarchy",
    "parse_hierarchy_spec",
    "prefix_hierarchy",
    "read_hierarchy_csv",
]

TOP = "*"
DATE_LEVELS = ("month", "year", "decade", "century")


@dataclass(frozen=True)
class Hierarchy:
    """A materialised generalisation hierarchy: ``rows[i][level]`` is value ``i``'s label.

    ``rows[i][0]`` is the original value. All rows have the same number of levels
    (:attr:`height`). ``source`` says where it came from, for the report.
    """

    rows: tuple[tuple[str, ...], ...]
    source: str = "rows"

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[str]], *, source: str = "rows") -> Hierarchy:
        """Check and freeze ``rows``; raise :class:`InputError` naming the problem."""
        frozen = tuple(tuple(str(c) for c in r) for r in rows)
        if not frozen:
            raise InputError(f"hierarchy {source} has no rows: give one row per value")
        height = len(frozen[0])
        for number, row in enumerate(frozen, start=1):
            if len(row) != height:
                raise InputError(
                    f"hierarchy {source}, row {number}: {len(row)} levels where row 1 has "
                    f"{height}: every row needs the same number of ';'-separated levels"
                )
        seen: set[str] = set()
        for number, row in enumerate(frozen, start=1):
            if row[0] in seen:
                raise InputError(
                    f"hierarchy {source}, row {number}: a value is listed twice: "
                    "list each original value once"
                )
            seen.add(row[0])
        for level in range(1, height - 1):
            parent: dict[str, str] = {}
            for number, row in enumerate(frozen, start=1):
                if parent.setdefault(row[level], row[level + 1]) != row[level + 1]:
                    raise InputError(
                        f"hierarchy {source}, row {number}: level {level} label is generalised "
                        f"to two different labels at level {level + 1}: levels must nest"
                    )
        return cls(frozen, source)

    @property
    def height(self) -> int:
        """The number of levels, including level 0 (the original values)."""
        return len(self.rows[0])

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(r[0] for r in self.rows)

    def generalise(self, value: str, level: int) -> str:
        """The label of ``value`` at ``level`` (slow path, one value; for tests and docs)."""
        for row in self.rows:
            if row[0] == value:
                return row[level]
        raise InputError(f"hierarchy {self.source} does not cover a value: add a row for it")


def read_hierarchy_csv(path: str | os.PathLike[str], *, delimiter: str = ";") -> Hierarchy:
    """Read an ARX hierarchy file (``value;level1;...``, no header)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"hierarchy file {p} does not exist: check the path")
    try:
        with p.open(newline="", encoding="utf-8-sig") as fh:
            rows = [r for r in csv.reader(fh, delimiter=delimiter) if r]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read hierarchy file {p.name}: {type(exc).__name__}") from None
    if not rows:
        raise InputError(f"hierarchy file {p.name} is empty: give one row per value")
    if all(len(r) == 1 for r in rows):
        raise InputError(
            f"hierarchy file {p.name} has a single column: separate the levels with "
            f"{delimiter!r} (ARX format value;level1;level2;...)"
        )
    return Hierarchy.from_rows(rows, source=p.name)


def _finish(rows: list[list[str]], source: str) -> Hierarchy:
    """Append the ``*`` level unless the last level already is a single label."""
    if len({r[-1] for r in rows}) > 1 or len(rows[0]) == 1:
        for r in rows:
            r.append(TOP)
    return Hierarchy.from_rows(rows, source=source)


def _distinct(values: Iterable[str | None]) -> list[str]:
    return sorted({v for v in values if v is not None})


def interval_hierarchy(
    values: Iterable[str | None], widths: Sequence[float], *, origin: float | None = None
) -> Hierarchy:
    """Intervals of growing ``widths`` over numeric text values, then ``*``.

    Each width must be a multiple of the previous one (so intervals nest). Intervals start at
    ``origin`` (default: 0, or the smallest value rounded down to the first width when that
    is negative). Integer data gives closed labels ``35-39``; decimals give ``[35, 40)``.
    """
    distinct = _distinct(values)
    if not widths:
        raise InputError("interval hierarchy needs at least one width, e.g. interval:5,10,20")
    if any(not w > 0 or not math.isfinite(w) for w in widths):
        raise InputError("interval widths must be positive numbers, e.g. interval:5,10,20")
    for a, b in itertools.pairwise(widths):
        if b <= a or not math.isclose(b / a, round(b / a)):
            raise InputError(
                f"interval widths must grow and each be a multiple of the previous one "
                f"(got {a:g} then {b:g}), e.g. interval:5,10,20"
            )
    numbers: list[Decimal] = []
    for v in distinct:
        try:
            numbers.append(Decimal(v.strip()))
        except InvalidOperation:
            raise InputError(
                "interval hierarchy on a column with non-numeric values: use a hierarchy "
                "file or the prefix builder for this column"
            ) from None
        if not numbers[-1].is_finite():
            raise InputError("interval hierarchy on a column with NaN or infinite values")
    integral = all(n == n.to_integral_value() for n in numbers) and all(
        float(w).is_integer() for w in widths
    )
    dwidths = [Decimal(str(w)) for w in widths]
    if origin is None:
        low = min(numbers) if numbers else Decimal(0)
        start = Decimal(0) if low >= 0 else (low // dwidths[0]) * dwidths[0]
    else:
        start = Decimal(str(origin))
    rows: list[list[str]] = []
    for v, n in zip(distinct, numbers, strict=True):
        row = [v]
        for w in dwidths:
            lo = start + math.floor((n - start) / w) * w
            hi = lo + w
            row.append(f"{lo:f}-{hi - 1:f}" if integral else f"[{lo:f}, {hi:f})")
        rows.append(row)
    return _finish(rows, "interval:" + ",".join(f"{w:g}" for w in widths))


def _parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise InputError(
            "date hierarchy on a column with a value that is not an ISO date (YYYY-MM-DD): "
            "fix the data or use a hierarchy file"
        ) from None


def date_hierarchy(
    values: Iterable[str | None], levels: Sequence[str] = ("month", "year", "decade")
) -> Hierarchy:
    """ISO dates generalised through ``levels`` (from :data:`DATE_LEVELS`, in that order)."""
    if not levels:
        raise InputError("date hierarchy needs at least one level, e.g. date:month,year")
    for name in levels:
        if name not in DATE_LEVELS:
            raise InputError(f"unknown date level {name!r}: choose from {', '.join(DATE_LEVELS)}")
    order = [DATE_LEVELS.index(n) for n in levels]
    if order != sorted(set(order)):
        raise InputError(f"date levels must go from fine to coarse: {', '.join(DATE_LEVELS)}")
    rows: list[list[str]] = []
    for v in _distinct(values):
        d = _parse_date(v)
        row = [v]
        for name in levels:
            if name == "month":
                row.append(f"{d.year:04d}-{d.month:02d}")
            elif name == "year":
                row.append(f"{d.year:04d}")
            elif name == "decade":
                row.append(f"{d.year // 10 * 10:04d}-{d.year // 10 * 10 + 9:04d}")
            else:
                row.append(f"{d.year // 100 * 100:04d}-{d.year // 100 * 100 + 99:04d}")
        rows.append(row)
    return _finish(rows, "date:" + ",".join(levels))


def prefix_hierarchy(values: Iterable[str | None], step: int = 1) -> Hierarchy:
    """Codes with ``step`` more trailing characters masked by ``*`` at each level, then ``*``."""
    if step < 1:
        raise InputError("prefix step must be a positive number of characters, e.g. prefix:1")
    distinct = _distinct(values)
    longest = max((len(v) for v in distinct), default=1)
    masks = list(range(step, longest, step))
    rows: list[list[str]] = []
    for v in distinct:
        row = [v]
        for m in masks:
            keep = max(len(v) - m, 0)
            row.append(v[:keep] + TOP * (len(v) - keep))
        rows.append(row)
    return _finish(rows, f"prefix:{step}")


@dataclass(frozen=True)
class HierarchySpec:
    """A recipe for a column's hierarchy: a file, or a built-in with its arguments."""

    kind: str  # "file" | "interval" | "date" | "prefix"
    argument: str

    def build(self, values: Iterable[str | None]) -> Hierarchy:
        if self.kind == "file":
            return read_hierarchy_csv(self.argument)
        if self.kind == "interval":
            return interval_hierarchy(values, _numbers(self.argument))
        if self.kind == "date":
            levels = [p.strip() for p in self.argument.split(",") if p.strip()]
            return date_hierarchy(values, levels or ("month", "year", "decade"))
        step = self.argument.strip() or "1"
        if not step.isdigit():
            raise InputError(f"prefix step {step!r} is not a number: use e.g. prefix:1")
        return prefix_hierarchy(values, int(step))


def _numbers(text: str) -> list[float]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    try:
        out = [float(p) for p in parts]
    except ValueError:
        raise InputError(
            f"interval widths {text!r} are not numbers: use e.g. interval:5,10,20"
        ) from None
    if not out:
        raise InputError("interval hierarchy needs widths, e.g. interval:5,10,20")
    return out


_SPEC_HELP = (
    "use COLUMN=FILE.csv, COLUMN=interval:5,10,20, COLUMN=date:month,year or COLUMN=prefix:1"
)


def parse_hierarchy_spec(text: str) -> tuple[str, HierarchySpec]:
    """``"age=interval:5,10"`` -> ``("age", HierarchySpec("interval", "5,10"))``."""
    column, sep, rest = text.partition("=")
    column, rest = column.strip(), rest.strip()
    if not sep or not column or not rest:
        raise InputError(f"malformed hierarchy spec {text!r}: {_SPEC_HELP}")
    kind, colon, argument = rest.partition(":")
    if colon and kind in ("interval", "date", "prefix"):
        return column, HierarchySpec(kind, argument)
    if kind in ("interval", "date", "prefix"):
        if kind == "interval":
            raise InputError(f"interval hierarchy for {column!r} needs widths: {_SPEC_HELP}")
        return column, HierarchySpec(kind, "")
    return column, HierarchySpec("file", rest)
