"""Rounding of published counts to a base (5 or 10 are usual; ACRO's default base is 5).

Two methods:

* ``conventional`` — to the nearest multiple of ``base``, halves up (base 5: 1-2 -> 0,
  3-7 -> 5, 8-12 -> 10). Deterministic; a count's interval is known to be within base/2.
* ``random`` — unbiased random rounding: ``x = q*base + r`` goes up to ``(q+1)*base`` with
  probability ``r/base``, else down to ``q*base``. Multiples of the base never move; the
  expected value is the true count, so sums of many rounded cells are unbiased. The random
  draw is made once per cell: publish one draw only (repeated draws average out).

Neither method keeps rounded cells adding up to rounded margins: controlled rounding (which
does) needs an integer program and is out of scope (see ADR 0005). Rounding is applied after
suppression, to published cells only.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from datalux.privacy.errors import PrivacyError

Method = Literal["conventional", "random"]
METHODS: tuple[Method, ...] = ("conventional", "random")
IntArray = npt.NDArray[np.int64]


def _check(values: npt.ArrayLike, base: int) -> IntArray:
    if isinstance(base, bool) or not isinstance(base, int) or base < 2:
        raise PrivacyError(f"rounding base must be an integer >= 2 (e.g. 5 or 10), got {base!r}")
    arr = np.asarray(values)
    if arr.dtype.kind not in "iu":
        raise PrivacyError("rounding applies to integer counts; got non-integer values")
    out = arr.astype(np.int64)
    if (out < 0).any():
        raise PrivacyError("rounding applies to counts, which must not be negative")
    return out


def round_conventional(values: npt.ArrayLike, base: int) -> IntArray:
    """Nearest multiple of ``base``, exact halves rounded up."""
    arr = _check(values, base)
    return np.asarray(((2 * arr + base) // (2 * base)) * base, dtype=np.int64)


def round_random(
    values: npt.ArrayLike, base: int, rng: np.random.Generator | None = None
) -> IntArray:
    """Unbiased random rounding to a multiple of ``base`` (seeded from the OS if no ``rng``)."""
    arr = _check(values, base)
    generator = rng if rng is not None else np.random.default_rng()
    low = (arr // base) * base
    up = generator.random(arr.shape) < (arr - low) / base
    return np.asarray(low + up * base, dtype=np.int64)


def round_counts(
    values: npt.ArrayLike,
    base: int,
    method: Method = "conventional",
    rng: np.random.Generator | None = None,
) -> IntArray:
    """Round ``values`` with ``method`` (``conventional`` or ``random``)."""
    if method == "conventional":
        return round_conventional(values, base)
    if method == "random":
        return round_random(values, base, rng)
    raise PrivacyError(f"unknown rounding method {method!r}; use one of {', '.join(METHODS)}")
