"""Automatic disclosure checks of an output file proposed for release (no Django).

Each check gives ``pass``, ``review`` (a checker must look: evidence, not a verdict) or
``fail`` (a hard gate), and names the columns or cells at fault, never their values. A file's
status is the worst of its checks. The checks:

- ``file_type``: only the types an output checker can read (CSV, text, Markdown, JSON, PNG,
  SVG); images are always ``review``: no program reads a chart's numbers;
- ``size`` and ``rows``: at most ``max_bytes`` and ``max_rows`` (a long table is likely
  row-level data);
- ``identifiers``: no column named like an identifier or a pseudonym, and no cell that looks
  like one (a 64-hex pseudonym, a valid Luxembourg national number);
- ``min_count``: in the declared count columns, no cell between 1 and ``min_count - 1``
  (``fail``); zeros are ``review`` unless ``zeros_safe`` (an empty cell can disclose);
  undeclared whole-number columns with such small values are ``review``.

Thresholds come from the permit's output rules, else the authority's defaults (:class:`Rules`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from datalux.privacy.national_id import is_valid_national_id

PASS, REVIEW, FAIL = "pass", "review", "fail"
_ORDER = {PASS: 0, REVIEW: 1, FAIL: 2}
TABLE_TYPES = {".csv"}
TEXT_TYPES = {".txt", ".md", ".json"}
IMAGE_TYPES = {".png", ".svg"}
_PSEUDONYM = re.compile(r"^[0-9a-f]{64}$")
_IDENTIFIER_NAMES = {"person_id", "national_id", "matricule", "ssn", "record_id", "patient_id",
                     "name", "given_name", "surname", "full_name", "email", "address",
                     "street_address", "birth_date", "date_of_birth"}  # fmt: skip
_MAX_CELLS_NAMED = 20


@dataclass(frozen=True)
class Rules:
    min_count: int = 10
    max_rows: int = 5_000
    max_bytes: int = 16 * 1024 * 1024
    zeros_safe: bool = False
    count_columns: tuple[str, ...] = ()  # declared by the researcher for each table

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Rules:
        """From a permit's ``output_rules`` or a RULES.json; unknown keys are refused."""
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            names, allowed = ", ".join(sorted(unknown)), ", ".join(sorted(known))
            raise ValueError(f"unknown output rule(s) {names}: use {allowed}")
        values = dict(data)
        if "count_columns" in values:
            values["count_columns"] = tuple(values["count_columns"])
        for name in ("min_count", "max_rows", "max_bytes"):
            if name in values and (not isinstance(values[name], int) or values[name] < 1):
                raise ValueError(f"output rule {name} must be a whole number of 1 or more")
        return cls(**values)


@dataclass
class Check:
    name: str
    status: str
    detail: str
    cells: list[dict[str, Any]] = field(default_factory=list)  # {"row", "column"}, no values


@dataclass
class Verdict:
    file: str
    sha256: str
    status: str
    checks: list[Check]
    rules: dict[str, Any]

    def as_data(self) -> dict[str, Any]:
        return asdict(self)


def check_file(path: Path, rules: Rules | None = None) -> Verdict:
    rules = rules or Rules()
    data = path.read_bytes()
    checks = [_file_type(path), _size(len(data), rules)]
    if path.suffix.lower() in TABLE_TYPES and len(data) <= rules.max_bytes:
        checks += _table_checks(data, rules)
    status = max((c.status for c in checks), key=_ORDER.__getitem__)
    return Verdict(
        file=path.name,
        sha256=hashlib.sha256(data).hexdigest(),
        status=status,
        checks=checks,
        rules=asdict(rules),
    )


def _file_type(path: Path) -> Check:
    suffix = path.suffix.lower()
    if suffix in TABLE_TYPES | TEXT_TYPES:
        return Check("file_type", PASS, f"{suffix} is a type output checkers read")
    if suffix in IMAGE_TYPES:
        return Check("file_type", REVIEW, f"{suffix}: a checker must read the figure itself")
    allowed = ", ".join(sorted(TABLE_TYPES | TEXT_TYPES | IMAGE_TYPES))
    return Check("file_type", FAIL, f"{suffix or 'no extension'} is not released: use {allowed}")


def _size(size: int, rules: Rules) -> Check:
    if size > rules.max_bytes:
        return Check("size", FAIL, f"{size} bytes, over the {rules.max_bytes}-byte cap")
    return Check("size", PASS, f"{size} bytes")


def _table_checks(data: bytes, rules: Rules) -> list[Check]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [Check("table", FAIL, "not UTF-8 text: save the table as UTF-8 CSV")]
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        return [Check("table", FAIL, "the table has no header row")]
    rows = list(reader)
    checks = [_rows(len(rows), rules), _identifiers(header, rows)]
    checks += _counts(header, rows, rules)
    return checks


def _rows(count: int, rules: Rules) -> Check:
    if count > rules.max_rows:
        return Check("rows", FAIL, f"{count} rows, over the {rules.max_rows}-row cap: row-level "
                                   "data are not released; aggregate first")  # fmt: skip
    return Check("rows", PASS, f"{count} rows")


def _identifiers(header: list[str], rows: list[list[str]]) -> Check:
    named = [h for h in header if h.strip().lower() in _IDENTIFIER_NAMES]
    looking: set[str] = set()
    for row in rows:
        for column, cell in zip(header, row, strict=False):
            value = cell.strip()
            if _PSEUDONYM.match(value.lower()) or (
                len(value) == 13 and value.isdigit() and is_valid_national_id(value)
            ):
                looking.add(column)
    at_fault = sorted(set(named) | looking)
    if at_fault:
        detail = f"identifier or pseudonym columns: {', '.join(at_fault)}; remove them"
        return Check("identifiers", FAIL, detail, [{"column": c} for c in at_fault])
    return Check("identifiers", PASS, "no identifier or pseudonym column")


def _whole(value: str) -> int | None:
    value = value.strip()
    return int(value) if re.fullmatch(r"-?\d+", value) else None


def _counts(header: list[str], rows: list[list[str]], rules: Rules) -> list[Check]:
    missing = [c for c in rules.count_columns if c not in header]
    if missing:
        return [Check("min_count", FAIL, "declared count column(s) not in the table: "
                      + ", ".join(missing))]  # fmt: skip
    checks = []
    declared = set(rules.count_columns)
    small, zeros, undeclared = [], [], []
    for index, column in enumerate(header):
        cells = [(r, _whole(row[index])) for r, row in enumerate(rows) if index < len(row)]
        if column in declared:
            small += [{"row": r + 1, "column": column} for r, v in cells
                      if v is not None and 0 < v < rules.min_count]  # fmt: skip
            zeros += [{"row": r + 1, "column": column} for r, v in cells if v == 0]
        elif cells and all(v is not None for _, v in cells):
            undeclared += [{"row": r + 1, "column": column} for r, v in cells
                           if v is not None and 0 < v < rules.min_count]  # fmt: skip
    if small:
        checks.append(Check("min_count", FAIL, f"{len(small)} count cell(s) under "
                            f"{rules.min_count}: suppress or combine them",
                            small[:_MAX_CELLS_NAMED]))  # fmt: skip
    elif declared:
        checks.append(Check("min_count", PASS, f"every count is 0 or at least {rules.min_count}"))
    if zeros and not rules.zeros_safe:
        checks.append(Check("zeros", REVIEW, f"{len(zeros)} empty cell(s): an empty cell can "
                            "disclose (everyone in a group shares the trait)",
                            zeros[:_MAX_CELLS_NAMED]))  # fmt: skip
    if undeclared:
        checks.append(Check("undeclared_counts", REVIEW, f"{len(undeclared)} small whole number(s) "
                            f"under {rules.min_count} in columns not declared as counts: say "
                            "what they are", undeclared[:_MAX_CELLS_NAMED]))  # fmt: skip
    return checks


def check_files(paths: Iterable[Path], rules: Rules | None = None) -> list[Verdict]:
    return [check_file(p, rules) for p in paths]


def verdicts_json(verdicts: Iterable[Verdict]) -> str:
    return "\n".join(json.dumps(v.as_data(), ensure_ascii=False) for v in verdicts)
