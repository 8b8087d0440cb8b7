"""Permits: issued on approval, amended or extended as new versions, revoked, expired, closed.

A permit never grants more than the application asked for: its variables, time range and
row filters are checked against the request, and anything else is refused with the names of
what was not requested.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from datalux.access.actions import conflicts
from datalux.access.actions.common import (
    StrOrPromise,
    Text,
    audited_refusals,
    lock,
    notify,
    parse_date,
    people_of,
    require,
)
from datalux.access.clock import add_months
from datalux.access.filters import check_filters
from datalux.access.models import (
    Application,
    ApplicationDataset,
    Condition,
    NamedPerson,
    Permit,
    PermitDataset,
    PermitVersion,
)
from datalux.access.states import PermitAction, PermitState, check_permit
from datalux.access.vocabularies import STANDARD_CONDITIONS, ConditionKind, DataForm
from datalux.accounts.models import User
from datalux.accounts.permissions import has_permission
from datalux.accounts.roles import Permission
from datalux.audit.kinds import EventKind
from datalux.audit.log import record

BASELINE_CONDITIONS = ("no-reidentification", "report-incidents")
DEFAULT_OUTPUT_RULES = {
    "threshold": 10,  # minimum unweighted count per released cell
    "dominance_n": 2,
    "dominance_k": 0.9,
    "p_percent": 0.1,
    "rounding_base": 5,
}


# the anonymised form's parameters (the authority's defaults in datalux.spe.plan)
ANONYMISATION_RULES = {"k", "l", "t", "max_suppression"}
# the aggregate-only service's (datalux.spe.aggregate): the most released queries in all,
# the project's total privacy budget of its DP queries (datalux.spe.aggregate_budget)
AGGREGATE_RULES = {"max_queries", "epsilon", "delta"}
# a differentially private synthetic twin of the extract (datalux.spe.synthetic): allowed or
# not, and the epsilon its twins may spend from the project's total
SYNTHETIC_RULES = {"synthetic_twin", "synthetic_epsilon"}
#: The largest total epsilon a permit may give (beyond it DP protects next to nothing).
MAX_EPSILON = 10.0
#: The largest total delta (approximate DP): far below one in the size of any register.
MAX_DELTA = 1e-5


def _narrow(request: ApplicationDataset, spec: dict[str, Any]) -> dict[str, Any]:
    """The permit's view of one requested dataset: the same or narrower, never wider."""
    pid = request.dataset.pid
    unknown_keys = set(spec) - {"variables", "time_start", "time_end", "filters"}
    if unknown_keys:
        raise ValidationError(
            {
                "datasets": _("%(pid)s: unknown keys %(keys)s")
                % {"pid": pid, "keys": ", ".join(sorted(unknown_keys))}
            }
        )
    variables = spec.get("variables", request.variables)
    extra = sorted(set(variables) - set(request.variables))
    if extra:
        raise ValidationError(
            {
                "datasets": _(
                    "%(pid)s: the application did not request %(extra)s; a permit "
                    "cannot grant variables that were not requested"
                )
                % {"pid": pid, "extra": ", ".join(extra)}
            }
        )
    if not variables:
        raise ValidationError(
            {
                "datasets": _("%(pid)s: a permitted dataset needs at least one variable")
                % {"pid": pid}
            }
        )
    start = parse_date(spec.get("time_start", request.time_start), "time_start")
    end = parse_date(spec.get("time_end", request.time_end), "time_end")
    if request.time_start and (start is None or start < request.time_start):
        raise ValidationError(
            {
                "datasets": _("%(pid)s: the period starts before the requested %(start)s")
                % {"pid": pid, "start": request.time_start}
            }
        )
    if request.time_end and (end is None or end > request.time_end):
        raise ValidationError(
            {
                "datasets": _("%(pid)s: the period ends after the requested %(end)s")
                % {"pid": pid, "end": request.time_end}
            }
        )
    filters = check_filters(request.dataset, spec.get("filters", request.filters))
    missing = [f for f in request.filters if f not in filters]
    if missing:
        raise ValidationError(
            {
                "datasets": _(
                    "%(pid)s: a permit may add row filters but not drop requested ones "
                    "(%(missing)s)"
                )
                % {"pid": pid, "missing": ", ".join(f["variable"] for f in missing)}
            }
        )
    return {
        "variables": sorted(set(variables)),
        "time_start": start,
        "time_end": end,
        "filters": filters,
    }


def _conditions(items: list[Any]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for item in items:
        if isinstance(item, str):
            if item not in STANDARD_CONDITIONS:
                raise ValidationError(
                    {
                        "conditions": _(
                            "unknown condition %(item)s; standard ones: "
                            "%(standard)s, or give {'kind', 'text'}"
                        )
                        % {"item": repr(item), "standard": ", ".join(STANDARD_CONDITIONS)}
                    }
                )
            kind, text = STANDARD_CONDITIONS[item]
            out.append({"kind": str(kind), "code": item, "text": text})
        elif (
            isinstance(item, dict)
            and item.get("kind") in ConditionKind.values
            and str(item.get("text", "")).strip()
        ):
            out.append({"kind": item["kind"], "code": "", "text": str(item["text"]).strip()})
        else:
            raise ValidationError(
                {
                    "conditions": _(
                        "a condition is a standard code or "
                        "{'kind': obligation|prohibition|"
                        "permission, 'text': ...}"
                    )
                }
            )
    seen: set[tuple[str, str]] = set()
    return [
        c
        for c in out
        if (c["code"], c["text"]) not in seen and not seen.add((c["code"], c["text"]))
    ]  # type: ignore[func-returns-value]


def _output_rules(rules: dict[str, Any] | None, form: str) -> dict[str, Any]:
    merged = {**DEFAULT_OUTPUT_RULES, **(rules or {})}
    unknown = (
        set(merged)
        - set(DEFAULT_OUTPUT_RULES)
        - {"aggregate_only"}
        - ANONYMISATION_RULES
        - AGGREGATE_RULES
        - SYNTHETIC_RULES
    )
    if unknown:
        raise ValidationError(
            {"output_rules": _("unknown rules %(rules)s") % {"rules": ", ".join(sorted(unknown))}}
        )
    if not isinstance(merged["threshold"], int) or merged["threshold"] < 1:
        raise ValidationError({"output_rules": _("threshold must be a whole number ≥ 1")})
    for key in ("k", "l"):
        if key in merged and (not isinstance(merged[key], int) or merged[key] < 1):
            raise ValidationError(
                {"output_rules": _("%(key)s must be a whole number ≥ 1") % {"key": key}}
            )
    if "t" in merged and merged["t"] is not None and not 0 < float(merged["t"]) <= 1:
        raise ValidationError({"output_rules": _("t must be between 0 and 1")})
    if "max_suppression" in merged and not 0 <= float(merged["max_suppression"]) < 1:
        raise ValidationError(
            {"output_rules": _("max_suppression must be a share between 0 and 1")}
        )
    if merged.get("max_queries") is None:
        merged.pop("max_queries", None)
    elif (
        isinstance(merged["max_queries"], bool)
        or not isinstance(merged["max_queries"], int)
        or merged["max_queries"] < 1
    ):
        raise ValidationError(
            {"output_rules": _("max_queries must be a whole number ≥ 1, or empty for no cap")}
        )
    _budget_rules(merged)
    _synthetic_rules(merged, form)
    merged["aggregate_only"] = form == DataForm.AGGREGATE or bool(merged.get("aggregate_only"))
    return merged


def _budget_rules(merged: dict[str, Any]) -> None:
    """``epsilon`` (0 < epsilon ≤ MAX_EPSILON) and ``delta`` (0 ≤ delta ≤ MAX_DELTA), finite
    numbers; empty leaves the service's defaults (epsilon 1, delta 0)."""
    bounds = {
        "epsilon": (
            lambda v: 0 < v <= MAX_EPSILON,
            _("epsilon must be a number above 0 and at most %(max)s, e.g. 1"),
            MAX_EPSILON,
        ),
        "delta": (
            lambda v: 0 <= v <= MAX_DELTA,
            _("delta must be a number from 0 to %(max)s, e.g. 1e-6 (0: pure DP only)"),
            MAX_DELTA,
        ),
    }
    for key, (ok, message, limit) in bounds.items():
        if merged.get(key) is None:
            merged.pop(key, None)
            continue
        value = merged[key]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or not ok(float(value))
        ):
            raise ValidationError({"output_rules": message % {"max": f"{limit:g}"}})
        merged[key] = float(value)


def _synthetic_rules(merged: dict[str, Any], form: str) -> None:
    """``synthetic_twin`` (a boolean; false or empty drops both rules) and, with it,
    ``synthetic_epsilon``: a finite number above 0 and at most the project's total epsilon; the
    twin needs a prepared extract (not the aggregate form) and a total delta of at least the
    twins' (their noise is Gaussian)."""
    from datalux.spe.aggregate_budget import DEFAULT_EPSILON
    from datalux.spe.synthetic import TWIN_DELTA

    twin = merged.get("synthetic_twin")
    if twin is not None and not isinstance(twin, bool):
        raise ValidationError({"output_rules": _("synthetic_twin must be true or false")})
    if not twin:
        merged.pop("synthetic_twin", None)
        merged.pop("synthetic_epsilon", None)
        return
    if form == DataForm.AGGREGATE:
        raise ValidationError(
            {
                "output_rules": _(
                    "a synthetic twin is learnt from a prepared extract, which the aggregate "
                    "form has not: grant pseudonymised or anonymised data, or no twin"
                )
            }
        )
    total = merged.get("epsilon") or DEFAULT_EPSILON
    value = merged.get("synthetic_epsilon")
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 < float(value) <= total
    ):
        raise ValidationError(
            {
                "output_rules": _(
                    "synthetic_epsilon must be a number above 0 and at most the project's total "
                    "epsilon (%(total)s), e.g. 0.5"
                )
                % {"total": f"{total:g}"}
            }
        )
    if (merged.get("delta") or 0.0) < TWIN_DELTA:
        raise ValidationError(
            {
                "output_rules": _(
                    "a synthetic twin needs a total delta of at least %(delta)s (its noise is "
                    "Gaussian): set the total delta, e.g. 1e-6"
                )
                % {"delta": f"{TWIN_DELTA:g}"}
            }
        )
    merged["synthetic_epsilon"] = float(value)


def _check_budget(permit: Permit, rules: dict[str, Any]) -> None:
    """The aggregate service's budget is never lowered below what its DP queries spent."""
    from datalux.spe.aggregate_budget import check_totals

    check_totals(permit, rules)


def _sync_budget(permit: Permit, by: User) -> None:
    """Once the amendment is committed, the budget ledger takes the new totals (appended and
    audited; the spends stay)."""
    from datalux.spe.aggregate_budget import sync_after_amendment

    sync_after_amendment(permit, by)


def _version(permit: Permit, by: User, change: str, reason: str = "") -> PermitVersion:
    return PermitVersion.objects.create(
        permit=permit,
        version=permit.version,
        spec=permit.spec(),
        change=change,
        reason=reason,
        by=by,
    )


def _set_datasets(permit: Permit, datasets: dict[str, dict[str, Any]] | None) -> None:
    application = permit.application
    requests = {r.dataset.pid: r for r in application.datasets.select_related("dataset")}
    chosen = datasets if datasets is not None else {pid: {} for pid in requests}
    unknown = sorted(set(chosen) - set(requests))
    if unknown:
        raise ValidationError(
            {
                "datasets": _("the application did not request %(unknown)s")
                % {"unknown": ", ".join(unknown)}
            }
        )
    if not chosen:
        raise ValidationError({"datasets": _("a permit grants at least one dataset")})
    permit.datasets.all().delete()
    for pid, spec in sorted(chosen.items()):
        PermitDataset.objects.create(
            permit=permit, dataset=requests[pid].dataset, **_narrow(requests[pid], spec or {})
        )


def _set_conditions(permit: Permit, conditions: list[Any]) -> None:
    permit.conditions.all().delete()
    for c in _conditions(conditions):
        Condition.objects.create(permit=permit, **c)


def issue_permit(
    *,
    application: Application,
    by: User,
    with_conditions: bool,
    starts_on: Any = None,
    ends_on: Any = None,
    datasets: dict[str, dict[str, Any]] | None = None,
    conditions: list[Any] | None = None,
    output_rules: dict[str, Any] | None = None,
) -> Permit:
    """Called by ``decide`` inside its transaction. Defaults: from today for the requested
    number of months, every requested dataset as requested, the baseline conditions."""
    start = parse_date(starts_on, "starts_on") or timezone.localdate()
    months = application.requested_months or 12
    end = (
        parse_date(ends_on, "ends_on")
        or add_months(datetime.combine(start, datetime.min.time()), months).date()
    )
    if end <= start:
        raise ValidationError({"ends_on": _("the permit must end after it starts")})
    extra = list(conditions or [])
    if with_conditions and not extra:
        raise ValidationError(
            {"conditions": _("an approval with conditions needs at least one condition")}
        )
    permit = Permit.objects.create(
        number=f"tmp-{application.pk}",
        application=application,
        organisation=application.organisation,
        data_form=application.data_form,
        linkage=application.linkage_needed,
        starts_on=start,
        ends_on=end,
        output_rules=_output_rules(output_rules, application.data_form),
        decided_by=by,
        reasons=application.decision.reasons,
        redress=application.procedure.redress,
    )
    permit.number = f"DLX-P-{permit.issued_at.year}-{permit.pk:05d}"
    permit.save(update_fields=["number"])
    _set_datasets(permit, datasets)
    _set_conditions(permit, [*BASELINE_CONDITIONS, *extra])
    _version(permit, by, "issued")
    record(
        EventKind.PERMIT_ISSUED,
        actor=by,
        organisation=permit.organisation,
        obj=permit,
        details={
            "permit": permit.number,
            "application": application.reference,
            "ends_on": end.isoformat(),
        },
    )
    return permit


def _tell(permit: Permit, subject: StrOrPromise, body: Text | str, **facts: Any) -> None:
    """Tell the applicant and the named persons; ``subject`` is a lazy template with
    ``%(number)s`` and the ``facts``."""
    notify(
        people_of(permit.application),
        subject=Text(subject, {"number": permit.number, **facts}),
        body=body,
        application=permit.application,
    )


@audited_refusals("amend_permit")
def amend_permit(
    *,
    permit: Permit,
    by: User,
    reason: str,
    datasets: dict[str, dict[str, Any]] | None = None,
    conditions: list[Any] | None = None,
    output_rules: dict[str, Any] | None = None,
) -> Permit:
    """A new version with changed datasets (within the request), conditions or output rules."""
    require(by, Permission.DECIDE_APPLICATIONS, why=_("only deciders amend permits"))
    conflicts.require_no_conflict(by, permit.application)
    if not reason.strip():
        raise ValidationError({"reason": _("say why the permit is amended")})
    with transaction.atomic():
        lock(permit)
        check_permit(permit.state, PermitAction.AMEND)
        if datasets is not None:
            _set_datasets(permit, datasets)
        if conditions is not None:
            _set_conditions(permit, [*BASELINE_CONDITIONS, *conditions])
        if output_rules is not None:
            rules = _output_rules(output_rules, permit.data_form)
            _check_budget(permit, rules)
            permit.output_rules = rules
            transaction.on_commit(lambda: _sync_budget(permit, by))
        permit.version += 1
        permit.changed_at = timezone.now()
        permit.save()
        _version(permit, by, "amended", reason.strip())
        record(
            EventKind.PERMIT_AMENDED,
            actor=by,
            organisation=permit.organisation,
            obj=permit,
            details={"version": permit.version, "reason": reason.strip()[:500]},
        )
        _tell(
            permit,
            gettext_lazy("%(number)s: amended (version %(version)s)"),
            reason.strip(),
            version=permit.version,
        )
    return permit


@audited_refusals("extend_permit")
def extend_permit(*, permit: Permit, by: User, ends_on: Any, reason: str) -> Permit:
    """A new version with a later end date (an expired permit becomes active again)."""
    require(by, Permission.DECIDE_APPLICATIONS, why=_("only deciders extend permits"))
    conflicts.require_no_conflict(by, permit.application)
    end = parse_date(ends_on, "ends_on")
    if not reason.strip():
        raise ValidationError({"reason": _("say why the permit is extended")})
    with transaction.atomic():
        lock(permit)
        check_permit(permit.state, PermitAction.EXTEND)
        if end is None or end <= permit.ends_on:
            raise ValidationError(
                {
                    "ends_on": _("give a date after the current end, %(end)s")
                    % {"end": permit.ends_on}
                }
            )
        if end <= timezone.localdate():
            raise ValidationError({"ends_on": _("the new end date must be in the future")})
        permit.ends_on = end
        permit.state = PermitState.ACTIVE
        permit.ended_at = None
        permit.version += 1
        permit.changed_at = timezone.now()
        permit.save()
        _version(permit, by, "extended", reason.strip())
        record(
            EventKind.PERMIT_EXTENDED,
            actor=by,
            organisation=permit.organisation,
            obj=permit,
            details={"version": permit.version, "ends_on": end.isoformat()},
        )
        _tell(permit, gettext_lazy("%(number)s: extended to %(end)s"), reason.strip(), end=end)
    return permit


@audited_refusals("revoke_permit")
def revoke_permit(*, permit: Permit, by: User, reason: str) -> Permit:
    require(by, Permission.DECIDE_APPLICATIONS, why=_("only deciders revoke permits"))
    conflicts.require_no_conflict(by, permit.application)
    if not reason.strip():
        raise ValidationError({"reason": _("a revocation states its reasons")})
    with transaction.atomic():
        lock(permit)
        check_permit(permit.state, PermitAction.REVOKE)
        permit.state = PermitState.REVOKED
        permit.ended_at = timezone.now()
        permit.save()
        record(
            EventKind.PERMIT_REVOKED,
            actor=by,
            organisation=permit.organisation,
            obj=permit,
            details={"reason": reason.strip()[:500]},
        )
        _tell(
            permit,
            gettext_lazy("%(number)s: revoked"),
            Text(
                gettext_lazy("Access is cut. Reason: %(reason)s\n\nRedress: %(redress)s"),
                {"reason": reason.strip(), "redress": permit.redress},
            ),
        )
    return permit


@audited_refusals("close_permit")
def close_permit(*, permit: Permit, by: User, reason: str = "") -> Permit:
    if not (
        has_permission(by, Permission.DECIDE_APPLICATIONS)
        or has_permission(by, Permission.HANDLE_APPLICATIONS)
    ):
        raise PermissionDenied(_("only the data authority closes permits"))
    conflicts.require_no_conflict(by, permit.application)
    with transaction.atomic():
        lock(permit)
        check_permit(permit.state, PermitAction.CLOSE)
        permit.state = PermitState.CLOSED
        permit.ended_at = permit.ended_at or timezone.now()
        permit.save()
        record(
            EventKind.PERMIT_CLOSED,
            actor=by,
            organisation=permit.organisation,
            obj=permit,
            details={"reason": reason.strip()[:500]},
        )
        _tell(
            permit,
            gettext_lazy("%(number)s: closed"),
            reason.strip() or Text(gettext_lazy("The project is closed.")),
        )
    return permit


def expire_due_permits(*, today: date | None = None) -> list[str]:
    """Expire every active permit whose end date has passed (the scheduled job). Idempotent."""
    today = today or timezone.localdate()
    expired: list[str] = []
    for permit in Permit.objects.filter(state=PermitState.ACTIVE, ends_on__lt=today):
        with transaction.atomic():
            lock(permit)
            if permit.state != PermitState.ACTIVE or permit.ends_on >= today:
                continue
            permit.state = PermitState.EXPIRED
            permit.ended_at = timezone.now()
            permit.save(update_fields=["state", "ended_at"])
            record(
                EventKind.PERMIT_EXPIRED,
                organisation=permit.organisation,
                obj=permit,
                details={"ends_on": permit.ends_on.isoformat()},
            )
            _tell(
                permit,
                gettext_lazy("%(number)s: expired"),
                Text(
                    gettext_lazy("The permit ended on %(end)s; access is cut."),
                    {"end": permit.ends_on},
                ),
            )
        expired.append(permit.number)
    return expired


class NoAccess(PermissionDenied):
    """Access to a permit's data refused: the message says why and what to do."""


def access_refusal(permit: Permit, user: Any, *, today: date | None = None) -> str:
    """Why ``user`` may not work with the permit's data now ('' when they may)."""
    today = today or timezone.localdate()
    if permit.state != PermitState.ACTIVE:
        return _("permit %(number)s is %(state)s") % {
            "number": permit.number,
            "state": permit.state,
        }
    if today < permit.starts_on:
        return _("permit %(number)s starts on %(date)s") % {
            "number": permit.number,
            "date": permit.starts_on,
        }
    if today > permit.ends_on:
        return _("permit %(number)s ended on %(date)s") % {
            "number": permit.number,
            "date": permit.ends_on,
        }
    person: NamedPerson | None = permit.application.named_persons.filter(user=user).first()
    if person is None:
        return _("you are not an authorised person on permit %(number)s") % {
            "number": permit.number
        }
    if person.terms_accepted_at is None:
        return _("accept the terms of use on the application page before you access the data")
    return ""


def workspace_refusal(permit: Permit) -> str:
    """Why the permit gives no workspace ('' when it does): an aggregate-only permit is
    served by the aggregate service, never by files, a console or jobs on its data."""
    if not permit.aggregate_only:
        return ""
    return _(
        "permit %(number)s gives aggregate statistics only, not a workspace (files, console, "
        "jobs): ask for tables on the aggregate page %(page)s or through the API "
        "(POST %(api)s)"
    ) % {
        "number": permit.number,
        "page": reverse("spe:aggregate", args=[permit.number]),
        "api": f"/api/v1/spe/permits/{permit.number}/aggregates",
    }


@audited_refusals("open_workspace")
def open_workspace(*, permit: Permit, by: User) -> Permit:
    """Enter the project's workspace in the secure processing environment, if allowed.

    Records the first access as the application's access-granted time (a published metric)."""
    reason = access_refusal(permit, by) or workspace_refusal(permit)
    if reason:
        raise NoAccess(reason)
    with transaction.atomic():
        application = permit.application
        if application.access_granted_at is None:
            application.access_granted_at = timezone.now()
            application.save(update_fields=["access_granted_at"])
        record(
            EventKind.PERMIT_ACCESS_GRANTED,
            actor=by,
            organisation=permit.organisation,
            obj=permit,
            details={"version": permit.version},
        )
    return permit
