"""Privacy models checked per equivalence class: k-anonymity, l-diversity, t-closeness.

Each model answers, for every class of a grouping, whether the class satisfies it. Records in
classes that fail any model are suppressed (if the suppression limit allows), as ARX does.

Definitions (those of Sweeney; Machanavajjhala et al.; Li, Li and Venkatasubramanian; the
same as ARX and pycanon):

- k-anonymity: every class has at least ``k`` records;
- distinct l-diversity: every class has at least ``l`` distinct sensitive values;
- entropy l-diversity: every class's sensitive-value entropy ``-sum p log p`` is at least
  ``log l``;
- t-closeness: the Earth Mover's Distance between a class's sensitive distribution and the
  whole data's is at most ``t``; with the *equal* ground distance (categorical values) it is
  half the L1 distance, with the *ordered* distance (numeric values, ``m`` distinct) it is
  ``sum_i |cumulative difference up to i| / (m - 1)``.

``monotone`` tells whether, with suppression, generalising a feasible transformation keeps
it feasible (true for k-anonymity and distinct l-diversity: a class that satisfies them still
does after merging with any other; false for entropy l-diversity and t-closeness, where a
good class merged with a bad one can fail). The search relies on it to prune.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import numpy as np

from datalux.privacy.anonymisation.grouping import Groups

__all__ = [
    "ClassView",
    "DistinctLDiversity",
    "EntropyLDiversity",
    "KAnonymity",
    "PrivacyModel",
    "TCloseness",
]

_EPS = 1e-9


class ClassView:
    """The classes of one grouping, with their sensitive-value histograms on demand."""

    def __init__(
        self,
        groups: Groups,
        weights: np.ndarray,
        sensitive: np.ndarray | None = None,
        n_sensitive: int = 0,
        overall: np.ndarray | None = None,
        numeric: bool = False,
    ) -> None:
        self.groups = groups
        self.sizes = groups.sizes
        self.weights = weights
        self.sensitive = sensitive
        self.n_sensitive = n_sensitive
        self.overall = overall  # distribution of the sensitive values over all records
        self.numeric = numeric  # sensitive values are numbers (codes in numeric order)

    @cached_property
    def pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(class, value, weight)`` of every non-empty (class, sensitive value) pair."""
        if self.sensitive is None:
            raise ValueError("this privacy model needs a sensitive attribute")
        ns = max(self.n_sensitive, 1)
        key = self.groups.index * ns + self.sensitive
        space = len(self.sizes) * ns
        if space <= max(1 << 16, 8 * len(key)):
            counts = np.bincount(key, weights=self.weights, minlength=space)
            keys = np.flatnonzero(counts)
            weight = counts[keys]
        else:
            keys, inverse = np.unique(key, return_inverse=True)
            weight = np.bincount(inverse, weights=self.weights, minlength=len(keys))
        cls, val = np.divmod(keys, ns)
        return cls, val, weight


class PrivacyModel(Protocol):
    """What the search needs from a privacy model."""

    @property
    def name(self) -> str: ...

    @property
    def needs_sensitive(self) -> bool: ...

    @property
    def monotone(self) -> bool: ...

    @property
    def min_class_size(self) -> int: ...

    def satisfied(self, view: ClassView) -> np.ndarray:
        """Boolean per class slot (empty slots: ``True``)."""
        ...

    def describe(self) -> dict[str, object]: ...


@dataclass(frozen=True)
class KAnonymity:
    k: int

    name = "k-anonymity"
    needs_sensitive = False
    monotone = True

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError("k must be at least 1")

    @property
    def min_class_size(self) -> int:
        return self.k

    def satisfied(self, view: ClassView) -> np.ndarray:
        return (view.sizes >= self.k) | (view.sizes == 0)

    def describe(self) -> dict[str, object]:
        return {"model": self.name, "k": self.k}


@dataclass(frozen=True)
class DistinctLDiversity:
    l: int  # noqa: E741 (the literature's name)

    name = "distinct-l-diversity"
    needs_sensitive = True
    monotone = True

    def __post_init__(self) -> None:
        if self.l < 1:
            raise ValueError("l must be at least 1")

    @property
    def min_class_size(self) -> int:
        return self.l

    def satisfied(self, view: ClassView) -> np.ndarray:
        cls, _, _ = view.pairs
        distinct = np.bincount(cls, minlength=len(view.sizes))
        return (distinct >= self.l) | (view.sizes == 0)

    def describe(self) -> dict[str, object]:
        return {"model": self.name, "l": self.l}


def class_entropy(view: ClassView) -> np.ndarray:
    """Natural-log entropy of each class's sensitive values."""
    cls, _, w = view.pairs
    total = view.sizes[cls]
    p = w / total
    return np.bincount(cls, weights=-p * np.log(p), minlength=len(view.sizes))


@dataclass(frozen=True)
class EntropyLDiversity:
    l: float  # noqa: E741

    name = "entropy-l-diversity"
    needs_sensitive = True
    monotone = False

    def __post_init__(self) -> None:
        if self.l < 1:
            raise ValueError("l must be at least 1")

    @property
    def min_class_size(self) -> int:
        return max(1, math.ceil(self.l - _EPS))

    def satisfied(self, view: ClassView) -> np.ndarray:
        return (class_entropy(view) >= math.log(self.l) - _EPS) | (view.sizes == 0)

    def describe(self) -> dict[str, object]:
        return {"model": self.name, "l": self.l}


def class_distance(view: ClassView, ordered: bool) -> np.ndarray:
    """EMD of each class's sensitive distribution to the overall one."""
    if view.overall is None:
        raise ValueError("t-closeness needs the overall sensitive distribution")
    q = view.overall
    cls, val, w = view.pairs
    p = w / view.sizes[cls]
    n = len(view.sizes)
    if not ordered or len(q) < 2:
        # 0.5 * sum_v |p - q| = 0.5 * (sum over present v of (|p - q| - q) + 1)
        part = np.bincount(cls, weights=np.abs(p - q[val]) - q[val], minlength=n)
        out = 0.5 * (part + 1.0)
        out[view.sizes == 0] = 0.0
        return out
    m = len(q)
    cq = np.cumsum(q)[:-1]
    out = np.zeros(n)
    present = np.flatnonzero(view.sizes)
    chunk = max(1, 4_000_000 // m)
    rank = np.full(n, -1, dtype=np.int64)
    for start in range(0, len(present), chunk):
        ids = present[start : start + chunk]
        rank[ids] = np.arange(len(ids))
        sel = np.flatnonzero(rank[cls] >= 0)
        dense = np.zeros((len(ids), m))
        np.add.at(dense, (rank[cls[sel]], val[sel]), p[sel])
        cp = np.cumsum(dense, axis=1)[:, :-1]
        out[ids] = np.abs(cp - cq).sum(axis=1) / (m - 1)
        rank[ids] = -1
    return out


@dataclass(frozen=True)
class TCloseness:
    t: float
    ordered: bool | None = None  # None: ordered distance for numeric sensitive values

    name = "t-closeness"
    needs_sensitive = True
    monotone = False
    min_class_size = 1

    def __post_init__(self) -> None:
        if not 0 <= self.t <= 1:
            raise ValueError("t must be between 0 and 1")

    def satisfied(self, view: ClassView) -> np.ndarray:
        ordered = view.numeric if self.ordered is None else self.ordered
        return (class_distance(view, ordered) <= self.t + _EPS) | (view.sizes == 0)

    def describe(self) -> dict[str, object]:
        ground = {None: "auto", True: "ordered", False: "equal"}[self.ordered]
        return {"model": self.name, "t": self.t, "distance": ground}
