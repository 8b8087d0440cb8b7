"""The fidelity and privacy reports of a synthetic twin (issue 14, item 2).

Plain library code (numpy, pandas, scikit-learn, Numba; no Django). Three functions:

* :func:`fidelity` — how close the synthetic table is to the real one: total-variation
  distance (TVD) of every 1-way and 2-way marginal, the association of every pair of columns on
  both sides, and (with ``target``) the accuracy of a classifier trained on synthetic data and
  tested on real data (TSTR) against one trained on real data (TRTR).
* :func:`privacy` — what the twin may disclose: the epsilon and delta spent and what they bound,
  the distance to closest record (DCR) and an empirical membership-inference check.
* :func:`write_report` — one JSON document holding both.

Every result is a plain dict of JSON types (floats rounded to 6 digits, ``None`` where a figure
is undefined); no row and no cell value of either table is ever copied into it, only counts,
shares, distances and scores (column names do appear).

Definitions
-----------
*Cells.* A categorical column's cells are its distinct values (a missing value is a value of
its own). A numeric column's cells are the bins given by ``bins[column]``: edges
``e0 < e1 < ... < ek`` (from the data dictionary, never from the data) make the bins
``[e0, e1), [e1, e2), ..., [e(k-1), ek]``, plus one *overflow* bin for every value below ``e0``
or above ``ek`` and one bin for missing values. The two sides must spell values alike (the
integer 1 and the float 1.0 are one value; the string "1" is another).

*TVD* of two distributions p and q over the same cells is ``0.5 * sum |p - q|``; a cell absent
from one side has probability 0 there. 0 = identical, 1 = disjoint.

*Associations*, per pair of columns, on each side, rows with a missing numeric value dropped:

* numeric-numeric: Pearson's correlation coefficient r (signed, -1..1), on the raw values;
* categorical-categorical: Cramér's V, ``sqrt(chi2 / (n * (min(r, c) - 1)))`` with r and c the
  numbers of distinct values seen in the pair's rows, *without* Bergsma's bias correction (0..1);
* numeric-categorical: the correlation ratio eta, ``sqrt(SS_between / SS_total)`` of the numeric
  values grouped by the categorical value (0..1).

A constant column (or a pair with fewer than two rows) has association 0: nothing varies with
it. The report gives both sides and their absolute difference, and the mean of the differences.

*Utility* (``target``, a categorical column): the real rows are split at random (seeded) into
70 % *train* and 30 % *test*. The same classifier (scikit-learn's histogram gradient boosting,
categorical columns native, seeded) is trained once on the synthetic rows (TSTR) and once on the
real train part (TRTR); both are scored (accuracy) on the real test part. ``ratio`` is
TSTR / TRTR; ``majority`` is the accuracy on the test part of always answering the real train
part's most frequent class, the floor a useless model reaches.

*Distance* between two records, for DCR and the attack: the number of categorical columns
whose values differ (missing equals missing) plus, per numeric column, ``|x - y| / (hi - lo)``
with ``(lo, hi) = ranges[column]`` from the dictionary and both values clipped into it first
(a missing value is at distance 1 from any number, 0 from another missing value). Each column
thus adds at most 1.

*DCR*: for each synthetic row, its distance to the closest training row; reported as the share
of exact copies (distance 0), the 5th percentile (linear interpolation), the median and the
mean. With a ``holdout`` (real rows of the same population that the synthesiser never saw),
the same figures for holdout rows against the training rows are the baseline: a twin that
does not copy its training rows is no closer to them than fresh real rows are.

*Membership-inference check* (with ``holdout``): the attacker scores a real record by minus its
distance to the closest synthetic row (close = "it was in the training data"). ``n`` training
rows and ``n`` holdout rows are drawn (seeded, ``n`` the smaller of both sizes and
``max_rows``); the report gives the attack's ROC AUC (0.5 = no better than chance) and its
true-positive rate at a false-positive rate of 0.1 (the ROC curve linearly interpolated, i.e.
a test that randomises between tied scores). ``passed`` holds when the AUC is
below :data:`AUC_THRESHOLD` and that TPR is within the DP bound at FPR 0.1 plus two standard
errors of the estimate (see ``tpr_limit``).

*DP bound.* An (epsilon, delta)-DP release bounds every membership test on one record: at
false-positive rate f its true-positive rate is at most
``min(1, e^eps * f + delta, 1 - e^-eps * (1 - delta - f))`` (Kairouz, Oh & Viswanath 2015; the
last term, the same inequality read for the complementary test, only binds at large epsilon,
and where it does not the bound is ``min(1, e^eps * f + delta)``). The largest advantage
(TPR - FPR) of any attack is ``(e^eps - 1 + 2 delta) / (e^eps + 1)``.

Sizes: nearest neighbours are searched exhaustively by a compiled, multi-threaded kernel that
stops each comparison as soon as it cannot beat the best so far, on at most ``max_rows`` rows
per table (seeded sample). With a sample of the training rows a DCR is measured to the closest
*sampled* row, so it can only overstate the distance; keep ``max_rows`` at or above the table
sizes for exact figures.

Report document (:func:`write_report`)::

    {"version": 1,
     "meta": {...},          # the caller's: method, epsilon, seed, input name, row counts...
     "fidelity": {...},      # fidelity()'s dict
     "privacy": {...}}       # privacy()'s dict

``fidelity``: ``rows`` {real, synthetic}; ``tvd_1way`` {column: tvd}; ``tvd_1way_mean``;
``tvd_2way`` [{columns: [a, b], tvd}]; ``tvd_2way_mean``; ``tvd_2way_max``; ``correlations``
[{columns: [a, b], measure: "pearson" | "cramers_v" | "eta", real, synthetic, abs_diff}];
``correlations_mean_abs_diff``; ``utility`` (``None`` without a target) {target, classifier,
test_rows, tstr, trtr, ratio, majority}.

``privacy``: ``epsilon``; ``delta``; ``dp_bound`` {max_tpr: {"0.01": x, "0.1": y},
max_advantage}; ``rows`` {train, synthetic, holdout}; ``dcr`` {distance, synthetic_to_train:
{rows, exact_copy_share, p05, median, mean}, holdout_to_train: same or ``None``};
``membership_inference`` (``None`` without a holdout) {attack, rows_per_side, auc,
tpr_at_fpr_0_1, tpr_limit, auc_threshold, passed}.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from datalux.privacy.errors import InputError

__all__ = [
    "AUC_THRESHOLD",
    "REPORT_VERSION",
    "dp_max_advantage",
    "dp_max_tpr",
    "fidelity",
    "privacy",
    "write_report",
]

REPORT_VERSION = 1
#: The membership-inference check fails at or above this ROC AUC (0.5 = chance).
AUC_THRESHOLD = 0.6
#: Share of the real rows held out to test both classifiers of the utility measure.
TEST_SHARE = 0.3
#: The FPRs at which the DP bound on a membership attack's TPR is reported.
BOUND_FPRS = (0.01, 0.1)
#: The FPR at which the empirical attack is compared with the DP bound.
ATTACK_FPR = 0.1
#: Default cap on the rows per table of the nearest-neighbour searches (seeded sample).
MAX_ROWS = 20_000
#: Histogram gradient boosting treats a categorical feature natively up to this many values.
_MAX_NATIVE_CATEGORIES = 255

Codes = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


def _r(x: float) -> float:
    return round(float(x), 6)


def _mean(values: Sequence[float]) -> float | None:
    return _r(sum(values) / len(values)) if values else None


# --------------------------------------------------------------------------- input checks


def _columns(
    frames: Mapping[str, pd.DataFrame | None],
    categorical: Sequence[str],
    numeric: Sequence[str],
) -> tuple[list[str], list[str]]:
    cat, num = list(categorical), list(numeric)
    if isinstance(categorical, str) or isinstance(numeric, str):
        raise InputError("categorical and numeric take lists of column names, e.g. ['sex', 'age']")
    if not cat and not num:
        raise InputError("no columns: name at least one categorical or numeric column")
    seen: set[str] = set()
    for name in [*cat, *num]:
        if name in seen:
            raise InputError(
                f"column {name!r} is listed twice: list each column once, as categorical "
                "or as numeric"
            )
        seen.add(name)
    for side, frame in frames.items():
        if frame is None:
            continue
        if not isinstance(frame, pd.DataFrame):
            raise InputError(f"the {side} table is not a pandas DataFrame: pass a DataFrame")
        if len(frame) == 0:
            raise InputError(f"the {side} table has no rows: give a table with data rows")
        missing = [c for c in [*cat, *num] if c not in frame.columns]
        if missing:
            raise InputError(
                f"the {side} table lacks column(s) {', '.join(map(repr, missing))}: "
                "both tables must have every column listed"
            )
    return cat, num


def _numeric_values(frame: pd.DataFrame, column: str, side: str) -> Floats:
    try:
        values = pd.to_numeric(frame[column], errors="raise")
    except (ValueError, TypeError):
        raise InputError(
            f"numeric column {column!r} of the {side} table holds non-numeric values: "
            "convert it to numbers or list it as categorical"
        ) from None
    return np.asarray(values, dtype=np.float64)


def _encode(*columns: pd.Series) -> list[Codes]:
    """Integer codes of categorical values over the union of the given columns (missing is a
    value of its own), so equal values get equal codes on every side."""
    lengths = [len(c) for c in columns]
    union = np.concatenate([c.astype(object).to_numpy() for c in columns])
    codes, _ = pd.factorize(union, use_na_sentinel=False)
    out = np.split(codes.astype(np.int64), np.cumsum(lengths)[:-1])
    return list(out)


def _edges(bins: Mapping[str, Sequence[float]] | None, column: str) -> Floats:
    if bins is None or column not in bins:
        raise InputError(
            f"numeric column {column!r} has no bins: give bins={{{column!r}: [edges...]}} "
            "from the data dictionary's range (never from the data)"
        )
    try:
        edges = np.asarray(bins[column], dtype=np.float64)
    except (ValueError, TypeError):
        raise InputError(f"the bins of {column!r} are not numbers: give increasing edges") from None
    if edges.ndim != 1 or edges.size < 2:
        raise InputError(f"the bins of {column!r} need at least two edges, e.g. [0, 50, 100]")
    if not np.all(np.isfinite(edges)) or not np.all(np.diff(edges) > 0):
        raise InputError(f"the bins of {column!r} must be finite and strictly increasing")
    return edges


def _bin(values: Floats, edges: Floats) -> Codes:
    """Bin index per value: 0..k-1 inside the edges (last bin closed), k outside them
    (overflow), k+1 missing."""
    k = edges.size - 1
    missing = np.isnan(values)
    idx = np.searchsorted(edges, np.where(missing, edges[0], values), side="right") - 1
    idx[values == edges[-1]] = k - 1
    idx[(idx < 0) | (idx >= k)] = k
    idx[missing] = k + 1
    return idx.astype(np.int64)


# --------------------------------------------------------------------------- fidelity


def _tvd(a: Codes, b: Codes) -> float:
    """TVD between the empirical distributions of two code arrays."""
    _, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
    cells = int(inverse.max()) + 1
    p = np.bincount(inverse[: a.size], minlength=cells) / a.size
    q = np.bincount(inverse[a.size :], minlength=cells) / b.size
    return 0.5 * float(np.abs(p - q).sum())


def _pair(a: Codes, b: Codes, width: int) -> Codes:
    return a * width + b


def _pearson(x: Floats, y: Floats) -> float:
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    if x.size < 2:
        return 0.0
    dx, dy = x - x.mean(), y - y.mean()
    denom = math.sqrt(float(dx @ dx) * float(dy @ dy))
    return float(dx @ dy) / denom if denom > 0 else 0.0


def _cramers_v(a: Codes, b: Codes) -> float:
    """Cramér's V without bias correction."""
    _, ia = np.unique(a, return_inverse=True)
    _, ib = np.unique(b, return_inverse=True)
    r, c = int(ia.max()) + 1, int(ib.max()) + 1
    k = min(r, c)
    if k < 2:
        return 0.0
    n = a.size
    table = np.bincount(ia * c + ib, minlength=r * c).reshape(r, c).astype(np.float64)
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return math.sqrt(max(0.0, chi2) / (n * (k - 1)))


def _eta(groups: Codes, x: Floats) -> float:
    """Correlation ratio of numeric x grouped by categorical codes."""
    keep = ~np.isnan(x)
    groups, x = groups[keep], x[keep]
    if x.size < 2:
        return 0.0
    _, g = np.unique(groups, return_inverse=True)
    total = float(((x - x.mean()) ** 2).sum())
    if total <= 0:
        return 0.0
    counts = np.bincount(g)
    means = np.bincount(g, weights=x) / counts
    between = float((counts * (means - x.mean()) ** 2).sum())
    return math.sqrt(min(1.0, between / total))


def fidelity(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    categorical: Sequence[str],
    numeric: Sequence[str] = (),
    bins: Mapping[str, Sequence[float]] | None = None,
    target: str | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Fidelity of ``synthetic`` to ``real`` (see the module docstring for every definition).

    ``categorical`` and ``numeric`` name the compared columns; each numeric column needs its
    bin edges in ``bins`` (from the data dictionary). With ``target`` (a categorical column)
    the TSTR/TRTR utility is measured too, seeded by ``seed``.
    """
    cat, num = _columns({"real": real, "synthetic": synthetic}, categorical, numeric)
    if target is not None and target not in cat:
        raise InputError(
            f"target {target!r} is not one of the categorical columns: list it in categorical"
        )
    binned: dict[str, tuple[Codes, Codes]] = {}
    raw: dict[str, tuple[Floats, Floats]] = {}
    for column in cat:
        real_codes, syn_codes = _encode(real[column], synthetic[column])
        binned[column] = (real_codes, syn_codes)
    for column in num:
        edges = _edges(bins, column)
        x = _numeric_values(real, column, "real")
        y = _numeric_values(synthetic, column, "synthetic")
        raw[column] = (x, y)
        binned[column] = (_bin(x, edges), _bin(y, edges))
    columns = [*cat, *num]

    tvd_1way = {c: _r(_tvd(*binned[c])) for c in columns}
    tvd_2way: list[dict[str, Any]] = []
    correlations: list[dict[str, Any]] = []
    for a, b in combinations(columns, 2):
        (ra, sa), (rb, sb) = binned[a], binned[b]
        width = int(max(rb.max(), sb.max())) + 1
        tvd = _tvd(_pair(ra, rb, width), _pair(sa, sb, width))
        tvd_2way.append({"columns": [a, b], "tvd": _r(tvd)})
        if a in raw and b in raw:
            measure = "pearson"
            real_v = _pearson(raw[a][0], raw[b][0])
            syn_v = _pearson(raw[a][1], raw[b][1])
        elif a in raw or b in raw:
            measure = "eta"
            n_col, c_col = (a, b) if a in raw else (b, a)
            real_v = _eta(binned[c_col][0], raw[n_col][0])
            syn_v = _eta(binned[c_col][1], raw[n_col][1])
        else:
            measure = "cramers_v"
            real_v, syn_v = _cramers_v(ra, rb), _cramers_v(sa, sb)
        correlations.append(
            {
                "columns": [a, b],
                "measure": measure,
                "real": _r(real_v),
                "synthetic": _r(syn_v),
                "abs_diff": _r(abs(real_v - syn_v)),
            }
        )
    two_way = [t["tvd"] for t in tvd_2way]
    return {
        "rows": {"real": len(real), "synthetic": len(synthetic)},
        "tvd_1way": tvd_1way,
        "tvd_1way_mean": _mean(list(tvd_1way.values())),
        "tvd_2way": tvd_2way,
        "tvd_2way_mean": _mean(two_way),
        "tvd_2way_max": _r(max(two_way)) if two_way else None,
        "correlations": correlations,
        "correlations_mean_abs_diff": _mean([c["abs_diff"] for c in correlations]),
        "utility": (
            _utility(real, synthetic, cat=cat, num=num, raw=raw, target=target, seed=seed)
            if target is not None
            else None
        ),
    }


def _utility(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    cat: list[str],
    num: list[str],
    raw: Mapping[str, tuple[Floats, Floats]],
    target: str,
    seed: int,
) -> dict[str, Any]:
    from sklearn.ensemble import HistGradientBoostingClassifier  # ~1 s to import: on use only

    features = [c for c in [*cat, *num] if c != target]
    if not features:
        raise InputError("utility needs at least one column besides the target")
    if len(real) < 10:
        raise InputError("utility needs at least 10 real rows to split into train and test")
    real_cols, syn_cols, native = [], [], []
    for column in features:
        if column in raw:
            x, y = raw[column]
            native.append(False)
        else:
            a, b = _encode(real[column], synthetic[column])
            x, y = a.astype(np.float64), b.astype(np.float64)
            native.append(int(max(a.max(), b.max())) < _MAX_NATIVE_CATEGORIES)
        real_cols.append(x)
        syn_cols.append(y)
    x_real, x_syn = np.column_stack(real_cols), np.column_stack(syn_cols)
    y_real, y_syn = _encode(real[target], synthetic[target])

    order = np.random.default_rng(seed).permutation(len(real))
    n_test = max(1, round(TEST_SHARE * len(real)))
    test, train = order[:n_test], order[n_test:]

    def accuracy(x: Floats, y: Codes) -> float:
        if np.unique(y).size < 2:
            predicted = np.full(n_test, y[0])
        else:
            model = HistGradientBoostingClassifier(
                categorical_features=np.array(native) if any(native) else None,
                random_state=seed,
            )
            model.fit(x, y)
            predicted = model.predict(x_real[test])
        return float(np.mean(predicted == y_real[test]))

    tstr = accuracy(x_syn, y_syn)
    trtr = accuracy(x_real[train], y_real[train])
    majority_class = np.bincount(y_real[train]).argmax()
    return {
        "target": target,
        "classifier": "HistGradientBoostingClassifier",
        "test_rows": int(n_test),
        "tstr": _r(tstr),
        "trtr": _r(trtr),
        "ratio": _r(tstr / trtr) if trtr > 0 else None,
        "majority": _r(float(np.mean(y_real[test] == majority_class))),
    }


# --------------------------------------------------------------------------- privacy


def dp_max_tpr(epsilon: float, delta: float, fpr: float) -> float:
    """The largest true-positive rate at false-positive rate ``fpr`` that any membership test
    on one record can reach against an (epsilon, delta)-DP release."""
    e = math.exp(epsilon)
    return max(0.0, min(1.0, e * fpr + delta, 1.0 - (1.0 - delta - fpr) / e))


def dp_max_advantage(epsilon: float, delta: float) -> float:
    """The largest TPR - FPR of any membership test against an (epsilon, delta)-DP release."""
    e = math.exp(epsilon)
    return min(1.0, (e - 1.0 + 2.0 * delta) / (e + 1.0))


def _compile_nearest() -> Any:
    import numba as nb

    @nb.njit(cache=True, nogil=True, boundscheck=False)
    def nearest(qc, qn, rc, rn, start, stop, out):  # type: ignore[no-untyped-def]
        n_ref, n_cat, n_num = rc.shape[0], rc.shape[1], rn.shape[1]
        for i in range(start, stop):
            best = np.inf
            for j in range(n_ref):
                d = 0.0
                for c in range(n_cat):
                    if qc[i, c] != rc[j, c]:
                        d += 1.0
                        if d >= best:
                            break
                if d >= best:
                    continue
                for c in range(n_num):
                    a = qn[i, c]
                    b = rn[j, c]
                    if np.isnan(a) or np.isnan(b):
                        if not (np.isnan(a) and np.isnan(b)):
                            d += 1.0
                    else:
                        d += abs(a - b)
                    if d >= best:
                        break
                if d < best:
                    best = d
                    if best == 0.0:
                        break
            out[i] = best

    return nearest


_kernel: list[Any] = []


def _nearest_distance(
    query: tuple[npt.NDArray[np.int32], Floats], ref: tuple[npt.NDArray[np.int32], Floats]
) -> Floats:
    """Distance of every query row to its closest reference row (exact, multi-threaded)."""
    if not _kernel:
        _kernel.append(_compile_nearest())
    nearest = _kernel[0]
    qc, qn = query
    rc, rn = ref
    n = qc.shape[0]
    out = np.empty(n, dtype=np.float64)
    chunk = max(1, -(-n // 64))
    bounds = [(s, min(n, s + chunk)) for s in range(0, n, chunk)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for f in [pool.submit(nearest, qc, qn, rc, rn, s, e, out) for s, e in bounds]:
            f.result()
    return out


def _sample(frame: pd.DataFrame, size: int, rng: np.random.Generator) -> pd.DataFrame:
    if len(frame) <= size:
        return frame
    return frame.iloc[np.sort(rng.choice(len(frame), size=size, replace=False))]


def _dcr_summary(d: Floats) -> dict[str, Any]:
    return {
        "rows": int(d.size),
        "exact_copy_share": _r(float(np.mean(d == 0.0))),
        "p05": _r(float(np.percentile(d, 5))),
        "median": _r(float(np.median(d))),
        "mean": _r(float(np.mean(d))),
    }


def _auc(members: Floats, others: Floats) -> float:
    """ROC AUC of scores (higher = member), ties counted half (Mann-Whitney U)."""
    from scipy.stats import rankdata

    ranks = rankdata(np.concatenate([members, others]))
    m, n = members.size, others.size
    return float((ranks[:m].sum() - m * (m + 1) / 2) / (m * n))


def _tpr_at_fpr(members: Floats, others: Floats, fpr: float) -> float:
    """TPR at false-positive rate ``fpr`` on the ROC curve of threshold tests (score >= t),
    linearly interpolated between its points (a test that randomises at the threshold, so tied
    scores do not hide the rate)."""
    thresholds = np.unique(np.concatenate([members, others]))[::-1]
    f = np.concatenate(
        [[0.0], 1.0 - np.searchsorted(np.sort(others), thresholds, side="left") / others.size]
    )
    t = np.concatenate(
        [[0.0], 1.0 - np.searchsorted(np.sort(members), thresholds, side="left") / members.size]
    )
    i = int(np.searchsorted(f, fpr, side="right")) - 1
    if i >= f.size - 1:
        return float(t[-1])
    return float(t[i] + (t[i + 1] - t[i]) * (fpr - f[i]) / (f[i + 1] - f[i]))


def privacy(
    train: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    holdout: pd.DataFrame | None,
    categorical: Sequence[str],
    numeric: Sequence[str] = (),
    ranges: Mapping[str, tuple[float, float]] | None = None,
    epsilon: float,
    delta: float,
    max_rows: int = MAX_ROWS,
    seed: int = 0,
) -> dict[str, Any]:
    """Privacy figures of ``synthetic``, fitted on ``train`` with (``epsilon``, ``delta``)-DP.

    ``holdout`` holds real rows the synthesiser never saw (``None`` when there are none: then
    no DCR baseline and no membership-inference check). Numeric columns need their dictionary
    range in ``ranges``. Each table is sampled down to ``max_rows`` rows (seeded by ``seed``).
    """
    frames = {"train": train, "synthetic": synthetic, "holdout": holdout}
    cat, num = _columns(frames, categorical, numeric)
    try:
        eps, dlt = float(epsilon), float(delta)
    except (TypeError, ValueError):
        raise InputError(
            "epsilon and delta must be numbers, e.g. epsilon=1.0, delta=1e-6"
        ) from None
    if not (math.isfinite(eps) and eps > 0):
        raise InputError(f"epsilon {epsilon!r} is not a positive finite number, e.g. 1.0")
    if not (0.0 <= dlt < 1.0):
        raise InputError(f"delta {delta!r} is not in [0, 1), e.g. 1e-6")
    if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1:
        raise InputError(f"max_rows {max_rows!r} is not a positive whole number, e.g. 20000")
    bounds: dict[str, tuple[float, float]] = {}
    for column in num:
        if ranges is None or column not in ranges:
            raise InputError(
                f"numeric column {column!r} has no range: give ranges={{{column!r}: (lo, hi)}} "
                "from the data dictionary"
            )
        try:
            lo, hi = (float(v) for v in ranges[column])
        except (TypeError, ValueError):
            raise InputError(f"the range of {column!r} must be two numbers (lo, hi)") from None
        if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
            raise InputError(f"the range of {column!r} must be finite with hi > lo")
        bounds[column] = (lo, hi)

    rng = np.random.default_rng(seed)
    train_s = _sample(train, max_rows, rng)
    syn_s = _sample(synthetic, max_rows, rng)
    n_attack = min(len(train), len(holdout), max_rows) if holdout is not None else 0
    members = _sample(train, n_attack, rng) if holdout is not None else None
    holdout_s = _sample(holdout, n_attack, rng) if holdout is not None else None
    parts = {
        name: f
        for name, f in {
            "train": train_s,
            "synthetic": syn_s,
            "members": members,
            "holdout": holdout_s,
        }.items()
        if f is not None
    }
    # Categorical columns that differ most often first, so comparisons stop sooner.
    cat_codes: dict[str, list[Codes]] = {c: _encode(*(f[c] for f in parts.values())) for c in cat}

    def mismatch_rate(codes: Codes) -> float:
        p = np.bincount(codes) / codes.size
        return 1.0 - float(p @ p)

    cat_order = sorted(cat, key=lambda c: -mismatch_rate(cat_codes[c][0]))
    encoded: dict[str, tuple[npt.NDArray[np.int32], Floats]] = {}
    for k, (name, frame) in enumerate(parts.items()):
        codes = np.ascontiguousarray(
            np.column_stack([cat_codes[c][k] for c in cat_order]).astype(np.int32)
            if cat
            else np.zeros((len(frame), 0), dtype=np.int32)
        )
        scaled = [
            (np.clip(_numeric_values(frame, c, name), *bounds[c]) - bounds[c][0])
            / (bounds[c][1] - bounds[c][0])
            for c in num
        ]
        values = np.ascontiguousarray(
            np.column_stack(scaled) if num else np.zeros((len(frame), 0)), dtype=np.float64
        )
        encoded[name] = (codes, values)

    dcr: dict[str, Any] = {
        "distance": "mismatching categorical columns + |x - y| / range per numeric column",
        "synthetic_to_train": _dcr_summary(
            _nearest_distance(encoded["synthetic"], encoded["train"])
        ),
        "holdout_to_train": None,
    }
    attack: dict[str, Any] | None = None
    if holdout is not None:
        dcr["holdout_to_train"] = _dcr_summary(
            _nearest_distance(encoded["holdout"], encoded["train"])
        )
        member_scores = -_nearest_distance(encoded["members"], encoded["synthetic"])
        other_scores = -_nearest_distance(encoded["holdout"], encoded["synthetic"])
        auc = _auc(member_scores, other_scores)
        tpr = _tpr_at_fpr(member_scores, other_scores, ATTACK_FPR)
        bound = dp_max_tpr(eps, dlt, ATTACK_FPR)
        # Two standard errors of the TPR estimate, and of the FPR one carried through the
        # bound's slope e^eps, so that sampling noise alone does not fail a DP twin.
        slack = 2.0 * math.sqrt(bound * (1.0 - bound) / n_attack) + 2.0 * math.exp(eps) * math.sqrt(
            ATTACK_FPR * (1.0 - ATTACK_FPR) / n_attack
        )
        limit = min(1.0, bound + slack)
        attack = {
            "attack": "minus the distance to the closest synthetic record",
            "rows_per_side": int(n_attack),
            "auc": _r(auc),
            "tpr_at_fpr_0_1": _r(tpr),
            "tpr_limit": _r(limit),
            "auc_threshold": AUC_THRESHOLD,
            "passed": bool(auc < AUC_THRESHOLD and tpr <= limit),
        }
    return {
        "epsilon": _r(eps),
        "delta": dlt if dlt < 1e-6 else _r(dlt),
        "dp_bound": {
            "max_tpr": {str(f): _r(dp_max_tpr(eps, dlt, f)) for f in BOUND_FPRS},
            "max_advantage": _r(dp_max_advantage(eps, dlt)),
        },
        "rows": {
            "train": len(train),
            "synthetic": len(synthetic),
            "holdout": len(holdout) if holdout is not None else None,
        },
        "dcr": dcr,
        "membership_inference": attack,
    }


# --------------------------------------------------------------------------- the document


def write_report(
    path: str | os.PathLike[str],
    *,
    fidelity: Mapping[str, Any],
    privacy: Mapping[str, Any],
    meta: Mapping[str, Any],
) -> None:
    """Write ``{"version": 1, "meta", "fidelity", "privacy"}`` to ``path`` as one JSON document
    (UTF-8, indented; replaced atomically so a reader never sees half a report)."""
    for name, part in (("fidelity", fidelity), ("privacy", privacy), ("meta", meta)):
        if not isinstance(part, Mapping):
            raise InputError(f"{name} must be a dict (e.g. the result of {name}())")
    document = {
        "version": REPORT_VERSION,
        "meta": dict(meta),
        "fidelity": dict(fidelity),
        "privacy": dict(privacy),
    }
    try:
        text = json.dumps(document, indent=2, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"the report holds a value JSON cannot represent ({type(exc).__name__}): "
            "give meta plain strings, numbers, booleans, lists and dicts"
        ) from None
    target = Path(path)
    if not target.parent.is_dir():
        raise InputError(f"the folder of the report {str(target)!r} does not exist: create it")
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
