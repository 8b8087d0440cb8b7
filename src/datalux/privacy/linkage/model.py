"""From a spec's column kinds to a Splink model: cleaning SQL, comparisons, blocking, training.

Each kind maps to one cleaning expression and one comparison (Fellegi-Sunter levels):

============  ===========================================  ==================================
kind          cleaning                                     comparison levels
============  ===========================================  ==================================
identifier    trim                                         exact / Damerau-Levenshtein <= 1
given_name,   lower case, no accents, single spaces        exact (term-frequency adjusted) /
surname, name                                              Jaro-Winkler >= 0.92 / 0.88 / 0.70
date          to ``YYYYMMDD`` (format given or detected)   exact / Levenshtein <= 1 / within
                                                           1 month / 1 year / 10 years
postcode      upper case, no spaces or dashes              exact (tf) / Damerau-Lev. <= 1
address       as names                                     exact (tf) / Jaro-Winkler >= .9/.8
city          as names                                     exact (tf) / Jaro-Winkler >= 0.9
categorical   lower case, trimmed                          exact (tf)
exact         trimmed                                      exact
============  ===========================================  ==================================

Every comparison also has a null level (no evidence either way) and an "else" level.

Default blocking (candidate pairs) is the union of "two columns equal" rules over every pair
of blockable columns (names, dates, postcodes, addresses, cities, exact), plus given name and
surname swapped; a true pair is missed only when no two of those columns agree. Identifiers
are not in the probabilistic blocking: equal identifiers are linked by the exact join first.
Rules whose block sizes would create too many pairs (placeholder values, low cardinality)
are dropped and reported; an expert can give ``blocking_rules`` instead.

Training (no labels): the share of matches from a strict deterministic rule (names and date
equal) and a prior recall; u probabilities from random pairs; m probabilities by
expectation-maximisation on two *tight* rules (names equal, then dates equal), each on a
sample of at most ``em_max_pairs`` pairs, so that every comparison is estimated once.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import splink.comparison_library as cl
from splink import ColumnExpression, block_on
from splink.blocking_rule_library import CustomRule
from splink.internals.blocking_rule_creator import BlockingRuleCreator
from splink.internals.comparison_creator import ComparisonCreator

from datalux.privacy.linkage.spec import NAME_KINDS, BlockingKey, ColumnSpec, Kind, LinkSpec

__all__ = [
    "CANDIDATE_DATE_FORMATS",
    "CANONICAL_DATE_FORMAT",
    "ModelPlan",
    "Rule",
    "build_plan",
    "canonical_name",
    "clean_sql",
    "quote_ident",
]

CANONICAL_DATE_FORMAT = "%Y%m%d"
# Tried in this order when a date column has no 'format'; day-first before month-first.
CANDIDATE_DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y%m%d",
    "%d/%m/%Y",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%Y/%m/%d",
    "%d %m %Y",
    "%m/%d/%Y",
)

BLOCKABLE_KINDS = frozenset(
    {
        Kind.GIVEN_NAME,
        Kind.SURNAME,
        Kind.NAME,
        Kind.DATE,
        Kind.POSTCODE,
        Kind.ADDRESS,
        Kind.CITY,
        Kind.EXACT,
    }
)
# Training groups, in order of preference for the EM blocking rules.
_TRAINING_GROUPS: tuple[frozenset[Kind], ...] = (
    NAME_KINDS,
    frozenset({Kind.DATE}),
    frozenset({Kind.POSTCODE}),
    frozenset({Kind.ADDRESS}),
    frozenset({Kind.IDENTIFIER}),
    frozenset({Kind.CITY}),
    frozenset({Kind.EXACT}),
    frozenset({Kind.CATEGORICAL}),
)


def quote_ident(name: str) -> str:
    """A DuckDB identifier for a name taken from metadata (column names from files)."""
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    # Only for strings of a closed grammar (validated date formats, fixed patterns).
    return "'" + text.replace("'", "''") + "'"


def canonical_name(index: int, column: ColumnSpec) -> str:
    """The internal column name of a comparison (safe for SQL and Splink)."""
    return f"c{index}_{column.kind.value}"


def _text(expr: str) -> str:
    return f"NULLIF(trim(CAST({expr} AS VARCHAR)), '')"


def _words(expr: str) -> str:
    return (
        "NULLIF(trim(regexp_replace(strip_accents(lower(CAST("
        f"{expr} AS VARCHAR))), '\\s+', ' ', 'g')), '')"
    )


def _date_regex(fmt: str) -> tuple[str, str]:
    """A regular expression for ``fmt`` and the replacement that reorders it to YYYYMMDD."""
    fixed = not re.sub(r"%.", "", fmt)
    parts = {"%Y": "([0-9]{4})", "%m": "([0-9]{2})" if fixed else "([0-9]{1,2})"}
    parts["%d"] = parts["%m"]
    pattern, order = "", []
    for piece in re.findall(r"%.|.", fmt):
        if piece in parts:
            order.append(piece)
            pattern += parts[piece]
        else:
            pattern += re.escape(piece) if piece == "." else piece
    groups = {t: i + 1 for i, t in enumerate(order)}
    replacement = "".join(f"\\{groups[t]}" for t in ("%Y", "%m", "%d"))
    return f"^{pattern}$", replacement


def clean_sql(expr: str, kind: Kind, duck_type: str, date_format: str | None) -> str:
    """The DuckDB expression that cleans column ``expr`` (already quoted) for ``kind``.

    Dates become ``YYYYMMDD`` text: parsed with ``date_format`` where valid, and where not
    (a typo such as the 31st of November) the digits are reordered by the same format, so
    that near-misses still reach the Levenshtein level.
    """
    if kind in NAME_KINDS or kind in (Kind.ADDRESS, Kind.CITY):
        return _words(expr)
    if kind is Kind.POSTCODE:
        # a country prefix before digits goes ("L-1234" is "1234"), then spaces and hyphens
        prefix = "'^\\s*[A-Za-z]{1,2}\\s*-\\s*([0-9])'"
        bare = f"regexp_replace(CAST({expr} AS VARCHAR), {prefix}, '\\1')"
        return f"NULLIF(upper(regexp_replace({bare}, '[\\s-]', '', 'g')), '')"
    if kind is Kind.CATEGORICAL:
        return f"lower({_text(expr)})"
    if kind is Kind.DATE:
        upper = duck_type.upper()
        if upper.startswith(("DATE", "TIMESTAMP")):
            return f"strftime(CAST({expr} AS DATE), {_literal(CANONICAL_DATE_FORMAT)})"
        fmt = date_format or "%Y-%m-%d"
        text = _text(expr)
        pattern, replacement = _date_regex(fmt)
        return (
            f"coalesce(strftime(try_strptime({text}, {_literal(fmt)}), "
            f"{_literal(CANONICAL_DATE_FORMAT)}), CASE WHEN regexp_full_match({text}, "
            f"{_literal(pattern)}) THEN regexp_replace({text}, {_literal(pattern)}, "
            f"{_literal(replacement)}) END)"
        )
    return _text(expr)  # identifier, exact


def _comparison(col: str, kind: Kind) -> ComparisonCreator:
    if kind is Kind.IDENTIFIER:
        return cl.DamerauLevenshteinAtThresholds(col, [1])
    if kind in NAME_KINDS:
        return cl.NameComparison(col)
    if kind is Kind.DATE:
        return cl.DateOfBirthComparison(
            col,
            input_is_string=True,
            datetime_format=CANONICAL_DATE_FORMAT,
            invalid_dates_as_null=False,
        )
    if kind is Kind.POSTCODE:
        return cl.DamerauLevenshteinAtThresholds(col, [1]).configure(
            term_frequency_adjustments=True
        )
    if kind is Kind.ADDRESS:
        return cl.JaroWinklerAtThresholds(col, [0.9, 0.8]).configure(
            term_frequency_adjustments=True
        )
    if kind is Kind.CITY:
        return cl.JaroWinklerAtThresholds(col, [0.9]).configure(term_frequency_adjustments=True)
    if kind is Kind.CATEGORICAL:
        return cl.ExactMatch(col).configure(term_frequency_adjustments=True)
    return cl.ExactMatch(col)


@dataclass(frozen=True)
class Rule:
    """A blocking rule with a readable label (spec column names) and its equality keys.

    ``keys`` pairs canonical columns left-to-right: ``(left_col, right_col, prefix)``; they
    differ only for the swapped-names rule.
    """

    label: str
    keys: tuple[tuple[str, str, int | None], ...]

    def creator(self) -> BlockingRuleCreator:
        if all(lc == rc for lc, rc, _ in self.keys):
            return block_on(*(_key_expr(c, p) for c, _, p in self.keys))
        cond = " AND ".join(f"l.{quote_ident(lc)} = r.{quote_ident(rc)}" for lc, rc, _ in self.keys)
        return CustomRule(cond)

    def sql(self) -> str:
        """The rule as a condition on ``l`` and ``r`` (canonical columns)."""
        conds = []
        for lc, rc, prefix in self.keys:
            left, right = f"l.{quote_ident(lc)}", f"r.{quote_ident(rc)}"
            if prefix is not None:
                left, right = (f"substr({x}, 1, {int(prefix)})" for x in (left, right))
            conds.append(f"{left} = {right}")
        return "(" + " AND ".join(conds) + ")"


def _key_expr(col: str, prefix: int | None) -> str | ColumnExpression:
    return col if prefix is None else ColumnExpression(col).substr(1, prefix)


@dataclass
class ModelPlan:
    """Everything the runner needs: cleaning, comparisons, rules (labels use spec names)."""

    spec: LinkSpec
    canonical: dict[str, str]  # spec column name -> canonical column
    comparisons: list[ComparisonCreator]
    prediction_rules: list[Rule]
    training_rules: list[Rule]
    deterministic_rules: list[Rule]
    identifiers: list[str] = field(default_factory=list)  # canonical identifier columns
    expert_blocking: bool = False

    def label_of(self, canonical: str) -> str:
        for name, canon in self.canonical.items():
            if canon == canonical:
                return name
        return canonical


def _rule_from_keys(keys: Sequence[BlockingKey], canonical: dict[str, str]) -> Rule:
    label = "+".join(k.column + (f"[:{k.prefix}]" if k.prefix else "") for k in keys)
    return Rule(
        label=label,
        keys=tuple((canonical[k.column], canonical[k.column], k.prefix) for k in keys),
    )


def _equal(cols: Sequence[ColumnSpec], canonical: dict[str, str]) -> Rule:
    return Rule(
        label="+".join(c.name for c in cols),
        keys=tuple((canonical[c.name], canonical[c.name], None) for c in cols),
    )


def build_plan(spec: LinkSpec) -> ModelPlan:
    """Build the comparisons and rules of ``spec`` (data-dependent pruning comes later)."""
    canonical = {c.name: canonical_name(i, c) for i, c in enumerate(spec.columns)}
    comparisons = [_comparison(canonical[c.name], c.kind) for c in spec.columns]

    if spec.blocking_rules is not None:
        prediction = [_rule_from_keys(r, canonical) for r in spec.blocking_rules]
    else:
        blockable = [c for c in spec.columns if c.kind in BLOCKABLE_KINDS]
        if len(blockable) == 1:
            prediction = [_equal(blockable, canonical)]
        else:
            prediction = [_equal(pair, canonical) for pair in itertools.combinations(blockable, 2)]
        given, surname = spec.of_kind(Kind.GIVEN_NAME), spec.of_kind(Kind.SURNAME)
        if len(given) == 1 and len(surname) == 1:
            g, s = canonical[given[0].name], canonical[surname[0].name]
            prediction.append(
                Rule(
                    label=f"{given[0].name}<->{surname[0].name} swapped",
                    keys=((g, s, None), (s, g, None)),
                )
            )

    if spec.training_rules is not None:
        training = [_rule_from_keys(r, canonical) for r in spec.training_rules]
    else:
        groups = [
            [c for c in spec.columns if c.kind in kinds]
            for kinds in _TRAINING_GROUPS
            if any(c.kind in kinds for c in spec.columns)
        ]
        training = [_equal(g, canonical) for g in groups[:2]]

    names = spec.of_kind(*NAME_KINDS)
    dates = spec.of_kind(Kind.DATE)
    if names and dates:
        deterministic = [_equal([*names, *dates], canonical)]
    else:
        blockable = [c for c in spec.columns if c.kind in BLOCKABLE_KINDS] or list(spec.columns)
        deterministic = [_equal(blockable[:3], canonical)]

    return ModelPlan(
        spec=spec,
        canonical=canonical,
        comparisons=comparisons,
        prediction_rules=prediction,
        training_rules=training,
        deterministic_rules=deterministic,
        identifiers=[canonical[c.name] for c in spec.of_kind(Kind.IDENTIFIER)],
        expert_blocking=spec.blocking_rules is not None,
    )
