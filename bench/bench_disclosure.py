"""Disclosure checks on microdata grouped by 3 columns: datalux vs a pandas groupby.

The baseline computes the same per-cell statistics in pandas (size, sum, two largest values
via a sort and cumcount, which beats ``groupby().nlargest``) and applies the same rule
formulas in numpy. Correctness: both must flag exactly the same cells. Rows:

1. primary rules only (threshold 10, (2, 0.9), p=0.1) — like for like;
2. the full check (primary + secondary suppression with the exact audit + output table),
   against the same primary-only pandas baseline: datalux does more work here;
3. a DP bounded sum through OpenDP against numpy's exact clip+sum (the cost of the proof).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pyarrow as pa

from bench import Row
from datalux.privacy.disclosure import RuleSet, check_table, prepare

KEYS = ["region", "sector", "size"]


def _data(n: int, regions: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)

    def skewed(k: int) -> np.ndarray:
        p = 1.0 / np.arange(1, k + 1) ** 0.8
        return rng.choice(k, size=n, p=p / p.sum()).astype(np.int32)

    return pa.table(
        {
            "region": skewed(regions),
            "sector": skewed(20),
            "size": skewed(10),
            "turnover": rng.lognormal(8.0, 1.5, n),
        }
    )


def _pandas_primary(df: pd.DataFrame, rules: RuleSet) -> pd.Series:
    g = df.groupby(KEYS, sort=True, observed=True)["turnover"]
    agg = g.agg(["size", "sum", "max"])
    s = df.sort_values("turnover", ascending=False, kind="stable")
    rank = s.groupby(KEYS, observed=True).cumcount().to_numpy()
    top2 = s.loc[rank < 2].groupby(KEYS, observed=True)["turnover"].sum()
    total = agg["sum"].to_numpy()
    x1 = agg["max"].to_numpy()
    t2 = top2.reindex(agg.index).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        nk = np.where(total != 0, t2 / total, np.nan) >= 0.9
        pr = np.where(x1 != 0, (total - t2) / x1, np.nan) < 0.1
    fail = (agg["size"].to_numpy() < rules.threshold) | nk | pr
    return pd.Series(fail, index=agg.index)


def _timed(fn, repeat: int):  # type: ignore[no-untyped-def]
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def run(quick: bool) -> list[Row]:
    n = 1_000_000 if quick else 10_000_000
    repeat = 1 if quick else 2
    # about 100 rows per cell on average, skewed, so some cells are small or dominated
    regions = n // 20_000
    table = _data(n, regions)
    df = table.to_pandas()
    rules = RuleSet(zeros_disclosive=False)  # observed cells only, like the groupby
    label = f"{n / 1e6:g}M rows, {regions}x20x10 grid"

    t_base, base = _timed(lambda: _pandas_primary(df, rules), repeat)
    t_dl, checked = _timed(
        lambda: check_table(table, KEYS, value="turnover", rules=rules, secondary=False), repeat
    )
    # compare the flagged cells (observed cells only: count > 0)
    out = checked.table.to_pandas()
    status = pd.Series(
        [s == "primary" for s in checked.status], index=pd.MultiIndex.from_frame(out[KEYS])
    )
    counts = pd.Series(
        [c for c in checked.table.column("count").to_pylist()],
        index=status.index,
    )
    present = status.loc[base.index]
    agree = bool((present.to_numpy() == base.to_numpy()).all())
    empty_ok = bool(counts.drop(base.index).fillna(0).eq(0).all())
    n_fail = int(base.sum())
    quality = (
        f"{len(base)} cells, {n_fail} fail; same cells flagged: {'yes' if agree else 'NO'}"
        + ("" if empty_ok else "; extra non-empty cells!")
    )
    rows = [
        Row(
            f"primary rules, {label}",
            f"{t_dl:.2f} s",
            f"{t_base:.2f} s (pandas groupby)",
            t_base / t_dl,
            quality + ("; target met (>=1x)" if t_base / t_dl >= 1 and agree else ""),
        )
    ]

    t_full, full = _timed(lambda: check_table(table, KEYS, value="turnover", rules=rules), 1)
    rep = full.report()["summary"]
    rows.append(
        Row(
            f"primary+secondary+audit, {label}",
            f"{t_full:.2f} s",
            f"{t_base:.2f} s (pandas, primary only)",
            t_base / t_full,
            f"{rep['primary']} primary, {rep['secondary']} secondary (hypercube); "
            f"exact SVD re-audit ran: {rep['exact_audit_complete']}",
        )
    )

    values = table.column("turnover").to_numpy()
    prepared = prepare("sum", epsilon=1.0, bounds=(0.0, 10_000.0))
    t_np, exact = _timed(lambda: float(np.clip(values, 0.0, 10_000.0).sum()), repeat)
    t_dp, rel = _timed(lambda: prepared.draw(values), repeat)
    err = abs(rel.value - exact)
    rows.append(
        Row(
            f"DP bounded sum (OpenDP), {label}",
            f"{n / t_dp / 1e6:.1f}M values/s",
            f"{n / t_np / 1e6:.1f}M values/s (numpy clip+sum, not private)",
            t_np / t_dp,
            f"eps=1, scale={prepared.noise_scale:.0f}, |error|={err:.0f} "
            f"({err / max(exact, 1):.1e} relative)",
        )
    )
    return rows
