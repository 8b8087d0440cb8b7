"""Statistical disclosure control for aggregate tables, and differentially private releases.

Public facade: import from here.

* :func:`check_table` — threshold, (n,k)-dominance and p% rules (ACRO's definitions and
  defaults), primary and secondary suppression, rounding; a per-cell report.
* :func:`release` (and :func:`dp_count`, :func:`dp_sum`, :func:`dp_mean`) — OpenDP counts,
  bounded sums and means, charged to a per-project budget (:class:`LedgerFile`,
  :class:`MemoryBudget`) under sequential composition.
"""

from __future__ import annotations

from datalux.privacy.disclosure.budget import (
    BudgetExceededError,
    BudgetState,
    BudgetStore,
    LedgerError,
    LedgerFile,
    MemoryBudget,
    Spend,
)
from datalux.privacy.disclosure.dp import (
    DPRelease,
    PreparedRelease,
    dp_count,
    dp_mean,
    dp_sum,
    prepare,
    release,
)
from datalux.privacy.disclosure.io import read_table
from datalux.privacy.disclosure.rounding import round_conventional, round_counts, round_random
from datalux.privacy.disclosure.rules import CellStats, RuleError, RuleSet, evaluate
from datalux.privacy.disclosure.suppression import SuppressionResult, exposed_cells, suppress
from datalux.privacy.disclosure.table import CheckedTable, Rounding, check_table

__all__ = [
    "BudgetExceededError",
    "BudgetState",
    "BudgetStore",
    "CellStats",
    "CheckedTable",
    "DPRelease",
    "LedgerError",
    "LedgerFile",
    "MemoryBudget",
    "PreparedRelease",
    "Rounding",
    "RuleError",
    "RuleSet",
    "Spend",
    "SuppressionResult",
    "check_table",
    "dp_count",
    "dp_mean",
    "dp_sum",
    "evaluate",
    "exposed_cells",
    "prepare",
    "read_table",
    "release",
    "round_conventional",
    "round_counts",
    "round_random",
    "suppress",
]
