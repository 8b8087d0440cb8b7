"""The domain of a synthetic twin: every column's possible values, taken from the dictionary.

A differentially private synthesiser must not learn its domain from the data: the set of
codes present, a minimum or a maximum can each single out a person. So every column's domain
comes from metadata the permit holder may already see (the data dictionary):

* ``categorical``: the code list (strings, booleans as ``"true"``/``"false"`` or the codes the
  dictionary gives). A value in the data that is not in the code list is an error by default
  (the extract does not match its dictionary: fix one of them), or - with
  ``out_of_domain="missing"`` - counted as missing.
* ``numeric`` (integers and decimals): ``lower`` and ``upper`` from the dictionary and a number
  of equal-width ``bins`` (or explicit ``edges``). Values are clamped to the range (the usual
  bounding step of DP, which the dictionary's range makes public); integer columns whose range
  is no wider than the bin count get one bin per value. A synthetic value is drawn uniformly
  inside its bin, so it always lies in ``[lower, upper]``.
* ``date``: ``lower`` and ``upper`` dates; binned by calendar month when the range spans at
  most ten years, by year otherwise; a synthetic day is drawn uniformly inside its bin and
  range.

A nullable column has one more code, *missing*, at the end of its codes.

:meth:`Domain.encode` turns a table into an ``(rows, columns)`` array of integer codes;
:meth:`Domain.decode` turns codes back into a table of values (seeded).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from datalux.privacy.errors import InputError

Kind = Literal["categorical", "numeric", "date"]
DEFAULT_BINS = 20
_EPOCH = date(1970, 1, 1)


def _as_day(value: Any, what: str) -> date:
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise InputError(f"{what}: {value!r} is not a date (YYYY-MM-DD)") from exc


def _month_starts(lower: date, upper: date, *, step: int) -> list[date]:
    """First days of every ``step``-month period from ``lower``'s period past ``upper``."""
    year, month = lower.year, 1 if step == 12 else lower.month
    out = []
    while True:
        day = date(year, month, 1)
        out.append(day)
        if day > upper:
            return out
        month += step
        year, month = year + (month - 1) // 12, (month - 1) % 12 + 1


@dataclass(frozen=True)
class Column:
    """One column of the domain (see the module docstring for the kinds)."""

    name: str
    kind: Kind = "categorical"
    categories: tuple[Any, ...] = ()
    lower: Any = None
    upper: Any = None
    bins: int = DEFAULT_BINS
    edges: tuple[float, ...] = ()
    integer: bool = False
    nullable: bool = True

    def __post_init__(self) -> None:
        where = f"column {self.name!r}"
        if self.kind == "categorical":
            if not self.categories:
                raise InputError(f"{where}: a categorical column needs its code list")
            if len(set(self.categories)) != len(self.categories):
                raise InputError(f"{where}: the code list repeats a code")
        elif self.kind == "numeric":
            if self.edges:
                e = [float(x) for x in self.edges]
                if len(e) < 2 or any(b <= a for a, b in itertools.pairwise(e)):
                    raise InputError(f"{where}: bin edges must be at least two increasing numbers")
            else:
                if self.lower is None or self.upper is None:
                    raise InputError(
                        f"{where}: a numeric column needs lower and upper bounds from the "
                        "dictionary (never from the data)"
                    )
                lo, hi = float(self.lower), float(self.upper)
                if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
                    raise InputError(f"{where}: upper must be above lower, got {lo}..{hi}")
                if self.bins < 1:
                    raise InputError(f"{where}: bins must be at least 1")
        elif self.kind == "date":
            if self.lower is None or self.upper is None:
                raise InputError(f"{where}: a date column needs lower and upper dates")
            if _as_day(self.upper, where) < _as_day(self.lower, where):
                raise InputError(f"{where}: the upper date is before the lower date")
        else:
            raise InputError(f"{where}: unknown kind {self.kind!r} (categorical, numeric, date)")

    # --- bins ----------------------------------------------------------------------------
    def bin_edges(self) -> npt.NDArray[np.float64]:
        """Edges of the numeric bins (``len = bins + 1``); dates as days since 1970."""
        if self.kind == "numeric":
            if self.edges:
                return np.asarray(self.edges, dtype=np.float64)
            lo, hi = float(self.lower), float(self.upper)
            if self.integer and hi - lo + 1 <= self.bins:
                return np.arange(math.floor(lo), math.floor(hi) + 2, dtype=np.float64)
            return np.linspace(lo, hi, self.bins + 1)
        if self.kind == "date":
            first, last = _as_day(self.lower, self.name), _as_day(self.upper, self.name)
            months = (last.year - first.year) * 12 + last.month - first.month + 1
            starts = _month_starts(first, last, step=1 if months <= 120 else 12)
            days = [max((s - _EPOCH).days, (first - _EPOCH).days) for s in starts]
            days[-1] = (last - _EPOCH).days + 1
            return np.asarray(days, dtype=np.float64)
        raise InputError(f"column {self.name!r} is categorical: it has no bins")

    @property
    def size(self) -> int:
        """Number of codes, the missing code included."""
        values = len(self.categories) if self.kind == "categorical" else len(self.bin_edges()) - 1
        return values + (1 if self.nullable else 0)

    @property
    def missing_code(self) -> int | None:
        return self.size - 1 if self.nullable else None

    def labels(self) -> list[str]:
        """A readable label for each code (reports)."""
        if self.kind == "categorical":
            out = [str(c) for c in self.categories]
        else:
            e = self.bin_edges()
            if self.kind == "date":
                out = [
                    f"{_EPOCH + timedelta(days=int(a))}..{_EPOCH + timedelta(days=int(b) - 1)}"
                    for a, b in itertools.pairwise(e)
                ]
            else:
                out = [f"[{a:g}, {b:g})" for a, b in itertools.pairwise(e)]
        return [*out, "missing"] if self.nullable else out


@dataclass(frozen=True)
class Domain:
    """The columns of a table to synthesise, in order."""

    columns: tuple[Column, ...]

    def __post_init__(self) -> None:
        if not self.columns:
            raise InputError("the domain has no column")
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise InputError("the domain names a column twice")

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def sizes(self) -> list[int]:
        return [c.size for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise InputError(f"no column {name!r} in the domain")

    # --- encode ---------------------------------------------------------------------------
    def encode(
        self, frame: pd.DataFrame, *, out_of_domain: Literal["error", "missing"] = "error"
    ) -> npt.NDArray[np.int64]:
        """The table as integer codes, one column per domain column."""
        missing = [n for n in self.names if n not in frame.columns]
        if missing:
            raise InputError(f"the table lacks the domain's column(s): {', '.join(missing)}")
        if len(frame) == 0:
            raise InputError("the table has no row: there is nothing to learn from")
        out = np.empty((len(frame), len(self.columns)), dtype=np.int64)
        for j, col in enumerate(self.columns):
            out[:, j] = self._encode_column(col, frame[col.name], out_of_domain)
        return out

    def _encode_column(
        self, col: Column, series: pd.Series, out_of_domain: str
    ) -> npt.NDArray[np.int64]:
        isna = series.isna().to_numpy()
        if col.kind == "categorical":
            lookup = {c: i for i, c in enumerate(col.categories)}
            lookup.update({str(c): i for i, c in enumerate(col.categories)})
            codes = np.fromiter(
                (
                    -1 if na else lookup.get(v, lookup.get(str(v), -1))
                    for v, na in zip(series, isna, strict=True)
                ),
                dtype=np.int64,
                count=len(series),
            )
            bad = (codes < 0) & ~isna
        else:
            if col.kind == "date":
                stamps = pd.to_datetime(series, errors="coerce")
                bad = stamps.isna().to_numpy() & ~isna
                values = ((stamps - pd.Timestamp(_EPOCH)).dt.days).to_numpy(
                    dtype=np.float64, na_value=np.nan
                )
            else:
                numbers = pd.to_numeric(series, errors="coerce")
                bad = numbers.isna().to_numpy() & ~isna
                values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
            edges = col.bin_edges()
            clamped = np.clip(np.nan_to_num(values, nan=edges[0]), edges[0], edges[-1])
            codes = np.searchsorted(edges, clamped, side="right") - 1
            codes = np.clip(codes, 0, len(edges) - 2).astype(np.int64)
        if bad.any():
            if out_of_domain == "error":
                what = "not in its code list" if col.kind == "categorical" else "not readable"
                raise InputError(
                    f"column {col.name!r}: {int(bad.sum())} value(s) {what}; correct the data "
                    "or the dictionary, or treat them as missing (out_of_domain='missing')"
                )
            isna = isna | bad
        if isna.any():
            if col.missing_code is None:
                raise InputError(
                    f"column {col.name!r}: {int(isna.sum())} missing value(s) but the column "
                    "is declared not nullable"
                )
            codes[isna] = col.missing_code
        return codes

    # --- decode ---------------------------------------------------------------------------
    def decode(self, codes: npt.NDArray[np.int64], rng: np.random.Generator) -> pd.DataFrame:
        """Codes back to values; numbers and dates drawn uniformly inside their bins."""
        data: dict[str, Any] = {}
        for j, col in enumerate(self.columns):
            data[col.name] = self._decode_column(col, codes[:, j], rng)
        return pd.DataFrame(data)

    @staticmethod
    def _decode_column(col: Column, codes: npt.NDArray[np.int64], rng: np.random.Generator) -> Any:
        na = codes == col.missing_code if col.nullable else np.zeros(len(codes), dtype=bool)
        if col.kind == "categorical":
            values = np.empty(len(codes), dtype=object)
            cats = np.asarray(col.categories, dtype=object)
            values[~na] = cats[codes[~na]]
            values[na] = None
            return values
        edges = col.bin_edges()
        safe = np.where(na, 0, codes)
        lo, hi = edges[safe], edges[safe + 1]
        if col.kind == "date" or col.integer:
            # whole numbers in [lo, hi): the integers of the bin (at least its lower edge)
            first, stop = np.ceil(lo), np.maximum(np.ceil(hi), np.ceil(lo) + 1)
            if col.kind == "numeric":
                stop = np.minimum(stop, math.floor(float(edges[-1])) + 1)
            drawn = np.floor(first + rng.random(len(codes)) * (stop - first))
            drawn = np.minimum(drawn, stop - 1)
            if col.kind == "date":
                days = drawn.astype(np.int64)
                out = pd.Series(pd.to_datetime(days, unit="D").date, dtype=object)
                out[na] = None
                return out.to_numpy()
            series = pd.array(drawn.astype(np.int64), dtype="Int64")
            series[na] = pd.NA
            return series
        drawn = lo + rng.random(len(codes)) * (hi - lo)
        drawn = np.clip(drawn, edges[0], edges[-1])
        drawn[na] = np.nan
        return drawn


def domain_from_frame_categories(frame: pd.DataFrame, columns: Sequence[str]) -> Domain:
    """A categorical domain **read from the data** - for benchmarks and tests only.

    Learning the code list from the data leaks which codes occur; the product builds its
    domains from the dictionary (:func:`datalux.privacy.synthetic.domain_from_dictionary`).
    """
    return Domain(
        tuple(
            Column(
                name,
                categories=tuple(sorted(frame[name].dropna().unique().tolist())),
                nullable=bool(frame[name].isna().any()),
            )
            for name in columns
        )
    )
