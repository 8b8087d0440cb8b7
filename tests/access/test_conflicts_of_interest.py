"""Conflicts of interest (four-eyes): authority staff cannot be named, and nobody acts on a case
for the authority or as a reviewer when they are the applicant, hold a role in the applicant
organisation or are named on it. Each refusal is clear and audited."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from datalux.access import actions, completeness, queries
from datalux.access.actions.conflicts import CONFLICT_OF_INTEREST, ConflictOfInterest
from datalux.access.models import Application, Comment, Decision, OpinionRequest
from datalux.access.states import ApplicationState, PermitState
from datalux.access.work import waiting_for
from datalux.accounts.permissions import forget_grants
from datalux.audit.kinds import EventKind
from datalux.audit.log import verify
from datalux.audit.models import AuditEvent
from tests.access.world import World
from tests.factories.accounts import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/access"


def conflict_refusals(action: str) -> list[AuditEvent]:
    return [
        e
        for e in AuditEvent.objects.filter(kind=EventKind.APPLICATION_ACTION_REFUSED)
        if e.details.get("action") == action and e.details.get("code") == CONFLICT_OF_INTEREST
    ]


def joins_the_lab(world: World, user: Any) -> Any:
    """``user`` also holds a role in the applicant organisation (the lab)."""
    MembershipFactory(user=user, organisation=world.lab, role="applicant")
    forget_grants(user)  # roles are read once per request; this is a new one
    return user


def case_url(application: Application, name: str = "case") -> str:
    return reverse(f"access:{name}", args=[application.reference])


def post_json(user: Any, path: str, body: dict[str, Any]) -> Any:
    client = Client()
    client.force_login(user)
    return client.post(f"{API}/{path}", json.dumps(body), content_type="application/json")


# --- naming ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["handler", "decider", "assistant", "reviewer"])
def test_staff_of_the_authority_cannot_be_named_whatever_their_role(
    world: World, role: str
) -> None:
    staff = UserFactory(username=f"staff-{role}", email=f"staff-{role}@authority.lu")
    MembershipFactory(user=staff, organisation=world.authority, role=role)
    application = world.draft()
    with pytest.raises(ValidationError) as refused:
        actions.add_named_person(
            application=application,
            by=world.applicant,
            name="Staff",
            email=f"STAFF-{role}@Authority.lu",  # matched whatever the case
        )
    message = refused.value.message_dict["email"][0]
    assert f"STAFF-{role}@Authority.lu cannot be named" in message
    assert "staff of Data Authority" in message and "conflict of interest" in message
    assert not application.named_persons.filter(email__iexact=staff.email).exists()
    (event,) = conflict_refusals("add_named_person")
    assert event.actor_id == world.applicant.pk
    assert verify().ok


def test_people_outside_the_authority_are_still_named(world: World) -> None:
    application = world.draft()
    # a reviewer of a data holder and a colleague of the lab are not staff of the authority
    for user in (world.reviewer, world.colleague):
        actions.add_named_person(
            application=application, by=world.applicant, name="P", email=user.email
        )
    assert application.named_persons.count() == 3
    assert not conflict_refusals("add_named_person")


def test_former_staff_whose_role_ended_can_be_named(world: World) -> None:
    former = UserFactory(username="former", email="former@example.lu")
    MembershipFactory(user=former, organisation=world.authority, role="handler", active=False)
    application = world.draft()
    actions.add_named_person(
        application=application, by=world.applicant, name="F", email=former.email
    )
    assert application.named_persons.filter(user=former).exists()


def test_naming_staff_on_the_page_shows_the_reason_next_to_the_e_mail(
    client: Any, world: World
) -> None:
    application = world.draft()
    client.force_login(world.applicant)
    response = client.post(
        reverse("access:application_persons", args=[application.reference]),
        {"name": "Decider", "email": world.decider.email, "role_in_project": "analyst"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert f"{world.decider.email} cannot be named" in html and "conflict of interest" in html
    assert not application.named_persons.filter(email=world.decider.email).exists()


def test_naming_staff_in_the_api_is_a_422_naming_the_person(world: World) -> None:
    application = world.draft()
    response = post_json(
        world.applicant,
        f"applications/{application.reference}/persons",
        {"name": "Handler", "email": world.handler.email},
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid"
    (message,) = error["details"]["email"]
    assert f"{world.handler.email} cannot be named" in message
    assert "conflict of interest" in message
    assert len(conflict_refusals("add_named_person")) == 1


def test_a_person_who_joined_the_authority_after_being_named_blocks_the_submission(
    client: Any, world: World
) -> None:
    application = world.draft()
    actions.add_named_person(
        application=application, by=world.applicant, name="Joiner", email="joiner@example.lu"
    )
    joiner = UserFactory(username="joiner", email="Joiner@example.lu")
    MembershipFactory(user=joiner, organisation=world.authority, role="handler")
    gaps = [g for g in completeness.check(application) if g.field == "named_persons"]
    assert [g.code for g in gaps] == [CONFLICT_OF_INTEREST]
    assert "remove joiner@example.lu" in gaps[0].message
    with pytest.raises(ValidationError) as refused:
        actions.submit(application=application, by=world.applicant)
    assert "staff of the data authority" in refused.value.message_dict["named_persons"][0]
    application.refresh_from_db()
    assert application.state == ApplicationState.DRAFT
    assert len(conflict_refusals("submit")) == 1
    # The applicant's page lists the gap under the named persons.
    client.force_login(world.applicant)
    response = client.post(reverse("access:application_submit", args=[application.reference]))
    assert response.status_code == 400
    assert "remove joiner@example.lu" in response.content.decode()


# --- acting on a case ------------------------------------------------------------------------


def test_a_handler_of_the_applicant_organisation_can_neither_take_nor_be_given_the_case(
    world: World,
) -> None:
    application = world.submitted()
    conflicted = joins_the_lab(world, world.handler2)
    with pytest.raises(ConflictOfInterest, match="you hold a role in Research Lab"):
        actions.assign(application=application, by=conflicted, handler=conflicted)
    with pytest.raises(ValidationError) as refused:
        actions.assign(application=application, by=world.handler, handler=conflicted)
    message = refused.value.message_dict["handler"][0]
    assert "handler2 holds a role in Research Lab, the applicant organisation" in message
    application.refresh_from_db()
    assert application.handler is None
    assert len(conflict_refusals("assign")) == 2
    # refused for a conflict: a rule of the procedure, not a missing permission
    assert not AuditEvent.objects.filter(kind=EventKind.ACCESS_DENIED).exists()
    # A handler who is not involved takes it.
    actions.assign(application=application, by=world.handler, handler=world.handler)
    application.refresh_from_db()
    assert application.handler == world.handler


def test_a_named_person_matched_by_e_mail_cannot_be_assigned(world: World) -> None:
    application = world.draft()
    actions.add_named_person(
        application=application, by=world.applicant, name="Later", email="later@example.lu"
    )
    actions.submit(application=application, by=world.applicant)
    # The person became a handler after submission (named before: no link to the account).
    later = UserFactory(username="later", email="LATER@example.lu")
    MembershipFactory(user=later, organisation=world.authority, role="handler")
    with pytest.raises(ValidationError, match="names later"):
        actions.assign(application=application, by=world.handler, handler=later)
    with pytest.raises(ConflictOfInterest, match="names you"):
        actions.assign(application=application, by=later, handler=later)


@pytest.mark.parametrize(
    ("action", "kwargs"),
    [
        ("return_application", {"reasons": "Add a DPIA."}),
        ("start_review", {}),
        ("extend_deadline", {"reason": "Many datasets."}),
        ("comment", {"body": "Looks fine to me.", "internal": True}),
    ],
)
def test_the_assigned_handler_who_joins_the_applicant_organisation_cannot_act(
    world: World, action: str, kwargs: dict[str, Any]
) -> None:
    application = world.submitted()
    actions.assign(application=application, by=world.handler, handler=world.handler)
    joins_the_lab(world, world.handler)
    with pytest.raises(ConflictOfInterest, match="four-eyes"):
        getattr(actions, action)(application=application, by=world.handler, **kwargs)
    application.refresh_from_db()
    assert application.state == ApplicationState.SUBMITTED and not application.extended_days
    assert not Comment.objects.filter(author=world.handler).exists()
    name = "return" if action == "return_application" else action
    assert len(conflict_refusals(name)) == 1
    assert queries.allowed_actions(world.handler, application) == []
    # Another handler takes it over and acts.
    actions.assign(application=application, by=world.handler2, handler=world.handler2)
    getattr(actions, action)(application=application, by=world.handler2, **kwargs)


def test_requesting_an_opinion_is_refused_to_a_conflicted_handler(world: World) -> None:
    application = world.under_review()
    joins_the_lab(world, world.handler)
    with pytest.raises(ConflictOfInterest):
        actions.request_opinion(
            application=application, by=world.handler, organisation=world.other_holder
        )
    assert not OpinionRequest.objects.filter(organisation=world.other_holder).exists()
    assert len(conflict_refusals("request_opinion")) == 1


def test_a_reviewer_named_on_the_application_gives_no_opinion(world: World) -> None:
    application = world.draft()
    actions.add_named_person(
        application=application, by=world.applicant, name="R", email=world.reviewer.email
    )
    actions.submit(application=application, by=world.applicant)
    actions.assign(application=application, by=world.handler, handler=world.handler)
    actions.start_review(application=application, by=world.handler)  # the holder is asked
    with pytest.raises(ConflictOfInterest, match="names you"):
        actions.give_opinion(
            application=application, by=world.reviewer, vote="favourable", text="Fine."
        )
    with pytest.raises(ConflictOfInterest):
        actions.comment(application=application, by=world.reviewer, body="I vouch for it.")
    assert len(conflict_refusals("give_opinion")) == 1
    assert "reviewer.opinions" not in {f"{w.role}.{w.key}" for w in waiting_for(world.reviewer)}
    # Another reviewer of the same holder is not involved and gives the opinion.
    colleague = UserFactory(username="colleague-reviewer", email="cr@example.lu")
    MembershipFactory(user=colleague, organisation=world.holder, role="reviewer")
    assert {w.key for w in waiting_for(colleague, role="reviewer")} == {"opinions"}
    actions.give_opinion(application=application, by=colleague, vote="favourable", text="Fine.")


def test_a_decider_of_the_applicant_organisation_does_not_decide_another_decider_does(
    world: World,
) -> None:
    application = world.under_review()
    conflicted = UserFactory(username="decider2", email="decider2@example.lu")
    MembershipFactory(user=conflicted, organisation=world.authority, role="decider")
    joins_the_lab(world, conflicted)
    assert {w.key for w in waiting_for(conflicted, role="decider")} == set()
    with pytest.raises(PermissionDenied, match="conflict of interest"):
        actions.decide(application=application, by=conflicted, outcome="approved", reasons="Fine.")
    assert not Decision.objects.exists()
    assert len(conflict_refusals("decide")) == 1
    assert "decide" not in queries.allowed_actions(conflicted, application)
    assert "decide" in queries.allowed_actions(world.decider, application)
    actions.decide(application=application, by=world.decider, outcome="approved", reasons="Fine.")
    assert Decision.objects.get().decided_by == world.decider


@pytest.mark.parametrize(
    ("action", "kwargs"),
    [
        ("amend_permit", {"reason": "Tighter", "output_rules": {"threshold": 20}}),
        ("extend_permit", {"reason": "Delays", "ends_on": "2099-12-31"}),
        ("revoke_permit", {"reason": "Breach"}),
        ("close_permit", {"reason": "Done"}),
    ],
)
def test_permits_are_not_changed_by_a_decider_too_close_to_the_application(
    world: World, action: str, kwargs: dict[str, Any]
) -> None:
    application = world.approved()
    permit = application.permit
    joins_the_lab(world, world.decider)
    with pytest.raises(ConflictOfInterest):
        getattr(actions, action)(permit=permit, by=world.decider, **kwargs)
    permit.refresh_from_db()
    assert permit.version == 1 and permit.state == PermitState.ACTIVE
    assert len(conflict_refusals(action)) == 1
    assert queries.permit_actions(world.decider, permit) == []
    other = UserFactory(username="decider2", email="decider2@example.lu")
    MembershipFactory(user=other, organisation=world.authority, role="decider")
    getattr(actions, action)(permit=permit, by=other, **kwargs)


def test_the_handler_inbox_does_not_offer_cases_the_handler_is_too_close_to(
    world: World,
) -> None:
    world.submitted()
    joins_the_lab(world, world.handler2)
    assert {w.key for w in waiting_for(world.handler2, role="handler")} == set()
    assert {w.key for w in waiting_for(world.handler, role="handler")} == {"unassigned"}


# --- the pages and the API -------------------------------------------------------------------


def test_the_case_page_marks_the_conflict_and_offers_no_action(client: Any, world: World) -> None:
    application = world.submitted()
    actions.assign(application=application, by=world.handler, handler=world.handler)
    joins_the_lab(world, world.handler)
    client.force_login(world.handler)
    html = client.get(case_url(application)).content.decode()
    assert 'id="conflict-of-interest"' in html
    assert "you hold a role in Research Lab, the applicant organisation" in html
    assert case_url(application, "case_start_review") not in html
    # A handler who is not involved sees no marker.
    client.force_login(world.handler2)
    html = client.get(case_url(application)).content.decode()
    assert 'id="conflict-of-interest"' not in html


def test_starting_the_review_on_the_page_is_a_clear_403_and_audited(
    client: Any, world: World
) -> None:
    application = world.submitted()
    actions.assign(application=application, by=world.handler, handler=world.handler)
    joins_the_lab(world, world.handler)
    client.force_login(world.handler)
    response = client.post(case_url(application, "case_start_review"))
    assert response.status_code == 403
    html = response.content.decode()
    assert "conflict of interest: you hold a role in Research Lab" in html
    application.refresh_from_db()
    assert application.state == ApplicationState.SUBMITTED
    assert len(conflict_refusals("start_review")) == 1


def test_assigning_a_conflicted_handler_on_the_page_shows_the_reason(
    client: Any, world: World
) -> None:
    application = world.submitted()
    joins_the_lab(world, world.handler2)
    client.force_login(world.handler)
    response = client.post(
        case_url(application, "case_assign"), {"assign-handler": world.handler2.pk}
    )
    assert response.status_code == 400
    assert "handler2 holds a role in Research Lab" in response.content.decode()
    application.refresh_from_db()
    assert application.handler is None
    # Giving it to the handler who is not involved works.
    response = client.post(
        case_url(application, "case_assign"), {"assign-handler": world.handler.pk}
    )
    assert response.status_code == 302


def test_deciding_through_the_api_is_a_403_in_the_one_error_shape(world: World) -> None:
    application = world.under_review()
    joins_the_lab(world, world.decider)
    response = post_json(
        world.decider,
        f"applications/{application.reference}/decide",
        {"outcome": "rejected", "reasons": "No."},
    )
    assert response.status_code == 403
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == "forbidden"
    assert body["error"]["message"].startswith("conflict of interest: you hold a role in")
    assert not Decision.objects.exists()
    assert len(conflict_refusals("decide")) == 1


def test_assigning_a_conflicted_handler_through_the_api_is_a_422_on_the_handler(
    world: World,
) -> None:
    application = world.submitted()
    joins_the_lab(world, world.handler2)
    path = f"applications/{application.reference}/assign"
    response = post_json(world.handler, path, {"handler": "handler2"})
    assert response.status_code == 422
    (message,) = response.json()["error"]["details"]["handler"]
    assert "conflict of interest: handler2 holds a role in Research Lab" in message
    response = post_json(world.handler2, path, {})  # taking it oneself
    assert response.status_code == 403
    assert "conflict of interest" in response.json()["error"]["message"]
    assert post_json(world.handler, path, {}).status_code == 200
