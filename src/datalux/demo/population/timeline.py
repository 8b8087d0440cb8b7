"""Fixed dates of the demo world (never "today": the output must not change over time).

Dates are handled as int32 days since 1970-01-01 (numpy ``datetime64[D]`` underneath);
``NO_DATE`` marks a missing date until it becomes a Parquet null.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

__all__ = [
    "DEATHS_FROM",
    "EMPLOYMENT_FROM",
    "EXTRACTION",
    "HOSPITAL_FROM",
    "NO_DATE",
    "PRESCRIPTIONS_FROM",
    "SCHOOL_AGE_DATE",
    "SCHOOL_YEAR",
    "date_array",
    "day",
    "years_between",
]

_EPOCH = dt.date(1970, 1, 1)
NO_DATE = np.iinfo(np.int32).min


def day(d: dt.date) -> int:
    """Days since 1970-01-01."""
    return (d - _EPOCH).days


EXTRACTION = day(dt.date(2024, 12, 31))  # the date every table was extracted
DEATHS_FROM = day(dt.date(2015, 1, 1))  # deceased persons kept in the register since then
HOSPITAL_FROM = day(dt.date(2020, 1, 1))
PRESCRIPTIONS_FROM = day(dt.date(2024, 1, 1))
EMPLOYMENT_FROM = day(dt.date(2010, 1, 1))
SCHOOL_AGE_DATE = day(dt.date(2024, 9, 1))  # ages for the school year are taken here
SCHOOL_YEAR = "2024-2025"
DAYS_PER_YEAR = 365.2425


def _year_and_month_day(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = days.astype("datetime64[D]")
    years = d.astype("datetime64[Y]")
    months = d.astype("datetime64[M]")
    month_day = (months - years).astype(np.int64) * 32 + (d - months).astype(np.int64)
    return years.astype(np.int64), month_day


def years_between(start: np.ndarray | int, end: np.ndarray | int) -> np.ndarray:
    """Whole years of age reached at ``end`` by someone born on ``start`` (vectorised)."""
    sy, smd = _year_and_month_day(np.asarray(start))
    ey, emd = _year_and_month_day(np.asarray(end))
    return (ey - sy - (emd < smd)).astype(np.int32)


def date_array(days: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """An Arrow date32 array from int32 days; NO_DATE (or ``valid`` False) becomes null."""
    d = np.asarray(days, dtype=np.int32)
    missing = d == NO_DATE
    if valid is not None:
        missing |= ~valid
    values = np.where(missing, 0, d)
    arr = pa.array(values, type=pa.int32())
    if missing.any():
        arr = pa.array(values, type=pa.int32(), mask=missing)
    return arr.view(pa.date32())
