"""Vectorised group-by on integer code columns (mixed-radix keys).

The key of a row is ``((c0 * n1 + c1) * n2 + c2) ...`` for codes ``c_i < n_i``. When the key
space is small compared with the rows, classes are counted with ``np.bincount`` straight on
the key (no sort: about 10x faster than ``np.unique`` on 30k rows); otherwise the keys are
made dense with ``np.unique``. When the key space would overflow 62 bits, the key built so far
is first compacted to dense ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Groups", "combine_codes", "group"]

_MAX_SPACE = 1 << 62
# A dense bincount over the key space is used when the space is at most this many times the
# number of rows (or below _SMALL_SPACE); otherwise keys are sorted.
_DENSE_FACTOR = 8
_SMALL_SPACE = 1 << 16


def _mixed_radix(cols: Sequence[np.ndarray], cards: Sequence[int]) -> tuple[np.ndarray, int]:
    n = len(cols[0]) if cols else 0
    key = np.zeros(n, dtype=np.int64)
    space = 1
    for col, card in zip(cols, cards, strict=True):
        card = max(int(card), 1)
        if space * card >= _MAX_SPACE:
            _, key = np.unique(key, return_inverse=True)
            key = key.astype(np.int64, copy=False)
            space = int(key.max()) + 1 if n else 1
        key = key * card + col
        space *= card
    return key, space


def combine_codes(cols: Sequence[np.ndarray], cards: Sequence[int]) -> tuple[np.ndarray, int]:
    """Dense ids ``0..n-1`` of the distinct code combinations, and ``n``."""
    key, _ = _mixed_radix(cols, cards)
    if len(key) == 0:
        return key, 0
    uniq, inverse = np.unique(key, return_inverse=True)
    return inverse.astype(np.int64, copy=False), len(uniq)


@dataclass(frozen=True)
class Groups:
    """Classes of a group-by: ``index[row]`` is the row's class; ``sizes[class]`` its weight.

    With the dense strategy ``index`` is the raw key and ``sizes`` has empty slots (size 0).
    """

    index: np.ndarray
    sizes: np.ndarray
    count: int  # number of non-empty classes


def group(cols: Sequence[np.ndarray], cards: Sequence[int], weights: np.ndarray) -> Groups:
    """Group rows by their code combination, summing ``weights`` per class."""
    key, space = _mixed_radix(cols, cards)
    n = len(key)
    if space <= max(_SMALL_SPACE, _DENSE_FACTOR * n):
        sizes = np.bincount(key, weights=weights, minlength=space)
        return Groups(key, sizes, int(np.count_nonzero(sizes)))
    uniq, inverse = np.unique(key, return_inverse=True)
    sizes = np.bincount(inverse, weights=weights, minlength=len(uniq))
    return Groups(inverse.astype(np.int64, copy=False), sizes, len(uniq))
