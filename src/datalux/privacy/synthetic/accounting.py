"""Privacy accounting for the synthesiser: zero-concentrated DP (zCDP) and (epsilon, delta).

The synthesiser composes Gaussian measurements and exponential-mechanism selections, whose
losses add up simply in zCDP (``rho``). The permit and the budget ledger speak
(epsilon, delta): :func:`rho_for` finds the largest ``rho`` whose conversion stays within a
given (epsilon, delta), using the conversion of Canonne, Kamath and Steinke, "The discrete
Gaussian for differential privacy" (2020), Proposition 12 - tighter than the classic
``epsilon = rho + 2 sqrt(rho log(1/delta))``. A test checks it against OpenDP's own
conversion.
"""

from __future__ import annotations

import math

from datalux.privacy.errors import InputError


def delta_for(rho: float, epsilon: float) -> float:
    """The smallest delta such that ``rho``-zCDP implies (``epsilon``, delta)-DP."""
    if rho < 0 or epsilon < 0:
        raise InputError("rho and epsilon must be >= 0")
    if rho == 0:
        return 0.0
    low, high = 1.01, (epsilon + 1) / (2 * rho) + 2
    alpha = low
    for _ in range(200):  # bisection on the derivative of the bound in alpha
        alpha = (low + high) / 2
        slope = (2 * alpha - 1) * rho - epsilon + math.log1p(-1.0 / alpha)
        if slope < 0:
            low = alpha
        else:
            high = alpha
    exponent = (alpha - 1) * (alpha * rho - epsilon) + alpha * math.log1p(-1 / alpha)
    return min(1.0, math.exp(exponent) / (alpha - 1.0))


def rho_for(epsilon: float, delta: float) -> float:
    """The largest ``rho`` whose zCDP guarantee implies (``epsilon``, ``delta``)-DP."""
    if not (math.isfinite(epsilon) and epsilon > 0):
        raise InputError(f"epsilon must be a finite number > 0, got {epsilon!r}")
    if not (0 < delta < 1):
        raise InputError(
            f"delta must be between 0 and 1 (exclusive), got {delta!r}; the synthesiser uses "
            "Gaussian noise, which needs a small positive delta such as 1e-9"
        )
    low, high = 0.0, epsilon + 1
    for _ in range(200):
        rho = (low + high) / 2
        if delta_for(rho, epsilon) <= delta:
            low = rho
        else:
            high = rho
    return low
