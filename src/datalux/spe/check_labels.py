"""Human names of the automatic disclosure checks, for pages (the codes stay in data: the API,
the CSV downloads, the audit log and the stored verdicts keep ``min_count``, ``nk_dominance``…).

The codes are those of :mod:`datalux.privacy.output_checks` and of the disclosure rules of
:mod:`datalux.privacy.disclosure` (a plain library without Django, hence the labels here). An
unknown code is shown as it is.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

CHECK_LABELS: dict[str, str | Promise] = {
    "file_type": _("file type"),
    "evidence_file": _("disclosure evidence proposed for release"),
    "size": _("file size"),
    "rows": _("number of rows (row-level data)"),
    "table": _("unreadable table"),
    "identifiers": _("identifier or pseudonym column"),
    "min_count": _("minimum cell count"),
    "threshold": _("minimum cell count"),
    "zeros": _("empty or zero cells"),
    "undeclared_counts": _("small counts in undeclared columns"),
    "class_disclosure": _("class disclosure"),
    "evidence": _("table does not match its evidence"),
    "dominance_evidence": _("no evidence for the dominance rules"),
    "nk_dominance": _("(n,k)-dominance"),
    "p_percent": _("p% rule"),
    "negative_values": _("negative contributions"),
    "differencing": _("differencing against earlier releases"),
    "degrees_of_freedom": _("residual degrees of freedom"),
}


def check_label(code: str) -> str:
    """The human name of the check ``code`` (the code itself when it has none)."""
    label = CHECK_LABELS.get(code)
    return str(label) if label is not None else code
