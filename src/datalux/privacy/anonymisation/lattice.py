"""The full-domain generalisation lattice: one level per quasi-identifier.

A node ``(l_1, ..., l_d)`` generalises attribute ``i`` to level ``l_i`` of its hierarchy.
Node ``a`` is below node ``b`` (``a <= b``) when every level of ``a`` is at most that of
``b``. Node indices are the row-major (C order) positions in the box of all levels, so tags
over an up-set or down-set are one slice of an ``ndarray`` shaped like the lattice.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np

__all__ = ["Lattice", "Node"]

Node = tuple[int, ...]


class Lattice:
    def __init__(self, heights: Sequence[int]) -> None:
        if not heights or any(h < 1 for h in heights):
            raise ValueError("every attribute needs at least one level")
        self.heights = tuple(int(h) for h in heights)
        self.size = math.prod(self.heights)

    @property
    def dimensions(self) -> int:
        return len(self.heights)

    @property
    def bottom(self) -> Node:
        return (0,) * len(self.heights)

    @property
    def top(self) -> Node:
        return tuple(h - 1 for h in self.heights)

    def index(self, node: Sequence[int]) -> int:
        return int(np.ravel_multi_index(tuple(node), self.heights))

    def node(self, index: int) -> Node:
        return tuple(int(i) for i in np.unravel_index(index, self.heights))

    def all_nodes(self) -> np.ndarray:
        """``(size, d)`` array of every node, in index order."""
        grid = np.indices(self.heights, dtype=np.int16)
        return grid.reshape(len(self.heights), -1).T

    def successors(self, node: Sequence[int]) -> Iterator[Node]:
        for i, (level, height) in enumerate(zip(node, self.heights, strict=True)):
            if level + 1 < height:
                yield (*node[:i], level + 1, *node[i + 1 :])

    def up_set(self, node: Sequence[int]) -> tuple[slice, ...]:
        """Index of every node ``>= node`` in an array shaped like the lattice."""
        return tuple(slice(int(level), None) for level in node)

    def down_set(self, node: Sequence[int]) -> tuple[slice, ...]:
        """Index of every node ``<= node`` in an array shaped like the lattice."""
        return tuple(slice(0, int(level) + 1) for level in node)
