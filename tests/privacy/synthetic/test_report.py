"""The synthetic twin's reports: every metric checked against a hand computation on a small
hand-made table (issue 14, item 2)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from datalux.privacy.errors import InputError
from datalux.privacy.synthetic import report
from datalux.privacy.synthetic.report import (
    dp_max_advantage,
    dp_max_tpr,
    fidelity,
    privacy,
    write_report,
)


def _pair(report_list: list[dict], a: str, b: str) -> dict:
    (item,) = [x for x in report_list if x["columns"] == [a, b]]
    return item


# ------------------------------------------------------------------------------- fidelity


def test_tvd_1way_of_two_four_row_tables() -> None:
    real = pd.DataFrame({"a": ["x", "x", "y", "z"]})
    synthetic = pd.DataFrame({"a": ["x", "y", "y", "w"]})
    # p = {x: .5, y: .25, z: .25}, q = {x: .25, y: .5, w: .25}; w absent from real counts 0.
    expected = 0.5 * (abs(0.5 - 0.25) + abs(0.25 - 0.5) + abs(0.25 - 0) + abs(0 - 0.25))
    result = fidelity(real, synthetic, categorical=["a"])
    assert result["tvd_1way"] == {"a": expected}
    assert result["tvd_1way_mean"] == expected == 0.5
    assert result["tvd_2way"] == []
    assert result["tvd_2way_mean"] is None
    assert result["utility"] is None


def test_tvd_2way_sees_a_lost_relation_that_the_marginals_do_not() -> None:
    real = pd.DataFrame({"a": ["x", "x", "y", "y"], "b": ["u", "v", "u", "v"]})
    synthetic = pd.DataFrame({"a": ["x", "x", "y", "y"], "b": ["u", "u", "v", "v"]})
    # real cells (x,u) (x,v) (y,u) (y,v) at .25 each; synthetic (x,u) .5 and (y,v) .5.
    expected = 0.5 * (abs(0.25 - 0.5) + abs(0.25 - 0) + abs(0.25 - 0) + abs(0.25 - 0.5))
    result = fidelity(real, synthetic, categorical=["a", "b"])
    assert result["tvd_1way"] == {"a": 0.0, "b": 0.0}
    assert result["tvd_2way"] == [{"columns": ["a", "b"], "tvd": expected}]
    assert result["tvd_2way_mean"] == result["tvd_2way_max"] == expected == 0.5
    # Cramér's V: independent on the real side, a perfect association on the synthetic side.
    corr = _pair(result["correlations"], "a", "b")
    assert corr == {
        "columns": ["a", "b"],
        "measure": "cramers_v",
        "real": 0.0,
        "synthetic": 1.0,
        "abs_diff": 1.0,
    }


def test_cramers_v_of_a_two_by_two_table_is_the_uncorrected_phi() -> None:
    # Counts [[3, 1], [1, 3]]: phi = |ad - bc| / sqrt((a+b)(c+d)(a+c)(b+d)) = 8 / 16.
    a = ["p"] * 4 + ["q"] * 4
    b = ["s", "s", "s", "t", "s", "t", "t", "t"]
    real = pd.DataFrame({"a": a, "b": b})
    synthetic = pd.DataFrame(
        {"a": a, "b": ["s", "s", "t", "t", "s", "s", "t", "t"]}
    )  # [[2,2],[2,2]]
    phi = abs(3 * 3 - 1 * 1) / math.sqrt(4 * 4 * 4 * 4)
    # The same from chi2: n = 8, expected 2 per cell, chi2 = 4 * (1^2 / 2) = 2, V = sqrt(2 / 8).
    assert phi == math.sqrt(2 / 8) == 0.5
    corr = _pair(fidelity(real, synthetic, categorical=["a", "b"])["correlations"], "a", "b")
    assert (corr["real"], corr["synthetic"], corr["abs_diff"]) == (0.5, 0.0, 0.5)


def test_pearson_and_correlation_ratio_by_hand() -> None:
    real = pd.DataFrame({"g": ["a", "a", "b", "b"], "x": [1, 3, 5, 7], "y": [2, 4, 6, 8]})
    synthetic = pd.DataFrame({"g": ["a", "b", "a", "b"], "x": [1, 3, 5, 7], "y": [8, 6, 4, 2]})
    result = fidelity(
        real,
        synthetic,
        categorical=["g"],
        numeric=["x", "y"],
        bins={"x": [0, 4, 8], "y": [0, 5, 10]},
    )
    xy = _pair(result["correlations"], "x", "y")
    assert (xy["measure"], xy["real"], xy["synthetic"], xy["abs_diff"]) == (
        "pearson",
        1.0,
        -1.0,
        2.0,
    )
    # eta of x by g, real: mean 4, SS_total = 9+1+1+9 = 20; group means 2 and 6,
    # SS_between = 2*(2-4)^2 + 2*(6-4)^2 = 16, eta = sqrt(16/20).
    # synthetic: groups {1, 5} and {3, 7}, means 3 and 5, SS_between = 2 + 2 = 4, eta = sqrt(4/20).
    gx = _pair(result["correlations"], "g", "x")
    assert gx["measure"] == "eta"
    assert gx["real"] == round(math.sqrt(16 / 20), 6)
    assert gx["synthetic"] == round(math.sqrt(4 / 20), 6)
    assert gx["abs_diff"] == round(math.sqrt(16 / 20) - math.sqrt(4 / 20), 6)
    diffs = [c["abs_diff"] for c in result["correlations"]]
    assert result["correlations_mean_abs_diff"] == round(sum(diffs) / 3, 6)


def test_numeric_columns_are_compared_on_the_given_edges_with_an_overflow_bin() -> None:
    bins = {"x": [0, 10, 20]}
    # real: 5 -> [0,10), 15 -> [10,20], 25 and -3 -> overflow; synthetic: one in [0,10), three in
    # [10,20]. p = (.25, .25, overflow .5), q = (.25, .75, 0).
    real = pd.DataFrame({"x": [5, 15, 25, -3]})
    synthetic = pd.DataFrame({"x": [5, 15, 15, 15]})
    expected = 0.5 * (0 + abs(0.25 - 0.75) + abs(0.5 - 0))
    result = fidelity(real, synthetic, categorical=[], numeric=["x"], bins=bins)
    assert result["tvd_1way"]["x"] == expected == 0.5  # clipping into the end bins would give 0.25
    # The last edge is in the last bin; values in one bin are alike whatever their exact value.
    same = fidelity(
        pd.DataFrame({"x": [20.0, 0.0]}),
        pd.DataFrame({"x": [10.0, 9.5]}),
        categorical=[],
        numeric=["x"],
        bins=bins,
    )
    assert same["tvd_1way"]["x"] == 0.0


def test_binning_puts_outside_values_in_the_overflow_bin_and_missing_in_its_own() -> None:
    codes = report._bin(np.array([-1, 0, 9.99, 10, 20, 20.01, np.nan]), np.array([0.0, 10, 20]))
    assert codes.tolist() == [2, 0, 0, 1, 1, 2, 3]


def test_utility_tstr_against_trtr_on_a_deterministic_target() -> None:
    rng = np.random.default_rng(3)
    n = 2000
    x = rng.integers(0, 10, n)
    real = pd.DataFrame(
        {
            "x": x,
            "noise": rng.choice(["a", "b", "c"], n),
            "y": np.where(x >= 7, "high", "low"),  # 30 % high: a floor of about 0.7
        }
    )
    shuffled = real.copy()
    shuffled["y"] = rng.permutation(real["y"].to_numpy())
    kwargs = {"categorical": ["noise", "y"], "numeric": ["x"], "bins": {"x": [0, 5, 10]}}

    faithful = fidelity(real, real.copy(), target="y", **kwargs)["utility"]
    assert faithful["trtr"] >= 0.99
    assert faithful["tstr"] >= 0.99
    assert faithful["ratio"] == pytest.approx(1.0, abs=0.01)
    assert faithful["test_rows"] == round(0.3 * n)

    broken = fidelity(real, shuffled, target="y", **kwargs)["utility"]
    assert broken["trtr"] == faithful["trtr"]  # same split, same real rows: seeded
    assert 0.6 <= broken["majority"] <= 0.8
    # Nothing links y to the features any more: the model can only learn the class shares.
    assert abs(broken["tstr"] - broken["majority"]) <= 0.03
    assert broken["ratio"] == round(broken["tstr"] / broken["trtr"], 6)


def test_fidelity_is_plain_json() -> None:
    real = pd.DataFrame({"a": list("xyxy" * 5), "n": range(20), "t": list("pq" * 10)})
    result = fidelity(
        real, real.sample(frac=1, random_state=1), categorical=["a", "t"], numeric=["n"],
        bins={"n": [0, 10, 20]}, target="t",
    )  # fmt: skip
    assert json.loads(json.dumps(result, allow_nan=False)) == result


# ------------------------------------------------------------------------------- privacy


def test_dp_bound_formula() -> None:
    eps, delta = 1.0, 1e-5
    assert dp_max_tpr(eps, delta, 0.1) == pytest.approx(math.e * 0.1 + delta)
    assert dp_max_tpr(eps, delta, 0.01) == pytest.approx(math.e * 0.01 + delta)
    # At a large epsilon the complementary inequality binds: 1 - e^-eps (1 - delta - fpr) < 1.
    assert dp_max_tpr(5.0, delta, 0.1) == pytest.approx(1 - math.exp(-5) * (1 - delta - 0.1))
    assert dp_max_tpr(50.0, 0.0, 0.1) == pytest.approx(1.0)
    assert dp_max_advantage(eps, delta) == pytest.approx((math.e - 1 + 2 * delta) / (math.e + 1))
    # The advantage is the bound's largest TPR - FPR.
    grid = np.linspace(0, 1, 100_001)
    best = max(dp_max_tpr(eps, delta, f) - f for f in grid)
    assert best == pytest.approx(dp_max_advantage(eps, delta), abs=1e-4)

    train = pd.DataFrame({"a": ["x", "y"]})
    result = privacy(train, train, holdout=None, categorical=["a"], epsilon=eps, delta=delta)
    assert result["epsilon"] == 1.0
    assert result["delta"] == 1e-5
    assert result["dp_bound"] == {
        "max_tpr": {"0.01": round(math.e * 0.01 + delta, 6), "0.1": round(math.e * 0.1 + delta, 6)},
        "max_advantage": round((math.e - 1 + 2 * delta) / (math.e + 1), 6),
    }


def test_an_exact_copy_has_dcr_zero_and_share_one() -> None:
    train = pd.DataFrame({"a": ["x", "y", "z"], "n": [1.0, 50.0, 99.0]})
    result = privacy(
        train, train.copy(), holdout=None, categorical=["a"], numeric=["n"],
        ranges={"n": (0, 100)}, epsilon=1, delta=0,
    )  # fmt: skip
    dcr = result["dcr"]["synthetic_to_train"]
    assert dcr == {"rows": 3, "exact_copy_share": 1.0, "p05": 0.0, "median": 0.0, "mean": 0.0}
    assert result["dcr"]["holdout_to_train"] is None
    assert result["membership_inference"] is None


def test_dcr_by_hand() -> None:
    train = pd.DataFrame({"a": ["x", "y"], "n": [0.0, 10.0]})
    # (x, 5): 0 mismatches + 5/100 to (x, 0). (z, 10): min(1 + 10/100, 1 + 0) = 1 to (y, 10).
    # (y, 250): clipped to 100 first, so 0 + 90/100 to (y, 10).
    synthetic = pd.DataFrame({"a": ["x", "z", "y"], "n": [5.0, 10.0, 250.0]})
    result = privacy(
        train, synthetic, holdout=None, categorical=["a"], numeric=["n"],
        ranges={"n": (0, 100)}, epsilon=1, delta=0,
    )  # fmt: skip
    d = sorted([0.05, 1.0, 0.9])
    assert result["dcr"]["synthetic_to_train"] == {
        "rows": 3,
        "exact_copy_share": 0.0,
        "p05": round(d[0] + 0.1 * (d[1] - d[0]), 6),  # linear interpolation at 5 %
        "median": 0.9,
        "mean": round(sum(d) / 3, 6),
    }


def test_nearest_distance_matches_a_brute_force_search() -> None:
    rng = np.random.default_rng(7)

    def table(n: int) -> pd.DataFrame:
        t = pd.DataFrame(
            {
                "a": rng.choice(["p", "q", "r"], n),
                "b": rng.choice(["s", "t"], n),
                "x": rng.uniform(-5, 15, n),
                "y": rng.uniform(0, 1, n),
            }
        )
        t.loc[rng.random(n) < 0.1, "x"] = np.nan
        t.loc[rng.random(n) < 0.1, "a"] = None
        return t

    train, synthetic = table(300), table(200)
    ranges = {"x": (0.0, 10.0), "y": (0.0, 1.0)}

    def dist(r: pd.Series, s: pd.Series) -> float:
        d = float(sum(not (r[c] == s[c] or (pd.isna(r[c]) and pd.isna(s[c]))) for c in "ab"))
        for c, (lo, hi) in ranges.items():
            u, v = r[c], s[c]
            if pd.isna(u) or pd.isna(v):
                d += 0.0 if pd.isna(u) and pd.isna(v) else 1.0
            else:
                d += abs(min(max(u, lo), hi) - min(max(v, lo), hi)) / (hi - lo)
        return d

    brute = np.array(
        [min(dist(t, s) for _, t in train.iterrows()) for _, s in synthetic.iterrows()]
    )
    result = privacy(
        train, synthetic, holdout=None, categorical=["a", "b"], numeric=["x", "y"],
        ranges=ranges, epsilon=1, delta=0,
    )  # fmt: skip
    dcr = result["dcr"]["synthetic_to_train"]
    assert dcr["mean"] == round(float(brute.mean()), 6)
    assert dcr["median"] == round(float(np.median(brute)), 6)
    assert dcr["p05"] == round(float(np.percentile(brute, 5)), 6)
    assert dcr["exact_copy_share"] == round(float(np.mean(brute == 0)), 6)


def test_membership_attack_wins_outright_when_synthetic_is_train() -> None:
    train = pd.DataFrame({"a": [f"t{i}" for i in range(50)], "n": np.linspace(0, 10, 50)})
    holdout = pd.DataFrame({"a": [f"h{i}" for i in range(30)], "n": np.linspace(90, 100, 30)})
    result = privacy(
        train, train.copy(), holdout=holdout, categorical=["a"], numeric=["n"],
        ranges={"n": (0, 100)}, epsilon=1, delta=1e-6, seed=5,
    )  # fmt: skip
    attack = result["membership_inference"]
    assert attack["rows_per_side"] == 30
    assert attack["auc"] == 1.0
    assert attack["tpr_at_fpr_0_1"] == 1.0
    assert attack["passed"] is False
    # The baseline: fresh real rows are far from the training rows, the "twin" is on them.
    assert result["dcr"]["synthetic_to_train"]["exact_copy_share"] == 1.0
    assert result["dcr"]["holdout_to_train"]["exact_copy_share"] == 0.0
    assert result["dcr"]["holdout_to_train"]["median"] > 1.0


def test_membership_attack_sees_nothing_when_train_and_holdout_are_alike() -> None:
    rng = np.random.default_rng(11)

    def table(n: int) -> pd.DataFrame:
        return pd.DataFrame({"a": rng.choice(list("pqrs"), n), "n": rng.uniform(0, 100, n)})

    result = privacy(
        table(2000), table(2000), holdout=table(2000), categorical=["a"], numeric=["n"],
        ranges={"n": (0, 100)}, epsilon=1, delta=1e-6,
    )  # fmt: skip
    attack = result["membership_inference"]
    assert abs(attack["auc"] - 0.5) < 0.05
    assert attack["tpr_at_fpr_0_1"] < attack["tpr_limit"]
    assert attack["passed"] is True


def test_tpr_at_fpr_interpolates_between_tied_scores() -> None:
    # All scores tied: the only threshold tests are "everyone" and "no one"; randomising
    # between them gives TPR = FPR.
    assert report._tpr_at_fpr(np.zeros(10), np.zeros(10), 0.1) == pytest.approx(0.1)
    # One holdout score of 10 is tied with every member: threshold 1 has FPR exactly 0.1.
    members, others = np.ones(4), np.array([1.0] + [0.0] * 9)
    assert report._tpr_at_fpr(members, others, 0.1) == 1.0
    assert report._auc(members, others) == pytest.approx((9 + 0.5) / 10)


def test_privacy_samples_down_to_max_rows_reproducibly() -> None:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"a": rng.choice(list("pqrstu"), 500), "n": rng.uniform(0, 10, 500)})
    kwargs = {
        "holdout": frame.iloc[400:],
        "categorical": ["a"],
        "numeric": ["n"],
        "ranges": {"n": (0, 10)},
        "epsilon": 2,
        "delta": 1e-7,
        "max_rows": 60,
    }
    first = privacy(frame.iloc[:400], frame.iloc[::-1], seed=4, **kwargs)
    assert first == privacy(frame.iloc[:400], frame.iloc[::-1], seed=4, **kwargs)
    assert first["dcr"]["synthetic_to_train"]["rows"] == 60
    assert first["membership_inference"]["rows_per_side"] == 60
    assert first["rows"] == {"train": 400, "synthetic": 500, "holdout": 100}
    assert json.loads(json.dumps(first, allow_nan=False)) == first


def test_reports_hold_aggregates_never_values() -> None:
    secret = "Ada-Lovelace-1815"
    train = pd.DataFrame({"name": [secret, "b", "c", "d"], "n": [1815.5, 2.0, 3.0, 4.0]})
    fid = fidelity(train, train, categorical=["name"], numeric=["n"], bins={"n": [0, 10, 2000]})
    priv = privacy(
        train, train, holdout=train, categorical=["name"], numeric=["n"],
        ranges={"n": (0, 2000)}, epsilon=1, delta=0,
    )  # fmt: skip
    text = json.dumps([fid, priv])
    assert secret not in text
    assert "1815.5" not in text


# ------------------------------------------------------------------------------- the document


def test_write_report_writes_one_versioned_json_document(tmp_path) -> None:
    train = pd.DataFrame({"a": ["x", "y"]})
    fid = fidelity(train, train, categorical=["a"])
    priv = privacy(train, train, holdout=None, categorical=["a"], epsilon=1, delta=0)
    folder = tmp_path / "out"
    folder.mkdir()
    path = folder / "report.json"
    write_report(path, fidelity=fid, privacy=priv, meta={"method": "test", "seed": 0})
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document == {
        "version": 1,
        "meta": {"method": "test", "seed": 0},
        "fidelity": fid,
        "privacy": priv,
    }
    assert [p.name for p in folder.iterdir()] == ["report.json"]  # no temporary file left


def test_write_report_refuses_what_json_cannot_hold(tmp_path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(InputError, match="JSON cannot represent"):
        write_report(folder / "r.json", fidelity={}, privacy={}, meta={"x": float("nan")})
    with pytest.raises(InputError, match="does not exist"):
        write_report(folder / "no" / "r.json", fidelity={}, privacy={}, meta={})
    assert list(folder.iterdir()) == []


# ------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda r, s: fidelity(r, s.drop(columns="b"), categorical=["a", "b"]),
            r"the synthetic table lacks column\(s\) 'b'",
        ),
        (
            lambda r, s: fidelity(r.iloc[:0], s, categorical=["a"]),
            "the real table has no rows",
        ),
        (
            lambda r, s: fidelity(r, s, categorical=["a"], numeric=["n"]),
            "numeric column 'n' has no bins: give bins=",
        ),
        (
            lambda r, s: fidelity(r, s, categorical=["a"], numeric=["n"], bins={"n": [5, 1]}),
            "strictly increasing",
        ),
        (
            lambda r, s: fidelity(r, s, categorical=["a"], numeric=["b"], bins={"b": [0, 1]}),
            "holds non-numeric values",
        ),
        (
            lambda r, s: fidelity(r, s, categorical=["a", "a"]),
            "listed twice",
        ),
        (
            lambda r, s: fidelity(r, s, categorical=["a"], target="b"),
            "target 'b' is not one of the categorical columns",
        ),
        (
            lambda r, s: fidelity(r, s, categorical=[]),
            "no columns",
        ),
        (
            lambda r, s: privacy(
                r, s, holdout=r.drop(columns="a"), categorical=["a"], epsilon=1, delta=0
            ),
            r"the holdout table lacks column\(s\) 'a'",
        ),
        (
            lambda r, s: privacy(
                r, s.iloc[:0], holdout=None, categorical=["a"], epsilon=1, delta=0
            ),
            "the synthetic table has no rows",
        ),
        (
            lambda r, s: privacy(
                r, s, holdout=None, categorical=["a"], numeric=["n"], epsilon=1, delta=0
            ),
            "numeric column 'n' has no range",
        ),
        (
            lambda r, s: privacy(r, s, holdout=None, categorical=["a"], epsilon=0, delta=0),
            "not a positive finite number",
        ),
        (
            lambda r, s: privacy(r, s, holdout=None, categorical=["a"], epsilon=1, delta=1),
            r"not in \[0, 1\)",
        ),
        (
            lambda r, s: privacy(
                r, s, holdout=None, categorical=["a"], epsilon=1, delta=0, max_rows=0
            ),
            "max_rows",
        ),
    ],
)
def test_bad_input_says_what_to_fix(call, message) -> None:
    real = pd.DataFrame({"a": ["x", "y", "z"], "b": ["u", "v", "w"], "n": [1.0, 2.0, 3.0]})
    with pytest.raises(InputError, match=message):
        call(real, real.copy())
