"""The two state machines of the data authority, as data (STYLE.md 5; diagram in docs/access.md).

An application moves ``draft → submitted → (returned ⇄ submitted) → under_review → approved |
approved_with_conditions | rejected``; it can be withdrawn before a decision. An approval issues
a permit, which is ``active`` (amended or extended as new versions) until it is ``revoked`` or
``expired``, and finally ``closed``.
"""

from __future__ import annotations

from enum import StrEnum

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from datalux.core.errors import Conflict


class ApplicationState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    UNDER_REVIEW = "under_review"
    APPROVED = "approved"
    APPROVED_WITH_CONDITIONS = "approved_with_conditions"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class ApplicationAction(StrEnum):
    EDIT = "edit"
    SUBMIT = "submit"
    RETURN = "return"
    RESUBMIT = "resubmit"
    START_REVIEW = "start_review"
    REQUEST_OPINION = "request_opinion"
    GIVE_OPINION = "give_opinion"
    EXTEND_DEADLINE = "extend_deadline"
    DECIDE = "decide"
    WITHDRAW = "withdraw"


class PermitState(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"
    CLOSED = "closed"


class PermitAction(StrEnum):
    AMEND = "amend"
    EXTEND = "extend"
    REVOKE = "revoke"
    EXPIRE = "expire"
    CLOSE = "close"


APPLICATION_STATE_LABELS: dict[ApplicationState, str | Promise] = {
    ApplicationState.DRAFT: _("Draft"),
    ApplicationState.SUBMITTED: _("Submitted"),
    ApplicationState.RETURNED: _("Returned to the applicant"),
    ApplicationState.UNDER_REVIEW: _("Under review"),
    ApplicationState.APPROVED: _("Approved"),
    ApplicationState.APPROVED_WITH_CONDITIONS: _("Approved with conditions"),
    ApplicationState.REJECTED: _("Rejected"),
    ApplicationState.WITHDRAWN: _("Withdrawn"),
}
PERMIT_STATE_LABELS: dict[PermitState, str | Promise] = {
    PermitState.ACTIVE: _("Active"),
    PermitState.REVOKED: _("Revoked"),
    PermitState.EXPIRED: _("Expired"),
    PermitState.CLOSED: _("Closed"),
}

S = ApplicationState
A = ApplicationAction
DECIDED = frozenset({S.APPROVED, S.APPROVED_WITH_CONDITIONS, S.REJECTED})
APPROVED = frozenset({S.APPROVED, S.APPROVED_WITH_CONDITIONS})
OPEN = frozenset({S.SUBMITTED, S.RETURNED, S.UNDER_REVIEW})  # the authority's clock runs

# (state, action) -> the states the action may lead to. Anything absent is refused.
APPLICATION_TRANSITIONS: dict[tuple[ApplicationState, ApplicationAction], frozenset[S]] = {
    (S.DRAFT, A.EDIT): frozenset({S.DRAFT}),
    (S.RETURNED, A.EDIT): frozenset({S.RETURNED}),
    (S.DRAFT, A.SUBMIT): frozenset({S.SUBMITTED}),
    (S.SUBMITTED, A.RETURN): frozenset({S.RETURNED}),
    (S.UNDER_REVIEW, A.RETURN): frozenset({S.RETURNED}),
    (S.RETURNED, A.RESUBMIT): frozenset({S.SUBMITTED}),
    (S.SUBMITTED, A.START_REVIEW): frozenset({S.UNDER_REVIEW}),
    (S.UNDER_REVIEW, A.REQUEST_OPINION): frozenset({S.UNDER_REVIEW}),
    (S.UNDER_REVIEW, A.GIVE_OPINION): frozenset({S.UNDER_REVIEW}),
    (S.SUBMITTED, A.EXTEND_DEADLINE): frozenset({S.SUBMITTED}),
    (S.UNDER_REVIEW, A.EXTEND_DEADLINE): frozenset({S.UNDER_REVIEW}),
    (S.UNDER_REVIEW, A.DECIDE): DECIDED,
    **{(state, A.WITHDRAW): frozenset({S.WITHDRAWN}) for state in (S.DRAFT, *OPEN)},
}

P = PermitState
PA = PermitAction
PERMIT_TRANSITIONS: dict[tuple[PermitState, PermitAction], frozenset[P]] = {
    (P.ACTIVE, PA.AMEND): frozenset({P.ACTIVE}),
    (P.ACTIVE, PA.EXTEND): frozenset({P.ACTIVE}),
    (P.EXPIRED, PA.EXTEND): frozenset({P.ACTIVE}),
    (P.ACTIVE, PA.REVOKE): frozenset({P.REVOKED}),
    (P.ACTIVE, PA.EXPIRE): frozenset({P.EXPIRED}),
    **{(state, PA.CLOSE): frozenset({P.CLOSED}) for state in (P.ACTIVE, P.REVOKED, P.EXPIRED)},
}


class TransitionError(Conflict):
    """An action the state machine refuses; the message names the state and the action."""

    def __init__(self, kind: str, state: str, action: str, allowed: list[str]) -> None:
        self.kind, self.state, self.action, self.allowed = kind, state, action, allowed
        what = ", ".join(allowed) if allowed else "nothing: it is final"
        super().__init__(
            f"cannot {action.replace('_', ' ')} a {kind} that is {state.replace('_', ' ')}; "
            f"in this state it allows: {what}"
        )


def allowed_application_actions(state: ApplicationState) -> list[str]:
    return [a.value for (s, a) in APPLICATION_TRANSITIONS if s == state]


def allowed_permit_actions(state: PermitState) -> list[str]:
    return [a.value for (s, a) in PERMIT_TRANSITIONS if s == state]


def check_application(state: str, action: ApplicationAction, target: str | None = None) -> None:
    targets = APPLICATION_TRANSITIONS.get((ApplicationState(state), action))
    if targets is None or (target is not None and target not in targets):
        raise TransitionError(
            "application", state, action.value, allowed_application_actions(ApplicationState(state))
        )


def check_permit(state: str, action: PermitAction) -> None:
    if (PermitState(state), action) not in PERMIT_TRANSITIONS:
        raise TransitionError(
            "permit", state, action.value, allowed_permit_actions(PermitState(state))
        )
