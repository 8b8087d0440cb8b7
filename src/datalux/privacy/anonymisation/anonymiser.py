"""Anonymise a table: validate, encode, search the lattice, release, measure and verify.

:func:`anonymise` is the one entry point. It refuses bad input before any work with an
:class:`InputError` that names the problem (unknown column, missing or incomplete hierarchy,
impossible ``k`` or ``l``, bad suppression limit) and raises :class:`PrivacyError` when no
transformation satisfies the models within the suppression limit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datalux.privacy.anonymisation.encoding import EncodedData, encode, text_column
from datalux.privacy.anonymisation.evaluation import Evaluator, NodeDetails
from datalux.privacy.anonymisation.hierarchies import Hierarchy, HierarchySpec
from datalux.privacy.anonymisation.lattice import Node
from datalux.privacy.anonymisation.metrics import UtilityMetrics, utility_metrics
from datalux.privacy.anonymisation.models import (
    DistinctLDiversity,
    EntropyLDiversity,
    KAnonymity,
    PrivacyModel,
)
from datalux.privacy.anonymisation.risk import RiskMetrics, reidentification_risk
from datalux.privacy.anonymisation.search import MAX_EXACT_NODES, SearchResult, search
from datalux.privacy.anonymisation.verify import Verification, verify
from datalux.privacy.errors import InputError, PrivacyError

__all__ = ["AnonymisationResult", "AttributeTransformation", "SuppressionMode", "anonymise"]

SuppressionMode = Literal["drop", "mask"]
SUPPRESSED_LABEL = "*"


@dataclass(frozen=True)
class AttributeTransformation:
    attribute: str
    level: int
    height: int  # number of levels, level 0 = original values
    hierarchy: str  # where the hierarchy came from
    distinct_before: int
    distinct_after: int


@dataclass(frozen=True)
class AnonymisationResult:
    table: pa.Table  # the released records
    quasi_identifiers: tuple[str, ...]
    sensitive: str | None
    models: tuple[PrivacyModel, ...]
    max_suppression: float
    suppression_limit: int  # records
    suppression_mode: SuppressionMode
    node: Node
    transformation: tuple[AttributeTransformation, ...]
    search: SearchResult
    utility: UtilityMetrics
    risk_before: RiskMetrics
    risk_after: RiskMetrics
    verification: Verification
    suppressed_mask: np.ndarray  # bool per input record

    @property
    def records_suppressed(self) -> int:
        return self.utility.records_suppressed


def _resolve_hierarchies(
    table: pa.Table,
    quasi_identifiers: Sequence[str],
    hierarchies: Mapping[str, Hierarchy | HierarchySpec],
) -> dict[str, Hierarchy]:
    extra = [c for c in hierarchies if c not in quasi_identifiers]
    if extra:
        raise InputError(
            f"a hierarchy is given for {extra[0]!r}, which is not a quasi-identifier: "
            "add it to the quasi-identifiers or drop the hierarchy"
        )
    out: dict[str, Hierarchy] = {}
    for q in quasi_identifiers:
        h = hierarchies.get(q)
        if h is None:
            raise InputError(
                f"no hierarchy for quasi-identifier {q!r}: give one, e.g. --hierarchy "
                f"{q}=FILE.csv or {q}=interval:5,10,20"
            )
        out[q] = (
            h if isinstance(h, Hierarchy) else h.build(text_column(table, q).unique().to_pylist())
        )
    return out


def _validate(
    table: pa.Table,
    quasi_identifiers: Sequence[str],
    models: Sequence[PrivacyModel],
    sensitive: str | None,
    max_suppression: float,
) -> None:
    if table.num_rows == 0:
        raise InputError("the input has no records: give a file with a header and data rows")
    if not quasi_identifiers:
        raise InputError("no quasi-identifiers: name at least one column, e.g. --qi age,sex")
    seen: set[str] = set()
    for q in quasi_identifiers:
        if q in seen:
            raise InputError(f"quasi-identifier {q!r} is listed twice: list each column once")
        seen.add(q)
    for name in [*quasi_identifiers, *([sensitive] if sensitive else [])]:
        if name not in table.column_names:
            raise InputError(
                f"unknown column {name!r}: the columns are {', '.join(table.column_names)}"
            )
    if sensitive is not None and sensitive in quasi_identifiers:
        raise InputError(
            f"column {sensitive!r} is both a quasi-identifier and the sensitive attribute"
        )
    if not models:
        raise InputError("no privacy model: give k (and optionally l or t)")
    if not (0.0 <= max_suppression <= 1.0) or math.isnan(max_suppression):
        raise InputError(
            f"max suppression {max_suppression} is not a share between 0 and 1, e.g. 0.05"
        )
    n = table.num_rows
    for model in models:
        if model.needs_sensitive and sensitive is None:
            raise InputError(f"{model.name} needs a sensitive attribute: give --sensitive COLUMN")
        if isinstance(model, KAnonymity) and model.k > n:
            raise InputError(
                f"impossible k: k={model.k} is larger than the number of records ({n}); "
                "lower k or use more data"
            )
    if sensitive is not None:
        distinct = len(text_column(table, sensitive).unique())
        for model in models:
            if isinstance(model, (DistinctLDiversity, EntropyLDiversity)) and model.l > distinct:
                raise InputError(
                    f"impossible l: l={model.l:g} but {sensitive!r} has only {distinct} "
                    "distinct values; lower l"
                )


def _release(
    table: pa.Table,
    data: EncodedData,
    node: Node,
    suppressed: np.ndarray,
    mode: SuppressionMode,
) -> pa.Table:
    columns = {}
    for attr, level in zip(data.attributes, node, strict=True):
        labels = pa.array(attr.level_labels[level], type=pa.string())
        codes = attr.level_codes[level][attr.record_codes]
        columns[attr.name] = labels.take(pa.array(codes))
    out = table
    for name, values in columns.items():
        position = out.column_names.index(name)
        if mode == "mask" and suppressed.any():
            values = pc.if_else(pa.array(suppressed), SUPPRESSED_LABEL, values)
        out = out.set_column(position, pa.field(name, pa.string()), values)
    if mode == "drop" and suppressed.any():
        out = out.filter(pa.array(~suppressed))
    return out


def anonymise(
    table: pa.Table,
    *,
    quasi_identifiers: Sequence[str],
    hierarchies: Mapping[str, Hierarchy | HierarchySpec],
    models: Sequence[PrivacyModel],
    sensitive: str | None = None,
    max_suppression: float = 0.0,
    suppression_mode: SuppressionMode = "drop",
    time_budget: float = 60.0,
    strategy: Literal["auto", "optimal", "heuristic"] = "auto",
    max_exact_nodes: int = MAX_EXACT_NODES,
    sampling_fraction: float = 1.0,
) -> AnonymisationResult:
    """Generalise and suppress ``table`` so that ``models`` hold, with the least loss.

    ``max_suppression`` is the largest share of records that may be suppressed (records in
    classes that fail a model after generalisation). Suppressed records are dropped from the
    release (``suppression_mode="drop"``) or kept with every quasi-identifier set to ``*``
    (``"mask"``, as ARX does). The search is optimal for lattices of up to ``max_exact_nodes``
    nodes and heuristic beyond; both stop at ``time_budget`` seconds.
    """
    quasi_identifiers = tuple(quasi_identifiers)
    if suppression_mode not in ("drop", "mask"):
        raise InputError(f"suppression mode {suppression_mode!r}: use 'drop' or 'mask'")
    _validate(table, quasi_identifiers, models, sensitive, max_suppression)
    resolved = _resolve_hierarchies(table, quasi_identifiers, hierarchies)
    data = encode(table, quasi_identifiers, resolved, sensitive)
    limit = math.floor(max_suppression * table.num_rows + 1e-9)
    evaluator = Evaluator(data, models, limit)
    found = search(
        evaluator, time_budget=time_budget, max_exact_nodes=max_exact_nodes, strategy=strategy
    )
    if found.best is None:
        top = found.top
        raise PrivacyError(
            "no transformation satisfies the privacy models within the suppression limit: "
            f"even full generalisation leaves {top.suppressed} records failing them "
            f"(limit {limit}); raise the suppression limit or relax l or t"
        )
    details: NodeDetails = evaluator.details(found.best.node)
    suppressed = details.tuple_suppressed[data.record_tuple]
    released = _release(table, data, found.best.node, suppressed, suppression_mode)
    checked = released if suppression_mode == "drop" else released.filter(pa.array(~suppressed))
    reference = None
    if data.sensitive is not None and data.tuple_sensitive is not None:
        hist = np.bincount(data.sensitive.record_codes, minlength=len(data.sensitive.labels))
        reference = dict(zip(data.sensitive.labels, (hist / hist.sum()).tolist(), strict=True))
    verification = verify(
        checked, quasi_identifiers, models, sensitive=sensitive, reference=reference
    )
    if not verification.satisfied:  # a bug, never expected: refuse to release
        failed = [str(c.model["model"]) for c in verification.checks if not c.satisfied]
        raise PrivacyError(
            f"internal check failed: the release does not satisfy {', '.join(failed)}; "
            "nothing is released (please report this)"
        )
    transformation = tuple(
        AttributeTransformation(
            attribute=a.name,
            level=level,
            height=a.height,
            hierarchy=a.hierarchy.source,
            distinct_before=a.cardinality(0),
            distinct_after=a.cardinality(level),
        )
        for a, level in zip(data.attributes, found.best.node, strict=True)
    )
    return AnonymisationResult(
        table=released,
        quasi_identifiers=quasi_identifiers,
        sensitive=sensitive,
        models=tuple(models),
        max_suppression=max_suppression,
        suppression_limit=limit,
        suppression_mode=suppression_mode,
        node=found.best.node,
        transformation=transformation,
        search=found,
        utility=utility_metrics(data, details),
        risk_before=reidentification_risk(
            table, quasi_identifiers, sampling_fraction=sampling_fraction
        ),
        risk_after=reidentification_risk(
            checked, quasi_identifiers, sampling_fraction=sampling_fraction
        ),
        verification=verification,
        suppressed_mask=suppressed,
    )
