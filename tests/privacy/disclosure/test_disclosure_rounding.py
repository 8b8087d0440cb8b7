"""Rounding of counts: conventional to nearest multiple, unbiased random rounding."""

from __future__ import annotations

import numpy as np
import pytest

from datalux.privacy.disclosure import round_conventional, round_counts, round_random
from datalux.privacy.errors import PrivacyError


def test_conventional_base_5() -> None:
    # Nearest multiple of 5: 0-2 -> 0, 3-7 -> 5, 8-12 -> 10 (2.5 and 7.5 are not integers).
    values = np.arange(13)
    expected = [0, 0, 0, 5, 5, 5, 5, 5, 10, 10, 10, 10, 10]
    assert round_conventional(values, 5).tolist() == expected


def test_conventional_base_10_halves_go_up() -> None:
    assert round_conventional([4, 5, 14, 15, 25, 100], 10).tolist() == [0, 10, 10, 20, 30, 100]


def test_random_rounding_lands_on_neighbouring_multiples() -> None:
    rng = np.random.default_rng(7)
    values = np.arange(0, 50)
    out = round_random(values, 5, rng)
    assert (out % 5 == 0).all()
    assert ((out == (values // 5) * 5) | (out == (values // 5 + 1) * 5)).all()
    multiples = values % 5 == 0
    assert (out[multiples] == values[multiples]).all()


def test_random_rounding_is_unbiased() -> None:
    # 7 = 5 + 2 rounds up to 10 with probability 2/5, so the mean is 5 + 5*0.4 = 7.
    rng = np.random.default_rng(11)
    out = round_random(np.full(20_000, 7), 5, rng)
    assert abs(out.mean() - 7.0) < 0.1
    assert set(out.tolist()) == {5, 10}


@pytest.mark.parametrize("base", [1, 0, 2.5])
def test_bad_base(base: object) -> None:
    with pytest.raises(PrivacyError, match="base"):
        round_counts([1, 2], base)  # type: ignore[arg-type]


def test_bad_method_and_values() -> None:
    with pytest.raises(PrivacyError, match="unknown rounding method"):
        round_counts([1], 5, "banker")  # type: ignore[arg-type]
    with pytest.raises(PrivacyError, match="integer counts"):
        round_counts([1.5], 5)
    with pytest.raises(PrivacyError, match="negative"):
        round_counts([-1], 5)
