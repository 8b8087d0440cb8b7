"""Re-identification risk of a table under the three classic attacker models.

Records with the same quasi-identifier values form an equivalence class of size ``f`` in the
data (the sample) and ``F`` in the population. An attacker links a target to one record of
its class at random, so the target's risk is ``1/f`` when the attacker knows the target is in
the data (*prosecutor*), ``1/F`` when the attacker only knows the target is in the population
(*journalist*), and a *marketer*, who re-identifies as many records as possible, expects to
match ``sum over classes f/F`` records, i.e. a share ``(1/n) sum f/F``.

Without a population table, ``F`` is estimated from a sampling fraction ``pi`` as ``f / pi``
(``pi = 1``: the data is the whole population, and the journalist risk equals the
prosecutor risk). For each model: the highest risk of a record, the average risk, and the
share of records whose risk exceeds ``threshold``. *Sample uniques* are the records alone in
their class.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from datalux.privacy.anonymisation.encoding import text_column
from datalux.privacy.anonymisation.grouping import combine_codes
from datalux.privacy.errors import InputError

if TYPE_CHECKING:
    from datalux.dataplane.engine import Backend

__all__ = [
    "AttackerRisk",
    "RiskMetrics",
    "class_sizes",
    "engine_reidentification_risk",
    "reidentification_risk",
    "risk_from_class_sizes",
]


@dataclass(frozen=True)
class AttackerRisk:
    highest: float
    average: float
    records_at_risk: float  # share of records whose risk exceeds the threshold


@dataclass(frozen=True)
class RiskMetrics:
    records: int
    classes: int
    smallest_class: int
    sampling_fraction: float
    threshold: float
    prosecutor: AttackerRisk
    journalist: AttackerRisk
    marketer: float
    sample_uniques: int
    sample_uniques_share: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def class_sizes(table: pa.Table, quasi_identifiers: Sequence[str]) -> np.ndarray:
    """Size of every equivalence class of ``table`` over ``quasi_identifiers`` (text values)."""
    missing = [q for q in quasi_identifiers if q not in table.column_names]
    if missing:
        raise InputError(
            f"unknown column {missing[0]!r}: the columns are {', '.join(table.column_names)}"
        )
    if table.num_rows == 0:
        return np.zeros(0, dtype=np.int64)
    cols, cards = [], []
    for q in quasi_identifiers:
        enc = text_column(table, q).dictionary_encode()
        cols.append(enc.indices.to_numpy(zero_copy_only=False).astype(np.int64))
        cards.append(len(enc.dictionary))
    ids, n = combine_codes(cols, cards)
    return np.bincount(ids, minlength=n)


def _attacker(sample: np.ndarray, population: np.ndarray, threshold: float) -> AttackerRisk:
    records = sample.sum()
    risk = 1.0 / population
    return AttackerRisk(
        highest=float(risk.max()),
        average=float((sample * risk).sum() / records),
        records_at_risk=float(sample[risk > threshold].sum() / records),
    )


def reidentification_risk(
    table: pa.Table,
    quasi_identifiers: Sequence[str],
    *,
    sampling_fraction: float = 1.0,
    threshold: float = 0.2,
) -> RiskMetrics:
    """Prosecutor, journalist and marketer risk and sample uniques of ``table``."""
    _check(sampling_fraction, threshold)
    return risk_from_class_sizes(
        class_sizes(table, quasi_identifiers),
        sampling_fraction=sampling_fraction,
        threshold=threshold,
    )


def engine_reidentification_risk(
    backend: Backend,
    table_name: str,
    quasi_identifiers: Sequence[str],
    *,
    sampling_fraction: float = 1.0,
    threshold: float = 0.2,
) -> RiskMetrics:
    """The same metrics for a table registered in a data-plane engine (DuckDB or Spark): the
    class sizes come from the engine's group-by, only they are brought back."""
    from datalux.dataplane.groups import COUNT_COLUMN, equivalence_class_sizes

    _check(sampling_fraction, threshold)
    sizes = equivalence_class_sizes(backend, table_name, quasi_identifiers)
    counts = sizes.column(COUNT_COLUMN).to_numpy(zero_copy_only=False).astype(np.int64)
    return risk_from_class_sizes(counts, sampling_fraction=sampling_fraction, threshold=threshold)


def _check(sampling_fraction: float, threshold: float) -> None:
    if not 0 < sampling_fraction <= 1:
        raise InputError("sampling fraction must be in (0, 1]: the share of the population")
    if not 0 <= threshold <= 1:
        raise InputError("risk threshold must be between 0 and 1, e.g. 0.2 (= 1/5)")


def risk_from_class_sizes(
    sizes: np.ndarray, *, sampling_fraction: float = 1.0, threshold: float = 0.2
) -> RiskMetrics:
    """The risk metrics from the sizes of the equivalence classes alone."""
    _check(sampling_fraction, threshold)
    sizes = sizes[sizes > 0]
    n = int(sizes.sum())
    if n == 0:
        zero = AttackerRisk(0.0, 0.0, 0.0)
        return RiskMetrics(0, 0, 0, sampling_fraction, threshold, zero, zero, 0.0, 0, 0.0)
    sample = sizes.astype(np.float64)
    population = np.maximum(sample / sampling_fraction, sample)
    uniques = int((sizes == 1).sum())
    return RiskMetrics(
        records=n,
        classes=len(sizes),
        smallest_class=int(sizes.min()),
        sampling_fraction=sampling_fraction,
        threshold=threshold,
        prosecutor=_attacker(sample, sample, threshold),
        journalist=_attacker(sample, population, threshold),
        marketer=float((sample / population).sum() / n),
        sample_uniques=uniques,
        sample_uniques_share=uniques / n,
    )
