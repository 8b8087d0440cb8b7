"""Primary and secondary (complementary) cell suppression on k-dimensional tables.

The table is a dense grid (one axis per grouping column). Threat model: every published cell
and every margin total along each axis (row and column totals in 2-D, all line totals in k-D)
are known to the reader. A suppressed cell is **exposed** when its value is fixed by those
equations alone: either by one subtraction (it is the only suppressed cell on a line) or by a
linear combination of lines (e.g. a "bridge" cell between two suppressed rectangles in 2-D).

Method (a heuristic, not an optimal LP/MIP like tau-Argus'; see ADR 0005):

1. **Line rule** — repeatedly, every line that holds exactly one suppressed cell gets a
   complementary suppression: the unsuppressed cell of that line with the smallest cost
   (count for frequency tables, total for magnitude tables; ties to the lowest index).
2. **Exact audit** — the suppressed cells are split into connected components (cells linked
   by a shared line); for each, the linear system "line totals minus published cells" is
   solved for its null space. A suppressed cell is determined iff every null-space vector is
   0 at that cell. Each exposed cell gets one more complement (cheapest cell on one of its
   lines) and step 1 runs again, until no cell is exposed.

Axes of length 1 are skipped: their "line total" is the cell itself, which is suppressed too.
Interval (bounds) attacks that use non-negativity are not covered by this audit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from datalux.privacy.errors import PrivacyError

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

#: Largest connected group of suppressed cells the exact audit solves (SVD cost grows as n^3).
MAX_AUDIT_CELLS = 3000
_TOL = 1e-9


@dataclass(frozen=True)
class SuppressionResult:
    """Suppression masks on the grid, and whether the exact audit covered every component."""

    primary: BoolArray
    secondary: BoolArray
    audit_complete: bool
    largest_component: int

    @property
    def suppressed(self) -> BoolArray:
        return self.primary | self.secondary


def _active_axes(shape: tuple[int, ...]) -> list[int]:
    return [a for a, n in enumerate(shape) if n > 1]


def _line_rule(suppressed: BoolArray, cost: FloatArray, axes: list[int]) -> bool:
    """Add complements on lines with exactly one suppressed cell; True if any was added."""
    added = False
    changed = True
    while changed:
        changed = False
        for axis in axes:
            singles = suppressed.sum(axis=axis, keepdims=True) == 1
            if not singles.any():
                continue
            candidate_cost = np.where(suppressed, np.inf, cost)
            best = np.argmin(candidate_cost, axis=axis, keepdims=True)
            best_cost = np.take_along_axis(candidate_cost, best, axis=axis)
            pick = singles & np.isfinite(best_cost)
            if not pick.any():
                continue
            chosen = np.zeros_like(suppressed)
            np.put_along_axis(chosen, best, pick, axis=axis)
            suppressed |= chosen
            changed = added = True
    return added


def _line_ids(
    shape: tuple[int, ...], coords: tuple[npt.NDArray[np.intp], ...], axis: int
) -> npt.NDArray[np.intp]:
    """The id of the line along ``axis`` through each cell (its coordinates without ``axis``)."""
    rest = [c for a, c in enumerate(coords) if a != axis]
    rest_shape = tuple(n for a, n in enumerate(shape) if a != axis)
    if not rest:
        return np.zeros(len(coords[0]), dtype=np.intp)
    return np.asarray(np.ravel_multi_index(tuple(rest), rest_shape), dtype=np.intp)


def _components(line_of: list[npt.NDArray[np.intp]], n: int) -> npt.NDArray[np.intp]:
    """Connected components of cells that share a line (union-find); label per cell."""
    parent = np.arange(n)

    def find(i: int) -> int:
        root = i
        while parent[root] != root:
            root = int(parent[root])
        while parent[i] != root:
            parent[i], i = root, int(parent[i])
        return root

    for ids in line_of:
        first: dict[int, int] = {}
        for cell, line in enumerate(ids.tolist()):
            if line in first:
                a, b = find(cell), find(first[line])
                if a != b:
                    parent[a] = b
            else:
                first[line] = cell
    return np.array([find(i) for i in range(n)], dtype=np.intp)


def exposed_cells(suppressed: BoolArray) -> tuple[BoolArray, bool, int]:
    """Suppressed cells whose value the published cells and all line totals determine.

    Returns the exposed mask, whether every component was small enough to audit exactly,
    and the size of the largest component. Unaudited components are reported, not guessed.
    """
    shape = suppressed.shape
    axes = _active_axes(shape)
    exposed = np.zeros_like(suppressed)
    coords = np.nonzero(suppressed)
    n = len(coords[0])
    if n == 0:
        return exposed, True, 0
    if not axes:  # a single-cell table: its only margin is the cell itself
        return exposed, True, 1
    line_of = [_line_ids(shape, coords, axis) for axis in axes]
    labels = _components(line_of, n)
    complete = True
    largest = 0
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        largest = max(largest, len(members))
        if len(members) > MAX_AUDIT_CELLS:
            complete = False
            continue
        rows: list[npt.NDArray[np.float64]] = []
        for ids in line_of:
            local = ids[members]
            for line in np.unique(local):
                rows.append((local == line).astype(np.float64))
        matrix = np.vstack(rows)
        _, sing, vt = np.linalg.svd(matrix, full_matrices=True)
        rank = int((sing > _TOL * max(1.0, float(sing[0]))).sum())
        null = vt[rank:]
        determined = (
            np.all(np.abs(null) < 1e-7, axis=0)
            if len(null)
            else np.ones(len(members), dtype=np.bool_)
        )
        for m in members[determined]:
            exposed[tuple(c[m] for c in coords)] = True
    return exposed, complete, largest


def _complement_for(
    cell: tuple[int, ...], suppressed: BoolArray, cost: FloatArray
) -> tuple[int, ...] | None:
    """The cheapest unsuppressed cell on any line through ``cell``."""
    best: tuple[float, tuple[int, ...]] | None = None
    for axis in _active_axes(suppressed.shape):
        index = list(cell)
        for j in range(suppressed.shape[axis]):
            index[axis] = j
            t = tuple(index)
            if not suppressed[t]:
                c = float(cost[t])
                if best is None or (c, t) < best:
                    best = (c, t)
    return None if best is None else best[1]


def suppress(primary: BoolArray, cost: FloatArray, *, secondary: bool = True) -> SuppressionResult:
    """Primary mask plus complementary suppressions so that no suppressed cell is exposed."""
    if primary.shape != cost.shape:
        raise PrivacyError("primary mask and cost grid must have the same shape")
    primary = np.asarray(primary, dtype=np.bool_)
    suppressed = primary.copy()
    if not suppressed.any():
        return SuppressionResult(primary, np.zeros_like(primary), True, 0)
    if not secondary:  # no audit: cells may be recoverable from the margins
        return SuppressionResult(primary, np.zeros_like(primary), False, 0)
    cost = np.asarray(cost, dtype=np.float64)
    axes = _active_axes(primary.shape)
    for _ in range(primary.size + 1):
        _line_rule(suppressed, cost, axes)
        exposed, complete, largest = exposed_cells(suppressed)
        if not exposed.any():
            return SuppressionResult(primary, suppressed & ~primary, complete, largest)
        added = False
        for cell in zip(*np.nonzero(exposed), strict=True):
            pick = _complement_for(tuple(int(i) for i in cell), suppressed, cost)
            if pick is not None:
                suppressed[pick] = True
                added = True
        if not added:  # every line through the exposed cells is already suppressed
            break
    raise PrivacyError(
        "secondary suppression could not protect every suppressed cell; "
        "coarsen the grouping (fewer categories) and check again"
    )
