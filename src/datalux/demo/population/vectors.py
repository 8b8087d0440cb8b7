"""Small array helpers shared by the table generators."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "fixed_width_strings",
    "pick",
    "ranks_within",
    "sex_array",
    "strings",
    "with_nulls",
]


def strings(values: Sequence[str | None]) -> pa.Array:
    """A string array from Python strings, None for null.

    Built from buffers: ``pa.array`` on Python objects imports pandas (seconds) when it is
    installed, which the demo does not need.
    """
    items = list(values)
    encoded = [b"" if v is None else v.encode("utf-8") for v in items]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    arr = pa.Array.from_buffers(
        pa.large_string(),
        len(encoded),
        [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(b"".join(encoded))],
    ).cast(pa.string())
    return with_nulls(arr, np.array([v is None for v in items], dtype=bool))


def ranks_within(counts: np.ndarray) -> np.ndarray:
    """For groups of the given sizes laid end to end: 0, 1, ..., size-1 in each group."""
    counts = np.asarray(counts, dtype=np.int64)
    starts = np.cumsum(counts) - counts
    return np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(starts, counts)


def with_nulls(arr: pa.Array, missing: np.ndarray) -> pa.Array:
    """``arr`` with the rows where ``missing`` is True set to null."""
    if not missing.any():
        return arr
    if arr.offset == 0 and arr.null_count == 0 and not pa.types.is_dictionary(arr.type):
        # Same buffers, with a validity bitmap: no copy of the values.
        validity = pa.py_buffer(np.packbits(~missing, bitorder="little"))
        return pa.Array.from_buffers(
            arr.type, len(arr), [validity, *arr.buffers()[1:]], null_count=int(missing.sum())
        )
    return pc.if_else(pa.array(missing), pa.nulls(len(arr), arr.type), arr)


def fixed_width_strings(matrix: np.ndarray) -> pa.Array:
    """A string array from an (n, width) uint8 matrix of ASCII bytes, one row per value."""
    n, width = matrix.shape
    if n * width >= 2**31:
        raise ValueError("too many values for one string array: use smaller chunks")
    offsets = np.arange(0, width * (n + 1), width, dtype=np.int32)
    data = np.ascontiguousarray(matrix, dtype=np.uint8)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def sex_array(female: np.ndarray) -> pa.Array:
    """'M' / 'F' strings from a boolean array."""
    return pa.DictionaryArray.from_arrays(
        pa.array(female.astype(np.int8)), strings(["M", "F"])
    ).cast(pa.string())


def pick(rng: np.random.Generator, probabilities: np.ndarray, n: int) -> np.ndarray:
    """n draws of category indices from one probability vector."""
    cdf = np.cumsum(np.asarray(probabilities, dtype=np.float64))
    cdf /= cdf[-1]
    return np.searchsorted(cdf, rng.random(n), side="right").clip(0, len(cdf) - 1)
