"""Primary and secondary (complementary) cell suppression on k-dimensional tables.

The table is a dense grid (one axis per grouping column). Threat model: every published cell
and every margin total along each axis (row and column totals in 2-D, all line totals in k-D;
lower-dimensional margins are sums of these) are known to the reader. A suppressed cell is
**exposed** when those equations fix its value: by one subtraction (it is the only suppressed
cell on a line) or by combining lines (e.g. a "bridge" cell between two suppressed
rectangles in 2-D, which no single line gives away).

Method: the **hypercube method** (Repsilber's GHMITER, as in tau-Argus), see ADR 0005.
Each primary cell, largest first, is put on a *box*: 2 levels on every axis with more than one
level, so 2^k corners, all suppressed. The box with the smallest cost of newly suppressed
corners is chosen (cost = cell value + 1, so fewer and smaller cells win; empty cells only as a
last resort, as a 0 gives the reader a bound). Why it is safe: give the corners alternating
signs +t/-t; every line through the box holds exactly two corners of opposite sign, every
other line none, so every published total stays the same for any t. Hence no suppressed
cell — primary or complement — is determined by the published cells and margins, by
subtraction or any linear combination.

:func:`exposed_cells` is an independent exact audit (null space of the line equations per
connected component, by SVD); :func:`suppress` re-runs it as a check when the components are
small enough (``MAX_AUDIT_CELLS``). Interval (bounds) attacks using non-negativity are not
covered: the box only guarantees the value is not determined exactly.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from datalux.privacy.errors import PrivacyError

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

#: Largest connected group of suppressed cells the exact audit solves (SVD cost grows as n^3).
MAX_AUDIT_CELLS = 3000
_TOL = 1e-9
#: Cost of using an empty cell as a complement (a last resort).
_EMPTY_COST = 1e15


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


def _box_cost(free: FloatArray, cell: tuple[int, ...], axes: list[int]) -> FloatArray:
    """Cost of the box spanned by ``cell`` and each partner (one level per active axis).

    ``free`` is the cost of suppressing each cell (0 where already suppressed). Partners equal
    to the cell's own level on an axis would not make a box and get an infinite cost.
    """
    pshape = tuple(free.shape[a] for a in axes)
    total = np.zeros(pshape, dtype=np.float64)
    for subset in itertools.product((False, True), repeat=len(axes)):
        index: list[int | slice] = list(cell)
        for a, use in zip(axes, subset, strict=True):
            if use:
                index[a] = slice(None)
        part = free[tuple(index)]
        expand = tuple(slice(None) if use else np.newaxis for use in subset)
        total = total + part[expand]
    for d, a in enumerate(axes):
        sel: list[int | slice] = [slice(None)] * len(axes)
        sel[d] = cell[a]
        total[tuple(sel)] = np.inf
    return total


def _corners(
    cell: tuple[int, ...], partner: tuple[int, ...], axes: list[int]
) -> list[tuple[int, ...]]:
    out = []
    for subset in itertools.product((False, True), repeat=len(axes)):
        index = list(cell)
        for d, (a, use) in enumerate(zip(axes, subset, strict=True)):
            if use:
                index[a] = partner[d]
        out.append(tuple(index))
    return out


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
        if matrix.shape[0] < matrix.shape[1]:  # zero rows keep the null space, give all of V
            pad = np.zeros((matrix.shape[1] - matrix.shape[0], matrix.shape[1]))
            matrix = np.vstack([matrix, pad])
        _, sing, vt = np.linalg.svd(matrix, full_matrices=False)
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


def suppress(
    primary: BoolArray,
    cost: FloatArray,
    *,
    secondary: bool = True,
    empty: BoolArray | None = None,
) -> SuppressionResult:
    """Primary mask plus complementary suppressions so that no suppressed cell is determined.

    ``cost`` is each cell's information loss if suppressed (its count or total); ``empty``
    marks cells with no contributor, used as complements only when nothing else makes a box.
    """
    if primary.shape != cost.shape:
        raise PrivacyError("primary mask and cost grid must have the same shape")
    primary = np.asarray(primary, dtype=np.bool_)
    if not primary.any():
        return SuppressionResult(primary, np.zeros_like(primary), True, 0)
    if not secondary:  # no complements: cells may be recoverable from the margins
        return SuppressionResult(primary, np.zeros_like(primary), False, 0)
    axes = _active_axes(primary.shape)
    if not axes:
        return SuppressionResult(primary, np.zeros_like(primary), True, 1)
    weight = np.abs(np.asarray(cost, dtype=np.float64)) + 1.0
    if empty is not None:
        weight = np.where(empty, _EMPTY_COST, weight)
    suppressed = primary.copy()
    order = np.argsort(-weight[primary], kind="stable")
    cells = np.argwhere(primary)[order]
    free = np.where(suppressed, 0.0, weight)  # cost of suppressing each cell now
    for c in cells:
        cell = tuple(int(i) for i in c)
        costs = _box_cost(free, cell, axes)
        best = int(np.argmin(costs))
        if not np.isfinite(costs.flat[best]):
            raise PrivacyError(
                "secondary suppression found no complementary cells for a suppressed cell; "
                "coarsen the grouping (fewer categories) and check again"
            )
        partner = tuple(int(i) for i in np.unravel_index(best, costs.shape))
        for corner in _corners(cell, partner, axes):
            suppressed[corner] = True
            free[corner] = 0.0
    complete, largest = False, 0
    if int(suppressed.sum()) <= MAX_AUDIT_CELLS:
        exposed, complete, largest = exposed_cells(suppressed)
        if exposed.any():  # cannot happen for boxes; refuse rather than publish
            raise PrivacyError("internal check failed: a suppressed cell is still determined")
    return SuppressionResult(primary, suppressed & ~primary, complete, largest)
