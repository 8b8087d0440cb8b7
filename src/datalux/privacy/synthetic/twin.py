"""A twin with its reports: hold out real rows, fit on the rest, measure fidelity and privacy.

:func:`make_twin` is what the CLI and the platform call. It keeps a random share of the real
rows out of the fit (``holdout``: 10 %, at most 5,000 rows, none below 200 rows) so that the
privacy report can compare how close the twin comes to rows it learnt from and to rows it
never saw (distance to closest record, a membership-inference attack); the fit then uses the
other rows. Dates are compared as day numbers in the reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from datalux.privacy.disclosure.budget import BudgetStore
from datalux.privacy.errors import InputError
from datalux.privacy.synthetic import DEFAULT_DELTA, Domain, Twin, synthesise
from datalux.privacy.synthetic import report as reports

HOLDOUT_SHARE = 0.1
HOLDOUT_MAX = 5_000
HOLDOUT_MIN_ROWS = 200


@dataclass(frozen=True)
class TwinWithReport:
    twin: Twin
    report: dict[str, Any]


def split_holdout(
    frame: pd.DataFrame, *, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """``(train, holdout)``: the holdout is ``None`` for small tables."""
    if len(frame) < HOLDOUT_MIN_ROWS:
        return frame, None
    size = min(HOLDOUT_MAX, int(len(frame) * HOLDOUT_SHARE))
    order = np.random.default_rng(seed).permutation(len(frame))
    return frame.iloc[order[size:]].reset_index(drop=True), frame.iloc[order[:size]].reset_index(
        drop=True
    )


def _for_report(frame: pd.DataFrame, domain: Domain) -> pd.DataFrame:
    out = frame[domain.names].copy()
    for col in domain.columns:
        if col.kind == "date":
            stamps = pd.to_datetime(out[col.name], errors="coerce")
            out[col.name] = (stamps - pd.Timestamp("1970-01-01")).dt.days.astype("float64")
        elif col.kind == "categorical":
            out[col.name] = out[col.name].astype(object).where(out[col.name].notna(), None)
            out[col.name] = out[col.name].map(lambda v: None if v is None else str(v))
        else:
            out[col.name] = pd.to_numeric(out[col.name], errors="coerce").astype("float64")
    return out


def build_report(
    twin: Twin,
    train: pd.DataFrame,
    holdout: pd.DataFrame | None,
    *,
    target: str | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    domain = twin.model.domain
    if target is not None and target not in domain.names:
        raise InputError(f"--target {target!r} is not one of the synthesised columns")
    categorical = [c.name for c in domain.columns if c.kind == "categorical"]
    numeric = [c.name for c in domain.columns if c.kind != "categorical"]
    bins = {c.name: c.bin_edges().tolist() for c in domain.columns if c.kind != "categorical"}
    ranges = {name: (edges[0], edges[-1]) for name, edges in bins.items()}
    real, synthetic = _for_report(train, domain), _for_report(twin.frame, domain)
    if target is not None and target in numeric:
        raise InputError(f"--target {target!r} must be a categorical column (a class to predict)")
    fid = reports.fidelity(
        real, synthetic, categorical=categorical, numeric=numeric, bins=bins, target=target,
        seed=seed,
    )  # fmt: skip
    priv = reports.privacy(
        real, synthetic, holdout=None if holdout is None else _for_report(holdout, domain),
        categorical=categorical, numeric=numeric, ranges=ranges, epsilon=twin.spend.epsilon,
        delta=twin.spend.delta, seed=seed,
    )  # fmt: skip
    meta = {**twin.meta(), "holdout_rows": 0 if holdout is None else len(holdout)}
    return {"version": 1, "meta": meta, "fidelity": fid, "privacy": priv}


def make_twin(
    frame: pd.DataFrame,
    domain: Domain,
    *,
    epsilon: float,
    delta: float = DEFAULT_DELTA,
    rows: int | None = None,
    seed: int | None = None,
    budget: BudgetStore | None = None,
    label: str = "synthetic twin",
    target: str | None = None,
    out_of_domain: Literal["error", "missing"] = "error",
) -> TwinWithReport:
    """Hold out, fit on the rest (charging ``budget``), sample, report."""
    train, holdout = split_holdout(frame, seed=seed or 0)
    twin = synthesise(
        train, domain, epsilon=epsilon, delta=delta, rows=rows, seed=seed, budget=budget,
        label=label, out_of_domain=out_of_domain, scale=len(frame) / len(train),
    )  # fmt: skip
    return TwinWithReport(twin, build_report(twin, train, holdout, target=target, seed=seed or 0))
