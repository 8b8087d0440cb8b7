"""Risk and utility metrics against hand-computed figures."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datalux.privacy.anonymisation import (
    Hierarchy,
    KAnonymity,
    anonymise,
    engine_k_anonymity,
    engine_reidentification_risk,
    reidentification_risk,
)
from datalux.privacy.anonymisation.grouping import Groups
from datalux.privacy.anonymisation.models import (
    ClassView,
    DistinctLDiversity,
    EntropyLDiversity,
    TCloseness,
)
from datalux.privacy.errors import InputError

# classes over (a, b): (x, 1) x3, (x, 2) x2, (y, 1) x1  -> sizes 3, 2, 1
TABLE = pa.table({"a": ["x", "x", "x", "x", "x", "y"], "b": ["1", "1", "1", "2", "2", "1"]})


def test_prosecutor_journalist_marketer_and_uniques() -> None:
    r = reidentification_risk(TABLE, ["a", "b"], threshold=0.4)
    assert (r.records, r.classes, r.smallest_class) == (6, 3, 1)
    assert r.prosecutor.highest == 1.0
    assert r.prosecutor.average == pytest.approx(3 / 6)  # sum over records of 1/f, / n
    assert r.prosecutor.records_at_risk == pytest.approx(3 / 6)  # risks 1 and 1/2 exceed 0.4
    assert r.journalist == r.prosecutor  # the data is the population
    assert r.marketer == pytest.approx(3 / 6)
    assert (r.sample_uniques, r.sample_uniques_share) == (1, pytest.approx(1 / 6))


def test_journalist_risk_with_a_sampling_fraction() -> None:
    r = reidentification_risk(TABLE, ["a", "b"], sampling_fraction=0.5, threshold=0.4)
    # population classes estimated at 6, 4, 2
    assert r.journalist.highest == pytest.approx(1 / 2)
    assert r.journalist.average == pytest.approx((3 / 6 + 2 / 4 + 1 / 2) / 6)
    assert r.journalist.records_at_risk == pytest.approx(1 / 6)
    assert r.marketer == pytest.approx((3 / 6 + 2 / 4 + 1 / 2) / 6)
    assert r.prosecutor.highest == 1.0


def test_risk_refuses_bad_input() -> None:
    with pytest.raises(InputError, match="unknown column 'c'"):
        reidentification_risk(TABLE, ["a", "c"])
    with pytest.raises(InputError, match="sampling fraction"):
        reidentification_risk(TABLE, ["a"], sampling_fraction=0)


def test_utility_metrics_by_hand() -> None:
    table = pa.table({"a": ["x", "x", "y", "y", "y", "z"], "b": ["1"] * 6})
    hierarchies = {
        "a": Hierarchy.from_rows([["x", "xy", "*"], ["y", "xy", "*"], ["z", "z", "*"]]),
        "b": Hierarchy.from_rows([["1", "*"], ["2", "*"]]),
    }
    result = anonymise(
        table,
        quasi_identifiers=["a", "b"],
        hierarchies=hierarchies,
        models=[KAnonymity(3)],
        max_suppression=1 / 6,
    )
    # unchanged data would need 3 suppressions (x x2, z x1); the optimum is a at level 1
    # ("xy" x5), b kept, the single z suppressed
    assert result.node == (1, 0)
    u = result.utility
    assert u.records_suppressed == 1
    # a: 5 cells "xy" lose (2-1)/(3-1) = 0.5, one suppressed cell loses 1; b: only the 1
    assert u.loss_per_attribute == {
        "a": pytest.approx((5 * 0.5 + 1) / 6),
        "b": pytest.approx(1 / 6),
    }
    assert u.loss == pytest.approx(((5 * 0.5 + 1) / 6 + 1 / 6) / 2)
    assert u.discernibility == 5**2 + 1 * 6
    assert u.granularity_per_attribute == {
        "a": pytest.approx((5 * 0.5 + 1) / 6),
        "b": pytest.approx(1 / 6),
    }
    assert (u.classes, u.average_class_size) == (1, 5.0)


def _view(classes: list[int], values: list[int], n_values: int) -> ClassView:
    index = np.array(classes)
    weights = np.ones(len(classes))
    sizes = np.bincount(index, minlength=max(classes) + 1).astype(float)
    overall = np.bincount(values, minlength=n_values) / len(values)
    return ClassView(
        Groups(index, sizes, int((sizes > 0).sum())), weights, np.array(values), n_values, overall
    )


def test_model_checks_per_class() -> None:
    # class 0: values 0,0,1 ; class 1: values 1,2 ; overall 0:2/5, 1:2/5, 2:1/5
    view = _view([0, 0, 0, 1, 1], [0, 0, 1, 1, 2], 3)
    assert DistinctLDiversity(2).satisfied(view).tolist() == [True, True]
    assert DistinctLDiversity(3).satisfied(view).tolist() == [False, False]
    h0 = -(2 / 3 * math.log(2 / 3) + 1 / 3 * math.log(1 / 3))
    assert EntropyLDiversity(math.exp(h0)).satisfied(view).tolist() == [True, True]
    assert EntropyLDiversity(math.exp(h0) + 0.01).satisfied(view).tolist() == [False, True]
    # equal distance: class 0 = 0.5 * (|2/3-2/5| + |1/3-2/5| + |0-1/5|) = 4/15
    # class 1 = 0.5 * (2/5 + |1/2-2/5| + |1/2-1/5|) = 2/5
    assert TCloseness(4 / 15, ordered=False).satisfied(view).tolist() == [True, False]
    # ordered distance (m = 3): class 0 cumulative diffs 2/3-2/5, 1-4/5 -> (4/15 + 1/5) / 2
    assert TCloseness(7 / 30, ordered=True).satisfied(view).tolist() == [True, False]
    assert TCloseness(7 / 30 - 0.01, ordered=True).satisfied(view).tolist() == [False, False]


def test_metrics_verified_on_released_adult(
    adult: pa.Table, adult_hierarchies: dict[str, Hierarchy], checker: Any
) -> None:
    from tests.privacy.anonymisation.conftest import ADULT_QIS

    result = anonymise(
        adult,
        quasi_identifiers=ADULT_QIS,
        hierarchies=adult_hierarchies,
        models=[KAnonymity(5)],
        max_suppression=0.01,
    )
    smallest = checker(result.table, ADULT_QIS).min_class_size()
    assert smallest >= 5
    assert result.risk_after.smallest_class == smallest
    assert result.risk_after.prosecutor.highest == pytest.approx(1 / smallest)
    assert result.risk_after.sample_uniques == 0
    assert result.risk_before.sample_uniques > 0


def test_risk_and_k_check_through_the_engine(
    engine: Any, small: pa.Table, small_hierarchies: dict[str, Hierarchy], tmp_path: Path
) -> None:
    result = anonymise(
        small,
        quasi_identifiers=["age", "zip", "sex"],
        hierarchies=small_hierarchies,
        models=[KAnonymity(4)],
        max_suppression=0.05,
    )
    for name, table in [("before", small), ("after", result.table)]:
        path = tmp_path / f"{name}.parquet"
        pq.write_table(table, path)
        engine.register_parquet(name, path)
    qis = ["age", "zip", "sex"]
    assert engine_reidentification_risk(engine, "before", qis) == result.risk_before
    assert engine_reidentification_risk(engine, "after", qis) == result.risk_after
    ok = engine_k_anonymity(engine, "after", qis, 4)
    assert ok.satisfied
    assert ok.observed["smallest_class"] == result.risk_after.smallest_class
    assert not engine_k_anonymity(engine, "before", qis, 2).satisfied
