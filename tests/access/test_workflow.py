"""The application state machine through its actions: grants, refusals, audit events."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from datalux.access import actions
from datalux.access.models import Application, Notification, Permit
from datalux.access.states import (
    APPLICATION_TRANSITIONS,
    ApplicationAction,
    ApplicationState,
    TransitionError,
    check_application,
)
from datalux.audit.kinds import EventKind
from datalux.audit.log import verify
from datalux.audit.models import AuditEvent
from tests.access.world import World
from tests.factories.accounts import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def events(kind: EventKind, obj: Any = None) -> int:
    qs = AuditEvent.objects.filter(kind=kind)
    if obj is not None:
        qs = qs.filter(object_id=str(obj.pk))
    return qs.count()


def test_every_state_is_reachable_or_initial() -> None:
    reachable = {
        t
        for (source, _), targets in APPLICATION_TRANSITIONS.items()
        for t in targets
        if t != source
    }
    assert set(ApplicationState) - reachable == {ApplicationState.DRAFT}


def test_refused_transition_names_the_state_and_the_allowed_actions() -> None:
    with pytest.raises(TransitionError) as err:
        check_application("withdrawn", ApplicationAction.DECIDE)
    assert "cannot decide a application that is withdrawn" in str(err.value).replace("an ", "a ")
    assert "it is final" in str(err.value)


def test_full_journey_to_a_permit(world: World, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        application = world.approved()
    assert application.state == ApplicationState.APPROVED
    assert application.received_at and application.complete_at and application.decided_at
    permit = Permit.objects.get(application=application)
    spec = permit.spec()
    assert spec["datasets"][0]["variables"] == ["age", "diagnosis"]
    assert spec["datasets"][0]["filters"] == [{"variable": "age", "op": ">=", "value": 18}]
    assert {c["code"] for c in spec["conditions"]} >= {"no-reidentification"}
    assert spec["form"] == "pseudonymised"
    for kind in (
        EventKind.APPLICATION_CREATED,
        EventKind.APPLICATION_SUBMITTED,
        EventKind.APPLICATION_ASSIGNED,
        EventKind.APPLICATION_REVIEW_STARTED,
        EventKind.APPLICATION_DECIDED,
    ):
        assert events(kind, application) == 1, kind
    assert events(EventKind.PERMIT_ISSUED, permit) == 1
    assert verify().ok
    # The holder was asked for its opinion when the review started.
    assert application.opinion_requests.get().organisation == world.holder
    # The applicant was told, in the inbox and by e-mail.
    assert Notification.objects.filter(user=world.applicant, subject__contains="approved").exists()
    assert any("approved" in m.subject for m in mail.outbox)


def test_incomplete_application_cannot_be_submitted_and_each_gap_says_what_to_fix(
    world: World,
) -> None:
    application = world.draft(complete=False)
    with pytest.raises(ValidationError) as err:
        actions.submit(application=application, by=world.applicant)
    gaps = err.value.message_dict
    assert "add at least one dataset" in gaps["datasets"][0]
    assert "purpose_description" in gaps
    application.refresh_from_db()
    assert application.state == ApplicationState.DRAFT
    assert events(EventKind.APPLICATION_ACTION_REFUSED, application) == 1


def test_pseudonymised_data_need_a_justification(world: World) -> None:
    application = world.draft(pseudonymised_justification="")
    with pytest.raises(ValidationError) as err:
        actions.submit(application=application, by=world.applicant)
    assert "anonymised data would not be enough" in str(err.value)


def test_direct_identifiers_are_refused_for_anonymised_data(world: World) -> None:
    application = world.draft(data_form="anonymised")
    actions.request_dataset(
        application=application, by=world.applicant, dataset=world.stays,
        variables=["national_id", "age"],
    )  # fmt: skip
    with pytest.raises(ValidationError) as err:
        actions.submit(application=application, by=world.applicant)
    assert "national_id directly identify people" in str(err.value)


def test_variables_must_come_from_the_dictionary(world: World) -> None:
    application = world.draft()
    with pytest.raises(ValidationError) as err:
        actions.request_dataset(
            application=application, by=world.applicant, dataset=world.stays,
            variables=["age", "salary"],
        )  # fmt: skip
    assert "not in the dictionary" in str(err.value) and "salary" in str(err.value)


def test_bad_filters_are_refused_with_the_reason(world: World) -> None:
    application = world.draft()
    for filters, message in [
        ([{"variable": "height", "op": "=", "value": 1}], "not a variable"),
        ([{"variable": "age", "op": "~", "value": 1}], "operator '~' unknown"),
        ([{"variable": "age", "op": "between", "value": [1]}], "needs [low, high]"),
        ("age > 18", "give a list"),
    ]:
        with pytest.raises(ValidationError, match=message.replace("[", r"\[").replace("]", r"\]")):
            actions.request_dataset(
                application=application, by=world.applicant, dataset=world.stays,
                variables=["age"], filters=filters,
            )  # fmt: skip


def test_only_the_applicant_edits_and_submits(world: World) -> None:
    application = world.draft()
    for user in (world.colleague, world.stranger, world.handler, world.assistant):
        with pytest.raises(PermissionDenied):
            actions.submit(application=application, by=user)
        with pytest.raises(PermissionDenied):
            actions.update_application(application=application, by=user, title="Mine now")
    assert events(EventKind.ACCESS_DENIED, application) == 8


def test_applicants_see_only_their_own_applications(world: World) -> None:
    mine = world.draft()
    theirs = world.draft(by=world.stranger)
    assert list(Application.objects.visible_to(world.applicant)) == [mine]
    assert list(Application.objects.visible_to(world.stranger)) == [theirs]
    assert list(Application.objects.visible_to(world.colleague)) == []
    # Drafts are the applicant's (and the assistance desk's) until they are submitted.
    assert list(Application.objects.visible_to(world.handler)) == []
    assert set(Application.objects.visible_to(world.assistant)) == {mine, theirs}
    actions.submit(application=mine, by=world.applicant)
    assert list(Application.objects.visible_to(world.handler)) == [mine]
    assert list(Application.objects.visible_to(world.reviewer)) == []


def test_reviewers_see_what_their_organisation_was_asked(world: World) -> None:
    application = world.under_review()
    assert list(Application.objects.visible_to(world.reviewer)) == [application]
    assert list(Application.objects.visible_to(world.other_reviewer)) == []


def test_return_and_resubmission_highlight_changed_fields(world: World) -> None:
    application = world.submitted()
    actions.assign(application=application, by=world.handler, handler=world.handler)
    actions.return_application(
        application=application, by=world.handler, reasons="Say who funds the hosting."
    )
    assert application.state == ApplicationState.RETURNED
    actions.update_application(application=application, by=world.applicant, funding="FNR + EU")
    actions.submit(application=application, by=world.applicant)
    assert application.state == ApplicationState.SUBMITTED
    assert application.returns == 1 and application.submissions == 2
    snapshots = list(application.snapshots.all())
    assert [s.number for s in snapshots] == [1, 2]
    assert snapshots[1].changed == ["funding"]
    assert events(EventKind.APPLICATION_RESUBMITTED, application) == 1
    handler_note = Notification.objects.filter(user=world.handler, subject__contains="resubmitted")
    assert "Changed: funding" in handler_note.get().body


def test_only_the_assigned_handler_runs_the_procedure(world: World) -> None:
    application = world.submitted()
    with pytest.raises(PermissionDenied, match="assign yourself first"):
        actions.start_review(application=application, by=world.handler)
    actions.assign(application=application, by=world.handler, handler=world.handler)
    with pytest.raises(PermissionDenied, match="only the handler assigned"):
        actions.start_review(application=application, by=world.handler2)
    with pytest.raises(PermissionDenied):
        actions.assign(application=application, by=world.decider, handler=world.decider)


def test_a_reviewer_cannot_decide(world: World) -> None:
    application = world.under_review()
    before = events(EventKind.ACCESS_DENIED)
    with pytest.raises(PermissionDenied, match="only deciders"):
        actions.decide(
            application=application, by=world.reviewer, outcome="approved", reasons="I like it"
        )
    assert events(EventKind.ACCESS_DENIED) == before + 1
    application.refresh_from_db()
    assert application.state == ApplicationState.UNDER_REVIEW


def test_reviewers_vote_once_for_their_organisation_only(world: World) -> None:
    application = world.under_review()
    actions.give_opinion(
        application=application, by=world.reviewer, vote="favourable", text="Fine for us."
    )
    with pytest.raises(ValidationError, match="already gave"):
        actions.give_opinion(
            application=application, by=world.reviewer, vote="unfavourable", text="Changed mind"
        )
    with pytest.raises(PermissionDenied, match="not asked"):
        actions.give_opinion(
            application=application, by=world.other_reviewer, vote="favourable", text="Sure"
        )
    actions.request_opinion(
        application=application, by=world.handler, organisation=world.other_holder
    )
    with pytest.raises(ValidationError, match="use one of"):
        actions.give_opinion(
            application=application, by=world.other_reviewer, vote="maybe", text="Hmm"
        )
    actions.give_opinion(
        application=application, by=world.other_reviewer, vote="abstain", text="Not ours"
    )
    assert application.opinion_requests.count() == 2


def test_a_decision_on_a_withdrawn_application_is_refused(world: World) -> None:
    application = world.under_review()
    actions.withdraw(application=application, by=world.applicant, reason="Funding ended")
    with pytest.raises(TransitionError, match="that is withdrawn"):
        actions.decide(
            application=application, by=world.decider, outcome="approved", reasons="Good"
        )
    assert events(EventKind.APPLICATION_ACTION_REFUSED, application) == 1
    assert not Permit.objects.exists()


def test_deciders_do_not_decide_on_applications_that_name_them(world: World) -> None:
    # Staff cannot be named (tests/access/test_conflicts_of_interest.py): this person was named
    # by e-mail and joined the authority as a decider once the case was under review.
    application = world.draft()
    actions.add_named_person(
        application=application, by=world.applicant, name="D", email="joins@example.lu"
    )
    actions.submit(application=application, by=world.applicant)
    actions.assign(application=application, by=world.handler, handler=world.handler)
    actions.start_review(application=application, by=world.handler)
    decider = UserFactory(username="joins", email="Joins@example.lu")
    MembershipFactory(user=decider, organisation=world.authority, role="decider")
    with pytest.raises(PermissionDenied, match="names you"):
        actions.decide(application=application, by=decider, outcome="rejected", reasons="x")


def test_a_rejection_issues_no_permit_and_gives_reasons_and_redress(world: World) -> None:
    application = world.under_review()
    actions.decide(
        application=application, by=world.decider, outcome="rejected",
        reasons="The purpose is not in the public interest.",
    )  # fmt: skip
    assert application.state == ApplicationState.REJECTED
    assert not Permit.objects.exists()
    note = Notification.objects.get(user=world.applicant, subject__contains="rejected")
    assert "not in the public interest" in note.body and "Redress" in note.body


def test_comments_assistants_help_without_deciding(world: World) -> None:
    application = world.draft()
    actions.comment(
        application=application, by=world.assistant, body="Add your DPIA.", field="safeguards"
    )
    with pytest.raises(PermissionDenied):
        actions.submit(application=application, by=world.assistant)
    with pytest.raises(PermissionDenied):
        actions.comment(application=application, by=world.handler, body="Too early to see this")
    with pytest.raises(PermissionDenied):
        actions.comment(application=application, by=world.stranger, body="Hello")
    assert Notification.objects.filter(user=world.applicant, subject__contains="comment").exists()


def test_audit_chain_stays_valid_through_refusals(world: World) -> None:
    application = world.under_review()
    with pytest.raises(PermissionDenied):
        actions.decide(application=application, by=world.handler, outcome="approved", reasons="x")
    assert verify().ok


def test_a_person_named_before_their_account_existed_sees_the_application(world: World) -> None:
    from tests.factories.accounts import UserFactory

    application = world.draft()
    actions.add_named_person(
        application=application, by=world.applicant, name="Late", email="late@example.lu"
    )
    late = UserFactory(username="late", email="LATE@example.lu")
    assert list(Application.objects.visible_to(late)) == [application]
    actions.accept_terms(application=application, by=late)
    assert application.named_persons.get(email="late@example.lu").user == late
    nobody = UserFactory(username="nobody", email="nobody@example.lu")
    assert list(Application.objects.visible_to(nobody)) == []
