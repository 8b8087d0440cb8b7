"""datalux.privacy.synthetic: differentially private synthetic twins of a table (no Django).

A synthetic twin keeps a table's global statistics and the relations between its columns
under a formal guarantee: (epsilon, delta)-differential privacy per row. Researchers explore
and write code on it before (or instead of) working on the real data.

    domain = Domain((Column("sex", categories=("F", "M")),
                     Column("age", "numeric", lower=0, upper=105, bins=21, integer=True)))
    twin = synthesise(frame, domain, epsilon=1.0, budget=ledger, seed=7)
    twin.frame        # the synthetic rows, values only from the domain
    twin.spend        # what was charged to the budget

The budget is charged **before** any noise is drawn (:class:`~datalux.privacy.disclosure.
BudgetExceededError` when exhausted); the fit's noise is never seeded (a known seed would let
anyone subtract it), only the sampling from the fitted model is: the same :class:`Model` and
seed give the same rows. The method is in :mod:`datalux.privacy.synthetic.model`, the
domain rules in :mod:`~datalux.privacy.synthetic.domain`, the reports (fidelity, privacy) in
:mod:`~datalux.privacy.synthetic.report`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from datalux.privacy.disclosure.budget import BudgetStore, Spend
from datalux.privacy.errors import InputError
from datalux.privacy.synthetic.accounting import delta_for, rho_for
from datalux.privacy.synthetic.domain import Column, Domain, domain_from_frame_categories
from datalux.privacy.synthetic.model import TreeModel, fit

__all__ = [
    "MECHANISM",
    "Column",
    "Domain",
    "Model",
    "Twin",
    "column_from_dictionary",
    "delta_for",
    "domain_from_frame_categories",
    "fit_model",
    "rho_for",
    "synthesise",
]

#: How a twin's spend is labelled in the budget ledger.
MECHANISM = "synthetic twin (tree + extra pairs, discrete Gaussian, zCDP)"
DEFAULT_DELTA = 1e-9


@dataclass(frozen=True)
class Model:
    """A fitted model: sample from it as often as needed (post-processing costs nothing)."""

    domain: Domain
    tree: TreeModel
    epsilon: float
    delta: float

    @property
    def estimated_rows(self) -> int:
        """The number of rows the noisy marginals suggest (not the real count)."""
        return max(1, round(self.tree.total))

    def pairs(self) -> list[list[str]]:
        """The column pairs the model measured (tree edges first) - part of the DP output."""
        names = self.domain.names
        measured = [*self.tree.edges, *self.tree.targets]
        return [[names[a], names[b]] for a, b in measured]

    def sample(self, rows: int | None = None, *, seed: int | None = None) -> pd.DataFrame:
        n = self.estimated_rows if rows is None else int(rows)
        if n < 1:
            raise InputError("the number of synthetic rows must be at least 1")
        rng = np.random.default_rng(seed)
        return self.domain.decode(self.tree.sample(n, rng), rng)


@dataclass(frozen=True)
class Twin:
    """A synthetic table with what it cost and how it was made."""

    frame: pd.DataFrame
    model: Model
    spend: Spend
    seed: int | None

    def meta(self) -> dict[str, Any]:
        return {
            "mechanism": MECHANISM,
            "epsilon": self.spend.epsilon,
            "delta": self.spend.delta,
            "rho": self.model.tree.rho_spent,
            "rows": len(self.frame),
            "columns": self.model.domain.names,
            "pairs": self.model.pairs(),
            "seed": self.seed,
            "privacy_unit": "one row",
        }


def fit_model(
    frame: pd.DataFrame,
    domain: Domain,
    *,
    epsilon: float,
    delta: float = DEFAULT_DELTA,
    budget: BudgetStore | None = None,
    label: str = "synthetic twin",
    out_of_domain: Literal["error", "missing"] = "error",
) -> tuple[Model, Spend]:
    """Fit a model under (``epsilon``, ``delta``)-DP, charging ``budget`` first."""
    rho = rho_for(epsilon, delta)
    codes = domain.encode(frame, out_of_domain=out_of_domain)  # bad input fails before spending
    spend = Spend(epsilon=float(epsilon), delta=float(delta), query=label, mechanism=MECHANISM)
    if budget is not None:
        budget.charge(spend)  # raises BudgetExceededError before any noise is drawn
    tree = fit(codes, domain.sizes, rho=rho)
    return Model(domain, tree, float(epsilon), float(delta)), spend


def synthesise(
    frame: pd.DataFrame,
    domain: Domain,
    *,
    epsilon: float,
    delta: float = DEFAULT_DELTA,
    rows: int | None = None,
    seed: int | None = None,
    budget: BudgetStore | None = None,
    label: str = "synthetic twin",
    out_of_domain: Literal["error", "missing"] = "error",
    scale: float = 1.0,
) -> Twin:
    """Fit and sample a twin of ``frame``; ``rows`` default: the noisy row estimate times
    ``scale`` (a caller that held rows out of the fit scales back to the whole table)."""
    if rows is not None and int(rows) < 1:
        raise InputError("the number of synthetic rows must be at least 1")
    model, spend = fit_model(
        frame, domain, epsilon=epsilon, delta=delta, budget=budget, label=label,
        out_of_domain=out_of_domain,
    )  # fmt: skip
    if rows is None:
        rows = max(1, round(model.tree.total * scale))
    return Twin(model.sample(rows, seed=seed), model, spend, seed)


def column_from_dictionary(
    name: str,
    type_: str,
    *,
    values: tuple[Any, ...] = (),
    low: Any = None,
    high: Any = None,
    bins: int | None = None,
    nullable: bool = True,
) -> Column:
    """A domain column from a data-dictionary variable (type, code list, published range).

    Types as in the catalogue's dictionary: ``string`` and ``boolean`` need a code list
    (booleans default to true/false), ``integer``/``year``/``number`` a range, ``date`` and
    ``datetime`` a range of dates (datetimes are synthesised as dates).
    """
    where = f"variable {name!r}"
    if values or type_ in ("string", "boolean"):
        codes = values or ((True, False) if type_ == "boolean" else ())
        if not codes:
            raise InputError(
                f"{where}: free text cannot be synthesised; give it a code list in the "
                "dictionary or leave the column out"
            )
        return Column(name, "categorical", categories=tuple(codes), nullable=nullable)
    if type_ in ("integer", "year", "number"):
        if low is None or high is None:
            raise InputError(f"{where}: the dictionary gives no range (minimum and maximum)")
        integer = type_ != "number"
        return Column(
            name, "numeric", lower=low, upper=high, integer=integer, nullable=nullable,
            bins=bins or 20,
        )  # fmt: skip
    if type_ in ("date", "datetime"):
        if low is None or high is None:
            raise InputError(f"{where}: the dictionary gives no range of dates")
        return Column(name, "date", lower=low, upper=high, nullable=nullable)
    raise InputError(f"{where}: type {type_!r} cannot be synthesised")
