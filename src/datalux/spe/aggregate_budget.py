"""The privacy budget of an aggregate permit's DP queries: the project's ledger and its totals.

The totals are the permit's output rules ``epsilon`` and ``delta`` (set by the decider in the
decision or an amendment, validated by :mod:`datalux.access.actions.permits`), else
:data:`DEFAULT_EPSILON` and 0. The ledger (``<storage>/spe/<permit>/budget.jsonl``, an
append-only, hash-chained :class:`~datalux.privacy.disclosure.LedgerFile`) is made on the
first DP query with the permit's totals then.

A later change of the permit's totals never resets the spends: the ledger's header keeps the
first totals and the change is one more hash-chained line (``kind: total``), audited
``aggregate.budget_changed`` (before, after, spent). An amendment that would set a total
below what is spent is refused (:func:`check_totals`); a raise, or a lowering that still
covers the spends, is applied when the amendment commits and, should that have failed, before
the next DP query (:func:`sync_totals`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from datalux.access.models import Permit
from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.privacy.disclosure import BudgetState, LedgerError, LedgerFile
from datalux.privacy.errors import PrivacyError

__all__ = [
    "DEFAULT_EPSILON",
    "budget_ledger",
    "budget_state",
    "check_totals",
    "ledger_path",
    "sync_totals",
    "total_delta",
    "total_epsilon",
]

logger = logging.getLogger("datalux.spe")

#: The project's total epsilon when the permit's output rules set none.
DEFAULT_EPSILON = 1.0


def ledger_path(permit: Permit) -> Path:
    return Path(settings.DATALUX_STORAGE) / "spe" / permit.number / "budget.jsonl"


def _rule(rules: Mapping[str, Any], key: str) -> float | None:
    value = rules.get(key)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def total_epsilon(permit: Permit, rules: Mapping[str, Any] | None = None) -> float:
    """The project's total epsilon: the output rule ``epsilon``, else the default."""
    value = _rule(permit.output_rules or {} if rules is None else rules, "epsilon")
    return value if value is not None and value > 0 else DEFAULT_EPSILON


def total_delta(permit: Permit, rules: Mapping[str, Any] | None = None) -> float:
    """The project's total delta: the output rule ``delta``, else 0 (pure DP only)."""
    value = _rule(permit.output_rules or {} if rules is None else rules, "delta")
    return value if value is not None and 0 <= value < 1 else 0.0


def budget_state(permit: Permit) -> BudgetState | None:
    """The budget spent and left (None before the first DP query)."""
    path = ledger_path(permit)
    return LedgerFile(path).state() if path.is_file() else None


def check_totals(permit: Permit, rules: Mapping[str, Any]) -> None:
    """Refuse (``ValidationError`` on ``output_rules``) new rules whose totals are below what
    the project's DP queries spent already; nothing is written."""
    state = budget_state(permit)
    if state is None:
        return
    epsilon, delta = total_epsilon(permit, rules), total_delta(permit, rules)
    if epsilon < state.epsilon_spent - 1e-12 or delta < state.delta_spent - 1e-12:
        raise ValidationError(
            {
                "output_rules": _(
                    "the privacy budget cannot be lowered below what is spent: the project's "
                    "DP queries spent epsilon %(epsilon)s and delta %(delta)s; set at least that"
                )
                % {"epsilon": f"{state.epsilon_spent:.6g}", "delta": f"{state.delta_spent:.3g}"}
            }
        )


def sync_totals(permit: Permit, *, by: Any = None) -> BudgetState | None:
    """Bring the ledger's totals to the permit's (one hash-chained line, audited
    ``aggregate.budget_changed``); nothing when they agree or there is no ledger yet. Totals
    below what is spent (rules changed around :func:`check_totals`) are set to the spends:
    nothing is left, and the event says so."""
    path = ledger_path(permit)
    if not path.is_file():
        return None
    ledger = LedgerFile(path)
    before = ledger.state()
    epsilon, delta = total_epsilon(permit), total_delta(permit)
    if (epsilon, delta) == (before.epsilon_total, before.delta_total):
        return before
    capped = epsilon < before.epsilon_spent or delta < before.delta_spent
    if capped:
        epsilon, delta = max(epsilon, before.epsilon_spent), max(delta, before.delta_spent)
    after = ledger.set_totals(
        epsilon=epsilon, delta=delta, reason=f"permit {permit.number} version {permit.version}"
    )
    record(
        EventKind.AGGREGATE_BUDGET_CHANGED,
        actor=by,
        organisation=permit.organisation,
        obj=permit,
        details={
            "version": permit.version,
            "epsilon_before": f"{before.epsilon_total:.6g}",
            "epsilon_after": f"{after.epsilon_total:.6g}",
            "delta_before": f"{before.delta_total:.3g}",
            "delta_after": f"{after.delta_total:.3g}",
            "epsilon_spent": f"{before.epsilon_spent:.6g}",
            "capped_at_spent": capped,
        },
    )
    return after


def sync_after_amendment(permit: Permit, by: Any) -> None:
    """:func:`sync_totals` once an amendment committed; a failure is logged (the ledger is
    synced again before the next DP query, which is refused while it cannot be read)."""
    try:
        sync_totals(permit, by=by)
    except (PrivacyError, OSError):
        logger.exception("the budget ledger of permit %s could not be synced", permit.number)


def budget_ledger(permit: Permit) -> LedgerFile:
    """The project's budget ledger, made on first use with the permit's totals, else brought to
    them (:func:`sync_totals`)."""
    path = ledger_path(permit)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            LedgerFile.create(
                path,
                project=permit.number,
                epsilon=total_epsilon(permit),
                delta=total_delta(permit),
            )
            return LedgerFile(path)
        except LedgerError:
            pass  # made meanwhile by another query
    sync_totals(permit)
    return LedgerFile(path)
