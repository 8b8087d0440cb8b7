"""Integer encoding of the quasi-identifiers: one code array per hierarchy level.

Every quasi-identifier column becomes ``record_codes`` (a dense code per record for the
original value) and, per level ``l``, a lookup ``level_codes[l][code0]`` giving the dense code
of the value's label at that level. Generalising a column to level ``l`` is then one gather,
and a lattice node's equivalence classes come from a group-by on the mixed-radix combination
of the per-column codes (see :mod:`.grouping`).

Records are deduplicated into *tuples* (distinct combinations of the original
quasi-identifier values and the sensitive value) with a weight each: every lattice node is
evaluated on the tuples, not the records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datalux.privacy.anonymisation.grouping import combine_codes
from datalux.privacy.anonymisation.hierarchies import Hierarchy
from datalux.privacy.errors import InputError

__all__ = ["EncodedAttribute", "EncodedData", "SensitiveAttribute", "encode", "text_column"]


@dataclass(frozen=True)
class EncodedAttribute:
    """One quasi-identifier, encoded against its hierarchy."""

    name: str
    hierarchy: Hierarchy
    record_codes: np.ndarray  # int32, per record: dense code of the original value
    level_codes: tuple[np.ndarray, ...]  # per level: code0 -> dense code at that level
    level_labels: tuple[tuple[str, ...], ...]  # per level: dense code -> label
    level_loss: tuple[np.ndarray, ...]  # per level: dense code -> (leaves - 1) / (size - 1)

    @property
    def height(self) -> int:
        return len(self.level_codes)

    def cardinality(self, level: int) -> int:
        return len(self.level_labels[level])


@dataclass(frozen=True)
class SensitiveAttribute:
    """The sensitive attribute: dense codes and, when numeric, the values in code order."""

    name: str
    labels: tuple[str, ...]  # dense code -> original text, sorted (numerically when numeric)
    numeric: bool
    record_codes: np.ndarray  # int32 per record


@dataclass(frozen=True)
class EncodedData:
    """All quasi-identifiers and the optional sensitive attribute, plus the tuple table."""

    attributes: tuple[EncodedAttribute, ...]
    sensitive: SensitiveAttribute | None
    records: int
    tuple_codes: np.ndarray  # (tuples, d) int64: original-value codes of each tuple
    tuple_weights: np.ndarray  # int64 records per tuple
    tuple_sensitive: np.ndarray | None  # int64 sensitive code per tuple
    record_tuple: np.ndarray  # int64, per record: its tuple

    @property
    def dimensions(self) -> int:
        return len(self.attributes)


def text_column(table: pa.Table, name: str) -> pa.Array:
    """The column as one text array; nulls become the empty string."""
    col = table.column(name)
    if not pa.types.is_string(col.type) and not pa.types.is_large_string(col.type):
        col = pc.cast(col, pa.string())
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if arr.null_count:
        arr = pc.coalesce(arr, pa.scalar("", pa.string()))
    return arr


def _dictionary(arr: pa.Array) -> tuple[list[str], np.ndarray]:
    enc = pc.dictionary_encode(arr)
    values = enc.dictionary.to_pylist()
    indices = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    return values, indices


def _encode_attribute(name: str, arr: pa.Array, hierarchy: Hierarchy) -> EncodedAttribute:
    values, indices = _dictionary(arr)
    row_of = {r[0]: i for i, r in enumerate(hierarchy.rows)}
    rows: list[int] = []
    missing: list[int] = []
    for pos, v in enumerate(values):
        i = row_of.get(v)
        if i is None:
            missing.append(pos)
        else:
            rows.append(i)
    if missing:
        first = int(np.flatnonzero(np.isin(indices, missing))[0]) + 1
        raise InputError(
            f"hierarchy {hierarchy.source} does not cover {len(missing)} distinct value(s) of "
            f"column {name!r} (first at data row {first}): add a row for each value"
        )
    size = len(hierarchy.rows)
    level_codes: list[np.ndarray] = []
    level_labels: list[tuple[str, ...]] = []
    level_loss: list[np.ndarray] = []
    for level in range(hierarchy.height):
        leaves: dict[str, int] = {}
        for r in hierarchy.rows:
            leaves[r[level]] = leaves.get(r[level], 0) + 1
        dense: dict[str, int] = {}
        codes = np.empty(len(rows), dtype=np.int64)
        for code0, i in enumerate(rows):
            codes[code0] = dense.setdefault(hierarchy.rows[i][level], len(dense))
        labels = tuple(dense)
        level_codes.append(codes)
        level_labels.append(labels)
        denominator = max(size - 1, 1)
        level_loss.append(np.array([(leaves[lab] - 1) / denominator for lab in labels]))
    return EncodedAttribute(
        name=name,
        hierarchy=hierarchy,
        record_codes=indices,
        level_codes=tuple(level_codes),
        level_labels=tuple(level_labels),
        level_loss=tuple(level_loss),
    )


def _encode_sensitive(name: str, arr: pa.Array) -> SensitiveAttribute:
    values, indices = _dictionary(arr)
    numbers: list[float] | None = []
    for v in values:
        try:
            x = float(v)
        except ValueError:
            numbers = None
            break
        if not np.isfinite(x):
            numbers = None
            break
        assert numbers is not None
        numbers.append(x)
    if numbers is not None and values:
        order = np.argsort(np.array(numbers), kind="stable")
    else:
        order = np.argsort(np.array(values, dtype=object), kind="stable")
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = np.arange(len(values))
    labels = tuple(values[i] for i in order)
    return SensitiveAttribute(
        name=name,
        labels=labels,
        numeric=numbers is not None and bool(values),
        record_codes=rank[indices] if len(values) else indices,
    )


def encode(
    table: pa.Table,
    quasi_identifiers: Sequence[str],
    hierarchies: Mapping[str, Hierarchy],
    sensitive: str | None = None,
) -> EncodedData:
    """Encode ``table``'s quasi-identifiers (and sensitive column) and build the tuple table."""
    attributes = tuple(
        _encode_attribute(q, text_column(table, q), hierarchies[q]) for q in quasi_identifiers
    )
    sens = _encode_sensitive(sensitive, text_column(table, sensitive)) if sensitive else None
    cols = [a.record_codes for a in attributes]
    cards = [a.cardinality(0) for a in attributes]
    if sens is not None:
        cols.append(sens.record_codes)
        cards.append(max(len(sens.labels), 1))
    record_tuple, n_tuples = combine_codes(cols, cards)
    first = np.full(n_tuples, -1, dtype=np.int64)
    # the first record of each tuple (any record would do: they share the codes)
    first[record_tuple[::-1]] = np.arange(table.num_rows - 1, -1, -1)
    weights = np.bincount(record_tuple, minlength=n_tuples).astype(np.int64)
    tuple_codes = np.stack([c[first] for c in cols[: len(attributes)]], axis=1)
    tuple_sensitive = sens.record_codes[first] if sens is not None else None
    return EncodedData(
        attributes=attributes,
        sensitive=sens,
        records=table.num_rows,
        tuple_codes=tuple_codes.astype(np.int64, copy=False),
        tuple_weights=weights,
        tuple_sensitive=tuple_sensitive,
        record_tuple=record_tuple,
    )
