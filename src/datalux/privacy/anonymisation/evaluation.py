"""Evaluate one lattice node: its classes, the records to suppress, the information loss.

A record is suppressed when its class fails a privacy model; the node is *feasible* when the
suppressed records are within the limit. Information loss is ARX's "Loss" metric (Iyengar's
loss metric, as ARX's ``MetricMDNMLoss`` with the default generalisation/suppression factor
0.5 and the arithmetic mean over attributes): a generalised cell whose label covers ``m`` of
the hierarchy's ``n`` values loses ``(m - 1) / (n - 1)``, a suppressed cell loses 1, and the
loss is the mean over all cells of the quasi-identifiers.

Because a suppressed cell loses at least as much as any generalisation of it, the loss
without suppression (the sum of per-attribute constants) is a lower bound of a node's loss;
the search uses it to stop early.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from datalux.privacy.anonymisation.encoding import EncodedData
from datalux.privacy.anonymisation.grouping import Groups, group
from datalux.privacy.anonymisation.lattice import Lattice, Node
from datalux.privacy.anonymisation.models import ClassView, PrivacyModel

__all__ = ["Evaluator", "NodeDetails", "NodeResult"]


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """Sum of products without BLAS (``np.dot`` may start BLAS threads: slow on busy cores)."""
    return float(np.multiply(a, b).sum())


@dataclass(frozen=True)
class NodeResult:
    node: Node
    classes: int
    suppressed: int  # records in classes failing any model
    core_suppressed: int  # records in classes failing the monotone models
    feasible: bool
    core_feasible: bool
    loss: float  # with suppression; inf when the monotone models fail
    bound: float  # generalisation-only loss, a lower bound of ``loss``
    exact: bool = True  # False: ``loss`` is only a lower bound (evaluation cut off)
    core_loss: float = np.inf  # loss with the monotone models only (a lower bound of ``loss``)


@dataclass(frozen=True)
class NodeDetails:
    """Everything the report needs about the chosen node."""

    result: NodeResult
    tuple_suppressed: np.ndarray  # bool per tuple
    kept_class_sizes: np.ndarray  # sizes of the classes that are released
    attribute_loss: tuple[float, ...]  # per quasi-identifier, suppressed cells count 1


class Evaluator:
    """Evaluates nodes of the lattice of ``data`` against ``models``."""

    def __init__(
        self, data: EncodedData, models: Sequence[PrivacyModel], max_suppressed: int
    ) -> None:
        self.data = data
        self.models = tuple(models)
        self.core = tuple(m for m in self.models if m.monotone)
        self.other = tuple(m for m in self.models if not m.monotone)
        self.max_suppressed = int(max_suppressed)
        self.lattice = Lattice([a.height for a in data.attributes])
        self.weights = data.tuple_weights.astype(np.float64)
        self.records = data.records
        self._columns = [
            np.ascontiguousarray(data.tuple_codes[:, j]) for j in range(data.dimensions)
        ]
        self._codes: dict[tuple[int, int], np.ndarray] = {}
        # per attribute and level: sum over records of the cell loss (no suppression)
        self.level_loss_sum = [
            np.array(
                [_dot(self.weights, a.level_loss[lv][self.codes(j, lv)]) for lv in range(a.height)]
            )
            for j, a in enumerate(data.attributes)
        ]
        sens = data.sensitive
        self._n_sensitive = len(sens.labels) if sens is not None else 0
        self._overall: np.ndarray | None = None
        if sens is not None and data.tuple_sensitive is not None:
            hist = np.bincount(
                data.tuple_sensitive, weights=self.weights, minlength=self._n_sensitive
            )
            self._overall = hist / max(hist.sum(), 1.0)
        self.cache: dict[Node, NodeResult] = {}
        self.evaluations = 0

    def codes(self, dimension: int, level: int) -> np.ndarray:
        """The tuples' codes of attribute ``dimension`` at ``level`` (cached)."""
        key = (dimension, level)
        out = self._codes.get(key)
        if out is None:
            attr = self.data.attributes[dimension]
            out = (
                self._columns[dimension]
                if level == 0
                else attr.level_codes[level][self._columns[dimension]]
            )
            self._codes[key] = out
        return out

    def bound(self, node: Sequence[int]) -> float:
        total = sum(self.level_loss_sum[j][lv] for j, lv in enumerate(node))
        return float(total) / (self.records * self.data.dimensions)

    def bounds(self, nodes: np.ndarray) -> np.ndarray:
        """Lower bound of every row of ``nodes`` (``(n, d)`` levels), vectorised."""
        total = np.zeros(len(nodes))
        for j in range(nodes.shape[1]):
            total += self.level_loss_sum[j][nodes[:, j]]
        return total / (self.records * self.data.dimensions)

    def _groups(self, node: Sequence[int]) -> Groups:
        cols = [self.codes(j, lv) for j, lv in enumerate(node)]
        cards = [a.cardinality(lv) for a, lv in zip(self.data.attributes, node, strict=True)]
        return group(cols, cards, self.weights)

    def _view(self, groups: Groups) -> ClassView:
        return ClassView(
            groups,
            self.weights,
            self.data.tuple_sensitive,
            self._n_sensitive,
            self._overall,
            numeric=self.data.sensitive.numeric if self.data.sensitive else False,
        )

    def _failing(self, view: ClassView, models: Sequence[PrivacyModel]) -> np.ndarray:
        """Boolean per class slot: fails one of ``models``."""
        bad = np.zeros(len(view.sizes), dtype=bool)
        for model in models:
            bad |= ~model.satisfied(view)
        return bad

    def _suppressed_loss(self, node: Sequence[int], tuples: np.ndarray) -> float:
        """Sum over the given tuples (weighted) of their generalisation loss, all attributes."""
        w = self.weights[tuples]
        total = 0.0
        for j, lv in enumerate(node):
            loss = self.data.attributes[j].level_loss[lv]
            total += _dot(w, loss[self.codes(j, lv)[tuples]])
        return total

    def _loss(self, node: Node, bound: float, tuples: np.ndarray, suppressed: int) -> float:
        d = self.data.dimensions
        total = bound * self.records * d + d * suppressed - self._suppressed_loss(node, tuples)
        return total / (self.records * d)

    def evaluate(self, node: Sequence[int], cutoff: float = np.inf) -> NodeResult:
        """Evaluate ``node``. With a ``cutoff``, the non-monotone models are not checked when
        the loss with the monotone models alone (a lower bound) already reaches it: the
        result is then not ``exact`` and not ``feasible``."""
        key = tuple(int(x) for x in node)
        cached = self.cache.get(key)
        if cached is not None and (cached.exact or cached.loss >= cutoff):
            return cached
        self.evaluations += 1
        groups = self._groups(key)
        view = self._view(groups)
        bad_core = self._failing(view, self.core)
        core_tuples = np.flatnonzero(bad_core[groups.index])
        core_suppressed = round(float(self.weights[core_tuples].sum()))
        bound = self.bound(key)
        if core_suppressed > self.max_suppressed:
            result = NodeResult(
                key, groups.count, core_suppressed, core_suppressed, False, False, np.inf, bound
            )
            self.cache[key] = result
            return result
        loss = core_loss = self._loss(key, bound, core_tuples, core_suppressed)
        suppressed, exact = core_suppressed, True
        if self.other:
            if loss >= cutoff:
                exact = False
            else:
                bad = bad_core | self._failing(view, self.other)
                tuples = np.flatnonzero(bad[groups.index])
                suppressed = round(float(self.weights[tuples].sum()))
                loss = self._loss(key, bound, tuples, suppressed)
        result = NodeResult(
            key,
            groups.count,
            suppressed,
            core_suppressed,
            exact and suppressed <= self.max_suppressed,
            True,
            loss,
            bound,
            exact,
            core_loss,
        )
        self.cache[key] = result
        return result

    def details(self, node: Sequence[int]) -> NodeDetails:
        key = tuple(int(x) for x in node)
        result = self.evaluate(key)
        groups = self._groups(key)
        view = self._view(groups)
        bad = self._failing(view, self.models)
        tuple_bad = bad[groups.index]
        kept = groups.sizes[(~bad) & (groups.sizes > 0)]
        suppressed_w = self.weights * tuple_bad
        attribute_loss = []
        for j, lv in enumerate(key):
            cell = self.data.attributes[j].level_loss[lv][self.codes(j, lv)]
            kept_loss = _dot(self.weights - suppressed_w, cell)
            attribute_loss.append((kept_loss + float(suppressed_w.sum())) / self.records)
        return NodeDetails(result, tuple_bad, kept, tuple(attribute_loss))
