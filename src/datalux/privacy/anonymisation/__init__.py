"""Anonymisation by full-domain generalisation and record suppression.

k-anonymity, distinct and entropy l-diversity and t-closeness; ARX-format and built-in
(interval, date, prefix) generalisation hierarchies; an optimal Flash-style lattice search
with a heuristic fallback and a time budget; utility (loss, discernibility, granularity) and
re-identification risk (prosecutor, journalist, marketer, sample uniques) metrics; a JSON
report. See ``docs/adr/0003-anonymisation-search.md``.

Use::

    from datalux.privacy.anonymisation import KAnonymity, anonymise, read_hierarchy_csv

    result = anonymise(
        table,
        quasi_identifiers=["age", "sex"],
        hierarchies={"age": read_hierarchy_csv("age.csv"), "sex": read_hierarchy_csv("sex.csv")},
        models=[KAnonymity(5)],
        max_suppression=0.01,
    )
    result.table, result.utility.loss, result.verification.satisfied
"""

from __future__ import annotations

from datalux.privacy.anonymisation.anonymiser import (
    AnonymisationResult,
    AttributeTransformation,
    SuppressionMode,
    anonymise,
)
from datalux.privacy.anonymisation.files import (
    outputs,
    read_table,
    write_json,
    write_table,
)
from datalux.privacy.anonymisation.hierarchies import (
    Hierarchy,
    HierarchySpec,
    date_hierarchy,
    interval_hierarchy,
    parse_hierarchy_spec,
    prefix_hierarchy,
    read_hierarchy_csv,
)
from datalux.privacy.anonymisation.metrics import UtilityMetrics
from datalux.privacy.anonymisation.models import (
    DistinctLDiversity,
    EntropyLDiversity,
    KAnonymity,
    PrivacyModel,
    TCloseness,
)
from datalux.privacy.anonymisation.report import build_report
from datalux.privacy.anonymisation.risk import (
    AttackerRisk,
    RiskMetrics,
    class_sizes,
    engine_reidentification_risk,
    reidentification_risk,
    risk_from_class_sizes,
)
from datalux.privacy.anonymisation.search import SearchResult
from datalux.privacy.anonymisation.verify import (
    ModelCheck,
    Verification,
    engine_k_anonymity,
    verify,
)

__all__ = [
    "AnonymisationResult",
    "AttackerRisk",
    "AttributeTransformation",
    "DistinctLDiversity",
    "EntropyLDiversity",
    "Hierarchy",
    "HierarchySpec",
    "KAnonymity",
    "ModelCheck",
    "PrivacyModel",
    "RiskMetrics",
    "SearchResult",
    "SuppressionMode",
    "TCloseness",
    "UtilityMetrics",
    "Verification",
    "anonymise",
    "build_report",
    "class_sizes",
    "date_hierarchy",
    "engine_k_anonymity",
    "engine_reidentification_risk",
    "interval_hierarchy",
    "outputs",
    "parse_hierarchy_spec",
    "prefix_hierarchy",
    "read_hierarchy_csv",
    "read_table",
    "reidentification_risk",
    "risk_from_class_sizes",
    "verify",
    "write_json",
    "write_table",
]
