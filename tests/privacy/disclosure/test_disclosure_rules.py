"""Primary rules on hand-made cells; each expected verdict is worked out in the comments."""

from __future__ import annotations

import numpy as np
import pytest

from datalux.privacy.disclosure import CellStats, RuleError, RuleSet, evaluate
from datalux.privacy.disclosure.rules import NEGATIVE, NK_DOMINANCE, P_PERCENT, THRESHOLD


def verdicts(cells: list[list[float]], rules: RuleSet | None = None) -> dict[str, list[bool]]:
    rules = rules or RuleSet()
    stats = CellStats.from_contributions(cells, rules.top_needed)
    return {k: v.tolist() for k, v in evaluate(stats, rules).items()}


def test_dominated_cell_fails_p_percent_and_nk() -> None:
    # [95, 3, 2]: total 100. (2, 90%): top two 98/100 = 0.98 >= 0.90 -> fail.
    # p% (p=0.10): the rest beyond the two largest is 2, and 2/95 = 0.021 < 0.10 -> fail.
    # Threshold: 3 contributors < 10 -> fail.
    out = verdicts([[95, 3, 2]])
    assert out[NK_DOMINANCE] == [True]
    assert out[P_PERCENT] == [True]
    assert out[THRESHOLD] == [True]


def test_spread_cell_passes_dominance() -> None:
    # 20 contributors of 10: top two 20/200 = 0.10 < 0.90; rest 180/10 = 18 >= 0.10.
    out = verdicts([[10.0] * 20])
    assert out == {THRESHOLD: [False], NK_DOMINANCE: [False], P_PERCENT: [False], NEGATIVE: [False]}


def test_threshold_boundary() -> None:
    # 9 contributors fail a threshold of 10; 10 pass (ACRO: count < threshold fails).
    out = verdicts([[1.0] * 9, [1.0] * 10])
    assert out[THRESHOLD] == [True, False]


def test_nk_boundary_is_inclusive_like_acro() -> None:
    # [45, 45, 10]: top two 90/100 = 0.90 exactly -> fails (ratio >= k), like ACRO.
    # p%: (100 - 45 - 45)/45 = 0.22 >= 0.10 -> passes.
    out = verdicts([[45, 45, 10]], RuleSet(threshold=1))
    assert out[NK_DOMINANCE] == [True]
    assert out[P_PERCENT] == [False]


def test_p_percent_only_second_largest_matters() -> None:
    # [50, 45, 4, 1]: top two 95/100 >= 0.9 (nk fails); rest 5, 5/50 = 0.10 not < 0.10 (p passes).
    # [50, 46, 3, 1]: rest 4, 4/50 = 0.08 < 0.10 -> p fails.
    out = verdicts([[50, 45, 4, 1], [50, 46, 3, 1]], RuleSet(threshold=1))
    assert out[P_PERCENT] == [False, True]
    assert out[NK_DOMINANCE] == [True, True]


def test_nk_with_larger_n() -> None:
    # (3, 0.75): [30, 30, 20, 10, 10] top three 80/100 = 0.8 >= 0.75 -> fail;
    # [20]*5: top three 60/100 = 0.6 -> pass.
    rules = RuleSet(threshold=1, nk=(3, 0.75), p=None)
    out = verdicts([[30, 30, 20, 10, 10], [20] * 5], rules)
    assert out[NK_DOMINANCE] == [True, False]
    assert P_PERCENT not in out


def test_single_contributor_fails_both_dominance_rules() -> None:
    # One contributor is 100% of the cell, and the rest (0) is 0% of the largest.
    out = verdicts([[7.0]], RuleSet(threshold=1))
    assert out[NK_DOMINANCE] == [True] and out[P_PERCENT] == [True]


def test_all_zero_cell_is_not_dominated() -> None:
    out = verdicts([[0.0] * 12])
    assert out[NK_DOMINANCE] == [False] and out[P_PERCENT] == [False]


def test_negative_contribution_is_flagged() -> None:
    out = verdicts([[10.0] * 11 + [-1.0], [10.0] * 12])
    assert out[NEGATIVE] == [True, False]


def test_empty_cell_follows_zeros_disclosive() -> None:
    counts = CellStats.from_counts([0, 3, 12])
    assert evaluate(counts, RuleSet())[THRESHOLD].tolist() == [True, True, False]
    safe = RuleSet(zeros_disclosive=False)
    assert evaluate(counts, safe)[THRESHOLD].tolist() == [False, True, False]


def test_frequency_table_has_no_dominance_rules() -> None:
    assert set(evaluate(CellStats.from_counts(np.array([5, 50])), RuleSet())) == {THRESHOLD}


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"threshold": 0}, "threshold"),
        ({"p": 1.5}, "p must"),
        ({"nk": (0, 0.9)}, "n of the"),
        ({"nk": (2, 1.5)}, "k of the"),
    ],
)
def test_bad_parameters_are_named(kwargs: dict[str, object], word: str) -> None:
    with pytest.raises(RuleError, match=word):
        RuleSet(**kwargs)  # type: ignore[arg-type]
