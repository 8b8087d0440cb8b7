"""The JSON report of an anonymisation: what was done, what it cost, what it protects.

It states the transformation chosen per attribute, the records suppressed, the utility and
risk metrics, the search (strategy, whether optimality was proven) and the privacy models
verified on the released records. It holds no data values other than hierarchy names.
"""

from __future__ import annotations

from typing import Any

from datalux.privacy.anonymisation.anonymiser import AnonymisationResult

__all__ = ["REPORT_VERSION", "build_report"]

REPORT_VERSION = 1


def build_report(result: AnonymisationResult, **inputs: Any) -> dict[str, Any]:
    """A JSON-ready dict; ``inputs`` (e.g. file names) are recorded under ``"input"``."""
    s = result.search
    n = result.utility.records
    return {
        "report": "datalux privacy anonymise",
        "version": REPORT_VERSION,
        "input": {
            **inputs,
            "records": n,
            "quasi_identifiers": list(result.quasi_identifiers),
            "sensitive": result.sensitive,
        },
        "privacy_models": [m.describe() for m in result.models],
        "transformation": {
            t.attribute: {
                "level": t.level,
                "levels": t.height,
                "hierarchy": t.hierarchy,
                "distinct_values_before": t.distinct_before,
                "distinct_values_after": t.distinct_after,
            }
            for t in result.transformation
        },
        "suppression": {
            "limit_share": result.max_suppression,
            "limit_records": result.suppression_limit,
            "records_suppressed": result.records_suppressed,
            "share_suppressed": result.records_suppressed / n if n else 0.0,
            "mode": result.suppression_mode,
            "records_released": result.table.num_rows,
        },
        "search": {
            "strategy": s.strategy,
            "optimal": s.optimal,
            "timed_out": s.timed_out,
            "nodes_evaluated": s.evaluations,
            "lattice_size": s.lattice_size,
            "seconds": round(s.seconds, 4),
        },
        "utility": result.utility.as_dict(),
        "risk": {
            "before": result.risk_before.as_dict(),
            "after": result.risk_after.as_dict(),
        },
        "verification": {
            **result.verification.as_dict(),
            "note": (
                "checked on the released records, regrouped from their text values"
                + (
                    "; masked (suppressed) records excluded"
                    if result.suppression_mode == "mask"
                    else ""
                )
                + "; t-closeness against the input's sensitive distribution"
            ),
        },
    }
