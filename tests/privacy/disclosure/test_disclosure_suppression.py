"""Secondary suppression: no suppressed cell can be recovered from published cells + margins.

Two attackers, written here independently of the library:
* ``subtraction_attack`` solves every row/column total that has one unknown, repeatedly;
* ``linear_attack`` finds every unknown fixed by any combination of the totals (rank test).
"""

from __future__ import annotations

import numpy as np

from datalux.privacy.disclosure import exposed_cells, suppress


def subtraction_attack(values: np.ndarray, hidden: np.ndarray) -> set[tuple[int, ...]]:
    known = ~hidden
    recovered: set[tuple[int, ...]] = set()
    progress = True
    while progress:
        progress = False
        for axis in range(values.ndim):
            if values.shape[axis] == 1:
                continue
            for line in np.ndindex(*np.delete(values.shape, axis)):
                idx = [(*line[:axis], j, *line[axis:]) for j in range(values.shape[axis])]
                unknown = [i for i in idx if not known[i]]
                if len(unknown) == 1:
                    known[unknown[0]] = True
                    recovered.add(unknown[0])
                    progress = True
    return recovered


def linear_attack(hidden: np.ndarray) -> set[tuple[int, ...]]:
    cells = [tuple(int(c) for c in i) for i in zip(*np.nonzero(hidden), strict=True)]
    rows = []
    for axis in range(hidden.ndim):
        if hidden.shape[axis] == 1:
            continue
        for line in np.ndindex(*np.delete(hidden.shape, axis)):
            key = list(line)
            rows.append([float(c[:axis] + c[axis + 1 :] == tuple(key)) for c in cells])
    a = np.array(rows)
    rank = np.linalg.matrix_rank(a)
    found = set()
    for j, cell in enumerate(cells):
        unit = np.zeros(len(cells))
        unit[j] = 1.0
        if np.linalg.matrix_rank(np.vstack([a, unit])) == rank:
            found.add(cell)
    return found


def test_single_primary_cell_gets_complements_in_its_row_and_column() -> None:
    counts = np.array([[3, 20, 30], [25, 40, 50], [35, 45, 60]])
    primary = counts < 10
    result = suppress(primary, counts.astype(float))
    hidden = result.suppressed
    # The cell needs a box (a rectangle of suppressed cells). Partner (row r, column c) costs
    # counts[r,0] + counts[0,c] + counts[r,c]: (1,1) 25+20+40=85, (1,2) 25+30+50=105,
    # (2,1) 35+20+45=100, (2,2) 35+30+60=125 -> rows {0,1} x columns {0,1}.
    assert {tuple(map(int, c)) for c in zip(*np.nonzero(hidden), strict=True)} == {
        (0, 0),
        (0, 1),
        (1, 0),
        (1, 1),
    }
    assert subtraction_attack(counts, hidden) == set()
    assert linear_attack(hidden) == set()


def test_primary_only_is_recoverable_by_subtraction() -> None:
    counts = np.array([[3, 20], [25, 40]])
    hidden = counts < 10
    assert subtraction_attack(counts, hidden) == {(0, 0)}
    result = suppress(hidden, counts.astype(float))
    assert subtraction_attack(counts, result.suppressed) == set()
    assert result.suppressed.all()  # a 2x2 table protects one cell only by hiding all four


def test_bridge_cell_is_exposed_by_combining_lines() -> None:
    # Two suppressed rectangles joined by (0, 4): every row and column has >= 2 unknowns,
    # yet rows 0+1 minus columns 0+1 isolate (0, 4).
    hidden = np.zeros((4, 6), dtype=bool)
    for cell in [(0, 0), (0, 1), (1, 0), (1, 1), (2, 4), (2, 5), (3, 4), (3, 5), (0, 4)]:
        hidden[cell] = True
    values = np.arange(24).reshape(4, 6) + 10
    assert subtraction_attack(values, hidden) == set()
    assert linear_attack(hidden) == {(0, 4)}
    exposed, complete, _ = exposed_cells(hidden)
    assert complete
    assert {tuple(map(int, c)) for c in zip(*np.nonzero(exposed), strict=True)} == {(0, 4)}
    # suppress() must add complements until the bridge is no longer determined
    result = suppress(hidden, values.astype(float))
    assert linear_attack(result.suppressed) == set()
    assert (result.suppressed & hidden).sum() == hidden.sum()


def test_random_tables_resist_both_attacks() -> None:
    rng = np.random.default_rng(3)
    for _ in range(25):
        shape = tuple(int(s) for s in rng.integers(2, 6, size=int(rng.integers(2, 4))))
        counts = rng.integers(0, 40, size=shape)
        primary = counts < 8
        result = suppress(primary, counts.astype(float))
        hidden = result.suppressed
        assert (hidden >= primary).all()
        assert subtraction_attack(counts, hidden) == set()
        assert linear_attack(hidden) == set()


def test_nothing_to_suppress() -> None:
    counts = np.full((3, 3), 50)
    result = suppress(counts < 10, counts.astype(float))
    assert not result.suppressed.any() and result.audit_complete


def test_one_dimensional_table_hides_two_cells() -> None:
    counts = np.array([4, 30, 12, 50])
    result = suppress(counts < 10, counts.astype(float))
    # The total is published: the cheapest other cell (12) is hidden with the 4.
    assert result.suppressed.tolist() == [True, False, True, False]


def test_three_dimensional_primary_gets_a_cube() -> None:
    # In 3-D a rectangle is not enough (lines along the third axis would expose it): the
    # smallest protecting pattern is a 2x2x2 cube, eight cells.
    counts = np.full((3, 3, 3), 50)
    counts[1, 1, 1] = 2
    result = suppress(counts < 10, counts.astype(float))
    assert result.suppressed.sum() == 8
    assert linear_attack(result.suppressed) == set()
    rectangle = np.zeros_like(result.suppressed)
    rectangle[1, 1, 1] = rectangle[0, 1, 1] = rectangle[1, 0, 1] = rectangle[0, 0, 1] = True
    assert linear_attack(rectangle) == {(1, 1, 1), (0, 1, 1), (1, 0, 1), (0, 0, 1)}


def test_empty_cells_are_a_last_resort() -> None:
    # Row 0 = [3, 0, 40], row 1 = [30, 0, 50]: the empty column would be the cheapest
    # complement, but a known 0 gives the reader a bound, so column 2 is used.
    counts = np.array([[3, 0, 40], [30, 0, 50]])
    result = suppress(counts == 3, counts.astype(float), empty=counts == 0)
    assert result.suppressed.tolist() == [[True, False, True], [True, False, True]]
