"""Read-side helpers shared by the pages and the API: what a user may see of an application."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from datalux.access.models import Application, Comment, Opinion, Permit
from datalux.access.states import (
    DECIDED,
    ApplicationAction,
    ApplicationState,
    PermitAction,
    PermitState,
    allowed_application_actions,
    allowed_permit_actions,
)
from datalux.accounts.permissions import has_permission
from datalux.accounts.roles import Permission
from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent

A = ApplicationAction
S = ApplicationState


def is_authority(user: Any) -> bool:
    """Case handlers and deciders of the data authority."""
    return has_permission(user, Permission.HANDLE_APPLICATIONS) or has_permission(
        user, Permission.DECIDE_APPLICATIONS
    )


def is_party(user: Any, application: Application) -> bool:
    """The applicant or a named person (the people the application is about)."""
    return (
        application.applicant_id == user.pk or application.named_persons.filter(user=user).exists()
    )


def is_reviewer_of(user: Any, application: Application) -> bool:
    return any(
        has_permission(user, Permission.REVIEW_APPLICATIONS, request)
        for request in application.opinion_requests.all()
    )


def sees_internal(user: Any, application: Application) -> bool:
    """Internal notes are for the authority and the reviewers asked, never for applicants."""
    return (is_authority(user) or is_reviewer_of(user, application)) and not is_party(
        user, application
    )


def sees_emails(user: Any, application: Application) -> bool:
    """Named persons' e-mail addresses are for the parties (the applicant and the persons
    named) and the data authority (handlers, deciders). Reviewers (holder stewards asked for an
    opinion) and the assistance desk see names only. The API and the pages apply this rule."""
    return is_party(user, application) or is_authority(user)


def redact_spec(spec: dict[str, Any], emails: bool) -> dict[str, Any]:
    """A permit's machine-readable terms with the persons' e-mail addresses removed unless
    ``emails`` (:func:`sees_emails`)."""
    if emails:
        return spec
    persons = [{**p, "email": None} for p in spec.get("authorised_persons", [])]
    return {**spec, "authorised_persons": persons}


def get_visible(user: Any, reference: str) -> Application:
    """The application with this reference if ``user`` may see it; 404 otherwise (we do not
    reveal whether an application exists to people who may not see it)."""
    application = (
        Application.objects.visible_to(user)
        .select_related("procedure", "organisation", "applicant", "handler")
        .filter(reference=reference)
        .first()
    )
    if application is None:
        raise Http404("no such application, or not visible to you")
    return application


def comments_for(user: Any, application: Application) -> QuerySet[Comment]:
    comments = application.comments.select_related("author")
    return comments if sees_internal(user, application) else comments.filter(internal=False)


def visible_permits(user: Any) -> QuerySet[Permit]:
    return Permit.objects.filter(
        application__in=Application.objects.visible_to(user).values("pk")
    ).select_related("application", "organisation")


def get_visible_permit(user: Any, number: str) -> Permit:
    permit = visible_permits(user).filter(number=number).first()
    if permit is None:
        raise Http404("no such permit, or not visible to you")
    return permit


def history(application: Application) -> QuerySet[AuditEvent]:
    """Every audit event about the application and its permit, oldest first (never deleted)."""
    query = Q(object_type="access.application", object_id=str(application.pk))
    permit = Permit.objects.filter(application=application).only("pk").first()
    if permit is not None:
        query |= Q(object_type="access.permit", object_id=str(permit.pk))
    return AuditEvent.objects.filter(query).order_by("seq")


K = EventKind
# The events of an application's history meant for its applicant and the persons named: the
# steps they take and the authority's steps they are told about (receipt, return with reasons,
# review, opinions asked, deadline extended, decision, permit). Assignments, reminders, votes,
# downloads, internal notes and other people's refused actions stay with the authority.
PARTY_EVENTS = frozenset(
    {
        K.APPLICATION_CREATED,
        K.APPLICATION_UPDATED,
        K.APPLICATION_SUBMITTED,
        K.APPLICATION_RESUBMITTED,
        K.APPLICATION_RETURNED,
        K.APPLICATION_REVIEW_STARTED,
        K.APPLICATION_COMMENTED,  # not internal notes: see _meant_for_parties
        K.APPLICATION_DEADLINE_EXTENDED,
        K.APPLICATION_DECIDED,
        K.APPLICATION_WITHDRAWN,
        K.ATTACHMENT_ADDED,
        K.OPINION_REQUESTED,
        K.TERMS_ACCEPTED,
        K.PERMIT_ISSUED,
        K.PERMIT_AMENDED,
        K.PERMIT_EXTENDED,
        K.PERMIT_REVOKED,
        K.PERMIT_EXPIRED,
        K.PERMIT_CLOSED,
        K.PERMIT_ACCESS_GRANTED,
    }
)


def _meant_for_parties(event: AuditEvent, user: Any) -> bool:
    if event.actor_id is not None and event.actor_id == user.pk:
        return True  # one's own steps, refused ones included
    if event.kind not in PARTY_EVENTS:
        return False
    return not (event.kind == K.APPLICATION_COMMENTED and event.details.get("internal"))


def history_for(user: Any, application: Application) -> list[AuditEvent]:
    """The history ``user`` may read: all of it for the authority and the reviewers asked (as
    :func:`sees_internal`); for the applicant, the persons named and the assistance desk only
    the events meant for the applicant (:data:`PARTY_EVENTS`, and their own)."""
    events = list(history(application))
    if sees_internal(user, application):
        return events
    return [e for e in events if _meant_for_parties(e, user)]


def allowed_actions(user: Any, application: Application) -> list[str]:
    """What ``user`` may do on ``application`` now: the pages offer these forms, the API lists
    them (the actions check again when asked)."""
    from datalux.access import actions
    from datalux.access.actions import conflicts

    state = S(application.state)
    possible = set(allowed_application_actions(state))
    applicant = application.applicant_id == user.pk and has_permission(
        user, Permission.SUBMIT_APPLICATIONS, application.organisation
    )
    handler = has_permission(user, Permission.HANDLE_APPLICATIONS)
    assigned = handler and application.handler_id == user.pk
    deadline = application.deadline
    extendable = (
        not application.extended_days and deadline is not None and timezone.now() <= deadline
    )
    asked = [
        r
        for r in application.opinion_requests.all()
        if has_permission(user, Permission.REVIEW_APPLICATIONS, r)
    ]
    voted = Opinion.objects.filter(request__in=asked, reviewer=user).count()
    may = {
        A.EDIT: applicant,
        A.SUBMIT: applicant,
        A.RESUBMIT: applicant,
        A.WITHDRAW: applicant,
        A.RETURN: assigned,
        A.START_REVIEW: assigned,
        A.REQUEST_OPINION: assigned,
        A.EXTEND_DEADLINE: assigned and extendable,
        A.GIVE_OPINION: len(asked) > voted,
        A.DECIDE: has_permission(user, Permission.DECIDE_APPLICATIONS)
        and not is_party(user, application),
    }
    out = [action.value for action in A if action in possible and may.get(action)]
    if handler and state not in (S.DRAFT, S.WITHDRAWN) and state not in DECIDED:
        out.append("assign")
    person = application.named_persons.filter(user=user).first()
    if person and not person.terms_accepted_at and state not in (S.WITHDRAWN, S.REJECTED):
        out.append("accept_terms")
    if state != S.WITHDRAWN and actions.can_comment(user, application):
        out.append("comment")
    return conflicts.allowed(user, application, out)  # nothing for those too close to it


def permit_actions(user: Any, permit: Permit) -> list[str]:
    """What ``user`` may do with ``permit`` now (amend, extend, revoke, close, open_workspace)."""
    from datalux.access import actions
    from datalux.access.actions import conflicts

    state = PermitState(permit.state)
    possible = set(allowed_permit_actions(state))
    decider = has_permission(user, Permission.DECIDE_APPLICATIONS)
    authority = is_authority(user)
    may = {
        PermitAction.AMEND: decider,
        PermitAction.EXTEND: decider,
        PermitAction.REVOKE: decider,
        PermitAction.CLOSE: authority,
    }
    out = [a.value for a in PermitAction if a in possible and may.get(a)]
    if not actions.access_refusal(permit, user):
        out.append("open_workspace")
    return conflicts.allowed(user, permit.application, out, permit=True)
