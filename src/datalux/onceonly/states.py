"""The exchange protocol's state machine, as data (STYLE.md 5; diagram in docs/onceonly.md).

A consumer body drafts a protocol (which items of which authentic source, why, on which legal
basis, how often, kept how long) and submits it. The provider body records its agreement; the
data authority approves it (only once the provider has agreed) or returns it to the drafters.
An approved protocol is activated; an active one may be suspended (and resumed) and is finally
retired. A new version is drafted from an approved, active or suspended protocol; when the new
version is activated, the one it supersedes is retired in the same transaction.
"""

from __future__ import annotations

from enum import StrEnum

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from datalux.access.states import TransitionError


class ProtocolState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    RETIRED = "retired"


class ProtocolAction(StrEnum):
    EDIT = "edit"
    SUBMIT = "submit"
    AGREE = "agree"
    RETURN = "return"
    APPROVE = "approve"
    ACTIVATE = "activate"
    SUSPEND = "suspend"
    RESUME = "resume"
    RETIRE = "retire"
    NEW_VERSION = "new_version"


PROTOCOL_STATE_LABELS: dict[ProtocolState, str | Promise] = {
    ProtocolState.DRAFT: _("Draft"),
    ProtocolState.SUBMITTED: _("Submitted to the data authority"),
    ProtocolState.APPROVED: _("Approved, not yet active"),
    ProtocolState.ACTIVE: _("Active"),
    ProtocolState.SUSPENDED: _("Suspended"),
    ProtocolState.RETIRED: _("Retired"),
}

S = ProtocolState
A = ProtocolAction
#: States the public register shows (drafts and submissions are the bodies' own work).
PUBLIC = frozenset({S.APPROVED, S.ACTIVE, S.SUSPENDED, S.RETIRED})
#: States a newer version may be drafted from.
VERSIONABLE = frozenset({S.APPROVED, S.ACTIVE, S.SUSPENDED})

# (state, action) -> the states the action may lead to. Anything absent is refused.
PROTOCOL_TRANSITIONS: dict[tuple[ProtocolState, ProtocolAction], frozenset[S]] = {
    (S.DRAFT, A.EDIT): frozenset({S.DRAFT}),
    (S.DRAFT, A.SUBMIT): frozenset({S.SUBMITTED}),
    (S.SUBMITTED, A.AGREE): frozenset({S.SUBMITTED}),
    (S.SUBMITTED, A.RETURN): frozenset({S.DRAFT}),
    (S.SUBMITTED, A.APPROVE): frozenset({S.APPROVED}),
    (S.APPROVED, A.ACTIVATE): frozenset({S.ACTIVE}),
    (S.ACTIVE, A.SUSPEND): frozenset({S.SUSPENDED}),
    (S.SUSPENDED, A.RESUME): frozenset({S.ACTIVE}),
    **{(state, A.RETIRE): frozenset({S.RETIRED}) for state in S if state is not S.RETIRED},
    **{(state, A.NEW_VERSION): frozenset({state}) for state in VERSIONABLE},
}


def allowed_protocol_actions(state: ProtocolState) -> list[str]:
    return [a.value for (s, a) in PROTOCOL_TRANSITIONS if s == state]


def check_protocol(state: str, action: ProtocolAction, target: str | None = None) -> None:
    targets = PROTOCOL_TRANSITIONS.get((ProtocolState(state), action))
    if targets is None or (target is not None and target not in targets):
        raise TransitionError(
            "protocol", state, action.value, allowed_protocol_actions(ProtocolState(state))
        )
