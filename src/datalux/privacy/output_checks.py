"""Automatic disclosure checks of an output file proposed for release (no Django).

Each check gives ``pass``, ``review`` (a checker must look: evidence, not a verdict) or
``fail`` (a hard gate), and names the columns or cells at fault, never their values. A file's
status is the worst of its checks. The checks:

- ``file_type``: only the types an output checker can read (CSV, text, Markdown, JSON, PNG,
  SVG); images are always ``review``: no program reads a chart's numbers;
- ``evidence_file``: the evidence written beside a table (:data:`EVIDENCE_SUFFIX`) is never
  released (``fail``);
- ``size`` and ``rows``: at most ``max_bytes`` and ``max_rows`` (a long table is likely
  row-level data);
- ``identifiers``: no column named like an identifier or a pseudonym, and no cell that looks
  like one (a 64-hex pseudonym, a valid Luxembourg national number);
- ``min_count``: in the declared count columns, no cell between 1 and ``min_count - 1``
  (``fail``); zeros are ``review`` unless ``zeros_safe`` (an empty cell can disclose);
  undeclared whole-number columns with such small values are ``review``;
- ``class_disclosure``: a row or column of the count grid where every count but one is zero
  (everyone in the group shares one trait) is ``review`` (unless ``zeros_safe``);
- ``evidence``, ``nk_dominance``, ``p_percent``, ``negative_values``: for a table written with
  :func:`write_table`, its evidence must match the CSV (SHA-256, columns, keys, counts), and
  its cells must pass the (n,k)-dominance and p% rules of :mod:`datalux.privacy.disclosure`;
  negative contributions go to a checker. Declared ``magnitude_columns`` without evidence are
  ``review`` (``dominance_evidence``);
- ``differencing``: against each earlier release with the same columns, no cell (same key)
  and no column total whose counts differ by 1 to ``min_count - 1``: the difference would
  describe a group under the threshold (:func:`differencing` runs it on tables in memory,
  e.g. the aggregate service's earlier queries, with magnitudes too);
- ``degrees_of_freedom``: in a statsmodels summary (text) or a JSON ``df_resid``, at least
  ``min_dof`` residual degrees of freedom.

Thresholds come from the permit's output rules (:meth:`Rules.from_permit`), else the
authority's defaults (:class:`Rules`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from datalux.privacy.disclosure.rules import (
    NEGATIVE,
    NK_DOMINANCE,
    P_PERCENT,
    RuleError,
    RuleSet,
)
from datalux.privacy.national_id import is_valid_national_id
from datalux.privacy.output_evidence import (
    EVIDENCE_FORMAT,
    EVIDENCE_SUFFIX,
    TOP_SHARES,
    Evidence,
    EvidenceMismatch,
    evidence_path,
    is_evidence,
    load_evidence,
    write_table,
)

__all__ = [
    "EVIDENCE_FORMAT",
    "EVIDENCE_SUFFIX",
    "FAIL",
    "PASS",
    "REVIEW",
    "Check",
    "KeyedTable",
    "Rules",
    "Verdict",
    "check_file",
    "check_files",
    "differencing",
    "evidence_path",
    "verdicts_json",
    "write_table",
]

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
_WHOLE = re.compile(r"-?\d+")
_NUMBER = re.compile(r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
_DF_RESIDUALS = re.compile(r"Df Residuals:\s*(-?\d+(?:\.\d+)?)")


_DEFAULT_NK = (2, 0.9)


@dataclass(frozen=True)
class Rules:
    """Thresholds of the checks. ``nk`` and ``p`` follow :class:`~datalux.privacy.disclosure.
    RuleSet` (``None`` switches a dominance rule off); ``min_dof`` is ACRO's residual degrees
    of freedom. ``count_columns`` and ``magnitude_columns`` are declared per table."""

    min_count: int = 10
    max_rows: int = 5_000
    max_bytes: int = 16 * 1024 * 1024
    zeros_safe: bool = False
    count_columns: tuple[str, ...] = ()  # declared by the researcher for each table
    nk: tuple[int, float] | None = _DEFAULT_NK
    p: float | None = 0.1
    min_dof: int = 10
    magnitude_columns: tuple[str, ...] = ()  # sums, means... declared for each table

    def __post_init__(self) -> None:
        for name in ("min_count", "max_rows", "max_bytes", "min_dof"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"output rule {name} must be a whole number of 1 or more")
        if not isinstance(self.zeros_safe, bool):
            raise ValueError("output rule zeros_safe must be true or false")
        for name in ("count_columns", "magnitude_columns"):
            value = getattr(self, name)
            if isinstance(value, str) or not all(isinstance(c, str) for c in value):
                raise ValueError(f"output rule {name} must be a list of column names")
            object.__setattr__(self, name, tuple(value))
        if self.nk is not None:
            if isinstance(self.nk, (str, bytes)) or not isinstance(self.nk, Sequence):
                raise ValueError("output rule nk must be a pair [n, k], e.g. [2, 0.9], or null")
            object.__setattr__(self, "nk", tuple(self.nk))
        if isinstance(self.p, bool):
            raise ValueError("output rule p must be a fraction between 0 and 1, e.g. 0.1")
        try:
            RuleSet(threshold=self.min_count, p=self.p, nk=self.nk)
        except (RuleError, TypeError, ValueError) as exc:
            raise ValueError(f"output rule nk or p: {exc}") from None

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Rules:
        """From a RULES.json (the field names of :class:`Rules`); unknown keys are refused."""
        if not isinstance(data, Mapping):
            raise ValueError('output rules must be a JSON object, e.g. {"min_count": 10}')
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            names, allowed = ", ".join(sorted(unknown)), ", ".join(sorted(known))
            raise ValueError(f"unknown output rule(s) {names}: use {allowed}")
        return cls(**dict(data))

    @classmethod
    def from_permit(cls, output_rules: Mapping[str, Any]) -> Rules:
        """From a permit's ``output_rules``: ``threshold`` (min_count), ``dominance_n`` and
        ``dominance_k`` (nk), ``p_percent`` (p, a fraction); a missing key keeps the
        authority's default, ``null`` switches a dominance rule off. The permit's other rules
        (``rounding_base``, ``aggregate_only``, the anonymised form's k, l, t...) are not
        thresholds of these checks and are ignored (the permit validates its own rules); a
        threshold out of range is refused."""
        values: dict[str, Any] = {}
        if "threshold" in output_rules:
            values["min_count"] = output_rules["threshold"]
        if "p_percent" in output_rules:
            values["p"] = output_rules["p_percent"]
        if "dominance_n" in output_rules or "dominance_k" in output_rules:
            default_n, default_k = _DEFAULT_NK
            n = output_rules.get("dominance_n", default_n)
            k = output_rules.get("dominance_k", default_k)
            values["nk"] = None if n is None or k is None else (n, k)
        try:
            return cls(**values)
        except ValueError as exc:
            raise ValueError(f"the permit's output rules: {exc}") from None


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
    earlier: list[dict[str, str]] = field(default_factory=list)  # compared: file, sha256

    def as_data(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Table:
    """A parsed CSV, with its columns' whole numbers computed once."""

    header: list[str]
    rows: list[list[str]]
    sha256: str = ""
    _wholes: dict[int, list[int | None]] = field(default_factory=dict)

    def whole(self, column: str) -> list[int | None]:
        index = self.header.index(column)
        if index not in self._wholes:
            self._wholes[index] = [
                _whole(row[index]) if index < len(row) else None for row in self.rows
            ]
        return self._wholes[index]

    def cells(self, column: str) -> list[str]:
        index = self.header.index(column)
        return [row[index].strip() if index < len(row) else "" for row in self.rows]

    def numbers(self, column: str) -> list[float | None]:
        return [float(c) if _NUMBER.fullmatch(c) else None for c in self.cells(column)]


def _parse(data: bytes) -> _Table | str:
    """The table, or what is wrong with it."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return "not UTF-8 text: save the table as UTF-8 CSV"
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        return "the table has no header row: write the column names on the first line"
    return _Table(header, list(reader), hashlib.sha256(data).hexdigest())


def check_file(path: Path, rules: Rules | None = None, earlier: Sequence[Path] = ()) -> Verdict:
    """The verdict on one output file; a table is compared with the ``earlier`` releases."""
    return _check(Path(path), rules or Rules(), earlier, {})


def check_files(
    paths: Iterable[Path], rules: Rules | None = None, earlier: Sequence[Path] = ()
) -> list[Verdict]:
    """The verdicts on several files, each compared with the ``earlier`` releases (read once)."""
    cache: dict[Path, _Table | None] = {}
    return [_check(Path(p), rules or Rules(), earlier, cache) for p in paths]


def verdicts_json(verdicts: Iterable[Verdict]) -> str:
    return "\n".join(json.dumps(v.as_data(), ensure_ascii=False) for v in verdicts)


def _check(
    path: Path, rules: Rules, earlier: Sequence[Path], cache: dict[Path, _Table | None]
) -> Verdict:
    data = path.read_bytes()
    checks = [_file_type(path), _size(len(data), rules)]
    compared: list[dict[str, str]] = []
    suffix = path.suffix.lower()
    if is_evidence(path, data):
        table = path.name.removesuffix(EVIDENCE_SUFFIX)
        checks.append(Check("evidence_file", FAIL, f"{path.name} is the disclosure evidence of a "
                            f"table ({table}): it stays in the workspace; declare it "
                            "highly_sensitive and release the table itself"))  # fmt: skip
    elif suffix in TABLE_TYPES and len(data) <= rules.max_bytes:
        parsed = _parse(data)
        if isinstance(parsed, str):
            checks.append(Check("table", FAIL, parsed))
        else:
            table_checks, compared = _table_checks(path, data, parsed, rules, earlier, cache)
            checks += table_checks
    elif suffix in TEXT_TYPES and len(data) <= rules.max_bytes:
        dof = _degrees_of_freedom(data, suffix, rules)
        if dof is not None:
            checks.append(dof)
    status = max((c.status for c in checks), key=_ORDER.__getitem__)
    return Verdict(
        file=path.name,
        sha256=hashlib.sha256(data).hexdigest(),
        status=status,
        checks=checks,
        rules=asdict(rules),
        earlier=compared,
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
        return Check("size", FAIL, f"{size} bytes, over the {rules.max_bytes}-byte cap: "
                                   "release a smaller, aggregated file")  # fmt: skip
    return Check("size", PASS, f"{size} bytes")


@dataclass(frozen=True)
class _Layout:
    """Which columns of a table are counts, magnitudes (sums, means) and keys."""

    counts: tuple[str, ...]
    declared: bool  # counts declared (or named by the evidence) rather than guessed
    magnitudes: tuple[str, ...]
    keys: tuple[str, ...]  # what identifies a cell, to match it in an earlier table
    grid: tuple[str, ...]  # the axes of the count grid (keys that are not numbers)


def _layout(table: _Table, rules: Rules, evidence: Evidence | None) -> _Layout:
    header = table.header
    declared = [c for c in rules.count_columns if c in header]
    magnitudes = [c for c in rules.magnitude_columns if c in header]
    if evidence is not None:
        declared = list(dict.fromkeys([*declared, evidence.count_column]))
        if evidence.value_column:
            magnitudes = list(dict.fromkeys([*magnitudes, evidence.value_column]))
    if declared:
        counts = declared
    else:
        counts = [c for c in header if c not in magnitudes and _count_like(table.cells(c))]
    if evidence is not None:
        keys = grid = list(evidence.by)
    else:
        keys = [c for c in header if c not in counts and c not in magnitudes]
        grid = [c for c in keys if not _numeric(table.cells(c))]  # a number is likely a measure
        if not declared:  # guessed counts: a column of other numbers is a measure, not a key
            keys = grid
    return _Layout(tuple(counts), bool(declared), tuple(magnitudes), tuple(keys), tuple(grid))


def _count_like(cells: list[str]) -> bool:
    """Whole numbers, blanks or suppression marks (``<10``), with at least one number."""
    seen = False
    for cell in cells:
        if _WHOLE.fullmatch(cell):
            seen = True
        elif cell and not cell.startswith("<"):
            return False
    return seen


def _numeric(cells: list[str]) -> bool:
    present = [c for c in cells if c]
    return bool(present) and all(_NUMBER.fullmatch(c) for c in present)


def _table_checks(
    path: Path,
    data: bytes,
    table: _Table,
    rules: Rules,
    earlier: Sequence[Path],
    cache: dict[Path, _Table | None],
) -> tuple[list[Check], list[dict[str, str]]]:
    header, rows = table.header, table.rows
    checks = [_rows(len(rows), rules), _identifiers(header, rows)]
    evidence: Evidence | None = None
    evidence_check: Check | None = None
    try:
        evidence = load_evidence(path, data, header, rows)
    except EvidenceMismatch as exc:
        evidence_check = Check("evidence", FAIL, str(exc))
    layout = _layout(table, rules, evidence)
    checks += _counts(table, layout, rules)
    if layout.declared and not rules.zeros_safe:
        klass = _class_disclosure(table, layout)
        if klass is not None:
            checks.append(klass)
    if evidence is not None:
        evidence_check = Check("evidence", PASS, f"the table matches its evidence "
                               f"({evidence_path(path).name})")  # fmt: skip
        checks.append(evidence_check)
        checks += _dominance(evidence, rules)
    elif evidence_check is not None:
        checks.append(evidence_check)
    covered = {evidence.value_column} if evidence is not None else set()
    missing = [c for c in rules.magnitude_columns if c not in header]
    undeclared = [c for c in rules.magnitude_columns if c in header and c not in covered]
    if missing:
        checks.append(Check("dominance_evidence", FAIL, "declared magnitude column(s) not in "
                            f"the table: {', '.join(missing)}; correct the declaration",
                            [{"column": c} for c in missing]))  # fmt: skip
    elif undeclared and (evidence is not None or evidence_check is None):  # not a mismatch
        checks.append(Check("dominance_evidence", REVIEW, "no evidence for dominance: write the "
                            "table with datalux.privacy.output_checks.write_table or give the "
                            "largest contributions to the checkers",
                            [{"column": c} for c in undeclared]))  # fmt: skip
    compared: list[dict[str, str]] = []
    if earlier:
        difference, compared = _differencing(path, table, layout, rules, earlier, cache)
        if difference is not None:
            checks.append(difference)
    return checks, compared


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
            if column in looking:
                continue
            value = cell.strip()
            if (len(value) == 64 and _PSEUDONYM.match(value.lower())) or (
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
    return int(value) if _WHOLE.fullmatch(value) else None


def _counts(table: _Table, layout: _Layout, rules: Rules) -> list[Check]:
    missing = [c for c in rules.count_columns if c not in table.header]
    if missing:
        return [Check("min_count", FAIL, "declared count column(s) not in the table: "
                      f"{', '.join(missing)}; correct the declaration",
                      [{"column": c} for c in missing])]  # fmt: skip
    checks = []
    declared = set(layout.counts) if layout.declared else set()
    small, zeros, undeclared = [], [], []
    for column in table.header:
        if column in layout.magnitudes:
            continue
        cells = list(enumerate(table.whole(column)))
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
                            "disclose (everyone in a group shares the trait); say whether they "
                            "are structural", zeros[:_MAX_CELLS_NAMED]))  # fmt: skip
    if undeclared:
        checks.append(Check("undeclared_counts", REVIEW, f"{len(undeclared)} small whole number(s) "
                            f"under {rules.min_count} in columns not declared as counts: say "
                            "what they are", undeclared[:_MAX_CELLS_NAMED]))  # fmt: skip
    return checks


def _class_disclosure(table: _Table, layout: _Layout) -> Check | None:
    """Rows and columns of the count grid in which one cell holds the whole group.

    The grid has one axis per key column (a level is every value seen in it; a combination
    absent from the table is an empty cell) and, with several count columns, one axis across
    them. A group (all cells sharing every coordinate but one) of two or more cells, all known
    (no suppressed cell), with exactly one non-zero count discloses that everyone in it has
    that cell's trait.
    """
    flagged: dict[tuple[int, str], None] = {}
    counts = list(layout.counts)
    wholes = {c: table.whole(c) for c in counts}
    n_rows = len(table.rows)
    if len(counts) >= 2:  # across the count columns of one row
        for r in range(n_rows):
            values = [wholes[c][r] for c in counts]
            if None not in values and sum(v != 0 for v in values) == 1:
                flagged[(r, counts[next(i for i, v in enumerate(values) if v != 0)])] = None
    keys = [table.cells(k) for k in layout.grid]
    for column in counts:
        values = wholes[column]
        if len(keys) <= 1:  # the whole column is one group
            if n_rows >= 2 and None not in values and sum(v != 0 for v in values) == 1:
                flagged[(next(r for r, v in enumerate(values) if v != 0), column)] = None
            continue
        for axis in range(len(keys)):
            levels = len(set(keys[axis]))
            if levels < 2:
                continue
            groups: dict[tuple[str, ...], list[int]] = {}  # [non-zero cells, a row, unknown]
            for r in range(n_rows):
                group = tuple(k[r] for i, k in enumerate(keys) if i != axis)
                state = groups.setdefault(group, [0, -1, 0])
                v = values[r]
                if v is None:
                    state[2] = 1
                elif v != 0:
                    state[0] += 1
                    state[1] = r
            for nonzero, row, unknown in groups.values():
                if nonzero == 1 and not unknown:
                    flagged[(row, column)] = None
    if not flagged:
        return None
    cells = [{"row": r + 1, "column": c} for r, c in sorted(flagged)]
    return Check("class_disclosure", REVIEW, f"{len(cells)} cell(s) hold all of their group: "
                 "every other count in their row or column of the table is zero, so everyone "
                 "in the group shares that trait; combine categories or suppress, or say why "
                 "it is safe", cells[:_MAX_CELLS_NAMED])  # fmt: skip


def _dominance(evidence: Evidence, rules: Rules) -> list[Check]:
    """The (n,k) and p% rules on the evidence's ratios, which :func:`write_table` computed from
    the contributions as the disclosure module's rules do (``sum(top n) / total`` and
    ``(total - x1 - x2) / x1``); here each is compared with its threshold as there
    (``>= k``, ``< p``). Contributions are not rebuilt from the ratios: that loses exactness
    at the threshold (a p-ratio of exactly 0.1 would come back as 0.0999...)."""
    column = evidence.value_column
    if column is None or (rules.nk is None and rules.p is None):
        return []
    published = [
        i for i, e in enumerate(evidence.rows) if not e.get("suppressed") and e.get("count")
    ]
    negative = [i for i in published if (evidence.rows[i].get("negatives") or 0) > 0]
    rated = [i for i in published if (evidence.rows[i].get("negatives") or 0) == 0]
    checks = []
    if rules.nk is not None:
        n, k = rules.nk
        if n > TOP_SHARES:
            detail = f"the evidence holds the {TOP_SHARES} largest shares only: the ({n}, {k}) "
            checks.append(Check(NK_DOMINANCE, REVIEW, detail + "rule needs a checker"))
        else:
            fails = [i for i in rated if _share(evidence.rows[i], n) >= float(k)]
            what = f"(n,k)-dominance: the {n} largest contributions make {k:.0%} or more of "
            ok = f"no cell has its {n} largest contributions at {k:.0%} or more of the total"
            checks.append(_rule_check(NK_DOMINANCE, fails, column, what + "the total", ok))
    if rules.p is not None:
        fails = [i for i in rated if _p_ratio(evidence.rows[i]) < float(rules.p)]
        what = "p% rule: the second-largest contributor could estimate the largest within "
        ok = f"in every cell the smaller contributions exceed {rules.p:.0%} of the largest"
        checks.append(_rule_check(P_PERCENT, fails, column, what + f"{rules.p:.0%}", ok))
    if negative:
        cells = [{"row": i + 1, "column": column} for i in negative]
        detail = (
            f"{len(negative)} cell(s) with negative contributions in {column}: dominance is "
            "undefined there; a checker decides"
        )
        checks.append(Check(NEGATIVE, REVIEW, detail, cells[:_MAX_CELLS_NAMED]))
    return checks


def _share(row: Mapping[str, Any], n: int) -> float:
    """The share of a cell's ``n`` largest contributions; NaN (never failing) for a cell whose
    total is 0, as in the disclosure module."""
    shares = row.get("top_shares")
    value = shares[n - 1] if isinstance(shares, list) and len(shares) >= n else None
    return float(value) if isinstance(value, (int, float)) else float("nan")


def _p_ratio(row: Mapping[str, Any]) -> float:
    value = row.get("p_ratio")
    return float(value) if isinstance(value, (int, float)) else float("nan")


def _rows_named(rows: list[int]) -> str:
    """``3, 7, 12`` (1-based), cut after the first few."""
    named = ", ".join(str(r + 1) for r in rows[:_MAX_CELLS_NAMED])
    more = len(rows) - _MAX_CELLS_NAMED
    return named + (f" and {more} more" if more > 0 else "")


def _rule_check(name: str, fails: list[int], column: str, what: str, ok: str) -> Check:
    if not fails:
        return Check(name, PASS, ok)
    return Check(name, FAIL, f"{what} in {len(fails)} cell(s) of {column} (row(s) "
                 f"{_rows_named(fails)}): suppress or combine them",
                 [{"row": i + 1, "column": column} for i in fails[:_MAX_CELLS_NAMED]])  # fmt: skip


def _earlier_table(path: Path, cache: dict[Path, _Table | None], max_bytes: int) -> _Table | None:
    key = path.resolve()
    if key not in cache:
        parsed: _Table | str | None = None
        if path.suffix.lower() in TABLE_TYPES and path.is_file():
            if path.stat().st_size <= max_bytes:
                parsed = _parse(path.read_bytes())
        cache[key] = parsed if isinstance(parsed, _Table) else None
    return cache[key]


def _differencing(
    path: Path,
    table: _Table,
    layout: _Layout,
    rules: Rules,
    earlier: Sequence[Path],
    cache: dict[Path, _Table | None],
) -> tuple[Check | None, list[dict[str, str]]]:
    """Cells (same key) and column totals that differ by 1 to ``min_count - 1`` from those of
    an earlier table with the same columns: the difference describes a group under the
    threshold. Tables with other columns are not compared."""
    if not layout.counts:
        return None, []
    here = path.resolve()
    others: list[tuple[str, _Table]] = []
    for other_path in earlier:
        if other_path.resolve() == here:
            continue
        other = _earlier_table(other_path, cache, rules.max_bytes)
        if other is not None:
            others.append((other_path.name, other))
    check, names = _compare(table, layout, rules, others)
    compared = [{"file": name, "sha256": other.sha256} for name, other in others if name in names]
    return check, compared


def _compare(
    table: _Table,
    layout: _Layout,
    rules: Rules,
    others: Sequence[tuple[str, _Table]],
    magnitude_slack: int | None = None,
) -> tuple[Check | None, list[str]]:
    """The differencing check of ``table`` against the named ``others`` with the same columns
    (the others are not compared); returns it (None when nothing was compared) and the names
    compared. With ``magnitude_slack`` (published counts rounded: the base less one), a
    magnitude cell (sum, mean) that differs from the earlier one while the counts differ by
    less than ``min_count + magnitude_slack`` fails too: the exact difference of the
    magnitudes would describe a group the rounded counts may hide under the threshold."""
    current = _keyed(table, layout.keys)
    found: list[str] = []
    cells: list[dict[str, Any]] = []
    compared: list[str] = []
    small = range(1, rules.min_count)
    for name, other in others:
        if other.header != table.header:
            continue
        compared.append(name)
        theirs = _keyed(other, layout.keys)
        rows: dict[int, None] = {}
        for column in layout.counts:
            mine, old = table.whole(column), other.whole(column)
            for key, r in current.items():
                j = theirs.get(key)
                if j is None or mine[r] is None or old[j] is None:
                    continue
                if abs(mine[r] - old[j]) in small:  # type: ignore[operator]
                    rows[r] = None
                    cells.append({"row": r + 1, "column": column, "earlier": name})
        if magnitude_slack is not None:
            for r, column in _magnitude_differences(table, other, layout, current, theirs,
                                                    rules.min_count + magnitude_slack):  # fmt: skip
                rows[r] = None
                cells.append({"row": r + 1, "column": column, "earlier": name})
        if rows:
            named = _rows_named(list(rows))
            found.append(f"differencing with {name}: the difference of rows {named} "
                         f"isolates a group under {rules.min_count}")  # fmt: skip
        totals = []
        for column in layout.counts:
            mine_total = sum(v for v in table.whole(column) if v is not None)
            old_total = sum(v for v in other.whole(column) if v is not None)
            if abs(mine_total - old_total) in small:
                totals.append(column)
                cells.append({"column": column, "earlier": name})
        if totals:
            found.append(f"differencing with {name}: the totals of "
                         f"{', '.join(totals)} differ by less than {rules.min_count} (a subgroup "
                         "removed or added)")  # fmt: skip
    if not compared:
        return None, []
    if found:
        return Check("differencing", FAIL, "; ".join(found) + ": suppress or combine those "
                     "cells, or release only one of the tables",
                     cells[:_MAX_CELLS_NAMED]), compared  # fmt: skip
    names = ", ".join(compared)
    return Check("differencing", PASS, f"no cell or total differs by less than "
                 f"{rules.min_count} from {names}"), compared  # fmt: skip


def _magnitude_differences(
    table: _Table,
    other: _Table,
    layout: _Layout,
    current: dict[tuple[str, ...], int],
    theirs: dict[tuple[str, ...], int],
    below: int,
) -> list[tuple[int, str]]:
    """(row, column) of the magnitude cells that differ from ``other``'s while every count of
    the row differs by less than ``below`` (both published)."""
    found = []
    for column in layout.magnitudes:
        mine, old = table.numbers(column), other.numbers(column)
        for key, r in current.items():
            j = theirs.get(key)
            if j is None or mine[r] is None or old[j] is None or mine[r] == old[j]:
                continue
            counts = [(table.whole(c)[r], other.whole(c)[j]) for c in layout.counts]
            if counts and all(a is not None and b is not None and abs(a - b) < below
                              for a, b in counts):  # fmt: skip
                found.append((r, column))
    return found


@dataclass(frozen=True)
class KeyedTable:
    """A released table in memory for :func:`differencing`: ``name`` names it in the
    findings, ``rows`` are mappings of the ``header``'s columns to cells (text, numbers, or
    ``None`` for a suppressed cell)."""

    name: str
    header: tuple[str, ...]
    rows: Sequence[Mapping[str, Any]]

    def parsed(self) -> _Table:
        return _Table(
            list(self.header), [[_cell(row.get(c)) for c in self.header] for row in self.rows]
        )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def differencing(
    table: KeyedTable,
    earlier: Sequence[KeyedTable],
    *,
    keys: Sequence[str],
    counts: Sequence[str],
    rules: Rules,
    magnitudes: Sequence[str] = (),
    rounding_base: int = 1,
) -> Check | None:
    """The ``differencing`` check of a table in memory against ``earlier`` ones (the check of
    :func:`check_file`'s ``earlier=``, for tables that are not files): cells of the same
    ``keys`` and column totals whose ``counts`` differ by 1 to ``min_count - 1``, and, when
    ``magnitudes`` are named, magnitude cells that differ while their counts (rounded to
    ``rounding_base``) differ by less than ``min_count + rounding_base - 1``. Only tables
    with the same header are compared; None when none was."""
    layout = _Layout(
        counts=tuple(counts),
        declared=True,
        magnitudes=tuple(magnitudes),
        keys=tuple(keys),
        grid=tuple(keys),
    )
    check, _compared = _compare(
        table.parsed(),
        layout,
        rules,
        [(other.name, other.parsed()) for other in earlier],
        magnitude_slack=max(0, rounding_base - 1) if magnitudes else None,
    )
    return check


def _keyed(table: _Table, keys: tuple[str, ...]) -> dict[tuple[str, ...], int]:
    """Each key's row; a key on several rows is left out (it cannot be matched)."""
    columns = [table.cells(k) for k in keys]
    index: dict[tuple[str, ...], int] = {}
    duplicated: set[tuple[str, ...]] = set()
    for r in range(len(table.rows)):
        key = tuple(c[r] for c in columns)
        if key in index:
            duplicated.add(key)
        index[key] = r
    for key in duplicated:
        del index[key]
    return index


def _degrees_of_freedom(data: bytes, suffix: str, rules: Rules) -> Check | None:
    """Residual degrees of freedom of the regressions in a statsmodels summary or a JSON
    ``df_resid``; ``None`` when the file holds none."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    found: list[tuple[dict[str, Any], float]] = []
    if suffix == ".json":
        try:
            _walk(json.loads(text), "", found)
        except ValueError:
            return None
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            found += [({"row": number}, float(m.group(1))) for m in _DF_RESIDUALS.finditer(line)]
    if not found:
        return None
    low = [where for where, dof in found if dof < rules.min_dof]
    if low:
        return Check("degrees_of_freedom", FAIL, f"{len(low)} of {len(found)} model(s) with "
                     f"fewer than {rules.min_dof} residual degrees of freedom: so few can "
                     "disclose the observations; fit on more data or with fewer parameters",
                     low[:_MAX_CELLS_NAMED])  # fmt: skip
    return Check("degrees_of_freedom", PASS, f"{len(found)} model(s), each with at least "
                 f"{rules.min_dof} residual degrees of freedom")  # fmt: skip


def _walk(value: Any, where: str, found: list[tuple[dict[str, Any], float]]) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            at = f"{where}.{key}" if where else str(key)
            if key == "df_resid" and isinstance(item, (int, float)) and not isinstance(item, bool):
                found.append(({"column": at}, float(item)))
            else:
                _walk(item, at, found)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _walk(item, f"{where}[{i}]", found)
