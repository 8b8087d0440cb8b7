"""Check an uploaded CSV or Parquet file against a data dictionary and store it as typed Parquet.

:func:`ingest` reads the file with DuckDB, checks it against a list of :class:`FieldRule`
(one per variable of the dictionary) and answers a :class:`ValidationReport` that a data
steward can act on: every problem has its row (and, for CSV, its line in the file), its
column, what is wrong and how to fix it. Only when nothing is wrong, and an ``output`` path
is given, the typed table is written as Parquet to a temporary file beside ``output`` and
renamed into place: a failed or interrupted run leaves no file behind.

What is checked:

- the file itself: empty, over the size limit, unreadable, not UTF-8;
- what it holds once read (decompression bombs: a small Parquet file can expand to many
  gigabytes): at most ``max_rows`` rows and ``max_expanded_bytes`` bytes of decoded data. A
  Parquet file's metadata (rows, uncompressed sizes) is checked before anything is decoded, then
  rows and decoded bytes are counted batch by batch while it is read (the metadata may lie, and
  dictionary-encoded values expand without it showing), so reading stops at the cap; a CSV file
  is read as it is (never decompressed), so its size is its expanded size, and its rows are
  counted while DuckDB reads it (the read stops one row past the cap);
- CSV structure (DuckDB's reader with ``store_rejects``): rows with too few or too many
  fields, unclosed quotes, bytes that are not UTF-8, each with its line number;
- the header: columns of the dictionary missing from the file, columns the dictionary does
  not describe, blank or repeated names;
- values, per column: missing-value codes become nulls; the type (Frictionless Table Schema
  types, parsed strictly: ``42.5`` is not an integer, ``31/12/2024`` not a date); required
  values; allowed values (``enum``); code lists (:mod:`datalux.dataplane.codelists`);
  national-number check digits (:func:`datalux.privacy.national_id.valid_national_id_mask`).

Values of direct identifiers never appear in a report (they read ``hidden``); other values
are cut to a short excerpt. SQL is built from the code's own fragments and quoted column
names; every value from the dictionary (codes, allowed values, missing-value codes) is a bound
parameter.
"""

# ruff: noqa: S608 - SQL is built from fragments of this module and quoted identifiers; values are bound

from __future__ import annotations

import csv
import io
import os
import tempfile
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from duckdb.func import ARROW

from datalux.dataplane.codelists import NATIONAL_ID, UnknownCodeList, code_list
from datalux.dataplane.duckdb_backend import quote_identifier
from datalux.dataplane.errors import DataplaneError, StorageError
from datalux.dataplane.storage import FileFormat, atomic_output, file_format

__all__ = [
    "FIELD_TYPES",
    "FieldRule",
    "IngestSpecError",
    "Problem",
    "ValidationReport",
    "check_rules",
    "ingest",
    "storage_type",
]

#: Frictionless Table Schema field types and the DuckDB type each is stored as.
FIELD_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "datetime": "TIMESTAMP",
    "time": "TIME",
    "year": "INTEGER",
    "yearmonth": "VARCHAR",
    "duration": "VARCHAR",
    "object": "VARCHAR",
    "array": "VARCHAR",
    "any": "VARCHAR",
}

HIDDEN = "hidden"
DIRECT_IDENTIFIER = "direct_identifier"
PRIVACY_ROLES = ("direct_identifier", "quasi_identifier", "sensitive", "other")
EXCERPT_LENGTH = 40
DEFAULT_MAX_ERRORS = 1000
_PER_GROUP = 100  # examples kept per (column, problem), so one bad column hides no other
_HEADER_BYTES = 1 << 20
_COUNT_BATCH_ROWS = 8192  # rows decoded at a time while counting what a Parquet file holds


class IngestSpecError(DataplaneError):
    """The field rules themselves are wrong (a programming or dictionary error, not bad data)."""


@dataclass(frozen=True)
class FieldRule:
    """What one column must hold: built from a variable of the data dictionary.

    ``type`` is a Frictionless type (:data:`FIELD_TYPES`); ``missing_values`` are the codes
    that mean "no value" and become nulls; ``code_list`` a key of
    :mod:`datalux.dataplane.codelists` (``"national-id"`` means ``national_id=True``);
    ``privacy_role`` (``direct_identifier``, ``quasi_identifier``, ``sensitive``, ``other``)
    decides what reports and profiles may show: values of direct identifiers never appear,
    extremes (min/max) only for ``other``.
    """

    name: str
    type: str = "string"
    required: bool = False
    allowed_values: tuple[Any, ...] = ()
    missing_values: tuple[str, ...] = ("",)
    code_list: str = ""
    national_id: bool = False
    privacy_role: str = "other"

    @property
    def checks_national_id(self) -> bool:
        return self.national_id or self.code_list == NATIONAL_ID

    @property
    def hidden(self) -> bool:
        """Values never shown: direct identifiers and national numbers."""
        return self.privacy_role == DIRECT_IDENTIFIER or self.checks_national_id


def storage_type(rule: FieldRule) -> str:
    """The DuckDB type a column is stored as."""
    return FIELD_TYPES[rule.type]


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the file. ``row`` counts data rows from 1 (the header is not a
    row); ``line`` is the record's number in a CSV file counting the header as 1 (the row
    number a spreadsheet shows). File-level problems have neither."""

    problem: str
    message: str
    fix: str
    row: int | None = None
    line: int | None = None
    column: str | None = None
    value_excerpt: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "line": self.line,
            "column": self.column,
            "value_excerpt": self.value_excerpt,
            "problem": self.problem,
            "message": self.message,
            "fix": self.fix,
        }


@dataclass
class ValidationReport:
    """The outcome of :func:`ingest`. ``errors`` lists at most ``max_errors`` problems;
    ``counts`` has the total of every (column, problem) pair."""

    source: str
    format: str
    rows_read: int = 0
    columns: list[str] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    max_errors: int = DEFAULT_MAX_ERRORS
    stored: bool = False

    @property
    def ok(self) -> bool:
        return not self.counts

    @property
    def total_errors(self) -> int:
        return sum(self.counts.values())

    @property
    def truncated(self) -> bool:
        return self.total_errors > len(self.errors)

    def add(self, problem: Problem, count: int = 1, *, listed: bool = True) -> None:
        key = (problem.column or "", problem.problem)
        self.counts[key] = self.counts.get(key, 0) + count
        if listed and len(self.errors) < self.max_errors:
            self.errors.append(problem)

    def summary(self) -> str:
        if self.ok:
            return f"{self.source}: {self.rows_read} rows, no problem found"
        groups = ", ".join(
            f"{count} x {problem}" + (f" in {column!r}" if column else "")
            for (column, problem), count in sorted(self.counts.items())
        )
        return f"{self.source}: {self.total_errors} problem(s): {groups}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "source": self.source,
            "format": self.format,
            "rows_read": self.rows_read,
            "columns": list(self.columns),
            "total_errors": self.total_errors,
            "truncated": self.truncated,
            "counts": [
                {"column": column or None, "problem": problem, "count": count}
                for (column, problem), count in sorted(self.counts.items())
            ],
            "errors": [p.to_dict() for p in self.errors],
        }


# --- field rules ---------------------------------------------------------------------------


def check_rules(rules: Sequence[FieldRule]) -> None:
    """Raise :class:`IngestSpecError` if the rules cannot be applied (before any data is read)."""
    if not rules:
        raise IngestSpecError("the data dictionary has no variables: describe the columns first")
    seen: set[str] = set()
    for rule in rules:
        if not rule.name:
            raise IngestSpecError("a field has no name")
        if rule.name in seen:
            raise IngestSpecError(f"field {rule.name!r} is described twice: keep one")
        seen.add(rule.name)
        if rule.type not in FIELD_TYPES:
            raise IngestSpecError(
                f"field {rule.name!r} has type {rule.type!r}: use one of {', '.join(FIELD_TYPES)}"
            )
        if rule.privacy_role not in PRIVACY_ROLES:
            raise IngestSpecError(
                f"field {rule.name!r} has privacy role {rule.privacy_role!r}: "
                f"use one of {', '.join(PRIVACY_ROLES)}"
            )
        if rule.code_list and rule.code_list != NATIONAL_ID:
            try:
                code_list(rule.code_list)
            except UnknownCodeList as exc:
                raise IngestSpecError(f"field {rule.name!r}: {exc}") from None


# --- SQL fragments -------------------------------------------------------------------------

_INTEGER_RE = r"[+-]?[0-9]+"
_NUMBER_RE = (
    r"[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?|[+-]?(INF|inf|Infinity)|NaN|nan"
)
_DATE_RE = r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
_DATETIME_RE = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?)?"
    r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)?"
)
_TIME_RE = r"[0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?"
_YEAR_RE = r"[0-9]{4}"
_YEARMONTH_RE = r"[0-9]{4}-(0[1-9]|1[0-2])"
_DURATION_RE = (
    r"P([0-9]+Y)?([0-9]+M)?([0-9]+W)?([0-9]+D)?(T([0-9]+H)?([0-9]+M)?([0-9]+([.][0-9]+)?S)?)?"
)
_TRUE = ("true", "True", "TRUE", "1")
_FALSE = ("false", "False", "FALSE", "0")


def _scalar(con: duckdb.DuckDBPyConnection, query: str, params: list[Any] | None = None) -> Any:
    """The single value of a one-row, one-column query (the result is read to its end)."""
    return con.execute(query, params or []).fetchall()[0][0]


def _lit(text: str) -> str:
    """A SQL string literal of the code's own constants (regexes, keywords)."""
    return "'" + text.replace("'", "''") + "'"


# Frictionless type -> (the form a text value must have, how the matching text is converted).
_TEXT_FORMS: dict[str, tuple[str, str]] = {
    "integer": (_INTEGER_RE, "TRY_CAST({t} AS BIGINT)"),
    "number": (_NUMBER_RE, "TRY_CAST({t} AS DOUBLE)"),
    "date": (_DATE_RE, "TRY_CAST({t} AS DATE)"),
    "datetime": (_DATETIME_RE, "CAST(TRY_CAST({t} AS TIMESTAMPTZ) AS TIMESTAMP)"),
    "time": (_TIME_RE, "TRY_CAST({t} AS TIME)"),
    "year": (_YEAR_RE, "TRY_CAST({t} AS INTEGER)"),
    "yearmonth": (_YEARMONTH_RE, "{t}"),
}


def _text_parse(ftype: str, t: str) -> str:
    """The typed value of text expression ``t`` (already trimmed), or NULL if it is not one."""
    if ftype in _TEXT_FORMS:
        form, convert = _TEXT_FORMS[ftype]
        return f"CASE WHEN regexp_full_match({t}, {_lit(form)}) THEN {convert.format(t=t)} END"
    if ftype == "boolean":
        trues = ", ".join(_lit(v) for v in _TRUE)
        falses = ", ".join(_lit(v) for v in _FALSE)
        return f"CASE WHEN {t} IN ({trues}) THEN true WHEN {t} IN ({falses}) THEN false END"
    if ftype == "duration":
        return (
            f"CASE WHEN regexp_full_match({t}, {_lit(_DURATION_RE)}) "
            f"AND {t} NOT IN ('P', 'PT') AND NOT suffix({t}, 'T') THEN {t} END"
        )
    if ftype in ("object", "array"):
        kind = "OBJECT" if ftype == "object" else "ARRAY"
        return f"CASE WHEN json_valid({t}) AND TRY(json_type({t})) = {_lit(kind)} THEN {t} END"
    return t  # string, any


_INT_TYPES = {
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
    "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT",
}  # fmt: skip
_FLOAT_TYPES = {"FLOAT", "DOUBLE"}


def _source_class(duck_type: str) -> str:
    t = duck_type.upper()
    if t == "VARCHAR":
        return "text"
    if t in _INT_TYPES:
        return "int"
    if t in _FLOAT_TYPES or t.startswith("DECIMAL"):
        return "float"
    if t == "BOOLEAN":
        return "bool"
    if t == "DATE":
        return "date"
    if t.startswith("TIMESTAMP"):
        return "timestamp"
    if t.startswith("TIME"):
        return "time"
    return "other"


def _native_parse(ftype: str, src: str, raw: str) -> str | None:
    """A typed value straight from a typed (Parquet) column, or None to go through text."""
    if ftype == "integer":
        if src == "int":
            return f"TRY_CAST({raw} AS BIGINT)"
        if src == "float":
            d = f"CAST({raw} AS DOUBLE)"
            return f"CASE WHEN isfinite({d}) AND {d} = trunc({d}) THEN TRY_CAST({d} AS BIGINT) END"
    if ftype == "number" and src in ("int", "float"):
        return f"CAST({raw} AS DOUBLE)"
    if ftype == "boolean":
        if src == "bool":
            return raw
        if src == "int":
            return f"CASE WHEN {raw} = 1 THEN true WHEN {raw} = 0 THEN false END"
    if ftype == "date":
        if src == "date":
            return raw
        if src == "timestamp":
            ts = f"CAST({raw} AS TIMESTAMP)"
            return f"CASE WHEN {ts} = date_trunc('day', {ts}) THEN CAST({ts} AS DATE) END"
    if ftype == "datetime" and src in ("timestamp", "date"):
        return f"CAST({raw} AS TIMESTAMP)"
    if ftype == "time" and src == "time":
        return f"CAST({raw} AS TIME)"
    if ftype == "year" and src == "int":
        return f"CASE WHEN {raw} BETWEEN 0 AND 9999 THEN CAST({raw} AS INTEGER) END"
    if ftype in ("string", "any") and src != "text":
        return f"CAST({raw} AS VARCHAR)"
    return None


@dataclass
class _Column:
    """A dictionary field found in the file: ``raw`` is its internal column (c0, c1...)."""

    rule: FieldRule
    index: int
    raw: str
    source_type: str
    missing_sql: str = ""
    value_sql: str = ""
    params: list[Any] = field(default_factory=list)

    @property
    def m(self) -> str:
        return f"m{self.index}"

    @property
    def v(self) -> str:
        return f"v{self.index}"

    @property
    def x(self) -> str:
        return f"x{self.index}"


def _build(col: _Column) -> None:
    """Fill in the column's missing-value test and typed value (with their parameters)."""
    rule, raw = col.rule, quote_identifier(col.raw)
    src = _source_class(col.source_type)
    codes = [str(c) for c in rule.missing_values]
    params: list[Any] = []
    if not codes:
        missing = f"({raw} IS NULL)"
    elif src in ("int", "float"):
        numeric = []
        for c in codes:
            try:
                numeric.append(float(c))
            except ValueError:
                continue
        missing = f"({raw} IS NULL OR list_contains(?::DOUBLE[], CAST({raw} AS DOUBLE)))"
        params.append(numeric)
    else:
        text = raw if src == "text" else f"CAST({raw} AS VARCHAR)"
        missing = f"({raw} IS NULL OR list_contains(?::VARCHAR[], trim({text})))"
        params.append(codes)
    native = _native_parse(rule.type, src, raw)
    if native is None:
        text = raw if src == "text" else f"CAST({raw} AS VARCHAR)"
        t = text if rule.type in ("string", "any") else f"trim({text})"
        native = _text_parse(rule.type, t)
    col.missing_sql = missing
    col.value_sql = f"CASE WHEN {missing} THEN NULL ELSE {native} END"
    col.params = params + params  # the missing test appears twice: m and inside v


# --- messages ------------------------------------------------------------------------------

_TYPE_FIX = {
    "integer": "write a whole number with digits only, e.g. 42 "
    "(no decimals, spaces or thousand separators)",
    "number": "write a number with a dot as decimal separator, e.g. 3.5 "
    "(no thousand separators or units)",
    "boolean": "write true or false (or 1 or 0)",
    "date": "write the date as YYYY-MM-DD, e.g. 2024-03-31",
    "datetime": "write the date and time as YYYY-MM-DDTHH:MM:SS, e.g. 2024-03-31T14:05:00",
    "time": "write the time as HH:MM:SS, e.g. 14:05:00",
    "year": "write a four-digit year, e.g. 2024",
    "yearmonth": "write the year and month as YYYY-MM, e.g. 2024-03",
    "duration": "write an ISO 8601 duration, e.g. P3D or PT2H30M",
    "object": 'write a JSON object, e.g. {"a": 1}',
    "array": "write a JSON array, e.g. [1, 2]",
}

_STRUCTURE = {
    "MISSING COLUMNS": (
        "too_few_fields",
        "the row has fewer fields than the header",
        "add the missing fields; check for a missing delimiter, "
        "or a line break inside an unquoted value",
    ),
    "TOO MANY COLUMNS": (
        "too_many_fields",
        "the row has more fields than the header",
        'put values that contain the delimiter in double quotes, e.g. "Luxembourg, Ville"',
    ),
    "UNQUOTED VALUE": (
        "bad_quoting",
        "a quoted value is not closed, or a quote is followed by other characters",
        'close the quote; write a quote inside a quoted value as two quotes ("")',
    ),
    "INVALID ENCODING": (
        "bad_encoding",
        "the row holds bytes that are not UTF-8 text",
        "save the file as UTF-8 (in a spreadsheet: 'CSV UTF-8')",
    ),
    "LINE SIZE OVER MAXIMUM": (
        "line_too_long",
        "the row is longer than the reader accepts (often a quote that is never closed)",
        "close every opened quote; split very long text values",
    ),
}
_MALFORMED = (
    "malformed_row",
    "the row cannot be read as CSV",
    "check the row's quotes and delimiters",
)


def _excerpt(rule: FieldRule | None, value: Any) -> str | None:
    if rule is not None and rule.hidden:
        return HIDDEN
    if value is None:
        return None
    text = str(value)
    return text if len(text) <= EXCERPT_LENGTH else text[: EXCERPT_LENGTH - 1] + "…"


# --- reading -------------------------------------------------------------------------------


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.0f}"


def _too_many_rows(report: ValidationReport, cap: int) -> None:
    report.add(
        Problem(
            "too_many_rows",
            f"the file has more than {cap:,} rows; uploads are limited to {cap:,} rows",
            "split the data into several files (by year, for example), or ask the operators "
            "to raise DATALUX_UPLOAD_MAX_ROWS",
        )
    )


def _too_expanded(report: ValidationReport, cap: int) -> None:
    report.add(
        Problem(
            "too_expanded",
            f"the file holds more than {_mib(cap)} MB of data once decompressed; uploads are "
            f"limited to {_mib(cap)} MB of data",
            "split the data into several smaller files, or ask the operators to raise "
            "DATALUX_UPLOAD_MAX_EXPANDED_MB",
        )
    )


def _refused_over(
    report: ValidationReport, rows: int, size: int, max_rows: int | None, max_bytes: int | None
) -> bool:
    """Report (and answer True) when ``rows`` or ``size`` is over its cap."""
    if max_rows is not None and rows > max_rows:
        _too_many_rows(report, max_rows)
        return True
    if max_bytes is not None and size > max_bytes:
        _too_expanded(report, max_bytes)
        return True
    return False


class _ExpandedSize:
    """Bytes a record batch holds once decoded. Text read as dictionary arrays is measured
    without being expanded: the length of each distinct value, times how often it is used
    (a column of one long value repeated compresses to almost nothing)."""

    def __init__(self) -> None:
        self._lengths: dict[tuple[int, int, int], pa.Array] = {}

    def __call__(self, batch: pa.RecordBatch) -> int:
        total = 0
        for i, column in enumerate(batch.columns):
            if not isinstance(column, pa.DictionaryArray):
                total += column.nbytes
                continue
            values = column.dictionary
            key = (i, values.buffers()[-1].address if values.buffers()[-1] else 0, len(values))
            lengths = self._lengths.get(key)
            if lengths is None:
                self._lengths = {key: pc.binary_length(values)}  # one dictionary at a time
                lengths = self._lengths[key]
            used = pc.sum(pc.take(lengths, column.indices)).as_py() or 0
            total += int(used) + 4 * len(column) + column.indices.nbytes
        return total


def _parquet_within_caps(
    src: Path, report: ValidationReport, max_rows: int | None, max_bytes: int | None
) -> bool:
    """Whether the Parquet file holds at most ``max_rows`` rows and ``max_bytes`` decoded bytes:
    first by its metadata, then counted batch by batch while it is decoded (stopping at the
    cap). A file that cannot be read through is refused as unreadable here: the caps are not
    skipped for a file the counting could not finish."""
    if max_rows is None and max_bytes is None:
        return True
    try:
        meta = pq.read_metadata(src)
        groups = [meta.row_group(i) for i in range(meta.num_row_groups)]
        declared_rows = max(meta.num_rows, sum(g.num_rows for g in groups))
        declared_bytes = sum(
            g.column(j).total_uncompressed_size for g in groups for j in range(g.num_columns)
        )
        schema = meta.schema.to_arrow_schema()
    except (pa.ArrowException, OSError):
        _unreadable_parquet(report)
        return False
    if _refused_over(report, declared_rows, declared_bytes, max_rows, max_bytes):
        return False
    text = [
        f.name
        for f in schema
        if pa.types.is_string(f.type)
        or pa.types.is_large_string(f.type)
        or pa.types.is_binary(f.type)
        or pa.types.is_large_binary(f.type)
    ]
    rows = size = 0
    measure = _ExpandedSize()
    try:
        with pq.ParquetFile(src, read_dictionary=text) as parquet:
            for batch in parquet.iter_batches(batch_size=_COUNT_BATCH_ROWS):
                rows += batch.num_rows
                size += measure(batch)
                if _refused_over(report, rows, size, max_rows, max_bytes):
                    return False
    except (pa.ArrowException, OSError):
        _unreadable_parquet(report)
        return False
    return True


def _detect_delimiter(line: str) -> str:
    counts = dict.fromkeys(",;\t|", 0)
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(counts, key=lambda c: counts[c])
    return best if counts[best] else ","


def _read_header(src: Path, report: ValidationReport) -> tuple[list[str], str] | None:
    """The header's names and the delimiter, or None (with a problem reported)."""
    with src.open("rb") as handle:
        raw = handle.readline(_HEADER_BYTES)
        while raw.count(b'"') % 2 and len(raw) < _HEADER_BYTES:  # a quoted name spans lines
            more = handle.readline(_HEADER_BYTES)
            if not more:
                break
            raw += more
    try:
        first = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        report.add(
            Problem(
                "bad_encoding",
                "the header is not UTF-8 text",
                "save the file as UTF-8 (in a spreadsheet: 'CSV UTF-8')",
                line=1,
            )
        )
        return None
    delimiter = _detect_delimiter(first)
    header = next(csv.reader(io.StringIO(first, newline=""), delimiter=delimiter), None)
    if not header or not any(h.strip() for h in header):
        report.add(
            Problem(
                "no_header",
                "the first line is empty: the file must start with a header of column names",
                "put the variable names of the data dictionary on the first line",
                line=1,
            )
        )
        return None
    return [h.strip() for h in header], delimiter


def _load_csv(
    con: duckdb.DuckDBPyConnection,
    src: Path,
    report: ValidationReport,
    max_rows: int | None = None,
) -> tuple[list[str], list[int]] | None:
    """Load the CSV as table ``raw`` (all text, columns c0..cN); report malformed rows.
    Return the header and the sorted data-row numbers of the rows left out. With ``max_rows``,
    the read stops one row past it (the caller refuses the file then)."""
    found = _read_header(src, report)
    if found is None:
        return None
    header, delimiter = found
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(header))) + "}"
    limit = f" LIMIT {int(max_rows) + 1}" if max_rows is not None else ""
    try:
        con.execute(
            "CREATE TABLE raw AS SELECT * FROM read_csv(?, columns="
            + columns
            + ", header=true, auto_detect=false, all_varchar=true, store_rejects=true,"
            " delim=?, quote='\"', escape='\"', encoding='utf-8', compression='none')" + limit,
            [str(src), delimiter],
        )
    except duckdb.Error:
        report.add(
            Problem(
                "unreadable",
                "the file cannot be read as CSV",
                "export it again as CSV (UTF-8, comma or semicolon separated, with a header line)",
            )
        )
        return None
    rejects = con.execute(
        "SELECT line, list(DISTINCT CAST(error_type AS VARCHAR)), "
        "min(column_name) FILTER (WHERE CAST(error_type AS VARCHAR) = 'INVALID ENCODING') "
        "FROM reject_errors GROUP BY line ORDER BY line"
    ).fetchall()
    internal = {f"c{i}": name for i, name in enumerate(header)}
    skipped: list[int] = []
    for line, kinds, encoding_column in rejects:
        line = int(line)
        skipped.append(line - 1)
        kind = next((k for k in _STRUCTURE if k in kinds), None)
        code, message, fix = _STRUCTURE[kind] if kind else _MALFORMED
        if code in ("too_few_fields", "too_many_fields"):
            message += f" ({len(header)} columns, delimiter {delimiter!r})"
        column = internal.get(encoding_column) if code == "bad_encoding" else None
        report.add(Problem(code, message, fix, row=line - 1, line=line, column=column))
    return header, skipped


def _unreadable_parquet(report: ValidationReport) -> None:
    report.add(
        Problem(
            "unreadable",
            "the file cannot be read as Parquet",
            "export it again as Parquet, or upload a CSV file (UTF-8, with a header line)",
        )
    )


def _load_parquet(
    con: duckdb.DuckDBPyConnection, src: Path, report: ValidationReport
) -> list[str] | None:
    try:
        described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(src)]).fetchall()
        select = ", ".join(
            f"{quote_identifier(str(name))} AS c{i}" for i, (name, *_rest) in enumerate(described)
        )
        con.execute(f"CREATE TABLE raw AS SELECT {select} FROM read_parquet(?)", [str(src)])
    except duckdb.Error:
        _unreadable_parquet(report)
        return None
    return [str(row[0]) for row in described]


def _match_columns(
    header: list[str], rules: Sequence[FieldRule], types: dict[str, str], report: ValidationReport
) -> list[_Column]:
    """Pair the dictionary's fields with the file's columns; report what does not match."""
    positions: dict[str, int] = {}
    for i, name in enumerate(header):
        if not name:
            report.add(
                Problem(
                    "blank_header",
                    f"column {i + 1} has no name in the header",
                    "give every column the name of its variable in the data dictionary",
                    line=1,
                )
            )
        elif name in positions:
            report.add(
                Problem(
                    "duplicate_column",
                    f"the column {name!r} appears more than once in the header",
                    "keep one column per variable",
                    line=1,
                    column=name,
                )
            )
        else:
            positions[name] = i
    expected = {r.name for r in rules}
    lowered = {name.lower(): name for name in positions}
    columns: list[_Column] = []
    for rule in rules:
        if rule.name in positions:
            i = positions[rule.name]
            columns.append(_Column(rule, len(columns), f"c{i}", types[f"c{i}"]))
            continue
        near = lowered.get(rule.name.lower())
        hint = (
            f"rename the column {near!r} to {rule.name!r}"
            if near
            else (
                f"add a column named {rule.name!r} (names must match the data dictionary exactly)"
            )
        )
        report.add(
            Problem(
                "missing_column",
                f"the variable {rule.name!r} of the data dictionary is not a column of the file",
                hint,
                line=1,
                column=rule.name,
            )
        )
    for name in positions:
        if name not in expected and name.lower() not in {e.lower() for e in expected}:
            report.add(
                Problem(
                    "extra_column",
                    f"the file has a column {name!r} that the data dictionary does not describe",
                    "remove the column, or describe it in the data dictionary first",
                    line=1,
                    column=name,
                )
            )
    return columns


# --- checks --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Check:
    column: _Column
    problem: str
    sql: str
    params: tuple[Any, ...]
    message: str
    fix: str


def _checks(con: duckdb.DuckDBPyConnection, columns: list[_Column]) -> list[_Check]:
    checks: list[_Check] = []
    for col in columns:
        rule = col.rule
        checks.append(
            _Check(
                col,
                "wrong_type",
                f"(NOT {col.m} AND {col.v} IS NULL)",
                (),
                f"the value is not of type {rule.type}",
                _TYPE_FIX.get(rule.type, f"write a value of type {rule.type}"),
            )
        )
        if rule.required:
            codes = [c for c in rule.missing_values if c]
            fix = "fill in a value: this variable is required"
            if codes:
                shown = ", ".join(map(repr, codes[:3]))
                fix += f" (missing-value codes such as {shown} are not allowed here)"
            checks.append(_Check(col, "required", col.m, (), "a required value is missing", fix))
        if rule.allowed_values:
            target = storage_type(rule)
            values = [str(v) for v in rule.allowed_values]
            bad = _scalar(
                con,
                f"SELECT list(x) FILTER (WHERE TRY_CAST(x AS {target}) IS NULL) "
                "FROM unnest(?::VARCHAR[]) AS t(x)",
                [values],
            )
            if bad:
                raise IngestSpecError(
                    f"field {rule.name!r}: allowed value(s) {bad[:3]} are not of type {rule.type}: "
                    "correct the data dictionary"
                )
            shown = ", ".join(values[:10]) + (", ..." if len(values) > 10 else "")
            checks.append(
                _Check(
                    col,
                    "not_allowed",
                    f"({col.v} IS NOT NULL "
                    f"AND NOT list_contains(?::VARCHAR[]::{target}[], {col.v}))",
                    (values,),
                    "the value is not one of the allowed values",
                    f"use one of: {shown}",
                )
            )
        if rule.checks_national_id:
            text = col.v if storage_type(rule) == "VARCHAR" else f"CAST({col.v} AS VARCHAR)"
            checks.append(
                _Check(
                    col,
                    "bad_national_id",
                    f"({col.v} IS NOT NULL AND NOT {_NATIONAL_ID_UDF}({text}))",
                    (),
                    "the value is not a valid national number (13 digits: a possible birth date, "
                    "a sequence, and two check digits that must match)",
                    "correct the number from the source register; a mistyped or swapped digit "
                    "breaks the check digits",
                )
            )
        elif rule.code_list:
            codes_list = code_list(rule.code_list)
            text = col.v if storage_type(rule) == "VARCHAR" else f"CAST({col.v} AS VARCHAR)"
            predicate, params = codes_list.sql_predicate(text)
            checks.append(
                _Check(
                    col,
                    "unknown_code",
                    f"({col.v} IS NOT NULL AND NOT {predicate})",
                    tuple(params),
                    f"the value is not a code of {codes_list.title}",
                    f"use a code of {codes_list.describe()}",
                )
            )
    return checks


_NATIONAL_ID_UDF = "datalux_national_id_ok"


def _national_id_ok(values: pa.Array | pa.ChunkedArray) -> pa.BooleanArray:
    from datalux.privacy.national_id import valid_national_id_mask  # no import cycle at load

    return valid_national_id_mask(values)


def connect(
    spill: str | os.PathLike[str], *, threads: int | None, memory_limit: str | None
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection for one check: UTC, spilling to ``spill``, with the
    national-number check registered as a vectorised (Arrow) function."""
    config: dict[str, Any] = {"temp_directory": os.fspath(spill)}
    if threads is not None:
        config["threads"] = threads
    if memory_limit is not None:
        config["memory_limit"] = memory_limit
    con = duckdb.connect(":memory:", config=config)
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    con.create_function(
        _NATIONAL_ID_UDF,
        _national_id_ok,
        ["VARCHAR"],
        "BOOLEAN",
        type=ARROW,
        side_effects=False,
    )
    return con


def _checked_sql(columns: list[_Column], *, rowid: bool = True) -> tuple[str, list[Any]]:
    """``WITH checked AS (...)`` over ``raw`` (columns c0..cN): the row id (if ``rowid``:
    ``raw`` is then a table) and, per column, m (missing), v (typed value) and x (the raw
    value as text, for excerpts)."""
    parts = ["rowid AS __rid"] if rowid else []
    params: list[Any] = []
    for col in columns:
        parts.append(f"{col.missing_sql} AS {col.m}")
        parts.append(f"{col.value_sql} AS {col.v}")
        parts.append(f"CAST({quote_identifier(col.raw)} AS VARCHAR) AS {col.x}")
        params.extend(col.params)
    return f"WITH checked AS (SELECT {', '.join(parts)} FROM raw) ", params


def _run_checks(
    con: duckdb.DuckDBPyConnection,
    columns: list[_Column],
    report: ValidationReport,
    skipped: list[int],
) -> None:
    def row_of(rid: int) -> int:
        row = rid + 1
        while True:
            moved = rid + 1 + bisect_right(skipped, row)
            if moved == row:
                return row
            row = moved

    cte, params = _checked_sql(columns)
    checks = _checks(con, columns)
    counts: list[int] = []
    if checks:
        select = ", ".join(f"count_if({c.sql})" for c in checks)
        check_params = [p for c in checks for p in c.params]
        result = con.execute(cte + f"SELECT {select} FROM checked", params + check_params)
        counts = [int(n or 0) for n in result.fetchall()[0]]
    failing = [(check, count) for check, count in zip(checks, counts, strict=True) if count]
    room = max(0, report.max_errors - len(report.errors))
    per_group = max(1, min(_PER_GROUP, room // max(1, len(failing))))
    for check, count in failing:
        col = check.column
        examples = con.execute(
            cte
            + f"SELECT __rid, {col.x} FROM checked WHERE {check.sql} "
            + f"ORDER BY __rid LIMIT {per_group}",
            params + list(check.params),
        ).fetchall()
        for rid, value in examples:
            row = row_of(int(rid))
            report.add(
                Problem(
                    check.problem,
                    check.message,
                    check.fix,
                    row=row,
                    line=row + 1 if report.format == "csv" else None,
                    column=col.rule.name,
                    value_excerpt=_excerpt(col.rule, value),
                )
            )
        report.counts[(col.rule.name, check.problem)] += count - len(examples)


def _write_parquet(relation: duckdb.DuckDBPyRelation, path: Path) -> None:
    """Write the typed table (a separate function so tests can interrupt it)."""
    relation.write_parquet(str(path), compression="zstd")


def _output_relation(
    con: duckdb.DuckDBPyConnection, columns: list[_Column]
) -> duckdb.DuckDBPyRelation:
    cte, params = _checked_sql(columns)
    select = ", ".join(
        f"CAST({c.v} AS {storage_type(c.rule)}) AS {quote_identifier(c.rule.name)}" for c in columns
    )
    return con.sql(cte + f"SELECT {select} FROM checked", params=params)


# --- entry point ---------------------------------------------------------------------------


def ingest(
    source: str | os.PathLike[str],
    rules: Sequence[FieldRule],
    *,
    output: str | os.PathLike[str] | None = None,
    fmt: FileFormat | None = None,
    name: str | None = None,
    max_bytes: int | None = None,
    max_rows: int | None = None,
    max_expanded_bytes: int | None = None,
    max_errors: int = DEFAULT_MAX_ERRORS,
    threads: int | None = None,
    memory_limit: str | None = "4GB",
) -> ValidationReport:
    """Check ``source`` (CSV or Parquet, by ``fmt`` or the file extension) against ``rules``.

    If every check passes and ``output`` is given, write the typed table there as Parquet
    (zstd), atomically; ``report.stored`` says whether it was written. ``name`` is the file
    name shown in the report (default: the source's). ``max_bytes`` caps the file's size,
    ``max_rows`` and ``max_expanded_bytes`` what it holds once read (see the module docstring).
    Raise :class:`IngestSpecError` if the rules are unusable and :class:`StorageError` if
    ``source`` does not exist.
    """
    check_rules(rules)
    src = Path(source)
    kind: FileFormat = fmt or file_format(src)
    report = ValidationReport(source=name or src.name, format=kind, max_errors=max_errors)
    if not src.is_file():
        raise StorageError(f"input file {src} does not exist")
    size = src.stat().st_size
    if max_bytes is not None and size > max_bytes:
        report.add(
            Problem(
                "too_large",
                f"the file has {size / 1e6:.1f} MB; "
                f"uploads are limited to {max_bytes / 1e6:.0f} MB",
                "split the data into smaller files, "
                "or upload it as Parquet (much smaller than CSV)",
            )
        )
        return report
    if size == 0:
        report.add(
            Problem("empty_file", "the file is empty", "upload a file with a header and rows")
        )
        return report
    with tempfile.TemporaryDirectory(prefix="datalux-ingest-") as spill:
        con = connect(spill, threads=threads, memory_limit=memory_limit)
        try:
            _check_and_store(con, src, kind, rules, report, output, max_rows, max_expanded_bytes)
        finally:
            con.close()
    return report


def _check_and_store(
    con: duckdb.DuckDBPyConnection,
    src: Path,
    kind: FileFormat,
    rules: Sequence[FieldRule],
    report: ValidationReport,
    output: str | os.PathLike[str] | None,
    max_rows: int | None = None,
    max_expanded_bytes: int | None = None,
) -> None:
    skipped: list[int] = []
    if kind == "csv":
        # read as it is (never decompressed): the file's size is what it expands to
        if _refused_over(report, 0, src.stat().st_size, None, max_expanded_bytes):
            return
        loaded = _load_csv(con, src, report, max_rows)
        if loaded is None:
            return
        header, skipped = loaded
    else:
        if not _parquet_within_caps(src, report, max_rows, max_expanded_bytes):
            return
        parquet_header = _load_parquet(con, src, report)
        if parquet_header is None:
            return
        header = parquet_header
    report.columns = header
    kept = int(_scalar(con, "SELECT count(*) FROM raw"))
    report.rows_read = kept + len(skipped)
    if _refused_over(report, report.rows_read, 0, max_rows, None):
        report.errors = [p for p in report.errors if p.problem == "too_many_rows"]
        report.counts = {k: v for k, v in report.counts.items() if k[1] == "too_many_rows"}
        return
    if report.rows_read == 0:
        report.add(
            Problem("no_rows", "the file has a header but no rows", "upload a file with data rows")
        )
        return
    types = {str(r[0]): str(r[1]) for r in con.execute("DESCRIBE raw").fetchall()}
    columns = _match_columns(header, rules, types, report)
    for col in columns:
        _build(col)
    _run_checks(con, columns, report, skipped)
    report.errors.sort(key=lambda p: (p.row or 0, p.line or 0))
    if not report.ok or output is None:
        return
    with atomic_output(output) as tmp:
        _write_parquet(_output_relation(con, columns), tmp)
    report.stored = True
