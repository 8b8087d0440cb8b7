"""The release request's state machine, as data (STYLE.md 5; diagram in docs/outputs.md).

A researcher drafts a request (files of finished jobs, with their context) and submits it; the
automatic checks gate the submission. Two output checkers review each file blind (neither sees
the other's votes until both are in). When both are in: every file approved by both → approved;
any disagreement → consolidating (a checker decides each disputed file); changes requested and
no disagreement → returned, for the researcher to change and resubmit (a new review round). A
checker may reject with reasons; an approved request is released by a checker, after which its
files (and only they) can be downloaded. The researcher may withdraw before release.
"""

from __future__ import annotations

from enum import StrEnum

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from datalux.access.states import TransitionError


class ReleaseState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    CONSOLIDATING = "consolidating"
    RETURNED = "returned"
    APPROVED = "approved"
    RELEASED = "released"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class ReleaseAction(StrEnum):
    EDIT = "edit"
    SUBMIT = "submit"
    REVIEW = "review"
    CONSOLIDATE = "consolidate"
    RESUBMIT = "resubmit"
    REJECT = "reject"
    RELEASE = "release"
    WITHDRAW = "withdraw"
    PUBLISH = "publish"


RELEASE_STATE_LABELS: dict[ReleaseState, str | Promise] = {
    ReleaseState.DRAFT: _("Draft"),
    ReleaseState.SUBMITTED: _("Under review"),
    ReleaseState.CONSOLIDATING: _("Checkers disagree: consolidation"),
    ReleaseState.RETURNED: _("Returned for changes"),
    ReleaseState.APPROVED: _("Approved, awaiting release"),
    ReleaseState.RELEASED: _("Released"),
    ReleaseState.REJECTED: _("Rejected"),
    ReleaseState.WITHDRAWN: _("Withdrawn"),
}

S = ReleaseState
A = ReleaseAction
#: A request in one of these states is the person's open request for the project.
OPEN = frozenset({S.DRAFT, S.SUBMITTED, S.CONSOLIDATING, S.RETURNED, S.APPROVED})
#: States in which output checkers work on the request.
CHECKING = frozenset({S.SUBMITTED, S.CONSOLIDATING, S.APPROVED})
FINAL = frozenset({S.RELEASED, S.REJECTED, S.WITHDRAWN})

# (state, action) -> the states the action may lead to. Anything absent is refused.
RELEASE_TRANSITIONS: dict[tuple[ReleaseState, ReleaseAction], frozenset[S]] = {
    (S.DRAFT, A.EDIT): frozenset({S.DRAFT}),
    (S.RETURNED, A.EDIT): frozenset({S.RETURNED}),
    (S.DRAFT, A.SUBMIT): frozenset({S.SUBMITTED}),
    (S.RETURNED, A.RESUBMIT): frozenset({S.SUBMITTED}),
    (S.SUBMITTED, A.REVIEW): frozenset({S.SUBMITTED, S.APPROVED, S.CONSOLIDATING, S.RETURNED}),
    (S.CONSOLIDATING, A.CONSOLIDATE): frozenset({S.APPROVED, S.RETURNED}),
    (S.APPROVED, A.RELEASE): frozenset({S.RELEASED}),
    (S.RELEASED, A.PUBLISH): frozenset({S.RELEASED}),
    **{(state, A.REJECT): frozenset({S.REJECTED}) for state in CHECKING},
    **{(state, A.WITHDRAW): frozenset({S.WITHDRAWN}) for state in OPEN},
}


def allowed_release_actions(state: ReleaseState) -> list[str]:
    return [a.value for (s, a) in RELEASE_TRANSITIONS if s == state]


def check_release(state: str, action: ReleaseAction, target: str | None = None) -> None:
    targets = RELEASE_TRANSITIONS.get((ReleaseState(state), action))
    if targets is None or (target is not None and target not in targets):
        raise TransitionError(
            "release request", state, action.value, allowed_release_actions(ReleaseState(state))
        )
