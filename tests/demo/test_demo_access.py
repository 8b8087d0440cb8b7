"""The demo's access requests: applications in every state, so each role has work waiting."""

from __future__ import annotations

from typing import Any

import pytest

from datalux.access.actions import access_refusal
from datalux.access.models import Application, NamedPerson, OpinionRequest, Permit
from datalux.access.states import OPEN, ApplicationState, PermitState
from datalux.accounts.models import User
from datalux.accounts.roles import OrganisationKind
from datalux.audit.kinds import EventKind
from datalux.audit.log import verify
from datalux.audit.models import AuditEvent
from datalux.demo.seed import seed_demo

pytestmark = pytest.mark.django_db
S = ApplicationState


def _user(name: str) -> Any:
    return User.objects.get(username=name)


def test_demo_seeds_applications_in_every_state_and_work_for_every_role() -> None:
    lines: list[str] = []
    seed_demo(persons=120, seed=5, echo=lines.append)
    apps = Application.objects.all()
    made = [line for line in lines if line.startswith("application DLX-A-")]
    assert len(made) == apps.count()
    assert {a.state for a in apps} == set(ApplicationState)

    # assistant: a draft with the assistance desk's comment
    assistant = _user("assistant")
    drafts = Application.objects.visible_to(assistant).filter(state=S.DRAFT)
    assert drafts.filter(comments__author=assistant).exists()

    # handler: a submitted application nobody handles, and assigned cases
    handler = _user("handler")
    assert apps.filter(state=S.SUBMITTED, handler__isnull=True).exists()
    assert apps.filter(state__in=OPEN, handler=handler).count() >= 3
    # ... among them a resubmission, whose changed fields the handler sees
    resubmitted = apps.get(state=S.SUBMITTED, submissions=2)
    assert resubmitted.returns == 1
    assert set(resubmitted.snapshots.last().changed) == {"funding", "safeguards"}

    # applicant: one returned for completion, and terms to accept on an approved permit
    researcher = _user("researcher")
    assert apps.filter(state=S.RETURNED, applicant=researcher, returns=1).exists()
    pending_terms = NamedPerson.objects.filter(
        user=researcher, terms_accepted_at__isnull=True, application__state=S.APPROVED
    )
    permit = pending_terms.get().application.permit
    assert permit.state == PermitState.ACTIVE
    assert "accept the terms" in access_refusal(permit, researcher)

    # member (named, not the applicant): terms to accept too
    assert NamedPerson.objects.filter(
        user=_user("researcher2"), terms_accepted_at__isnull=True
    ).exists()

    # reviewer: an opinion asked of their organisation, not yet given; holders were asked too
    reviewer = _user("reviewer")
    asked = OpinionRequest.objects.filter(
        application__state=S.UNDER_REVIEW,
        organisation__memberships__user=reviewer,
        organisation__memberships__role="reviewer",
    )
    assert asked.filter(opinions__isnull=True).exists()
    assert asked.filter(opinions__reviewer=reviewer).exists()
    holders = OpinionRequest.objects.filter(organisation__kind=OrganisationKind.DATA_HOLDER)
    assert holders.filter(opinions__isnull=True, application__state=S.UNDER_REVIEW).exists()
    assert Application.objects.visible_to(reviewer).filter(state=S.UNDER_REVIEW).count() == 2
    # the holders' stewards review for their holder: one opinion given, others still awaited
    assert holders.filter(opinions__reviewer__username__startswith="steward-").exists()
    waiting_steward = holders.filter(opinions__isnull=True, application__state=S.UNDER_REVIEW)
    steward = User.objects.get(
        memberships__organisation=waiting_steward.first().organisation,
        memberships__role="reviewer",
    )
    assert steward.username.startswith("steward-") and steward.email

    # decider: an application under review whose opinion was given
    assert apps.filter(state=S.UNDER_REVIEW, opinion_requests__opinions__isnull=False).exists()

    # decisions: conditions, a refusal, a withdrawal, an expired permit
    conditional = Permit.objects.get(application__state=S.APPROVED_WITH_CONDITIONS)
    codes = set(conditional.conditions.values_list("code", flat=True))
    assert {"publish-results", "no-transfer-outside-eu"} <= codes
    assert conditional.application.access_granted_at is not None
    assert not Permit.objects.filter(application__state=S.REJECTED).exists()
    assert apps.get(state=S.WITHDRAWN).withdrawn_at is not None
    expired = Permit.objects.get(state=PermitState.EXPIRED)
    assert access_refusal(expired, expired.application.applicant) != ""
    assert (
        AuditEvent.objects.filter(kind=EventKind.PERMIT_EXPIRED, object_id=str(expired.pk)).count()
        == 1
    )
    assert verify().ok


def test_seeding_again_reuses_the_applications() -> None:
    seed_demo(persons=80, seed=9, echo=lambda _: None)
    count, events = Application.objects.count(), AuditEvent.objects.count()
    lines: list[str] = []
    seed_demo(echo=lines.append)
    assert Application.objects.count() == count and AuditEvent.objects.count() == events
    assert any("demo applications found" in line for line in lines)
    # a missing one (e.g. a demo seeded before the access procedure existed) is made again
    Application.objects.filter(state=S.SUBMITTED, handler__isnull=True).update(
        title="renamed by the test"
    )
    lines.clear()
    seed_demo(echo=lines.append)
    assert Application.objects.count() == count + 1
    assert [line for line in lines if line.startswith("application ")] == [
        line for line in lines if "Commuting of cross-border workers" in line
    ]
