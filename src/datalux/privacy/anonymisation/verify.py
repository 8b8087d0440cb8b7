"""Check privacy models on a released table, from its text values alone.

This regroups the released rows by their (generalised) quasi-identifier text, independently
of the codes the search used, and reports for each model whether it holds and the observed
extreme (smallest class, fewest distinct values, lowest entropy-l, largest distance).
t-closeness is measured against a reference distribution of the sensitive values: the
input's, as during the search (ARX's definition), unless another is given.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from datalux.privacy.anonymisation.encoding import text_column
from datalux.privacy.anonymisation.grouping import Groups, combine_codes
from datalux.privacy.anonymisation.models import (
    ClassView,
    DistinctLDiversity,
    EntropyLDiversity,
    KAnonymity,
    PrivacyModel,
    TCloseness,
    class_distance,
    class_entropy,
)
from datalux.privacy.errors import InputError

if TYPE_CHECKING:
    from datalux.dataplane.engine import Backend

__all__ = [
    "ModelCheck",
    "Verification",
    "engine_k_anonymity",
    "sensitive_distribution",
    "verify",
]


@dataclass(frozen=True)
class ModelCheck:
    model: dict[str, object]
    satisfied: bool
    observed: dict[str, float]


@dataclass(frozen=True)
class Verification:
    records_checked: int
    classes: int
    checks: tuple[ModelCheck, ...]

    @property
    def satisfied(self) -> bool:
        return all(c.satisfied for c in self.checks)

    def as_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["satisfied"] = self.satisfied
        return out


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _ordered_labels(labels: Sequence[str]) -> tuple[list[str], bool]:
    numeric = bool(labels) and all(_is_number(v) for v in labels)
    ordered = sorted(labels, key=float) if numeric else sorted(labels)
    return ordered, numeric


def sensitive_distribution(table: pa.Table, column: str) -> dict[str, float]:
    """Share of each value of ``column`` in ``table``."""
    counts = text_column(table, column).value_counts()
    total = table.num_rows
    return {str(v["values"]): int(v["counts"]) / total for v in counts.to_pylist()} if total else {}


def verify(
    table: pa.Table,
    quasi_identifiers: Sequence[str],
    models: Sequence[PrivacyModel],
    *,
    sensitive: str | None = None,
    reference: Mapping[str, float] | None = None,
) -> Verification:
    """Check ``models`` on ``table`` (every row is a released record)."""
    n = table.num_rows
    cols, cards = [], []
    for q in quasi_identifiers:
        enc = text_column(table, q).dictionary_encode()
        cols.append(enc.indices.to_numpy(zero_copy_only=False).astype(np.int64))
        cards.append(len(enc.dictionary))
    ids, classes = combine_codes(cols, cards) if n else (np.zeros(0, np.int64), 0)
    weights = np.ones(n)
    sizes = np.bincount(ids, minlength=classes).astype(np.float64)
    groups = Groups(ids, sizes, classes)
    view = ClassView(groups, weights)
    if sensitive is not None:
        released = text_column(table, sensitive).dictionary_encode()
        ref = dict(reference) if reference is not None else sensitive_distribution(table, sensitive)
        labels, numeric = _ordered_labels(sorted(set(ref) | set(released.dictionary.to_pylist())))
        position = {v: i for i, v in enumerate(labels)}
        remap = np.array([position[v] for v in released.dictionary.to_pylist()], dtype=np.int64)
        codes = remap[released.indices.to_numpy(zero_copy_only=False)] if n else remap[:0]
        overall = np.array([ref.get(v, 0.0) for v in labels])
        view = ClassView(groups, weights, codes, len(labels), overall, numeric=numeric)
    checks = []
    present = sizes > 0
    for model in models:
        if model.needs_sensitive and sensitive is None:
            raise InputError(f"{model.name} needs a sensitive attribute: name it")
        observed: dict[str, float] = {}
        if not present.any():
            checks.append(ModelCheck(model.describe(), True, observed))
            continue
        if isinstance(model, KAnonymity):
            observed["smallest_class"] = float(sizes[present].min())
        elif isinstance(model, DistinctLDiversity):
            cls, _, _ = view.pairs
            observed["fewest_distinct_values"] = float(
                np.bincount(cls, minlength=classes)[present].min()
            )
        elif isinstance(model, EntropyLDiversity):
            observed["lowest_entropy_l"] = float(np.exp(class_entropy(view)[present].min()))
        elif isinstance(model, TCloseness):
            ordered = view.numeric if model.ordered is None else model.ordered
            observed["largest_distance"] = float(class_distance(view, ordered)[present].max())
        satisfied = bool(model.satisfied(view)[present].all())
        checks.append(ModelCheck(model.describe(), satisfied, observed))
    return Verification(n, classes, tuple(checks))


def engine_k_anonymity(
    backend: Backend, table_name: str, quasi_identifiers: Sequence[str], k: int
) -> ModelCheck:
    """k-anonymity of a table registered in a data-plane engine (DuckDB, or Spark for data
    beyond one machine), by the engine's own smallest-class count."""
    from datalux.dataplane.groups import min_class_size

    smallest = min_class_size(backend, table_name, quasi_identifiers)
    return ModelCheck(KAnonymity(k).describe(), smallest >= k, {"smallest_class": float(smallest)})
