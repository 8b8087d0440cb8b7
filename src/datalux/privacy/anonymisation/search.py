"""Search the generalisation lattice for the transformation with the least information loss.

**Optimal search** (lattices up to ``max_exact_nodes`` nodes), in the spirit of ARX's Flash:

1. every node gets a lower bound of its loss (its loss without suppression, a sum of
   per-attribute constants, so all bounds cost one vectorised pass);
2. nodes are visited in increasing bound; the search stops as soon as the next bound is not
   below the best loss found, which proves the best node optimal;
3. feasibility is *predicted* instead of evaluated wherever monotonicity allows: k-anonymity
   and distinct l-diversity with a suppression limit are monotone (a feasible node's
   generalisations are feasible, an infeasible node's specialisations are infeasible), so
   each evaluation tags a whole up-set or down-set of the lattice. To tag large sets early,
   an unknown node is not evaluated alone: a path is built from it upwards through unknown
   nodes and binary-searched for the feasibility frontier, as Flash does.

Entropy l-diversity and t-closeness are not monotone once records may be suppressed; then
only the monotone models prune, and the remaining candidates are evaluated in full.

**Heuristic search** (larger lattices): a greedy climb from the bottom to the first feasible
node, each step taking the successor that saves the most suppressed records per unit of loss
it adds (or, once a successor is feasible, the feasible one of least loss); then a local
search (one level down, one up, or one attribute down and another up) while the loss
improves. On Adult it reaches the optimum at 0, 1 and 5 % suppression.

Both stop at ``time_budget`` seconds; the result says whether optimality was proven.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from datalux.privacy.anonymisation.evaluation import Evaluator, NodeResult
from datalux.privacy.anonymisation.lattice import Node

__all__ = ["MAX_EXACT_NODES", "SearchResult", "search"]

MAX_EXACT_NODES = 500_000

_UNKNOWN, _CORE_FEASIBLE, _INFEASIBLE = 0, 1, -1


@dataclass(frozen=True)
class SearchResult:
    best: NodeResult | None  # None when not even the top node is feasible
    top: NodeResult
    strategy: str  # "optimal" or "heuristic"
    optimal: bool  # optimality proven
    timed_out: bool
    evaluations: int
    lattice_size: int
    seconds: float


def _better(a: NodeResult, b: NodeResult | None) -> bool:
    if not a.feasible:
        return False
    if b is None:
        return True
    return (a.loss, a.suppressed, a.node) < (b.loss, b.suppressed, b.node)


class _Clock:
    def __init__(self, budget: float) -> None:
        self.start = time.perf_counter()
        self.budget = budget

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    @property
    def expired(self) -> bool:
        return self.elapsed > self.budget


def search(
    evaluator: Evaluator,
    *,
    time_budget: float = 60.0,
    max_exact_nodes: int = MAX_EXACT_NODES,
    strategy: str = "auto",
) -> SearchResult:
    """Find the feasible node of least loss (``strategy``: auto, optimal or heuristic)."""
    clock = _Clock(time_budget)
    lattice = evaluator.lattice
    top = evaluator.evaluate(lattice.top)
    if strategy == "auto":
        strategy = "optimal" if lattice.size <= max_exact_nodes else "heuristic"
    if not top.feasible:
        return SearchResult(
            None, top, strategy, False, False, evaluator.evaluations, lattice.size, clock.elapsed
        )
    if strategy == "optimal":
        best, optimal = _optimal(evaluator, top, clock)
    else:
        best, optimal = _heuristic(evaluator, top, clock), False
    return SearchResult(
        best,
        top,
        strategy,
        optimal,
        clock.expired,
        evaluator.evaluations,
        lattice.size,
        clock.elapsed,
    )


def _optimal(evaluator: Evaluator, top: NodeResult, clock: _Clock) -> tuple[NodeResult, bool]:
    lattice = evaluator.lattice
    heights = lattice.heights
    nodes = lattice.all_nodes()
    bounds = evaluator.bounds(nodes)
    order = np.argsort(bounds, kind="stable")
    state = np.zeros(heights, dtype=np.int8)
    # penalty[x]: a lower bound of (loss - bound) at x, from evaluated generalisations of x
    penalty = np.zeros(heights)
    flat_penalty = penalty.reshape(-1)
    flat = state.reshape(-1)
    strides = np.array([s // state.itemsize for s in state.strides], dtype=np.int64)

    def tag(result: NodeResult) -> None:
        # the monotone models' feasibility spreads: down when it fails, up when it holds
        if not result.core_feasible:
            state[lattice.down_set(result.node)] = _INFEASIBLE
            return
        state[lattice.up_set(result.node)] = _CORE_FEASIBLE
        # Every record the monotone models suppress at a node is suppressed at all its
        # specialisations too, where its cells lose no more when generalised: so the
        # suppression penalty (core loss - bound) carries down as a lower bound.
        below = lattice.down_set(result.node)
        np.maximum(penalty[below], result.core_loss - result.bound, out=penalty[below])

    best = top
    tag(top)

    def visit(node: Node) -> NodeResult:
        nonlocal best
        result = evaluator.evaluate(node, cutoff=best.loss)
        tag(result)
        if _better(result, best):
            best = result
        return result

    def upward_path(index: int) -> list[int]:
        path = [index]
        while True:
            levels = nodes[path[-1]]
            candidates = [
                path[-1] + int(strides[j])
                for j in range(len(heights))
                if levels[j] + 1 < heights[j] and flat[path[-1] + int(strides[j])] == _UNKNOWN
            ]
            if not candidates:
                return path
            path.append(min(candidates, key=lambda c: (bounds[c], c)))

    for index in order:
        if bounds[index] >= best.loss:
            return best, True
        if clock.expired:
            return best, False
        if flat[index] == _INFEASIBLE or bounds[index] + flat_penalty[index] >= best.loss:
            continue
        if flat[index] == _UNKNOWN:
            path = upward_path(int(index))
            lo, hi = 0, len(path) - 1
            while lo <= hi and not clock.expired:
                mid = (lo + hi) // 2
                if flat[path[mid]] == _INFEASIBLE:
                    lo = mid + 1
                    continue
                if visit(lattice.node(path[mid])).core_feasible:
                    hi = mid - 1
                else:
                    lo = mid + 1
        if (
            flat[index] != _INFEASIBLE
            and bounds[index] + flat_penalty[index] < best.loss
            and not clock.expired
        ):
            visit(lattice.node(int(index)))
    return best, not clock.expired


def _neighbours(node: Node, heights: tuple[int, ...]) -> list[Node]:
    out: list[Node] = []
    d = len(node)
    for i in range(d):
        for delta in (-1, 1):
            level = node[i] + delta
            if 0 <= level < heights[i]:
                out.append((*node[:i], level, *node[i + 1 :]))
    for i in range(d):
        if node[i] == 0:
            continue
        for j in range(d):
            if j != i and node[j] + 1 < heights[j]:
                moved = list(node)
                moved[i] -= 1
                moved[j] += 1
                out.append(tuple(moved))
    return out


def _heuristic(evaluator: Evaluator, top: NodeResult, clock: _Clock) -> NodeResult:
    lattice = evaluator.lattice
    best = top
    current = evaluator.evaluate(lattice.bottom)
    while not current.feasible and not clock.expired:
        steps = [evaluator.evaluate(n) for n in lattice.successors(current.node)]
        if not steps:
            break
        feasible = [r for r in steps if r.feasible]
        if feasible:
            current = min(feasible, key=lambda r: (r.loss, r.node))
            break
        here = current

        def gain(r: NodeResult, here: NodeResult = here) -> tuple[float, Node]:
            # records no longer suppressed per unit of loss added by generalising
            cost = max(r.bound - here.bound, 1e-12)
            return (-(here.suppressed - r.suppressed) / cost, r.node)

        current = min(steps, key=gain)
    if _better(current, best):
        best = current
    improved = True
    while improved and not clock.expired:
        improved = False
        for node in _neighbours(best.node, lattice.heights):
            if clock.expired:
                break
            result = evaluator.evaluate(node)
            if _better(result, best):
                best, improved = result, True
    return best
