"""The linkage spec: a small JSON document that says what to compare, parsed and validated.

A spec names the id column of each side and the comparison columns, each with a *kind*; the
platform builds the probabilistic model from the kinds (:mod:`.model`). Example::

    {
      "left":  {"id": "rec_id", "name": "hospital"},
      "right": {"id": "rec_id", "name": "registry"},
      "columns": [
        {"column": "national_number_hmac", "kind": "identifier"},
        {"column": "given_name", "kind": "given_name"},
        {"column": "surname", "kind": "surname"},
        {"column": "birth_date", "kind": "date", "format": "%d/%m/%Y"},
        {"left": "postcode", "right": "zip", "kind": "postcode"}
      ],
      "blocking_rules": [["surname", "birth_date"], [{"column": "surname", "prefix": 3}]],
      "thresholds": {"match": 0.9, "review": 0.5}
    }

``columns`` may also be written as an object ``{"given_name": "given_name", ...}`` (column
name to kind) when both sides use the same names. Everything except ``left.id`` and
``columns`` is optional; ``right`` is ignored (and may be left out) for deduplication.

Expert options: ``blocking_rules`` (replace the default ones; each rule is a list of column
names or ``{"column": NAME, "prefix": N}``, all equal on both records), ``training_rules``
(same form; the EM training sessions), ``thresholds`` (``match`` >= ``review``, in (0, 1)),
``max_records_per_identifier`` (identifier values shared by more records on one side are
treated as placeholders and left out of the exact join), ``recall`` (prior recall of the
deterministic rule used to estimate the share of matches), ``u_max_pairs`` and
``em_max_pairs`` (training sample sizes).

Spec errors raise :class:`SpecError` naming the key at fault and what would be valid; they
never quote data values.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from datalux.privacy.errors import InputError, PrivacyError

__all__ = [
    "BlockingKey",
    "ColumnSpec",
    "Kind",
    "LinkSpec",
    "SideSpec",
    "SpecError",
    "Thresholds",
    "load_spec",
    "parse_spec",
]


class SpecError(PrivacyError):
    """A malformed linkage spec (bad JSON, unknown key or kind, inconsistent thresholds)."""


class Kind(StrEnum):
    """What a comparison column holds; each kind gets its own comparison levels."""

    IDENTIFIER = "identifier"  # keyed national number or other shared identifier
    GIVEN_NAME = "given_name"
    SURNAME = "surname"
    NAME = "name"  # a full name in one column
    DATE = "date"  # date of birth or another date
    POSTCODE = "postcode"
    ADDRESS = "address"  # street address line
    CITY = "city"
    CATEGORICAL = "categorical"  # low-cardinality code (sex, state...), case-insensitive
    EXACT = "exact"  # any value compared for equality only (house number...)


NAME_KINDS = frozenset({Kind.GIVEN_NAME, Kind.SURNAME, Kind.NAME})

_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,39}")
_TOP_KEYS = {
    "left",
    "right",
    "columns",
    "blocking_rules",
    "training_rules",
    "thresholds",
    "max_records_per_identifier",
    "recall",
    "u_max_pairs",
    "em_max_pairs",
}
_DATE_DIRECTIVES = {"%Y", "%m", "%d"}


@dataclass(frozen=True)
class SideSpec:
    """One input: its id column and its display name (``left``, ``right``, ``input``)."""

    id: str
    name: str


@dataclass(frozen=True)
class ColumnSpec:
    """One comparison: the column on each side, its kind, and the name rules refer to."""

    name: str
    kind: Kind
    left: str
    right: str
    date_format: str | None = None


@dataclass(frozen=True)
class BlockingKey:
    """One equality in a blocking rule: ``column`` (or its first ``prefix`` characters)."""

    column: str
    prefix: int | None = None


@dataclass(frozen=True)
class Thresholds:
    """Pairs at or above ``match`` are links; ``review`` <= p < ``match`` go to clerical review."""

    match: float = 0.9
    review: float = 0.5


@dataclass(frozen=True)
class LinkSpec:
    """A parsed, validated spec (column existence is checked later, against the data)."""

    left: SideSpec
    right: SideSpec
    columns: tuple[ColumnSpec, ...]
    blocking_rules: tuple[tuple[BlockingKey, ...], ...] | None = None
    training_rules: tuple[tuple[BlockingKey, ...], ...] | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    max_records_per_identifier: int = 5
    recall: float = 0.7
    u_max_pairs: float = 1.2e6
    em_max_pairs: float = 1e6

    def column(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise SpecError(f"no comparison column named {name!r}")

    def of_kind(self, *kinds: Kind) -> list[ColumnSpec]:
        return [c for c in self.columns if c.kind in kinds]


def load_spec(path: str | os.PathLike[str]) -> LinkSpec:
    """Read and validate a JSON spec file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"spec file not found: {p}; check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read spec file {p}: {exc}") from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(
            f"spec file {p.name} is not valid JSON: {exc.msg} at line {exc.lineno} "
            f"column {exc.colno}"
        ) from None
    return parse_spec(obj)


def parse_spec(obj: Any) -> LinkSpec:
    """Validate a spec given as parsed JSON; raise :class:`SpecError` naming the problem."""
    if not isinstance(obj, Mapping):
        raise SpecError("the spec must be a JSON object with at least 'left' and 'columns'")
    unknown = sorted(set(obj) - _TOP_KEYS)
    if unknown:
        raise SpecError(
            f"unknown spec key(s) {', '.join(map(repr, unknown))}; "
            f"valid keys: {', '.join(sorted(_TOP_KEYS))}"
        )
    left = _side(obj.get("left"), "left")
    if "right" in obj:
        right = _side(obj["right"], "right")
    else:  # deduplication, or both sides with the same id column
        right = SideSpec(id=left.id, name="right" if left.name != "right" else "other")
    if left.name == right.name:
        raise SpecError(f"'left.name' and 'right.name' must differ (both are {left.name!r})")
    columns = _columns(obj.get("columns"))
    names = {c.name for c in columns}
    blocking = _rules(obj.get("blocking_rules"), "blocking_rules", names)
    training = _rules(obj.get("training_rules"), "training_rules", names)
    return LinkSpec(
        left=left,
        right=right,
        columns=columns,
        blocking_rules=blocking,
        training_rules=training,
        thresholds=_thresholds(obj.get("thresholds")),
        max_records_per_identifier=_int(
            obj.get("max_records_per_identifier", 5), "max_records_per_identifier", 1
        ),
        recall=_fraction(obj.get("recall", 0.7), "recall", inclusive_one=True),
        u_max_pairs=float(_int(obj.get("u_max_pairs", 1_200_000), "u_max_pairs", 1000)),
        em_max_pairs=float(_int(obj.get("em_max_pairs", 1_000_000), "em_max_pairs", 1000)),
    )


def _side(value: Any, key: str) -> SideSpec:
    if value is None:
        raise SpecError(f"missing '{key}': give {{\"id\": ID_COLUMN}} for the {key} input")
    if isinstance(value, str):
        value = {"id": value}
    if not isinstance(value, Mapping):
        raise SpecError(f'\'{key}\' must be an object like {{"id": "rec_id"}}')
    extra = sorted(set(value) - {"id", "name"})
    if extra:
        raise SpecError(f"unknown key(s) {', '.join(map(repr, extra))} in '{key}': use id, name")
    id_col = value.get("id")
    if not isinstance(id_col, str) or not id_col:
        raise SpecError(f"'{key}.id' must name the id column of the {key} input")
    name = value.get("name", key)
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise SpecError(
            f"'{key}.name' must be 1-40 ASCII letters, digits, '_' or '-', starting with a letter"
        )
    return SideSpec(id=id_col, name=name)


def _columns(value: Any) -> tuple[ColumnSpec, ...]:
    if isinstance(value, Mapping):
        value = [{"column": k, "kind": v} for k, v in value.items()]
    if not isinstance(value, Sequence) or isinstance(value, str) or not value:
        raise SpecError(
            '\'columns\' must be a non-empty list of {"column": NAME, "kind": KIND} '
            "or an object mapping column names to kinds"
        )
    out: list[ColumnSpec] = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        where = f"columns[{i}]"
        if not isinstance(item, Mapping):
            raise SpecError(
                f"{where} must be an object with 'column' (or 'left'/'right') and 'kind'"
            )
        extra = sorted(set(item) - {"column", "left", "right", "name", "kind", "format"})
        if extra:
            raise SpecError(
                f"unknown key(s) {', '.join(map(repr, extra))} in {where}: "
                "use column, left, right, name, kind, format"
            )
        kind = _kind(item.get("kind"), where)
        both = item.get("column")
        left = item.get("left", both)
        right = item.get("right", both if both is not None else left)
        for side, col in (("left", left), ("right", right)):
            if not isinstance(col, str) or not col:
                raise SpecError(f"{where} needs 'column' (or '{side}') naming a column")
        name = item.get("name", both if both is not None else left)
        if not isinstance(name, str) or not name:
            raise SpecError(f"{where}.name must be a non-empty string")
        if name in seen:
            raise SpecError(f"comparison name {name!r} is used twice; give one a distinct 'name'")
        seen.add(name)
        fmt = item.get("format")
        if fmt is not None:
            if kind is not Kind.DATE:
                raise SpecError(f"{where}.format is only for kind 'date'")
            _check_date_format(fmt, where)
        out.append(ColumnSpec(name=name, kind=kind, left=left, right=right, date_format=fmt))
    return tuple(out)


def _kind(value: Any, where: str) -> Kind:
    try:
        return Kind(value)
    except ValueError:
        raise SpecError(
            f"{where}.kind must be one of {', '.join(k.value for k in Kind)}"
            + (f" (got {value!r})" if isinstance(value, str) and len(value) < 40 else "")
        ) from None


def _check_date_format(fmt: Any, where: str) -> None:
    if not isinstance(fmt, str):
        raise SpecError(f"{where}.format must be a string such as '%Y-%m-%d'")
    # A closed grammar (three directives, separators from a short list): the format is
    # safe to place in SQL and can be turned into a regular expression (see model.py).
    directives = re.findall(r"%.", fmt)
    separators = re.sub(r"%.", "", fmt)
    if sorted(directives) != sorted(_DATE_DIRECTIVES) or not set(separators) <= set("-/. "):
        raise SpecError(
            f"{where}.format must use %Y, %m and %d once each, separated by nothing or by "
            "'-', '/', '.' or ' ' (such as '%Y-%m-%d', '%Y%m%d' or '%d/%m/%Y')"
        )


def _rules(value: Any, key: str, names: set[str]) -> tuple[tuple[BlockingKey, ...], ...] | None:
    if value is None:
        return None
    if not isinstance(value, Sequence) or isinstance(value, str) or not value:
        raise SpecError(f"'{key}' must be a non-empty list of rules; a rule is a list of columns")
    rules: list[tuple[BlockingKey, ...]] = []
    for i, rule in enumerate(value):
        where = f"{key}[{i}]"
        if isinstance(rule, str | Mapping):
            rule = [rule]
        if not isinstance(rule, Sequence) or not rule:
            raise SpecError(f"{where} must be a non-empty list of column names")
        keys: list[BlockingKey] = []
        for item in rule:
            col: Any
            if isinstance(item, str):
                col, prefix = item, None
            elif isinstance(item, Mapping) and set(item) <= {"column", "prefix"}:
                col, prefix = item.get("column"), item.get("prefix")
                if prefix is not None:
                    prefix = _int(prefix, f"{where}.prefix", 1)
            else:
                raise SpecError(
                    f'{where}: each entry is a column name or {{"column": NAME, "prefix": N}}'
                )
            if col not in names:
                raise SpecError(
                    f"{where} refers to {col!r}, which is not a comparison column; "
                    f"known: {', '.join(sorted(names))}"
                )
            keys.append(BlockingKey(column=col, prefix=prefix))
        rules.append(tuple(keys))
    return tuple(rules)


def _thresholds(value: Any) -> Thresholds:
    if value is None:
        return Thresholds()
    if not isinstance(value, Mapping) or not set(value) <= {"match", "review"}:
        raise SpecError("'thresholds' must be an object with 'match' and/or 'review'")
    default = Thresholds()
    match = _fraction(value.get("match", default.match), "thresholds.match")
    review = _fraction(value.get("review", min(default.review, match)), "thresholds.review")
    if review > match:
        raise SpecError(f"thresholds.review ({review}) must not exceed thresholds.match ({match})")
    return Thresholds(match=match, review=review)


def _fraction(value: Any, key: str, *, inclusive_one: bool = False) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok and (0 < value < 1 or (inclusive_one and value == 1)):
        return float(value)
    upper = "1]" if inclusive_one else "1)"
    raise SpecError(f"'{key}' must be a number in (0, {upper}")


def _int(value: Any, key: str, minimum: int) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise SpecError(f"'{key}' must be an integer >= {minimum}")
    return value
