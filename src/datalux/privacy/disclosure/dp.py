"""Differentially private counts, sums and means through OpenDP.

Each release builds an OpenDP measurement (transformation chain + noise), so the stability
of the query and the privacy loss are computed by OpenDP, not by hand:

* **count** — ``make_count`` (stability 1 per added/removed row) then discrete Laplace
  (``laplace``, pure epsilon-DP) or discrete Gaussian (``gaussian``, zCDP converted to
  (epsilon, delta)-DP).
* **sum** — ``make_clamp(bounds)`` then ``make_bounded_float_checked_sum`` with a public size
  limit of 2^30 rows (OpenDP's sensitivity includes its own floating-point error bound; the
  plain ``make_sum`` would keep only the first 2^20 rows of data of unknown size) then
  Laplace or Gaussian noise.
* **mean** — the sum and the count above composed (basic composition, OpenDP's
  ``make_composition``), ``count_share`` of the budget on the count; the released mean is
  noisy sum / noisy count, clamped into the bounds.

The noise scale is the smallest one (OpenDP's binary search) whose privacy loss for
``max_contributions`` rows per person fits the asked epsilon (and delta); the epsilon and
delta reported and charged are OpenDP's own map of the final measurement, at most those asked.
Missing values (null/NaN) in the value column are dropped row by row first (a 1-stable step).
OpenDP draws noise from the operating system's CSPRNG: releases cannot be seeded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from datalux.privacy.disclosure.budget import BudgetStore, Spend
from datalux.privacy.errors import InputError, PrivacyError


class _LazyOpenDP:
    """``opendp.prelude``, imported on first use: it pulls in scikit-learn (~4 s), which every
    ``datalux`` command would otherwise pay at start-up."""

    _module: Any = None

    def __getattr__(self, name: str) -> Any:
        if _LazyOpenDP._module is None:
            import opendp.prelude as prelude

            prelude.enable_features("contrib")
            _LazyOpenDP._module = prelude
        return getattr(_LazyOpenDP._module, name)


dp: Any = _LazyOpenDP()

Statistic = Literal["count", "sum", "mean"]
Mechanism = Literal["laplace", "gaussian"]
STATISTICS: tuple[Statistic, ...] = ("count", "sum", "mean")
MECHANISMS: tuple[Mechanism, ...] = ("laplace", "gaussian")

#: Public bound on the rows of a sum. OpenDP's float sum keeps only the first ``size_limit``
#: rows and widens its sensitivity for float rounding with it; ``make_sum`` on data of unknown
#: size picks 2^20 and silently drops the rest. 2^30 costs 0.0015% more noise.
SUM_SIZE_LIMIT = 2**30


@dataclass(frozen=True)
class DPRelease:
    """A released statistic with its noise scale and the privacy loss it cost."""

    statistic: str
    value: float
    mechanism: str
    noise_scale: float
    epsilon: float
    delta: float
    bounds: tuple[float, float] | None
    max_contributions: int
    count_noise_scale: float | None = None  # mean only: the noise scale on the count

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["bounds"] = list(self.bounds) if self.bounds else None
        return d


def _input_domain() -> tuple[Any, Any]:
    return dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.symmetric_distance()


def _values(data: npt.ArrayLike) -> npt.NDArray[np.float64]:
    try:
        arr = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError("the value column must be numeric for a DP release") from exc
    if arr.ndim != 1:
        raise InputError("DP releases take one column of values (a 1-D array)")
    return np.ascontiguousarray(arr[~np.isnan(arr)])


def _check_params(epsilon: float, delta: float, mechanism: str, max_contributions: int) -> None:
    if mechanism not in MECHANISMS:
        raise InputError(f"unknown mechanism {mechanism!r}; use one of {', '.join(MECHANISMS)}")
    if not np.isfinite(epsilon) or epsilon <= 0:
        raise InputError(f"epsilon must be a finite number > 0, got {epsilon!r}")
    if mechanism == "gaussian" and not 0 < delta < 1:
        raise InputError(f"the gaussian mechanism needs 0 < delta < 1, got delta={delta!r}")
    if mechanism == "laplace" and delta != 0:
        raise InputError("the laplace mechanism is pure epsilon-DP: leave delta at 0")
    if isinstance(max_contributions, bool) or not isinstance(max_contributions, int):
        raise InputError("max_contributions must be an integer")
    if max_contributions < 1:
        raise InputError(f"max_contributions must be >= 1, got {max_contributions}")


def _check_bounds(bounds: tuple[float, float] | None) -> tuple[float, float]:
    if bounds is None:
        raise InputError("sum and mean need clamping bounds (lower, upper), e.g. --bounds 0,100")
    lower, upper = float(bounds[0]), float(bounds[1])
    if not (np.isfinite(lower) and np.isfinite(upper)) or lower >= upper:
        raise InputError(f"bounds must be finite with lower < upper, got {bounds!r}")
    return lower, upper


def _noise(mechanism: str, scale: float) -> Any:
    return dp.m.then_laplace(scale) if mechanism == "laplace" else dp.m.then_gaussian(scale)


def _finish(meas: Any, mechanism: str, delta: float) -> Any:
    if mechanism == "laplace":
        return meas
    return dp.c.make_fix_delta(dp.c.make_zCDP_to_approxDP(meas), delta)


def _loss(meas: Any, d_in: int, mechanism: str) -> tuple[float, float]:
    out = meas.map(d_in)
    if mechanism == "laplace":
        return float(out), 0.0
    return float(out[0]), float(out[1])


def _calibrate(
    make: Callable[[float], Any], d_in: int, epsilon: float, delta: float, mechanism: str
) -> tuple[float, Any]:
    d_out: Any = epsilon if mechanism == "laplace" else (epsilon, delta)
    try:
        scale = float(dp.binary_search_param(make, d_in=d_in, d_out=d_out))
    except (ValueError, dp.OpenDPException) as exc:
        raise PrivacyError(f"no noise scale reaches epsilon={epsilon}: {exc}") from exc
    return scale, make(scale)


def _count_chain(mechanism: str, delta: float) -> Callable[[float], Any]:
    count = dp.t.make_count(*_input_domain(), TO="i64")
    return lambda s: _finish(count >> _noise(mechanism, s), mechanism, delta)


def _sum_chain(bounds: tuple[float, float], mechanism: str, delta: float) -> Callable[[float], Any]:
    total = dp.t.make_clamp(*_input_domain(), bounds=bounds) >> dp.t.make_bounded_float_checked_sum(
        SUM_SIZE_LIMIT, bounds
    )
    return lambda s: _finish(total >> _noise(mechanism, s), mechanism, delta)


@dataclass(frozen=True)
class PreparedRelease:
    """A calibrated OpenDP measurement: its noise scale and privacy loss, known before use.

    :func:`release` prepares, charges the budget, then draws once. ``draw`` itself charges
    nothing: it is for callers that account elsewhere (and for tests of the noise).
    """

    statistic: Statistic
    mechanism: Mechanism
    noise_scale: float
    epsilon: float
    delta: float
    bounds: tuple[float, float] | None
    max_contributions: int
    count_noise_scale: float | None
    measurement: Any

    def draw(self, data: npt.ArrayLike) -> DPRelease:
        """Run the measurement on ``data`` once (nulls/NaN dropped first)."""
        values = _values(data)
        if self.statistic != "count" and len(values) > SUM_SIZE_LIMIT:
            raise InputError(
                f"a DP sum or mean takes at most {SUM_SIZE_LIMIT} rows; split the data"
            )
        out = self.measurement(values)
        if self.statistic == "mean":
            assert self.bounds is not None
            noisy_sum, noisy_count = float(out[0]), float(out[1])
            value = float(np.clip(noisy_sum / max(noisy_count, 1.0), *self.bounds))
        else:
            value = float(out)
        return DPRelease(
            statistic=self.statistic,
            value=value,
            mechanism=self.mechanism,
            noise_scale=self.noise_scale,
            epsilon=self.epsilon,
            delta=self.delta,
            bounds=self.bounds,
            max_contributions=self.max_contributions,
            count_noise_scale=self.count_noise_scale,
        )


def prepare(
    statistic: Statistic,
    *,
    epsilon: float,
    bounds: tuple[float, float] | None = None,
    mechanism: Mechanism = "laplace",
    delta: float = 0.0,
    max_contributions: int = 1,
    count_share: float = 0.5,
) -> PreparedRelease:
    """Calibrate the measurement for ``statistic`` (see :func:`release` for the parameters)."""
    if statistic not in STATISTICS:
        raise InputError(f"unknown statistic {statistic!r}; use one of {', '.join(STATISTICS)}")
    _check_params(epsilon, delta, mechanism, max_contributions)
    d_in = max_contributions
    count_scale: float | None = None
    clamp: tuple[float, float] | None = None
    if statistic == "count":
        scale, meas = _calibrate(_count_chain(mechanism, delta), d_in, epsilon, delta, mechanism)
    else:
        clamp = _check_bounds(bounds)
        if statistic == "sum":
            scale, meas = _calibrate(
                _sum_chain(clamp, mechanism, delta), d_in, epsilon, delta, mechanism
            )
        else:
            if not 0 < count_share < 1:
                raise InputError(f"count_share must be between 0 and 1, got {count_share}")
            eps_c, eps_s = epsilon * count_share, epsilon * (1 - count_share)
            d_c, d_s = delta * count_share, delta * (1 - count_share)
            count_scale, m_count = _calibrate(
                _count_chain(mechanism, d_c), d_in, eps_c, d_c, mechanism
            )
            scale, m_sum = _calibrate(
                _sum_chain(clamp, mechanism, d_s), d_in, eps_s, d_s, mechanism
            )
            meas = dp.c.make_composition([m_sum, m_count])
    eps_spent, delta_spent = _loss(meas, d_in, mechanism)
    return PreparedRelease(
        statistic=statistic,
        mechanism=mechanism,
        noise_scale=scale,
        epsilon=eps_spent,
        delta=delta_spent,
        bounds=clamp,
        max_contributions=max_contributions,
        count_noise_scale=count_scale,
        measurement=meas,
    )


def release(
    data: npt.ArrayLike,
    statistic: Statistic,
    *,
    epsilon: float,
    bounds: tuple[float, float] | None = None,
    mechanism: Mechanism = "laplace",
    delta: float = 0.0,
    max_contributions: int = 1,
    count_share: float = 0.5,
    budget: BudgetStore | None = None,
    query: str = "",
) -> DPRelease:
    """Release ``statistic`` of ``data`` with ``epsilon`` (and ``delta`` for gaussian).

    ``data`` is the value column (for a count, any column: only its rows are counted).
    ``max_contributions`` is the most rows one person can have (the neighbouring distance).
    ``count_share`` is the part of the budget a mean spends on its count.
    With ``budget`` the loss is charged before the noise is drawn; a release that would
    exceed the budget raises :class:`~datalux.privacy.disclosure.budget.BudgetExceededError`.
    """
    values = _values(data)
    prepared = prepare(
        statistic,
        epsilon=epsilon,
        bounds=bounds,
        mechanism=mechanism,
        delta=delta,
        max_contributions=max_contributions,
        count_share=count_share,
    )
    if budget is not None:
        budget.charge(
            Spend(
                epsilon=prepared.epsilon,
                delta=prepared.delta,
                query=query or f"dp {statistic}",
                mechanism=mechanism,
            )
        )
    return prepared.draw(values)


def dp_count(data: npt.ArrayLike, **kwargs: Any) -> DPRelease:
    """DP count of the rows of ``data`` (see :func:`release`)."""
    return release(data, "count", **kwargs)


def dp_sum(data: npt.ArrayLike, **kwargs: Any) -> DPRelease:
    """DP sum of ``data`` clamped into ``bounds`` (see :func:`release`)."""
    return release(data, "sum", **kwargs)


def dp_mean(data: npt.ArrayLike, **kwargs: Any) -> DPRelease:
    """DP mean of ``data`` clamped into ``bounds`` (see :func:`release`)."""
    return release(data, "mean", **kwargs)
