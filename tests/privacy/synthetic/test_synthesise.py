"""The synthesiser: budget, domain, seeded sampling, accounting and that relations survive."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from datalux.privacy.disclosure.budget import BudgetExceededError, LedgerFile, MemoryBudget
from datalux.privacy.errors import InputError
from datalux.privacy.synthetic import (
    MECHANISM,
    Column,
    Domain,
    column_from_dictionary,
    delta_for,
    fit_model,
    rho_for,
    synthesise,
)
from datalux.privacy.synthetic import model as model_module
from datalux.privacy.synthetic.twin import make_twin, split_holdout


def _people(rows: int = 3000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    region = rng.choice(["north", "centre", "south"], rows, p=[0.5, 0.3, 0.2])
    # a strong relation: the sector follows the region
    sector = np.where(
        region == "north", "industry", np.where(region == "centre", "finance", "farm")
    )
    flip = rng.random(rows) < 0.1
    sector[flip] = rng.choice(["industry", "finance", "farm"], int(flip.sum()))
    age = rng.integers(18, 80, rows)
    born = pd.to_datetime("1940-01-01") + pd.to_timedelta(rng.integers(0, 365 * 60, rows), unit="D")
    return pd.DataFrame({"region": region, "sector": sector, "age": age, "born": born.date})


def _domain() -> Domain:
    return Domain(
        (
            Column("region", categories=("north", "centre", "south", "east")),
            Column("sector", categories=("industry", "finance", "farm")),
            Column("age", "numeric", lower=0, upper=105, bins=21, integer=True),
            Column("born", "date", lower="1940-01-01", upper="1999-12-31"),
        )
    )


def _tvd(a: pd.Series, b: pd.Series) -> float:
    p, q = a.value_counts(normalize=True), b.value_counts(normalize=True)
    p, q = p.align(q, fill_value=0)
    return float(0.5 * (p - q).abs().sum())


# --- budget ------------------------------------------------------------------------------
def test_the_budget_is_charged_with_the_twin_s_epsilon_and_delta() -> None:
    budget = MemoryBudget("P-1", epsilon=3.0, delta=1e-6)
    twin = synthesise(_people(), _domain(), epsilon=1.0, delta=1e-8, budget=budget, seed=1)
    spends = budget.state().spends
    assert len(spends) == 1
    assert (spends[0].epsilon, spends[0].delta) == (1.0, 1e-8)
    assert spends[0].mechanism == MECHANISM
    assert twin.spend == spends[0]
    assert budget.state().epsilon_remaining == pytest.approx(2.0)


def test_an_exhausted_budget_refuses_before_any_noise_is_drawn(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    ledger = LedgerFile.create(tmp_path / "budget.jsonl", project="P-1", epsilon=1.5, delta=1e-6)
    synthesise(_people(), _domain(), epsilon=1.0, budget=ledger)

    def no_fit(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model was fitted although the budget refused")

    monkeypatch.setattr("datalux.privacy.synthetic.fit", no_fit)
    with pytest.raises(BudgetExceededError, match=r"only 0\.5 of 1\.5 is left"):
        synthesise(_people(), _domain(), epsilon=1.0, budget=ledger)
    assert len(ledger.state().spends) == 1


def test_bad_input_fails_before_the_budget_is_charged() -> None:
    budget = MemoryBudget("P-1", epsilon=3.0, delta=1e-6)
    frame = _people()
    frame.loc[3, "region"] = "atlantis"
    with pytest.raises(InputError, match=r"'region': 1 value\(s\) not in its code list") as err:
        synthesise(frame, _domain(), epsilon=1.0, budget=budget)
    assert "atlantis" not in str(err.value)  # the message never echoes the data
    assert budget.state().spends == ()


# --- the domain ----------------------------------------------------------------------------
def test_no_value_outside_the_dictionary_s_domain_appears() -> None:
    frame = _people()
    frame.loc[0, "age"] = 130  # out of the dictionary's range: clamped, never reproduced
    twin = synthesise(frame, _domain(), epsilon=2.0, seed=4)
    out = twin.frame
    assert set(out["region"].dropna()) <= {"north", "centre", "south", "east"}
    assert set(out["sector"].dropna()) <= {"industry", "finance", "farm"}
    ages = out["age"].dropna().astype(int)
    assert ages.between(0, 105).all()
    days = pd.Series([d for d in out["born"] if d is not None])
    assert days.map(lambda d: date(1940, 1, 1) <= d <= date(1999, 12, 31)).all()


def test_codes_are_never_learnt_from_the_data() -> None:
    """A code the dictionary lists but nobody has may appear (noise); none from elsewhere."""
    twin = synthesise(_people(), _domain(), epsilon=50.0, seed=5)
    assert set(twin.frame["region"].dropna()) <= set(_domain().column("region").categories)


def test_a_not_nullable_column_with_missing_values_is_refused() -> None:
    frame = _people()
    frame.loc[1, "sector"] = None
    domain = Domain(
        (Column("region", categories=("north", "centre", "south")),
         Column("sector", categories=("industry", "finance", "farm"), nullable=False))
    )  # fmt: skip
    with pytest.raises(InputError, match="declared not nullable"):
        synthesise(frame[["region", "sector"]], domain, epsilon=1.0)


def test_out_of_domain_values_may_be_treated_as_missing() -> None:
    frame = _people()
    frame.loc[:9, "region"] = "atlantis"
    twin = synthesise(frame, _domain(), epsilon=1.0, out_of_domain="missing", seed=1)
    assert "atlantis" not in set(twin.frame["region"].dropna())


def test_numeric_and_date_bins_come_from_the_dictionary() -> None:
    age = Column("age", "numeric", lower=0, upper=9, bins=20, integer=True)
    assert age.bin_edges().tolist() == list(range(11))  # one bin per whole number
    money = Column("income", "numeric", lower=0, upper=100, bins=4, nullable=False)
    assert money.bin_edges().tolist() == [0, 25, 50, 75, 100]
    assert money.size == 4
    months = Column("day", "date", lower="2020-01-15", upper="2020-03-10")
    assert months.size == 3 + 1  # January (from the 15th), February, March (to the 10th), missing
    years = Column("day", "date", lower="1900-01-01", upper="2020-12-31")
    assert years.size == 121 + 1


def test_a_column_needs_its_range_or_code_list() -> None:
    with pytest.raises(InputError, match="lower and upper bounds from the dictionary"):
        Column("age", "numeric")
    with pytest.raises(InputError, match="code list"):
        Column("sex")
    with pytest.raises(InputError, match="free text cannot be synthesised"):
        column_from_dictionary("name", "string")
    assert column_from_dictionary("n", "integer", low=0, high=9).integer
    assert column_from_dictionary("flag", "boolean").categories == (True, False)


# --- sampling ------------------------------------------------------------------------------
def test_sampling_is_reproducible_with_a_seed() -> None:
    model, _ = fit_model(_people(), _domain(), epsilon=1.0)
    first = model.sample(500, seed=11)
    again = model.sample(500, seed=11)
    other = model.sample(500, seed=12)
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)
    assert len(first) == 500


def test_the_default_row_count_is_a_noisy_estimate_not_the_real_count() -> None:
    model, _ = fit_model(_people(3000), _domain(), epsilon=1.0)
    assert abs(model.estimated_rows - 3000) < 300


def test_a_relation_between_columns_survives_and_independence_is_not_invented() -> None:
    real = _people(5000)
    twin = synthesise(real, _domain(), epsilon=3.0, seed=2)
    syn = twin.frame
    joint_real = real["region"] + "/" + real["sector"]
    joint_syn = syn["region"].astype(str) + "/" + syn["sector"].astype(str)
    shuffled = real["region"] + "/" + real["sector"].sample(frac=1, random_state=3).to_numpy()
    assert _tvd(joint_real, joint_syn) < 0.05
    assert _tvd(joint_real, shuffled) > 0.3  # what losing the relation would cost


def test_the_fit_spends_exactly_the_rho_it_was_granted() -> None:
    model, _ = fit_model(_people(), _domain(), epsilon=1.0, delta=1e-9)
    assert model.tree.rho_spent == pytest.approx(rho_for(1.0, 1e-9), rel=1e-6)


def test_the_fit_refuses_to_spend_more_than_granted(monkeypatch: pytest.MonkeyPatch) -> None:
    real = model_module._Accountant.pay

    def greedy(self: model_module._Accountant, cost: float) -> None:
        real(self, cost * 2)

    monkeypatch.setattr(model_module._Accountant, "pay", greedy)
    with pytest.raises(Exception, match="overspent its budget"):
        fit_model(_people(), _domain(), epsilon=1.0)


# --- accounting ----------------------------------------------------------------------------
def test_the_zcdp_conversion_matches_opendp() -> None:
    import opendp.prelude as dp

    dp.enable_features("contrib")
    meas = dp.m.make_gaussian(
        dp.atom_domain(T=float, nan=False), dp.absolute_distance(T=float), 8.0
    )
    approx = dp.c.make_fix_delta(dp.c.make_zCDP_to_approxDP(meas), 1e-9)
    eps_opendp = approx.map(1.0)[0]
    rho = float(meas.map(1.0))
    assert delta_for(rho, eps_opendp) == pytest.approx(1e-9, rel=1e-3)
    assert rho_for(eps_opendp, 1e-9) == pytest.approx(rho, rel=1e-4)


def test_the_conversion_beats_the_classic_bound() -> None:
    rho = rho_for(1.0, 1e-9)
    classic = rho + 2 * math.sqrt(rho * math.log(1e9))
    assert classic > 1.0  # the classic formula would give a larger epsilon for this rho


@pytest.mark.parametrize(
    ("epsilon", "delta"), [(0, 1e-9), (-1, 1e-9), (1, 0), (1, 1), (math.inf, 1e-9)]
)
def test_bad_privacy_parameters_are_refused(epsilon: float, delta: float) -> None:
    with pytest.raises(InputError):
        rho_for(epsilon, delta)


# --- the twin with its report -----------------------------------------------------------
def test_the_holdout_is_kept_out_of_the_fit() -> None:
    frame = _people(1000)
    train, holdout = split_holdout(frame, seed=0)
    assert holdout is not None and len(holdout) == 100 and len(train) == 900
    assert split_holdout(frame.head(150))[1] is None


def test_make_twin_reports_fidelity_privacy_and_what_it_spent() -> None:
    budget = MemoryBudget("P-1", epsilon=2.0, delta=1e-6)
    result = make_twin(
        _people(2000), _domain(), epsilon=1.0, budget=budget, seed=3, target="sector"
    )
    rep = result.report
    assert rep["meta"]["epsilon"] == 1.0 and rep["meta"]["holdout_rows"] == 200
    assert rep["privacy"]["epsilon"] == 1.0
    assert 0 < rep["fidelity"]["tvd_2way_mean"] < 0.3  # 60 yearly date bins on 1,800 rows
    assert rep["fidelity"]["utility"]["target"] == "sector"
    assert rep["privacy"]["membership_inference"]["passed"] is True
    assert abs(len(result.twin.frame) - 2000) < 250
    assert len(budget.state().spends) == 1
