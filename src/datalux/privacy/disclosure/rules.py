"""Primary disclosure rules for aggregate tables: threshold, (n,k)-dominance, p% (p-ratio).

The definitions and defaults follow ACRO (the SACRO project's output checker, ``acro`` 1.0.2,
``default.yaml``), so that a table passed here and by ACRO gets the same verdict:

* **threshold** — a cell fails when fewer than ``threshold`` (default 10) contributors fall in
  it. Empty cells (count 0) fail too while ``zeros_disclosive`` is true (ACRO's
  ``zeros_are_disclosive: True``).
* **(n,k)-dominance** — a magnitude cell fails when its ``n`` largest contributions make up
  ``k`` or more of the cell total (default n=2, k=0.90): ``sum(top n) / total >= k``.
* **p% rule** (ACRO's p-ratio) — a magnitude cell fails when the contributions other than the
  two largest add up to less than ``p`` of the largest (default p=0.10):
  ``(total - x1 - x2) / x1 < p``; the second-largest contributor could then estimate the
  largest to within p%.
* **negative contributions** — dominance is not defined with negative values (ACRO asks for a
  review); here such cells fail, so they are suppressed unless a person releases them.

A cell with total 0 (all contributions 0) cannot be dominated and passes both dominance rules,
as in ACRO. A "contributor" is one row of microdata, or one unit (enterprise, person) when the
caller aggregates rows per unit first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from datalux.privacy.errors import PrivacyError

THRESHOLD = "threshold"
NK_DOMINANCE = "nk_dominance"
P_PERCENT = "p_percent"
NEGATIVE = "negative_values"
RULES = (THRESHOLD, NK_DOMINANCE, P_PERCENT, NEGATIVE)

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class RuleError(PrivacyError):
    """A disclosure rule parameter out of range (threshold, p, n, k)."""


@dataclass(frozen=True)
class RuleSet:
    """Parameters of the primary rules; ``None`` switches a dominance rule off.

    Defaults are ACRO's: ``safe_threshold=10``, ``safe_pratio_p=0.10``, ``safe_nk_n=2``,
    ``safe_nk_k=0.90``, ``zeros_are_disclosive=True``.
    """

    threshold: int = 10
    p: float | None = 0.10
    nk: tuple[int, float] | None = (2, 0.90)
    zeros_disclosive: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, int):
            raise RuleError(f"threshold must be an integer, got {self.threshold!r}")
        if self.threshold < 1:
            raise RuleError(f"threshold must be at least 1, got {self.threshold}")
        if self.p is not None and not 0.0 < float(self.p) < 1.0:
            raise RuleError(f"p must be a fraction between 0 and 1 (e.g. 0.1), got {self.p}")
        if self.nk is not None:
            if len(self.nk) != 2:
                raise RuleError(f"nk must be a pair (n, k), got {self.nk!r}")
            n, k = self.nk
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise RuleError(f"n of the (n,k) rule must be an integer >= 1, got {n!r}")
            if not 0.0 < float(k) <= 1.0:
                raise RuleError(f"k of the (n,k) rule must be a fraction in (0, 1], got {k}")

    @property
    def top_needed(self) -> int:
        """How many of the largest contributions per cell the dominance rules need."""
        return max(2, self.nk[0] if self.nk else 0)


@dataclass(frozen=True)
class CellStats:
    """Per-cell statistics the rules need, one entry per cell (all arrays the same length).

    ``top`` holds each cell's largest contributions in descending order, padded with 0 where
    a cell has fewer contributors; ``total``, ``top`` and ``negatives`` are ``None`` for a
    frequency table (counts only).
    """

    count: IntArray
    total: FloatArray | None = None
    top: FloatArray | None = None
    negatives: IntArray | None = None

    def __post_init__(self) -> None:
        n = len(self.count)
        magnitude = (self.total, self.top, self.negatives)
        if any(a is None for a in magnitude) and not all(a is None for a in magnitude):
            raise PrivacyError("total, top and negatives must all be given for a magnitude table")
        for a in magnitude:
            if a is not None and len(a) != n:
                raise PrivacyError("every per-cell array must have one entry per cell")

    @property
    def is_magnitude(self) -> bool:
        return self.total is not None

    @classmethod
    def from_contributions(cls, cells: Sequence[Sequence[float]], top_needed: int = 2) -> CellStats:
        """Statistics of cells given as lists of contributor values (a precomputed table)."""
        m = max(2, top_needed)
        count = np.array([len(c) for c in cells], dtype=np.int64)
        total = np.array([float(np.sum(c)) if len(c) else 0.0 for c in cells], dtype=np.float64)
        top = np.zeros((len(cells), m), dtype=np.float64)
        negatives = np.zeros(len(cells), dtype=np.int64)
        for i, c in enumerate(cells):
            values = np.asarray(c, dtype=np.float64)
            if np.isnan(values).any():
                raise PrivacyError(f"cell {i} has a missing (NaN) contribution; drop or impute it")
            largest = np.sort(values)[::-1][:m]
            top[i, : len(largest)] = largest
            negatives[i] = int((values < 0).sum())
        return cls(count=count, total=total, top=top, negatives=negatives)

    @classmethod
    def from_counts(cls, counts: Sequence[int] | IntArray) -> CellStats:
        """Statistics of a frequency table given its cell counts."""
        count = np.asarray(counts, dtype=np.int64)
        if (count < 0).any():
            raise PrivacyError("cell counts must not be negative")
        return cls(count=count)


def threshold_fails(stats: CellStats, rules: RuleSet) -> BoolArray:
    """Cells with fewer than ``rules.threshold`` contributors (empty cells if zeros disclose)."""
    fails: BoolArray = stats.count < rules.threshold
    if not rules.zeros_disclosive:
        fails &= stats.count > 0
    return fails


def nk_fails(stats: CellStats, n: int, k: float) -> BoolArray:
    """Cells whose ``n`` largest contributions are ``k`` or more of the cell total."""
    assert stats.total is not None and stats.top is not None
    if stats.top.shape[1] < n:
        raise PrivacyError(f"the (n,k) rule needs the {n} largest contributions per cell")
    top_n = stats.top[:, :n].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(stats.total != 0, top_n / stats.total, np.nan)
    return np.asarray(ratio >= k, dtype=np.bool_)


def p_percent_fails(stats: CellStats, p: float) -> BoolArray:
    """Cells where the contributions beyond the two largest are less than ``p`` of the largest."""
    assert stats.total is not None and stats.top is not None
    x1, x2 = stats.top[:, 0], stats.top[:, 1]
    remainder = stats.total - x1 - x2
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(x1 != 0, remainder / x1, np.nan)
    return np.asarray(ratio < p, dtype=np.bool_)


def negative_fails(stats: CellStats) -> BoolArray:
    """Cells with a negative contribution, where dominance is undefined."""
    assert stats.negatives is not None
    return np.asarray(stats.negatives > 0, dtype=np.bool_)


def evaluate(stats: CellStats, rules: RuleSet) -> dict[str, BoolArray]:
    """Each applicable rule's failure mask over the cells (dominance rules on magnitudes only)."""
    outcome = {THRESHOLD: threshold_fails(stats, rules)}
    if stats.is_magnitude:
        if rules.nk is not None:
            outcome[NK_DOMINANCE] = nk_fails(stats, rules.nk[0], float(rules.nk[1]))
        if rules.p is not None:
            outcome[P_PERCENT] = p_percent_fails(stats, float(rules.p))
        if rules.nk is not None or rules.p is not None:
            outcome[NEGATIVE] = negative_fails(stats)
    return outcome


def primary_mask(outcome: dict[str, BoolArray], n_cells: int) -> BoolArray:
    """Cells failing at least one rule."""
    mask = np.zeros(n_cells, dtype=np.bool_)
    for fails in outcome.values():
        mask |= fails
    return mask
