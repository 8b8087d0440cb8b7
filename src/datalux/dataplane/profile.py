"""The quality profile of a stored Parquet table, computed with DuckDB.

:func:`profile_parquet` answers a JSON-able dict (stored with each dataset version, shown
on the dataset page, exported as W3C DQV)::

    {
      "version": 1, "computed_at": ISO, "uploaded_at": ISO | None,
      "rows": int, "columns": int,
      "kpis": {completeness, validity, uniqueness, duplicate_rows,
               latest_date, days_since_latest, days_since_upload},
      "variables": [{name, type, privacy_role, present, non_null, completeness, valid,
                     validity, distinct, uniqueness, min, max, latest}],
    }

Definitions (fractions in [0, 1], None when undefined):

- completeness: non-null values / rows (per variable); for the table, non-null cells / cells;
- validity: values that have the dictionary's type and pass its allowed values, code list and
  national-number check digits / non-null values (the same checks as :mod:`.ingest`);
- uniqueness: distinct values / non-null values (1.0 for an identifier); for the table,
  distinct rows / rows, with the number of duplicate rows;
- timeliness: the latest date in the date columns (of privacy role ``other`` or
  ``sensitive``: the latest birth date of a table would point at one person), days from it
  to the day the profile was computed, and days since the upload; :func:`timeliness`
  recomputes both for another day.

``min``/``max`` (numbers, dates and times) follow :func:`publishable`, because the extremes of
a variable can single out a person (the oldest patient, the highest income):

- direct identifiers: never;
- role ``other``: exact;
- quasi-identifiers and sensitive variables: exact for an open dataset (anyone can download
  its data, the profile tells nothing more); for a protected one (``protected=True``, the
  default) only a range rounded *outwards* to a coarse step (:func:`coarse_range`), marked
  ``"coarsened": true``, and the ``latest`` date rounded down to the first day of its month.

The profile holds no counts of single values (no top values, no rare values) to suppress.
"""

# ruff: noqa: S608 - SQL is built from fragments of this module and quoted identifiers; values are bound

from __future__ import annotations

import datetime as dt
import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from datalux.dataplane.duckdb_backend import quote_identifier
from datalux.dataplane.errors import StorageError
from datalux.dataplane.ingest import (
    FieldRule,
    _build,
    _checked_sql,
    _checks,
    _Column,
    _scalar,
    check_rules,
    connect,
)

__all__ = ["PROFILE_VERSION", "coarse_range", "profile_parquet", "publishable", "timeliness"]

PROFILE_VERSION = 1
_EXTREME_TYPES = {"integer", "number", "date", "datetime", "time", "year"}
_DATE_TYPES = {"date", "datetime"}
_TIMELY_ROLES = {"other", "sensitive"}
_COARSE_ROLES = {"quasi_identifier", "sensitive"}  # coarsened in protected datasets
_NO_EXTREMES_ROLES = {"direct_identifier"}
_NICE_STEPS = (1, 2, 5)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def _json_value(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float):
        return round(value, 6) if math.isfinite(value) else None
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, int | str | bool):
        return value
    return str(value)


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return None


def _nice_step(span: float, integral: bool) -> float:
    """The smallest step of the form 1, 2 or 5 x 10^k that is at least a tenth of ``span``
    (at least 1 for integers): ages 18-65 get 5-year bands, 1920-2005 decades."""
    target = span / 10 if span > 0 else 0.0
    if target <= 0:
        return 1.0
    exponent = math.floor(math.log10(target))
    for power in (exponent, exponent + 1):
        for nice in _NICE_STEPS:
            step = nice * 10.0**power
            if step >= target * (1 - 1e-9):
                return max(step, 1.0) if integral else step
    return 10.0 ** (exponent + 1)  # pragma: no cover - the loop always returns


def _bounds(low: float, high: float, integral: bool) -> tuple[Any, Any]:
    span = high - low
    step = _nice_step(span if span > 0 else abs(high), integral)
    bottom = math.floor(low / step) * step
    top = (math.floor(high / step) + 1) * step  # strictly above the maximum
    if integral:
        return int(bottom), int(top)
    digits = max(0, -math.floor(math.log10(step))) + 1
    return round(bottom, digits), round(top, digits)


def coarse_range(type_: str, low: Any, high: Any) -> tuple[Any, Any]:
    """A range that contains ``[low, high]``, rounded outwards so that neither extreme shows:

    - integers, numbers, years: to a step of 1, 2 or 5 x 10^k of at least a tenth of the span
      (at least 1 for integers), the top strictly above the maximum (ages 18-65 give 15-70,
      years 1921-2004 give 1920-2010);
    - dates and date-times: to whole calendar years (``YYYY-01-01`` to ``YYYY-12-31``);
    - times: to whole hours (the top is the next hour, at most ``23:59:59``).

    Values come as the profile stores them (numbers, ISO text) or as Python values.
    """
    if low is None or high is None:
        return None, None
    if type_ in ("date", "datetime"):
        first, last = _as_day(low), _as_day(high)
        if first is None or last is None:
            return None, None
        return dt.date(first.year, 1, 1).isoformat(), dt.date(last.year, 12, 31).isoformat()
    if type_ == "time":
        start, end = _as_time(low), _as_time(high)
        if start is None or end is None:
            return None, None
        top = "23:59:59" if end.hour == 23 else dt.time(end.hour + 1).isoformat()
        return dt.time(start.hour).isoformat(), top
    try:
        lo, hi = float(low), float(high)
    except (TypeError, ValueError):
        return None, None
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None, None
    return _bounds(lo, hi, integral=type_ in ("integer", "year"))


def _as_day(value: Any) -> dt.date | None:
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return _as_date(value)


def _as_time(value: Any) -> dt.time | None:
    if isinstance(value, dt.time):
        return value
    if isinstance(value, str):
        try:
            return dt.time.fromisoformat(value)
        except ValueError:
            return None
    return None


def _month(value: Any) -> str | None:
    day = _as_day(value)
    return day.replace(day=1).isoformat() if day else None


def _publish_variable(entry: dict[str, Any], role: str, protected: bool) -> dict[str, Any]:
    out = {**entry, "privacy_role": role}
    if role in _NO_EXTREMES_ROLES:
        out.update({"min": None, "max": None, "latest": None})
        out.pop("coarsened", None)
        return out
    if role not in _TIMELY_ROLES:
        out["latest"] = None
    if not protected or role not in _COARSE_ROLES or entry.get("coarsened"):
        return out
    if out.get("min") is not None or out.get("max") is not None:
        out["min"], out["max"] = coarse_range(str(out.get("type", "")), out["min"], out["max"])
    if out.get("latest") is not None:
        out["latest"] = _month(out["latest"])
    out["coarsened"] = True
    return out


def publishable(
    profile: dict[str, Any], *, roles: dict[str, str] | None = None, protected: bool = True
) -> dict[str, Any]:
    """The profile as it may be shown or exported (a new dict): the extremes of each variable
    under the rule of this module, for the privacy roles in ``roles`` (name -> role, the
    dictionary as it is now; a variable not named keeps its stored role) and the access of
    the dataset (``protected``: anything but open). Safe to apply more than once, and to
    profiles stored under an older rule: the table's latest date is recomputed from the
    variables' published ones."""
    if not profile:
        return dict(profile)
    roles = roles or {}
    variables = [
        _publish_variable(v, roles.get(v.get("name", ""), v.get("privacy_role", "")), protected)
        for v in profile.get("variables", [])
    ]
    latest = max(
        (v["latest"] for v in variables if v.get("latest") and v["privacy_role"] in _TIMELY_ROLES),
        default=None,
    )
    out = {**profile, "variables": variables}
    if "kpis" in profile:
        out["kpis"] = {**profile["kpis"], "latest_date": latest}
        out["kpis"].update(timeliness(out, _computed_at(profile)))
    return out


def _computed_at(profile: dict[str, Any]) -> dt.datetime | None:
    computed = profile.get("computed_at")
    if not computed:
        return None
    at = dt.datetime.fromisoformat(computed)
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def timeliness(profile: dict[str, Any], now: dt.datetime | None = None) -> dict[str, Any]:
    """The profile's timeliness as of ``now`` (default: the current time, UTC):
    ``{"latest_date", "days_since_latest", "days_since_upload"}``."""
    now = now or dt.datetime.now(dt.UTC)
    kpis = profile.get("kpis", {})
    latest = kpis.get("latest_date")
    uploaded = profile.get("uploaded_at")
    days_latest = (now.date() - dt.date.fromisoformat(latest)).days if latest else None
    days_upload = None
    if uploaded:
        at = dt.datetime.fromisoformat(uploaded)
        if at.tzinfo is None:
            at = at.replace(tzinfo=dt.UTC)
        days_upload = max(0, (now - at).days)
    return {
        "latest_date": latest,
        "days_since_latest": days_latest,
        "days_since_upload": days_upload,
    }


def profile_parquet(
    path: str | os.PathLike[str],
    rules: Sequence[FieldRule],
    *,
    uploaded_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
    threads: int | None = None,
    memory_limit: str | None = "4GB",
    protected: bool = True,
) -> dict[str, Any]:
    """The quality profile of the Parquet file at ``path`` against the dictionary ``rules``.

    ``protected`` (the default): the dataset is not open, so the extremes of its
    quasi-identifiers and sensitive variables are coarsened (:func:`publishable`) before the
    profile leaves this function; exact ones are never stored."""
    check_rules(rules)
    src = Path(path)
    if not src.is_file():
        raise StorageError(f"Parquet file {src} does not exist")
    now = now or dt.datetime.now(dt.UTC)
    with tempfile.TemporaryDirectory(prefix="datalux-profile-") as spill:
        con = connect(spill, threads=threads, memory_limit=memory_limit)
        try:
            exact = _profile(con, src, rules, uploaded_at, now)
            return publishable(exact, protected=protected)
        except duckdb.Error as exc:
            raise StorageError(f"cannot profile {src.name}: {str(exc).splitlines()[0]}") from None
        finally:
            con.close()


def _profile(
    con: duckdb.DuckDBPyConnection,
    src: Path,
    rules: Sequence[FieldRule],
    uploaded_at: dt.datetime | None,
    now: dt.datetime,
) -> dict[str, Any]:
    con.read_parquet(str(src)).to_view("src")
    described = con.execute("DESCRIBE src").fetchall()
    types = {str(r[0]): str(r[1]) for r in described}
    present = [r for r in rules if r.name in types]
    columns = [_Column(r, i, f"c{i}", types[r.name]) for i, r in enumerate(present)]
    select = ", ".join(f"{quote_identifier(r.name)} AS c{i}" for i, r in enumerate(present))
    con.execute(f"CREATE VIEW raw AS SELECT {select or '1 AS c0'} FROM src")
    for col in columns:
        _build(col)

    cte, params = _checked_sql(columns, rowid=False)
    checks = [c for c in _checks(con, columns) if c.problem != "required"]
    aggregates = ["count(*)"]
    agg_params: list[Any] = []
    for col in columns:
        bad = [c for c in checks if c.column is col]
        invalid_sql = " OR ".join(c.sql for c in bad) or "false"
        aggregates += [
            f"count_if(NOT {col.m})",
            f"count(DISTINCT {col.v})",
            f"count_if({invalid_sql})",
            f"min({col.v})",
            f"max({col.v})",
        ]
        agg_params += [p for c in bad for p in c.params]
    result = con.execute(cte + f"SELECT {', '.join(aggregates)} FROM checked", params + agg_params)
    values = list(result.fetchall()[0])
    rows = int(values[0])
    distinct_rows = int(_scalar(con, "SELECT count(*) FROM (SELECT DISTINCT * FROM src)"))

    variables: list[dict[str, Any]] = []
    latest: dt.date | None = None
    cells = non_null_cells = valid_cells = 0
    for col in columns:
        rule = col.rule
        base = 1 + 5 * col.index
        low, high = values[base + 3], values[base + 4]
        non_null, distinct, invalid = (int(n or 0) for n in values[base : base + 3])
        valid = non_null - invalid
        cells += rows
        non_null_cells += non_null
        valid_cells += valid
        entry: dict[str, Any] = {
            "name": rule.name,
            "type": rule.type,
            "privacy_role": rule.privacy_role,
            "present": True,
            "non_null": non_null,
            "completeness": _ratio(non_null, rows),
            "valid": valid,
            "validity": _ratio(valid, non_null),
            "distinct": distinct,
            "uniqueness": _ratio(distinct, non_null),
            "min": None,
            "max": None,
            "latest": None,
        }
        if rule.type in _EXTREME_TYPES and rule.privacy_role not in _NO_EXTREMES_ROLES:
            entry["min"], entry["max"] = _json_value(low), _json_value(high)  # see publishable
        if rule.type in _DATE_TYPES and rule.privacy_role in _TIMELY_ROLES:
            day = _as_date(high)
            entry["latest"] = day.isoformat() if day else None
            if day and (latest is None or day > latest):
                latest = day
        variables.append(entry)
    for rule in rules:
        if rule.name not in types:
            cells += rows
            variables.append(
                {"name": rule.name, "type": rule.type, "privacy_role": rule.privacy_role,
                 "present": False, "non_null": 0, "completeness": 0.0 if rows else None,
                 "valid": 0, "validity": None, "distinct": 0, "uniqueness": None,
                 "min": None, "max": None, "latest": None}
            )  # fmt: skip
    order = {r.name: i for i, r in enumerate(rules)}
    variables.sort(key=lambda v: order[v["name"]])

    profile: dict[str, Any] = {
        "version": PROFILE_VERSION,
        "computed_at": now.isoformat(),
        "uploaded_at": uploaded_at.isoformat() if uploaded_at else None,
        "rows": rows,
        "columns": len(described),
        "kpis": {
            "completeness": _ratio(non_null_cells, cells),
            "validity": _ratio(valid_cells, non_null_cells),
            "uniqueness": _ratio(distinct_rows, rows),
            "duplicate_rows": rows - distinct_rows,
            "latest_date": latest.isoformat() if latest else None,
        },
        "variables": variables,
    }
    profile["kpis"].update(timeliness(profile, now))
    return profile
