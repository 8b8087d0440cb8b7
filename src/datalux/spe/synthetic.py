"""Synthetic twins of a permit's extract: made by the trusted third party (or the pipeline, after
the preparation), paid from the project's privacy budget, downloaded by the researchers.

A permit allows a twin when the decider sets its output rules ``synthetic_twin`` and
``synthetic_epsilon`` (the epsilon the twins may spend, at most the project's total; validated
by :mod:`datalux.access.actions.permits`). Then:

- :func:`request_synthetic_twin` (a trusted-third-party operator) or :func:`after_preparation`
  (the pipeline, once an extract is ready) puts :func:`synthetic_task` on the task queue;
- :func:`make_synthetic_twin` makes the twins of the current version's extract: for each table
  where each person has at most one row (checked on the prepared file; the person pseudonym
  and other identifiers are left out, never synthesised), the domain from public metadata only
  (:mod:`datalux.spe.synthetic_domain`), then :func:`datalux.privacy.synthetic.twin.make_twin`
  with the permit's ``synthetic_epsilon`` (what is left of it) split equally over the tables
  made, charged to the project's budget ledger (:func:`datalux.spe.aggregate_budget.
  budget_ledger`, shared with the DP aggregate queries) before any noise. It writes
  ``<storage>/spe/<permit>/synthetic/<table>.parquet`` and ``<table>.report.json``, records a
  :class:`~datalux.spe.models.SyntheticTwin` and audits ``synthetic.made``. A table that
  cannot be synthesised is audited ``synthetic.refused`` with the reason; a refusal never
  spends budget (the whole run's cost is checked against the ledger first; a charge the ledger
  refuses spends nothing). A table has one twin: a later run keeps it.
- :func:`download_twin`: a twin is the only file derived from an extract that leaves without
  output checking (its guarantee is formal and recorded): an authorised person who may work
  with the permit's data now downloads it, audited ``synthetic.downloaded``; anyone else, or
  an expired or revoked permit, gets an audited refusal (``access.denied``), and so does a
  twin holding a table or column the permit, as amended since, no longer grants
  (``synthetic.refused``, ``not-granted``). The file's SHA-256 is checked before it is served.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _
from django_tasks import task

from datalux.access.actions import access_refusal
from datalux.access.actions.permits import NoAccess
from datalux.access.models import Permit
from datalux.accounts.permissions import has_permission
from datalux.accounts.roles import Permission
from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.core.errors import Conflict
from datalux.dataplane.extract import PERSON_ID
from datalux.privacy.disclosure import BudgetExceededError, BudgetState, Spend
from datalux.privacy.errors import InputError
from datalux.spe.aggregate_budget import budget_ledger, budget_state
from datalux.spe.models import Preparation, SyntheticTwin
from datalux.spe.prepare import extract_folder
from datalux.spe.synthetic_domain import TwinPlan, twin_plans

__all__ = [
    "TWIN_DELTA",
    "Outcome",
    "after_preparation",
    "allows_twin",
    "download_twin",
    "make_synthetic_twin",
    "may_view",
    "overview",
    "report_of",
    "request_synthetic_twin",
    "require_viewer",
    "synthetic_dir",
    "synthetic_epsilon",
    "synthetic_task",
]

log = logging.getLogger(__name__)

#: The delta of a permit's twins in all (split over the tables like epsilon): the synthesiser's
#: Gaussian noise is approximate DP, so a permit that allows a twin has a total delta of at
#: least this much (validated with the permit's rules).
TWIN_DELTA = 1e-9
_SLACK = 1e-12
INTERNAL = (
    "the twin could not be made because of an error of the platform: the operators have been told"
)


def synthetic_dir(permit: Permit) -> Path:
    return Path(settings.DATALUX_STORAGE) / "spe" / permit.number / "synthetic"


def allows_twin(permit: Permit) -> bool:
    return bool((permit.output_rules or {}).get("synthetic_twin"))


def synthetic_epsilon(permit: Permit) -> float | None:
    value = (permit.output_rules or {}).get("synthetic_epsilon")
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


@dataclass
class Outcome:
    """What one run made, refused (``{table, code, reason}``) and kept (a twin already)."""

    made: list[SyntheticTwin] = field(default_factory=list)
    refused: list[dict[str, str]] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "made": [t.table for t in self.made],
            "refused": [{"table": r["table"], "code": r["code"]} for r in self.refused],
            "kept": list(self.kept),
        }


# --- checks ---------------------------------------------------------------------------------


def _refuse(
    permit: Permit, by: Any, *, table: str, code: str, reason: str, trigger: str, **extra: Any
) -> dict[str, str]:
    record(
        EventKind.SYNTHETIC_REFUSED,
        actor=by,
        organisation=permit.organisation,
        obj=permit,
        details={"version": permit.version, "table": table, "code": code,
                 "reason": reason[:500], "trigger": trigger, **extra},
    )  # fmt: skip
    return {"table": table, "code": code, "reason": reason}


def _require_operator(permit: Permit, by: Any) -> None:
    """Only the trusted third party's operators make twins (``access.denied`` otherwise)."""
    if has_permission(by, Permission.OPERATE_PRIVACY_SERVICES):
        return
    reason = _("only the trusted third party's operators make synthetic twins")
    record(
        EventKind.ACCESS_DENIED,
        actor=by if getattr(by, "is_authenticated", False) else None,
        organisation=permit.organisation,
        obj=permit,
        details={"action": "synthetic.make", "reason": reason,
                 "permission": Permission.OPERATE_PRIVACY_SERVICES.value},
    )  # fmt: skip
    raise PermissionDenied(reason)


def _ready(permit: Permit, by: Any, trigger: str) -> Preparation:
    """The permit's ready extract when it allows a twin now (else audited, :class:`Conflict`)."""
    refusal: tuple[str, str] | None = None
    preparation = permit.preparations.filter(version=permit.version).first()
    if not allows_twin(permit) or synthetic_epsilon(permit) is None:
        refusal = ("not-allowed", _("permit %(number)s does not allow a synthetic twin"))
    elif permit.state != "active":
        refusal = ("permit-inactive", _("permit %(number)s is not active"))
    elif preparation is None or not preparation.available or not preparation.manifest:
        refusal = (
            "extract-not-ready",
            _("the extract of permit %(number)s version %(version)s is not ready"),
        )
    if refusal is not None:
        code, message = refusal
        message = message % {"number": permit.number, "version": permit.version}
        _refuse(permit, by, table="", code=code, reason=message, trigger=trigger)
        raise Conflict(message)
    assert preparation is not None
    return preparation


def may_view(user: Any) -> bool:
    """The trusted third party's operators and the case handlers see every permit's twins."""
    return has_permission(user, Permission.OPERATE_PRIVACY_SERVICES) or has_permission(
        user, Permission.HANDLE_APPLICATIONS
    )


def _researcher(permit: Permit, by: Any, action: str) -> None:
    """Raise :class:`NoAccess` (audited) unless ``by`` may work with the permit's data now."""
    reason = access_refusal(permit, by)
    if reason:
        record(
            EventKind.ACCESS_DENIED,
            actor=by if getattr(by, "is_authenticated", False) else None,
            organisation=permit.organisation,
            obj=permit,
            details={"action": action, "reason": reason[:500]},
        )
        raise NoAccess(reason)


def require_viewer(permit: Permit, by: Any) -> None:
    """The operators, or an authorised person who may work with the data now (else audited)."""
    if not may_view(by):
        _researcher(permit, by, "synthetic.view")


# --- making ---------------------------------------------------------------------------------


def request_synthetic_twin(*, permit: Permit, by: Any) -> None:
    """Queue the making of the permit's twins (an operator; refusals audited)."""
    _require_operator(permit, by)
    _ready(permit, by, "operator")
    synthetic_task.enqueue(permit.pk, by.pk)


def make_synthetic_twin(*, permit: Permit, by: Any) -> Outcome:
    """Make the twins of the permit's current extract (a trusted-third-party operator)."""
    _require_operator(permit, by)
    return _make(permit, by=by, trigger="operator")


def after_preparation(preparation: Preparation) -> None:
    """The pipeline's step after a ready extract: queue the twins when the permit allows them
    (a failure to queue is logged; the operator can still ask for the twins)."""
    permit = preparation.permit
    if not allows_twin(permit) or permit.version != preparation.version:
        return
    try:
        synthetic_task.enqueue(permit.pk, None)
    except Exception:
        log.exception("the synthetic twins of %s could not be queued", permit.number)


@task()
def synthetic_task(permit_id: int, by_id: int | None = None) -> dict[str, Any]:
    """The worker's side: by an operator (``by_id``), or by the pipeline (``None``)."""
    from datalux.accounts.models import User

    permit = Permit.objects.select_related("organisation", "application").get(pk=permit_id)
    try:
        if by_id is None:
            outcome = _make(permit, by=None, trigger="pipeline")
        else:
            outcome = make_synthetic_twin(permit=permit, by=User.objects.get(pk=by_id))
    except (Conflict, PermissionDenied) as exc:  # audited
        return {"refused": str(exc)}
    return outcome.summary()


class _Busy(Conflict):
    """Another run holds the permit's lock."""


@contextmanager
def _locked(permit: Permit) -> Iterator[None]:
    """One run per permit at a time (a second one is refused: it would spend twice)."""
    folder = synthetic_dir(permit)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(folder / ".making.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _Busy(
                _("the synthetic twins of %(number)s are being made already")
                % {"number": permit.number}
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _make(permit: Permit, *, by: Any, trigger: str) -> Outcome:
    preparation = _ready(permit, by, trigger)
    try:
        with _locked(permit):
            return _run(permit, preparation, by=by, trigger=trigger)
    except _Busy as exc:
        _refuse(permit, by, table="", code="running", reason=str(exc), trigger=trigger)
        raise


def _run(permit: Permit, preparation: Preparation, *, by: Any, trigger: str) -> Outcome:
    outcome = Outcome()
    plans = twin_plans(permit, preparation.manifest or {})
    existing = {t.table: t for t in permit.synthetic_twins.all()}
    todo: list[TwinPlan] = []
    for plan in plans:
        if plan.table in existing:
            outcome.kept.append(plan.table)
        elif not plan.possible:
            outcome.refused.append(
                _refuse(permit, by, table=plan.table, code=plan.refusal_code,
                        reason=plan.refusal, trigger=trigger,
                        left_out=[c.as_data() for c in plan.left_out])
            )  # fmt: skip
        else:
            todo.append(plan)
    if not todo:
        return outcome
    total = synthetic_epsilon(permit) or 0.0
    left = total - sum(t.epsilon for t in existing.values())
    delta_left = TWIN_DELTA - sum(t.delta for t in existing.values())
    share, delta = left / len(todo), delta_left / len(todo)
    refusal = _budget_refusal(permit, left, delta_left)
    if refusal is not None:
        code, reason = refusal
        for plan in todo:
            outcome.refused.append(
                _refuse(permit, by, table=plan.table, code=code, reason=reason, trigger=trigger)
            )
        return outcome
    split = {
        "synthetic_epsilon": total,
        "left_before": left,
        "tables": len(todo),
        "epsilon_each": share,
        "delta_each": delta,
        "note": (
            f"the permit's synthetic epsilon {total:.6g} ({left:.6g} left before this run) is "
            f"split equally over the {len(todo)} table(s) made in this run: {share:.6g} each; "
            f"delta {delta:.3g} each"
        ),
    }
    for plan in todo:
        made = _one(permit, plan, by=by, trigger=trigger, version=preparation.version,
                    epsilon=share, delta=delta, split=split)  # fmt: skip
        if isinstance(made, SyntheticTwin):
            outcome.made.append(made)
        else:
            outcome.refused.append(made)
    return outcome


def _budget_refusal(permit: Permit, epsilon: float, delta: float) -> tuple[str, str] | None:
    """Why the whole run cannot be paid (None when it can): checked before any charge."""
    if epsilon <= _SLACK or delta <= 0:
        return "synthetic-budget-spent", _(
            "the epsilon the permit gives its synthetic twins is spent"
        )
    state: BudgetState = budget_ledger(permit).state()
    try:
        state.check(Spend(epsilon=epsilon, delta=delta, query="synthetic twins"))
    except BudgetExceededError as exc:
        return "budget-exceeded", str(exc)
    return None


def _persons_once(frame: Any) -> str:
    """Why the table's rows are not one per person ('' when they are)."""
    persons = frame[PERSON_ID]
    if persons.isna().any():
        return "some rows have no person pseudonym: a row is not known to be one person's"
    if persons.duplicated().any():
        return (
            "a person has several rows in this table: the twin's guarantee is per row, which is "
            "per person only with one row each"
        )
    return ""


def _one(
    permit: Permit,
    plan: TwinPlan,
    *,
    by: Any,
    trigger: str,
    version: int,
    epsilon: float,
    delta: float,
    split: dict[str, Any],
) -> SyntheticTwin | dict[str, str]:
    """Make one table's twin, or say why not (audited either way)."""
    import pandas as pd

    from datalux.privacy.synthetic import report as reports
    from datalux.privacy.synthetic.twin import make_twin

    assert plan.domain is not None
    label = f"synthetic twin {permit.number} {plan.table} {uuid.uuid4().hex[:8]}"
    ledger = budget_ledger(permit)

    def refuse(code: str, reason: str, **extra: Any) -> dict[str, str]:
        return _refuse(permit, by, table=plan.table, code=code, reason=reason,
                       trigger=trigger, **extra)  # fmt: skip

    try:
        source = extract_folder(permit) / plan.file
        frame = pd.read_parquet(source, columns=[PERSON_ID, *plan.domain.names])
        why = _persons_once(frame)
        if why:
            return refuse("several-rows-per-person", why)
        result = make_twin(
            frame[plan.domain.names], plan.domain, epsilon=epsilon, delta=delta,
            budget=ledger, label=label, out_of_domain="missing",
        )  # fmt: skip
    except BudgetExceededError as exc:  # the ledger refused the charge: nothing spent
        return refuse("budget-exceeded", str(exc))
    except InputError as exc:
        if _spent(ledger, label):
            log.exception("synthetic twin of %s %s failed", permit.number, plan.table)
            return refuse("internal", INTERNAL, spent=True)
        return refuse("invalid-data", str(exc)[:500])
    except Exception:
        log.exception("synthetic twin of %s %s failed", permit.number, plan.table)
        return refuse("internal", INTERNAL, spent=_spent(ledger, label))
    try:
        return _write(permit, plan, result, by=by, trigger=trigger, version=version, split=split,
                      reports=reports)  # fmt: skip
    except Exception:
        log.exception("synthetic twin of %s %s could not be written", permit.number, plan.table)
        return refuse("internal", INTERNAL, spent=True)


def _spent(ledger: Any, label: str) -> bool:
    try:
        return any(s.query == label for s in ledger.state().spends)
    except Exception:
        return True  # cannot tell: say it may have been spent


def _write(
    permit: Permit,
    plan: TwinPlan,
    result: Any,
    *,
    by: Any,
    trigger: str,
    version: int,
    split: dict[str, Any],
    reports: Any,
) -> SyntheticTwin:
    import pyarrow as pa
    import pyarrow.parquet as pq

    twin = result.twin
    folder = synthetic_dir(permit)
    data = folder / f"{plan.table}.parquet"
    report_file = folder / f"{plan.table}.report.json"
    tmp = folder / f".{plan.table}.parquet.{uuid.uuid4().hex[:8]}.tmp"
    try:
        pq.write_table(pa.Table.from_pandas(twin.frame, preserve_index=False), tmp)
        os.replace(tmp, data)
    finally:
        tmp.unlink(missing_ok=True)
    sha256 = hashlib.sha256(data.read_bytes()).hexdigest()
    meta = {
        **result.report["meta"],
        "permit": permit.number,
        "permit_version": version,
        "table": plan.table,
        "source_sha256": plan.source_sha256,
        "file_sha256": sha256,
        "budget_split": split,
        "columns_left_out": [c.as_data() for c in plan.left_out],
        "out_of_domain": "values outside the dictionary's code list are counted as missing",
        "made_by": by.get_username() if by is not None else "pipeline",
    }
    reports.write_report(
        report_file, fidelity=result.report["fidelity"], privacy=result.report["privacy"],
        meta=meta,
    )  # fmt: skip
    document = {**result.report, "meta": meta}
    storage = Path(settings.DATALUX_STORAGE)
    with transaction.atomic():
        made = SyntheticTwin.objects.create(
            permit=permit, permit_version=version, table=plan.table,
            path=data.relative_to(storage).as_posix(), sha256=sha256, rows=len(twin.frame),
            epsilon=twin.spend.epsilon, delta=twin.spend.delta, report=document,
            created_by=by,
        )  # fmt: skip
        record(
            EventKind.SYNTHETIC_MADE,
            actor=by,
            organisation=permit.organisation,
            obj=permit,
            details={
                "version": version, "table": plan.table, "twin": made.pk,
                "rows": made.rows, "sha256": sha256, "trigger": trigger,
                "epsilon": f"{made.epsilon:.6g}", "delta": f"{made.delta:.3g}",
                "columns": list(plan.domain.names) if plan.domain else [],
                "left_out": [{"column": c.column, "code": c.code} for c in plan.left_out],
            },
        )  # fmt: skip
    return made


# --- reading --------------------------------------------------------------------------------


def _twin(permit: Permit, table: str) -> SyntheticTwin:
    found = permit.synthetic_twins.filter(table=table).first()
    if found is None:
        from django.http import Http404

        raise Http404(_("no synthetic twin of %(table)s") % {"table": table})
    return found


def _not_granted(permit: Permit, twin: SyntheticTwin) -> str:
    """Why the permit as amended since no longer covers the twin ('' when it does): its table
    or one of its columns is not granted any more."""
    from datalux.spe.plan import table_name

    granted = {
        table_name(item.dataset): set(item.variables)
        for item in permit.datasets.select_related("dataset__publisher")
    }
    if twin.table not in granted:
        return _("permit %(number)s no longer grants the table %(table)s") % {
            "number": permit.number,
            "table": twin.table,
        }
    columns = (twin.report.get("meta") or {}).get("columns") or []
    extra = sorted(set(columns) - granted[twin.table])
    if extra:
        return _("permit %(number)s no longer grants %(columns)s, which the twin holds") % {
            "number": permit.number,
            "columns": ", ".join(extra),
        }
    return ""


def download_twin(*, permit: Permit, table: str, by: Any) -> Path:
    """The twin's file for an authorised person who may work with the data now (audited)."""
    _researcher(permit, by, "synthetic.download")
    twin = _twin(permit, table)
    outside = _not_granted(permit, twin)
    if outside:
        _refuse(permit, by, table=table, code="not-granted", reason=outside, trigger="download")
        raise NoAccess(outside)
    path = Path(settings.DATALUX_STORAGE) / twin.path
    if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != twin.sha256:
        reason = _("the twin's file is missing or was changed since it was made")
        _refuse(permit, by, table=table, code="file-changed", reason=reason, trigger="download")
        raise Conflict(reason)
    record(
        EventKind.SYNTHETIC_DOWNLOADED,
        actor=by,
        organisation=permit.organisation,
        obj=permit,
        details={"table": table, "twin": twin.pk, "file": "data", "sha256": twin.sha256,
                 "version": twin.permit_version},
    )  # fmt: skip
    return path


def report_of(*, permit: Permit, table: str, by: Any) -> dict[str, Any]:
    """The twin's full report (figures only, no record) for the operators and researchers."""
    require_viewer(permit, by)
    twin = _twin(permit, table)
    record(
        EventKind.SYNTHETIC_DOWNLOADED,
        actor=by,
        organisation=permit.organisation,
        obj=permit,
        details={"table": table, "twin": twin.pk, "file": "report"},
    )
    return dict(twin.report)


def overview(permit: Permit) -> dict[str, Any]:
    """The twins of a permit with their headline figures, the tables refused (the latest
    reason each) and the budget left, for the pages and the API."""
    from datalux.audit.models import AuditEvent

    twins = list(permit.synthetic_twins.select_related("created_by"))
    made = {t.table for t in twins}
    refused: dict[str, dict[str, Any]] = {}
    events = AuditEvent.objects.filter(
        object_type="access.permit", object_id=str(permit.pk), kind=EventKind.SYNTHETIC_REFUSED
    ).order_by("-seq")[:200]
    for event in events:
        table = event.details.get("table", "")
        if table and table not in made and table not in refused:
            refused[table] = {
                "table": table,
                "code": event.details.get("code", ""),
                "reason": event.details.get("reason", ""),
                "at": event.occurred_at,
            }
    state = budget_state(permit)
    allowance = synthetic_epsilon(permit)
    spent = sum(t.epsilon for t in twins)
    return {
        "allowed": allows_twin(permit),
        "synthetic_epsilon": allowance,
        "spent_on_twins": spent,
        "left_for_twins": max(0.0, allowance - spent) if allowance is not None else None,
        "twins": [{"twin": t, "figures": t.headline()} for t in twins],
        "refused": sorted(refused.values(), key=lambda r: r["table"]),
        "budget": state.summary() if state is not None else None,
    }
