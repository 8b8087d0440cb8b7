"""The authority's side: submission, returns, review, opinions, deadlines, the decision.

Each action: check the permission, check the state machine, change state, write the audit
event, notify who is concerned, all in one transaction (refusals are audited after rollback).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy

from datalux.access import completeness
from datalux.access.actions import conflicts
from datalux.access.actions.common import (
    Text,
    audited_refusals,
    lock,
    notify,
    people_of,
    require,
    require_applicant,
    require_handler,
)
from datalux.access.actions.permits import issue_permit
from datalux.access.models import Application, Decision, Opinion, OpinionRequest, Snapshot
from datalux.access.states import (
    APPROVED,
    ApplicationAction,
    ApplicationState,
    check_application,
)
from datalux.access.vocabularies import FORM_SCHEMA_VERSION, Vote
from datalux.accounts.models import Organisation, User
from datalux.accounts.permissions import has_permission
from datalux.accounts.roles import OrganisationKind, Permission
from datalux.audit.kinds import EventKind
from datalux.audit.log import record

A = ApplicationAction
S = ApplicationState
# A decision's outcome inside a sentence ("DLX-A-2026-00001: approved").
OUTCOME_WORDS = {
    S.APPROVED: gettext_lazy("approved"),
    S.APPROVED_WITH_CONDITIONS: gettext_lazy("approved with conditions"),
    S.REJECTED: gettext_lazy("rejected"),
}


def users_with(perm: Permission, organisation: Organisation | None = None) -> list[User]:
    """Active users holding ``perm`` (in ``organisation`` for organisation-scoped roles)."""
    from datalux.accounts.models import Membership
    from datalux.accounts.roles import ROLES

    roles = [slug for slug, role in ROLES.items() if perm in role.permissions]
    members = Membership.objects.filter(role__in=roles, active=True, user__is_active=True)
    if organisation is not None:
        members = members.filter(organisation=organisation)
    return list(User.objects.filter(pk__in=members.values("user_id")).order_by("pk"))


def _changed(previous: dict[str, Any], current: dict[str, Any]) -> list[str]:
    keys = sorted(set(previous) | set(current))
    return [k for k in keys if previous.get(k) != current.get(k)]


def _snapshot(application: Application) -> Snapshot:
    data = application.form_data()
    last = application.snapshots.order_by("-number").first()
    changed = _changed(last.data, data) if last else []
    return Snapshot.objects.create(
        application=application,
        number=(last.number + 1) if last else 1,
        schema_version=FORM_SCHEMA_VERSION,
        data=_jsonable(data),
        changed=changed,
    )


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date | datetime) else v) for k, v in data.items()}


def _require_complete(application: Application) -> None:
    gaps = completeness.check(application)
    if gaps:
        raise ValidationError(
            {g.field: ValidationError(g.message, code=g.code or None) for g in gaps},
        )


@audited_refusals("submit")
def submit(*, application: Application, by: User) -> Application:
    """draft → submitted (or returned → submitted: a resubmission). The clock starts at the
    first submission; each submission stores a snapshot and, from the second on, the list of
    fields that changed, which the handler sees highlighted."""
    require_applicant(by, application)
    with transaction.atomic():
        lock(application)
        resubmission = application.state == S.RETURNED
        check_application(application.state, A.RESUBMIT if resubmission else A.SUBMIT)
        _require_complete(application)
        now = timezone.now()
        application.state = S.SUBMITTED
        application.received_at = application.received_at or now
        application.submissions += 1
        application.updated_at = now
        application.save()
        snap = _snapshot(application)
        record(
            EventKind.APPLICATION_RESUBMITTED if resubmission else EventKind.APPLICATION_SUBMITTED,
            actor=by,
            organisation=application.organisation,
            obj=application,
            details={"snapshot": snap.number, "changed": snap.changed},
        )
        deadline = application.deadline
        ref, title = application.reference, application.title
        received = (
            Text(gettext_lazy("%(ref)s resubmitted"), {"ref": ref})
            if resubmission
            else Text(gettext_lazy("%(ref)s received"), {"ref": ref})
        )
        body = Text(gettext_lazy("The data authority received “%(title)s”."), {"title": title})
        if deadline:
            body = Text(
                gettext_lazy("The data authority received “%(title)s”. It decides by %(date)s."),
                {"title": title, "date": deadline},
            )
        notify([application.applicant], subject=received, body=body, application=application)
        staff = (
            [application.handler]
            if application.handler
            else users_with(Permission.HANDLE_APPLICATIONS)
        )
        who = {"title": title, "organisation": str(application.organisation)}
        waiting = Text(gettext_lazy("“%(title)s” from %(organisation)s awaits handling."), who)
        if snap.changed:
            waiting = Text(
                gettext_lazy(
                    "“%(title)s” from %(organisation)s awaits handling. Changed: %(changed)s."
                ),
                {**who, "changed": ", ".join(snap.changed)},
            )
        notify(
            staff,
            subject=received
            if resubmission
            else Text(gettext_lazy("%(ref)s submitted"), {"ref": ref}),
            body=waiting,
            application=application,
        )
    return application


@audited_refusals("withdraw")
def withdraw(*, application: Application, by: User, reason: str = "") -> Application:
    require_applicant(by, application)
    with transaction.atomic():
        lock(application)
        check_application(application.state, A.WITHDRAW)
        application.state = S.WITHDRAWN
        application.withdrawn_at = timezone.now()
        application.save()
        record(
            EventKind.APPLICATION_WITHDRAWN,
            actor=by,
            organisation=application.organisation,
            obj=application,
            details={"reason": reason[:500]},
        )
        if application.handler:
            notify(
                [application.handler],
                subject=Text(gettext_lazy("%(ref)s withdrawn"), {"ref": application.reference}),
                body=Text(
                    gettext_lazy("The applicant withdrew “%(title)s”. %(reason)s"),
                    {"title": application.title, "reason": reason},
                ),
                application=application,
            )
    return application


@audited_refusals("assign")
def assign(*, application: Application, by: User, handler: User) -> Application:
    """A handler takes a case (or gives it to another handler)."""
    require(by, Permission.HANDLE_APPLICATIONS, why=_("only case handlers can assign applications"))
    conflicts.require_no_conflict(by, application)
    if not has_permission(handler, Permission.HANDLE_APPLICATIONS):
        raise ValidationError(
            {
                "handler": _("%(handler)s is not a case handler")
                % {"handler": handler.get_username()}
            }
        )
    if application.state in (S.DRAFT, S.WITHDRAWN) or application.is_decided:
        raise ValidationError(
            {
                "handler": _("%(reference)s is %(state)s: nothing to handle")
                % {"reference": application.reference, "state": application.state}
            }
        )
    conflicts.require_assignable(handler, application)
    with transaction.atomic():
        lock(application)
        previous = application.handler
        application.handler = handler
        application.save(update_fields=["handler"])
        record(
            EventKind.APPLICATION_ASSIGNED,
            actor=by,
            obj=application,
            details={
                "handler": handler.get_username(),
                "previous": previous.get_username() if previous else "",
            },
        )
        if handler.pk != by.pk:
            notify(
                [handler],
                subject=Text(
                    gettext_lazy("%(ref)s assigned to you"), {"ref": application.reference}
                ),
                body=Text(
                    gettext_lazy("%(user)s assigned “%(title)s” to you."),
                    {"user": by.get_username(), "title": application.title},
                ),
                application=application,
            )
    return application


@audited_refusals("return")
def return_application(*, application: Application, by: User, reasons: str) -> Application:
    """submitted/under review → returned: the applicant must complete or correct it."""
    require_handler(by, application)
    conflicts.require_no_conflict(by, application)
    if not reasons.strip():
        raise ValidationError({"reasons": _("say what the applicant must complete or correct")})
    with transaction.atomic():
        lock(application)
        check_application(application.state, A.RETURN)
        application.state = S.RETURNED
        application.returns += 1
        application.save()
        record(
            EventKind.APPLICATION_RETURNED,
            actor=by,
            organisation=application.organisation,
            obj=application,
            details={"reasons": reasons.strip()[:2000]},
        )
        from datalux.access.models import Comment

        Comment.objects.create(application=application, author=by, body=reasons.strip())
        notify(
            people_of(application)[:1],
            subject=Text(gettext_lazy("%(ref)s returned to you"), {"ref": application.reference}),
            body=Text(
                gettext_lazy("The data authority returned “%(title)s”:\n\n%(reasons)s"),
                {"title": application.title, "reasons": reasons.strip()},
            ),
            application=application,
        )
    return application


@audited_refusals("start_review")
def start_review(*, application: Application, by: User) -> Application:
    """submitted → under review: the handler found it complete. Each holder of a requested
    dataset is asked for its opinion."""
    require_handler(by, application)
    conflicts.require_no_conflict(by, application)
    with transaction.atomic():
        lock(application)
        check_application(application.state, A.START_REVIEW)
        _require_complete(application)
        application.state = S.UNDER_REVIEW
        application.complete_at = application.complete_at or timezone.now()
        application.save()
        record(
            EventKind.APPLICATION_REVIEW_STARTED,
            actor=by,
            organisation=application.organisation,
            obj=application,
            details={"deadline": application.deadline.isoformat() if application.deadline else ""},
        )
        holders = Organisation.objects.filter(
            pk__in=application.datasets.values("dataset__publisher_id")
        )
        for holder in holders:
            _ask(application, by, holder, "As holder of requested data, please give your opinion.")
        notify(
            [application.applicant],
            subject=Text(gettext_lazy("%(ref)s under review"), {"ref": application.reference}),
            body=Text(
                gettext_lazy("“%(title)s” is complete and under review."),
                {"title": application.title},
            ),
            application=application,
        )
    return application


def _ask(
    application: Application, by: User, organisation: Organisation, question: str
) -> OpinionRequest:
    request, created = OpinionRequest.objects.get_or_create(
        application=application,
        organisation=organisation,
        defaults={"requested_by": by, "question": question},
    )
    if created:
        record(
            EventKind.OPINION_REQUESTED,
            actor=by,
            organisation=organisation,
            obj=application,
            details={"organisation": organisation.name},
        )
        notify(
            users_with(Permission.REVIEW_APPLICATIONS, organisation),
            subject=Text(gettext_lazy("Your opinion on %(ref)s"), {"ref": application.reference}),
            body=Text(
                gettext_lazy(
                    "The data authority asks %(organisation)s for an opinion on “%(title)s”."
                    "%(question)s"
                ),
                {
                    "organisation": str(organisation),
                    "title": application.title,
                    "question": f"\n\n{question}" if question else "",
                },
            ),
            application=application,
        )
    return request


@audited_refusals("request_opinion")
def request_opinion(
    *, application: Application, by: User, organisation: Organisation, question: str = ""
) -> OpinionRequest:
    require_handler(by, application)
    conflicts.require_no_conflict(by, application)
    if organisation.kind not in (OrganisationKind.DATA_HOLDER, OrganisationKind.DATA_AUTHORITY):
        raise ValidationError(
            {
                "organisation": _(
                    "%(organisation)s cannot review: ask a data holder or a committee"
                )
                % {"organisation": organisation}
            }
        )
    with transaction.atomic():
        lock(application)
        check_application(application.state, A.REQUEST_OPINION)
        return _ask(application, by, organisation, question.strip())


@audited_refusals("give_opinion")
def give_opinion(
    *,
    application: Application,
    by: User,
    vote: str,
    text: str,
    conditions: list[str] | None = None,
    organisation: Organisation | None = None,
) -> Opinion:
    """A reviewer of an organisation that was asked gives an opinion and a vote (once)."""
    requests = [
        r
        for r in application.opinion_requests.select_related("organisation")
        if has_permission(by, Permission.REVIEW_APPLICATIONS, r)
        and (organisation is None or r.organisation_id == organisation.pk)
    ]
    if not requests:
        raise PermissionDenied(
            _("your organisation was not asked for an opinion on %(reference)s")
            % {"reference": application.reference}
        )
    conflicts.require_no_conflict(by, application)
    if vote not in Vote.values:
        raise ValidationError(
            {"vote": _("use one of %(votes)s") % {"votes": ", ".join(Vote.values)}}
        )
    if not text.strip():
        raise ValidationError({"text": _("give the reasons for your vote")})
    with transaction.atomic():
        lock(application)
        check_application(application.state, A.GIVE_OPINION)
        request = requests[0]
        if request.opinions.filter(reviewer=by).exists():
            raise ValidationError({"vote": _("you already gave your opinion on this application")})
        opinion = Opinion.objects.create(
            request=request, reviewer=by, vote=vote, text=text.strip(), conditions=conditions or []
        )
        record(
            EventKind.OPINION_GIVEN,
            actor=by,
            organisation=request.organisation,
            obj=application,
            details={"vote": vote, "organisation": request.organisation.name},
        )
        notify(
            [application.handler] if application.handler else [],
            subject=Text(
                gettext_lazy("Opinion on %(ref)s: %(vote)s"),
                {"ref": application.reference, "vote": Vote(vote).label},
            ),
            body=Text(
                gettext_lazy("%(user)s (%(organisation)s) voted: %(vote)s."),
                {
                    "user": by.get_username(),
                    "organisation": str(request.organisation),
                    "vote": Vote(vote).label,
                },
            ),
            application=application,
        )
    return opinion


@audited_refusals("extend_deadline")
def extend_deadline(*, application: Application, by: User, reason: str) -> Application:
    """Extend the decision deadline once, by the procedure's extension, before it passes; the
    reason goes to the applicant."""
    require_handler(by, application)
    conflicts.require_no_conflict(by, application)
    if not reason.strip():
        raise ValidationError(
            {"reason": _("the applicant must be told why the deadline is extended")}
        )
    with transaction.atomic():
        lock(application)
        check_application(application.state, A.EXTEND_DEADLINE)
        if application.extended_days:
            raise ValidationError({"reason": _("the deadline can be extended only once")})
        deadline = application.deadline
        if deadline is None:
            raise ValidationError({"reason": _("the clock has not started yet")})
        if timezone.now() > deadline:
            raise ValidationError(
                {
                    "reason": _("the deadline passed on %(date)s: it cannot be extended now")
                    % {"date": deadline.strftime("%d %B %Y")}
                }
            )
        application.extended_days = application.procedure.extension_days
        application.extension_reason = reason.strip()
        application.save()
        record(
            EventKind.APPLICATION_DEADLINE_EXTENDED,
            actor=by,
            obj=application,
            details={
                "days": application.extended_days,
                "deadline": application.deadline.isoformat(),
            },
        )
        notify(
            people_of(application)[:1],
            subject=Text(
                gettext_lazy("%(ref)s: decision deadline extended"), {"ref": application.reference}
            ),
            body=Text(
                gettext_lazy("The decision deadline is now %(date)s.\n\nReason: %(reason)s"),
                {"date": application.deadline, "reason": reason.strip()},
            ),
            application=application,
        )
    return application


@audited_refusals("decide")
def decide(
    *,
    application: Application,
    by: User,
    outcome: str,
    reasons: str,
    permit: dict[str, Any] | None = None,
) -> Decision:
    """under review → approved / approved with conditions / rejected. Only deciders decide,
    never on an application they are too close to (``conflicts``); an approval issues the
    permit (see ``issue_permit`` for what ``permit`` may narrow or add)."""
    require(by, Permission.DECIDE_APPLICATIONS, why=_("only deciders of the data authority decide"))
    conflicts.require_no_conflict(by, application)
    if not reasons.strip():
        raise ValidationError({"reasons": _("a decision states its reasons")})
    with transaction.atomic():
        lock(application)
        check_application(application.state, A.DECIDE, outcome)
        now = timezone.now()
        decision = Decision.objects.create(
            application=application,
            outcome=outcome,
            reasons=reasons.strip(),
            redress=application.procedure.redress,
            decided_by=by,
            decided_at=now,
        )
        application.state = outcome
        application.decided_at = now
        application.save()
        record(
            EventKind.APPLICATION_DECIDED,
            actor=by,
            organisation=application.organisation,
            obj=application,
            details={"outcome": outcome, "in_time": not application.clock(now).overdue},
        )
        issued = None
        if outcome in APPROVED:
            issued = issue_permit(
                application=application,
                by=by,
                with_conditions=outcome == S.APPROVED_WITH_CONDITIONS,
                **(permit or {}),
            )
        label = OUTCOME_WORDS[outcome]
        facts = {
            "outcome": label,
            "reasons": reasons.strip(),
            "redress": application.procedure.redress,
        }
        text = Text(
            gettext_lazy("Decision: %(outcome)s.\n\nReasons: %(reasons)s\n\nRedress: %(redress)s"),
            facts,
        )
        if issued:
            text = Text(
                gettext_lazy(
                    "Decision: %(outcome)s.\n\nReasons: %(reasons)s\n\n"
                    "Permit %(permit)s is valid from %(start)s to %(end)s.\n\n"
                    "Redress: %(redress)s"
                ),
                {
                    **facts,
                    "permit": issued.number,
                    "start": issued.starts_on,
                    "end": issued.ends_on,
                },
            )
        notify(
            [*people_of(application), application.handler],
            subject=Text(
                gettext_lazy("%(ref)s: %(outcome)s"),
                {"ref": application.reference, "outcome": label},
            ),
            body=text,
            application=application,
        )
    return decision


def send_deadline_reminders(*, now: datetime | None = None) -> int:
    """Remind the handler (or all handlers) and deciders when a deadline is near or passed.

    Each reminder mark (e.g. 14 and 3 days before, and 'overdue') is sent once per
    application. Safe to run as often as you like.
    """
    now = now or timezone.now()
    sent = 0
    for application in Application.objects.filter(
        state__in=[S.SUBMITTED, S.RETURNED, S.UNDER_REVIEW]
    ).select_related("procedure", "handler"):
        deadline = application.deadline
        if deadline is None:
            continue
        left = deadline - now
        due = [f"{d}d" for d in application.procedure.reminder_days if left <= timedelta(days=d)]
        if left < timedelta(0):
            due.append("overdue")
        marks = [m for m in due if m not in application.reminders_sent]
        if not marks:
            continue
        mark = marks[-1]
        with transaction.atomic():
            application.reminders_sent = [*application.reminders_sent, *marks]
            application.save(update_fields=["reminders_sent"])
            record(
                EventKind.APPLICATION_DEADLINE_REMINDER,
                obj=application,
                details={"mark": mark, "deadline": deadline.isoformat()},
            )
            staff = (
                [application.handler]
                if application.handler
                else users_with(Permission.HANDLE_APPLICATIONS)
            )
            facts = {"ref": application.reference, "title": application.title, "date": deadline}
            if mark == "overdue":
                subject = Text(gettext_lazy("%(ref)s: deadline has passed"), facts)
                body = Text(
                    gettext_lazy("The decision deadline for “%(title)s” (%(date)s) has passed."),
                    facts,
                )
            else:
                facts["n"] = left.days
                subject = Text(
                    ngettext_lazy(
                        "%(ref)s: deadline is in %(n)d day",
                        "%(ref)s: deadline is in %(n)d days",
                        "n",
                    ),
                    facts,
                )
                body = Text(
                    ngettext_lazy(
                        "The decision deadline for “%(title)s” (%(date)s) is in %(n)d day.",
                        "The decision deadline for “%(title)s” (%(date)s) is in %(n)d days.",
                        "n",
                    ),
                    facts,
                )
            notify(
                [*staff, *users_with(Permission.DECIDE_APPLICATIONS)],
                subject=subject,
                body=body,
                application=application,
            )
        sent += 1
    return sent
