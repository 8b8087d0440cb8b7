"""check_table end to end on small microdata and precomputed tables."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from datalux.privacy.disclosure import Rounding, RuleSet, check_table
from datalux.privacy.errors import InputError


def microdata(cells: dict[tuple[str, str], list[float]]) -> pa.Table:
    g, h, v = [], [], []
    for (a, b), values in cells.items():
        g += [a] * len(values)
        h += [b] * len(values)
        v += values
    return pa.table({"g": g, "h": h, "v": v})


CELLS = {
    ("a", "x"): [95.0, 3.0, 2.0],  # fails threshold, nk and p%
    ("a", "y"): [10.0] * 12,
    ("b", "x"): [5.0] * 15,
    ("b", "y"): [7.0] * 20,
    ("c", "x"): [3.0] * 11,
    ("c", "y"): [4.0] * 13,
}


def by_key(result: object, column: str) -> dict[tuple[str, str], object]:
    t = result.table  # type: ignore[attr-defined]
    return {(r["g"], r["h"]): r[column] for r in t.to_pylist()}


def test_magnitude_table_suppresses_and_reports() -> None:
    result = check_table(microdata(CELLS), ["g", "h"], value="v")
    report = result.report()
    cells = {(c["key"]["g"], c["key"]["h"]): c for c in report["cells"]}
    assert cells[("a", "x")]["status"] == "primary"
    assert set(cells[("a", "x")]["failed"]) == {"threshold", "nk_dominance", "p_percent"}
    # Row a and column x each hold one primary: complements are needed in both.
    assert cells[("a", "y")]["status"] == "secondary"
    hidden = {k for k, c in cells.items() if c["status"] != "published"}
    assert sum(1 for k in hidden if k[0] == "a") != 1
    assert sum(1 for k in hidden if k[1] == "x") != 1
    sums = by_key(result, "sum")
    counts = by_key(result, "count")
    for key in hidden:
        assert sums[key] is None and counts[key] is None
    assert sums[("b", "y")] == pytest.approx(140.0) and counts[("b", "y")] == 20
    # The report never carries cell values.
    assert "95" not in str(report["cells"])


def test_frequency_table_threshold_and_rounding() -> None:
    result = check_table(
        microdata(CELLS), ["g", "h"], rules=RuleSet(threshold=12), rounding=Rounding(5)
    )
    counts = by_key(result, "count")
    # Counts 3, 12, 15, 20, 11, 13: cells a-x (3) and c-x (11) fail threshold 12; the
    # column x then has two unknowns but rows a and c one each: complements a-y and c-y.
    assert counts[("a", "x")] is None and counts[("c", "x")] is None
    assert counts[("a", "y")] is None and counts[("c", "y")] is None
    assert counts[("b", "x")] == 15 and counts[("b", "y")] == 20  # multiples of 5 stay
    assert "sum" not in result.table.column_names


def test_unit_column_sums_rows_per_contributor() -> None:
    # 30 rows but only 3 enterprises in the cell: threshold counts units, not rows.
    t = pa.table({"g": ["a"] * 30, "firm": [i % 3 for i in range(30)], "v": [1.0] * 30})
    rows = check_table(t, ["g"], value="v")
    units = check_table(t, ["g"], value="v", unit="firm")
    assert rows.status == ["published"]
    assert units.status == ["primary"] and "threshold" in units.failed[0]


def test_empty_cells_follow_zeros_rule() -> None:
    cells = {("a", "x"): [1.0] * 20, ("a", "y"): [1.0] * 20, ("b", "x"): [1.0] * 20}
    strict = check_table(microdata(cells), ["g", "h"])
    assert len(strict.status) == 4  # b-y exists in the grid with count 0
    assert strict.status[3] == "primary"
    relaxed = check_table(microdata(cells), ["g", "h"], rules=RuleSet(zeros_disclosive=False))
    assert by_key(relaxed, "count")[("b", "y")] == 0
    assert relaxed.status == ["published"] * 4


def test_precomputed_count_table() -> None:
    t = pa.table({"g": ["a", "a", "b"], "h": ["x", "y", "x"], "n": [4, 30, 50]})
    result = check_table(t, ["g", "h"], count_column="n", rules=RuleSet(zeros_disclosive=False))
    assert result.status[0] == "primary"  # a-x: 4 < 10


def test_mean_statistic() -> None:
    result = check_table(microdata(CELLS), ["g", "h"], value="v", stats=["mean"])
    assert result.table.column_names == ["g", "h", "mean"]
    assert by_key(result, "mean")[("b", "y")] == pytest.approx(7.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"by": ["nope"]}, "unknown grouping column"),
        ({"by": ["g"], "value": "h"}, "must be numeric"),
        ({"by": ["g"], "value": "missing"}, "unknown value column"),
        ({"by": []}, "no grouping column"),
        ({"by": ["g", "g"]}, "named twice"),
        ({"by": ["g"], "value": "v", "stats": ["median"]}, "unknown statistic"),
    ],
)
def test_bad_input_is_named(kwargs: dict[str, object], message: str) -> None:
    by = kwargs.pop("by")
    with pytest.raises(InputError, match=message):
        check_table(microdata(CELLS), by, **kwargs)  # type: ignore[arg-type]


def test_missing_values_are_refused() -> None:
    t = pa.table({"g": ["a", "b"], "v": pa.array([1.0, None])})
    with pytest.raises(InputError, match="1 missing value"):
        check_table(t, ["g"], value="v")
    t = pa.table({"g": ["a", "b"], "v": [1.0, np.nan]})
    with pytest.raises(InputError, match="NaN"):
        check_table(t, ["g"], value="v")
