"""OpenDP releases: noise scale (computed by hand and measured over many draws), clamping,
privacy loss reported and charged, refusal when the budget is spent.

OpenDP draws from the OS CSPRNG and cannot be seeded, so the empirical checks are
statistical: 4,000 draws put the standard error of the measured scale near 2%, and the
tolerance of 10% (about 5 standard errors) still fails a scale off by sqrt(2) or 2.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from datalux.privacy.disclosure import (
    BudgetExceededError,
    MemoryBudget,
    dp_count,
    dp_mean,
    dp_sum,
    prepare,
)
from datalux.privacy.errors import InputError

DRAWS = 4000


def discrete_laplace_mean_abs(scale: float) -> float:
    # pmf proportional to exp(-|k|/scale) over the integers; E|X| by direct summation.
    k = np.arange(-2000, 2001)
    w = np.exp(-np.abs(k) / scale)
    return float((np.abs(k) * w).sum() / w.sum())


def discrete_gaussian_std(sigma: float) -> float:
    k = np.arange(-2000, 2001)
    w = np.exp(-(k**2) / (2 * sigma**2))
    return float(np.sqrt((k**2 * w).sum() / w.sum()))


def test_count_laplace_scale_is_one_over_epsilon_and_matches_draws() -> None:
    # A count changes by 1 when a person is added or removed: scale = 1 / epsilon = 2.
    prepared = prepare("count", epsilon=0.5)
    assert prepared.noise_scale == pytest.approx(2.0, rel=1e-6)
    assert prepared.epsilon == pytest.approx(0.5) and prepared.delta == 0.0
    data = np.zeros(50)
    noise = np.array([prepared.draw(data).value - 50 for _ in range(DRAWS)])
    assert np.all(noise == np.round(noise))  # integer noise on a count
    expected = discrete_laplace_mean_abs(2.0)
    assert np.abs(noise).mean() == pytest.approx(expected, rel=0.10)
    assert abs(noise.mean()) < 0.25  # centred


def test_max_contributions_scales_the_noise() -> None:
    # A person with up to 3 rows moves the count by 3: scale = 3 / 0.5 = 6.
    assert prepare("count", epsilon=0.5, max_contributions=3).noise_scale == pytest.approx(6.0)


def test_sum_scale_uses_clamping_bounds_and_clamps() -> None:
    # Adding/removing one value clamped into [0, 10] moves the sum by at most 10:
    # Laplace scale 10 / epsilon = 10 (OpenDP adds a tiny float-rounding margin).
    prepared = prepare("sum", epsilon=1.0, bounds=(0.0, 10.0))
    assert 10.0 <= prepared.noise_scale <= 10.001
    data = np.array([1000.0, -50.0, 5.0])  # clamped to 10 + 0 + 5 = 15
    values = np.array([prepared.draw(data).value for _ in range(DRAWS)])
    # Continuous Laplace: E|X - 15| = scale; the mean is 15 +- 3 standard errors (~0.7).
    assert abs(values.mean() - 15.0) < 1.0
    assert np.abs(values - 15.0).mean() == pytest.approx(prepared.noise_scale, rel=0.10)


def test_gaussian_count_std_matches_scale() -> None:
    prepared = prepare("count", epsilon=1.0, mechanism="gaussian", delta=1e-6)
    assert prepared.epsilon <= 1.0 + 1e-9 and prepared.delta == pytest.approx(1e-6)
    # Independent check of the calibration with the exact delta of a Gaussian of std sigma
    # and sensitivity 1 (Balle & Wang 2018): delta(eps) = Phi(1/(2s) - eps*s)
    # - e^eps * Phi(-1/(2s) - eps*s). OpenDP's sigma must be private enough (delta <= 1e-6)
    # and not wasteful: below the classic sqrt(2 ln(1.25/delta)) / eps.
    sigma = prepared.noise_scale

    def phi(x: float) -> float:
        return 0.5 * math.erfc(-x / math.sqrt(2))

    exact_delta = phi(1 / (2 * sigma) - sigma) - math.e * phi(-1 / (2 * sigma) - sigma)
    assert exact_delta <= 1e-6
    assert sigma < math.sqrt(2 * math.log(1.25 / 1e-6))
    data = np.zeros(10)
    noise = np.array([prepared.draw(data).value - 10 for _ in range(DRAWS)])
    assert noise.std() == pytest.approx(discrete_gaussian_std(prepared.noise_scale), rel=0.10)


def test_mean_splits_budget_and_stays_in_bounds() -> None:
    prepared = prepare("mean", epsilon=1.0, bounds=(0.0, 100.0))
    assert prepared.epsilon == pytest.approx(1.0)
    assert prepared.count_noise_scale == pytest.approx(2.0)  # half the budget on the count
    assert 200.0 <= prepared.noise_scale <= 200.01  # 100 / 0.5 on the sum
    data = np.full(20_000, 40.0)
    values = [prepared.draw(data).value for _ in range(200)]
    assert all(0.0 <= v <= 100.0 for v in values)
    assert np.mean(values) == pytest.approx(40.0, abs=0.5)


def test_sum_uses_every_row_past_a_million() -> None:
    # OpenDP's make_sum on data of unknown size keeps the first 2^20 rows only: 1.5M ones
    # would come out near 1,048,576. Scale is 1 / 20 = 0.05, so the answer is 1.5M +- 1.
    r = dp_sum(np.ones(1_500_000), epsilon=20.0, bounds=(0.0, 1.0))
    assert r.value == pytest.approx(1_500_000, abs=5.0)


def test_nulls_are_dropped() -> None:
    r = dp_sum(np.array([5.0, np.nan, 5.0]), epsilon=50.0, bounds=(0.0, 10.0))
    assert r.value == pytest.approx(10.0, abs=2.0)


def test_budget_is_charged_and_refuses() -> None:
    budget = MemoryBudget("p", epsilon=1.0)
    dp_count(np.zeros(5), epsilon=0.6, budget=budget, query="first")
    assert budget.state().epsilon_spent == pytest.approx(0.6)
    with pytest.raises(BudgetExceededError, match="exceeded"):
        dp_mean(np.zeros(5), epsilon=0.6, bounds=(0.0, 1.0), budget=budget)
    assert len(budget.state().spends) == 1  # nothing charged for the refused release


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"statistic": "sum", "epsilon": 1.0}, "clamping bounds"),
        ({"statistic": "sum", "epsilon": 1.0, "bounds": (5.0, 1.0)}, "lower < upper"),
        ({"statistic": "count", "epsilon": 0.0}, "epsilon must be"),
        ({"statistic": "count", "epsilon": 1.0, "mechanism": "gaussian"}, "needs 0 < delta"),
        ({"statistic": "count", "epsilon": 1.0, "delta": 1e-6}, "pure epsilon-DP"),
        ({"statistic": "median", "epsilon": 1.0}, "unknown statistic"),
    ],
)
def test_bad_parameters(kwargs: dict[str, object], message: str) -> None:
    statistic = kwargs.pop("statistic")
    with pytest.raises(InputError, match=message):
        prepare(statistic, **kwargs)  # type: ignore[arg-type]
