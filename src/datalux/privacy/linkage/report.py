"""The linkage report: counts by band, clusters, estimated blocking recall, model facts.

Blocking recall (the share of true pairs that the blocking rules put in front of the model)
caps the recall of the whole linkage and cannot be measured without labels, so it is
*estimated*, in up to two ways:

``identifier``
    Where the exact join on an identifier linked pairs, those pairs are (nearly) certain
    matches chosen independently of the blocking columns: the share of them that the
    probabilistic blocking rules would also have produced is an empirical estimate.
``model``
    From the trained Fellegi-Sunter model: for each blockable column, the chance that a true
    pair agrees exactly on it is P(both filled) x m(exact level); under the model's own
    conditional-independence assumption, the chance that at least one rule's columns all
    agree is summed over every agreement pattern. Prefix and swapped-name rules are counted
    as exact-equality rules or left out, so this errs low; correlated errors (one careless
    record with every field wrong) make it err high.

No figure in the report is a data value: only counts, rates, column names and rule labels.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "BAND_EDGES",
    "ClusterSummary",
    "LinkReport",
    "RuleSummary",
    "SideSummary",
    "model_blocking_recall",
]

# Probability bands reported for the scored pairs (lower edge inclusive).
BAND_EDGES = (0.99, 0.9, 0.5, 0.1, 0.01)


@dataclass
class SideSummary:
    """One input: its records and how its date columns were read."""

    name: str
    records: int
    date_formats: dict[str, str] = field(default_factory=dict)
    date_parsed_share: dict[str, float] = field(default_factory=dict)
    filled_share: dict[str, float] = field(default_factory=dict)


@dataclass
class RuleSummary:
    """A blocking rule: its estimated number of pairs, and whether it was used."""

    label: str
    estimated_pairs: int
    used: bool
    note: str = ""


@dataclass
class ClusterSummary:
    """Clusters (persons) built from the links in the match band."""

    clusters: int
    singletons: int
    largest: int
    sizes: dict[str, int]  # "1", "2", ..., "5+" -> number of clusters
    spanning_both: int | None = None  # link mode: clusters with records on both sides


@dataclass
class LinkReport:
    """Everything a reviewer needs to judge a linkage run, without any data value."""

    mode: str  # "link" or "dedupe"
    sides: list[SideSummary]
    thresholds: dict[str, float]
    identifier_links: int = 0
    identifier_placeholder_values: int = 0
    candidate_pairs: int = 0
    links_in_match_band: int = 0
    links_in_review_band: int = 0
    probabilistic_match: int = 0
    probabilistic_review: int = 0
    bands: dict[str, int] = field(default_factory=dict)
    blocking_rules: list[RuleSummary] = field(default_factory=list)
    blocking_recall: float | None = None
    blocking_recall_method: str = ""
    blocking_recall_estimates: dict[str, float] = field(default_factory=dict)
    probability_two_random_records_match: float | None = None
    untrained: list[str] = field(default_factory=list)
    training_skipped: list[str] = field(default_factory=list)  # EM sessions that failed
    clusters: ClusterSummary | None = None
    pseudonym_scheme: str = ""
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)

    def to_text(self) -> str:
        """A short human summary (the CLI prints it)."""
        lines = [f"linkage report ({self.mode})"]
        for s in self.sides:
            lines.append(f"  {s.name}: {s.records} records")
        t = self.thresholds
        lines.append(
            f"  links: {self.links_in_match_band} in the match band (p >= {t['match']}), "
            f"{self.links_in_review_band} for clerical review ({t['review']} <= p < {t['match']})"
        )
        lines.append(
            f"    exact identifier join: {self.identifier_links}; probabilistic: "
            f"{self.probabilistic_match} match, {self.probabilistic_review} review"
        )
        lines.append(f"  candidate pairs scored: {self.candidate_pairs}")
        if self.bands:
            lines.append(
                "  scored pairs by probability band: "
                + ", ".join(f"{k}: {v}" for k, v in self.bands.items())
            )
        if self.blocking_recall is not None:
            others = ", ".join(f"{k} {v:.4f}" for k, v in self.blocking_recall_estimates.items())
            lines.append(
                f"  estimated blocking recall: {self.blocking_recall:.4f} "
                f"({self.blocking_recall_method}; estimates: {others})"
            )
        dropped = [f"{r.label} ({r.note})" for r in self.blocking_rules if not r.used]
        lines.append(
            f"  blocking rules: {sum(r.used for r in self.blocking_rules)} used"
            + (f"; not used: {', '.join(dropped)}" if dropped else "")
        )
        if self.clusters is not None:
            c = self.clusters
            lines.append(
                f"  clusters: {c.clusters} ({c.singletons} single records, largest {c.largest})"
                + (
                    f", {c.spanning_both} with records on both sides"
                    if c.spanning_both is not None
                    else ""
                )
            )
        lines.append(f"  person pseudonyms: {self.pseudonym_scheme}")
        if self.untrained:
            lines.append(f"  not estimated (defaults used): {', '.join(self.untrained)}")
        return "\n".join(lines)


def band_label(lower: float, upper: float | None) -> str:
    return f"[{lower:g}, {upper:g})" if upper is not None else f"[{lower:g}, 1]"


def model_blocking_recall(
    rules: Sequence[Sequence[str]],
    agree: Mapping[str, float],
) -> float | None:
    """P(at least one rule has all its columns agreeing | match), columns independent.

    ``rules`` lists each rule's columns; ``agree`` gives, per column, the probability that a
    true pair agrees exactly on it. Columns not in ``agree`` make their rule count as never
    firing. At most 16 distinct columns are enumerated (65,536 patterns).
    """
    usable = [tuple(r) for r in rules if r and all(c in agree for c in r)]
    columns = sorted({c for r in usable for c in r})
    if not usable or len(columns) > 16:
        return None
    index = {c: i for i, c in enumerate(columns)}
    masks = [sum(1 << index[c] for c in r) for r in usable]
    total = 0.0
    for pattern in itertools.product((0, 1), repeat=len(columns)):
        bits = sum(b << i for i, b in enumerate(pattern))
        if not any(bits & m == m for m in masks):
            continue
        p = 1.0
        for c, b in zip(columns, pattern, strict=True):
            p *= agree[c] if b else 1.0 - agree[c]
        total += p
    return min(1.0, total)
