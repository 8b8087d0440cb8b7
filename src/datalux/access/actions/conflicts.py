"""Conflicts of interest: who may not be named on an application, and who may not act on it.

Two rules (the four-eyes principle between the people who apply and the people who decide):

- Staff of the data authority (anyone with an active role in an organisation of kind
  ``data_authority``, or holding a handler's or decider's role anywhere) cannot be named persons:
  the authority would handle or decide on its own staff's access to data. Naming one is refused
  (``add_named_person``), and so is submitting an application that names one (a person named
  before they joined the authority: a completeness gap).
- Nobody acts on a case as the authority or as a reviewer (assign, return, start the review,
  ask or give an opinion, extend the deadline, comment, decide, amend, extend, revoke or close
  the permit) when they are the applicant, hold any role in the applicant organisation, or are
  named on the application (by account or by e-mail address, case-insensitive). Nor can such a
  person be assigned as the case's handler.

Refusals are audited as ``application.action_refused`` with ``code: conflict_of_interest``
(see ``common.audited_refusals``); acting users get a 403 (:class:`ConflictOfInterest`), a
refused naming or assignment a message on the field (422 in the API, the form again on pages).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _

from datalux.access.models import Application, NamedPerson
from datalux.accounts.permissions import grants
from datalux.accounts.roles import ROLES, OrganisationKind, Permission

CONFLICT_OF_INTEREST = "conflict_of_interest"
# The roles that make their holder authority staff wherever the membership is recorded.
AUTHORITY_ROLES = frozenset(
    slug
    for slug, role in ROLES.items()
    if role.permissions & {Permission.HANDLE_APPLICATIONS, Permission.DECIDE_APPLICATIONS}
)
# What a conflicted user may not do on a case (the names ``queries.allowed_actions`` lists).
CASE_ACTIONS = frozenset(
    {
        "assign",
        "return",
        "start_review",
        "request_opinion",
        "extend_deadline",
        "give_opinion",
        "decide",
        "comment",
    }
)
PERMIT_ACTIONS = frozenset({"amend", "extend", "revoke", "close"})


class ConflictOfInterest(PermissionDenied):
    """The acting user is the applicant, in the applicant organisation or named (403)."""

    code = CONFLICT_OF_INTEREST


@dataclass(frozen=True)
class Conflict:
    """Why a user is too close to an application to act on it."""

    reason: str  # "applicant", "member" (of the applicant organisation) or "named"
    reference: str
    organisation: str = ""

    def for_them(self, user: Any) -> str:
        """The reason about ``user``, for someone else (an assignment)."""
        facts = {
            "user": user.get_username(),
            "reference": self.reference,
            "organisation": self.organisation,
        }
        if self.reason == "applicant":
            return _("%(user)s is the applicant of %(reference)s") % facts
        if self.reason == "member":
            return (
                _("%(user)s holds a role in %(organisation)s, the applicant organisation") % facts
            )
        return _("%(reference)s names %(user)s") % facts

    def for_you(self) -> str:
        """The reason, for the user concerned."""
        facts = {"reference": self.reference, "organisation": self.organisation}
        if self.reason == "applicant":
            return _("you are the applicant of %(reference)s") % facts
        if self.reason == "member":
            return _("you hold a role in %(organisation)s, the applicant organisation") % facts
        return _("%(reference)s names you") % facts


def _named(user: Any) -> Q:
    query = Q(user=user)
    if user.email:
        query |= Q(email__iexact=user.email)
    return query


def conflict_of(user: Any, application: Application) -> Conflict | None:
    """Why ``user`` may not act on ``application`` as the authority or a reviewer (or None)."""
    if user is None or not user.is_authenticated:
        return None
    reference = application.reference
    if application.applicant_id == user.pk:
        return Conflict("applicant", reference)
    if any(g.organisation_id == application.organisation_id for g in grants(user)):
        return Conflict("member", reference, application.organisation.name)
    if application.named_persons.filter(_named(user)).exists():
        return Conflict("named", reference)
    return None


def require_no_conflict(by: Any, application: Application) -> None:
    """Refuse (403, audited) when ``by`` is too close to the application to act on it."""
    conflict = conflict_of(by, application)
    if conflict is not None:
        raise ConflictOfInterest(
            _(
                "conflict of interest: %(why)s, so you cannot act on it for the data authority "
                "or as a reviewer; a colleague who is not involved must (four-eyes rule)"
            )
            % {"why": conflict.for_you()}
        )


def require_assignable(handler: Any, application: Application) -> None:
    """Refuse (on the ``handler`` field) to give the case to a handler who is too close to it."""
    conflict = conflict_of(handler, application)
    if conflict is not None:
        raise ValidationError(
            {
                "handler": ValidationError(
                    _(
                        "conflict of interest: %(why)s; assign a handler who is not involved "
                        "in the application (four-eyes rule)"
                    )
                    % {"why": conflict.for_them(handler)},
                    code=CONFLICT_OF_INTEREST,
                )
            }
        )


def authority_staff(email: str, user: Any = None) -> str:
    """The name of the data-authority organisation where the account with this e-mail address
    (or ``user``) holds an active role; '' when it is not authority staff."""
    from datalux.accounts.models import Membership

    who = Q(user__email__iexact=email) if email else Q(pk__in=[])
    if user is not None:
        who |= Q(user=user)
    staff = (
        Membership.objects.filter(who, active=True, user__is_active=True)
        .filter(Q(organisation__kind=OrganisationKind.DATA_AUTHORITY) | Q(role__in=AUTHORITY_ROLES))
        .select_related("organisation")
        .order_by("organisation__name", "pk")
        .first()
    )
    if staff is None:
        return ""
    return staff.organisation.name if staff.organisation else _("the data authority")


def require_nameable(email: str) -> None:
    """Refuse (on the ``email`` field) to name staff of the data authority."""
    organisation = authority_staff(email)
    if organisation:
        raise ValidationError(
            {
                "email": ValidationError(
                    _(
                        "%(email)s cannot be named: this person is staff of %(organisation)s, "
                        "the data authority that handles the application (conflict of interest)"
                    )
                    % {"email": email, "organisation": organisation},
                    code=CONFLICT_OF_INTEREST,
                )
            }
        )


def staff_named(application: Application) -> list[NamedPerson]:
    """The persons named on ``application`` who are staff of the data authority."""
    return [
        p
        for p in application.named_persons.select_related("user").order_by("email")
        if authority_staff(p.email, p.user)
    ]


def staff_named_message(persons: list[NamedPerson]) -> str:
    return _(
        "remove %(persons)s: staff of the data authority cannot be named on an application "
        "(conflict of interest)"
    ) % {"persons": ", ".join(p.email for p in persons)}


def refusal_code(exc: Exception) -> str:
    """``conflict_of_interest`` when ``exc`` is a refusal for a conflict of interest, else ''."""
    if isinstance(exc, ConflictOfInterest):
        return CONFLICT_OF_INTEREST
    if isinstance(exc, ValidationError):
        errors = (
            [e for items in exc.error_dict.values() for e in items]
            if hasattr(exc, "error_dict")
            else exc.error_list
        )
        if any(getattr(e, "code", None) == CONFLICT_OF_INTEREST for e in errors):
            return CONFLICT_OF_INTEREST
    return ""


def allowed(
    user: Any, application: Application, names: list[str], permit: bool = False
) -> list[str]:
    """``names`` (actions offered to ``user``) without those a conflict of interest forbids;
    the applicant keeps commenting on their own application."""
    if conflict_of(user, application) is None:
        return names
    refused = PERMIT_ACTIONS if permit else CASE_ACTIONS
    own = application.applicant_id == user.pk
    return [n for n in names if n not in refused or (n == "comment" and own)]


def conflicted_applications(user: Any) -> Q:
    """A filter for the applications ``user`` may not act on (for the authority's inbox)."""
    orgs = sorted({g.organisation_id for g in grants(user) if g.organisation_id is not None})
    named = NamedPerson.objects.filter(_named(user)).values("application_id")
    return Q(applicant=user) | Q(organisation_id__in=orgs) | Q(pk__in=named)
