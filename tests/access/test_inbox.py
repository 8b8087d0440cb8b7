"""The in-app inbox, the navigation's access entries and each role's "Waiting for you"."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.urls import reverse

from datalux.access import actions
from datalux.access.models import Notification
from datalux.access.work import waiting_for
from tests.access.world import World
from tests.factories.accounts import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def login(client: Any, user: Any) -> Any:
    client.force_login(user)
    return client


def workspace(client: Any, user: Any, role: str) -> str:
    response = login(client, user).get(reverse("accounts:workspace", args=[role]))
    assert response.status_code == 200
    return response.content.decode()


def keys(user: Any, role: str | None = None) -> dict[str, int]:
    return {f"{w.role}.{w.key}": w.count for w in waiting_for(user, role=role)}


# --- inbox ------------------------------------------------------------------------------------


def test_inbox_needs_a_sign_in(client: Any, world: World) -> None:
    note = Notification.objects.create(user=world.applicant, subject="Hi", body="x")
    for url in (reverse("access:inbox"),):
        response = client.get(url)
        assert response.status_code == 302 and reverse("accounts:login") in response["Location"]
    for url in (reverse("access:inbox_read", args=[note.pk]), reverse("access:inbox_read_all")):
        response = client.post(url)
        assert response.status_code == 302 and reverse("accounts:login") in response["Location"]
    note.refresh_from_db()
    assert note.read_at is None


def test_inbox_lists_my_notifications_newest_first_unread_marked(client: Any, world: World) -> None:
    application = world.submitted()  # notifies the applicant ("received") and the handlers
    Notification.objects.create(user=world.applicant, subject="Older note", body="old",
                                created_at=datetime(2020, 1, 1, tzinfo=UTC),
                                read_at=datetime(2020, 1, 2, tzinfo=UTC))  # fmt: skip
    Notification.objects.create(user=world.stranger, subject="Not yours", body="secret")
    html = login(client, world.applicant).get(reverse("access:inbox")).content.decode()
    received = f"{application.reference} received"
    assert received in html and "Older note" in html and "Not yours" not in html
    assert html.index(received) < html.index("Older note")
    assert "1 unread message" in html
    assert 'class="unread"' in html and 'class="read"' in html
    assert html.count("Unread:") == 1
    assert "Mark all as read" in html


def test_reading_a_notification_marks_it_and_follows_its_link(client: Any, world: World) -> None:
    application = world.submitted()
    note = Notification.objects.get(user=world.applicant)
    assert note.url == f"/access/applications/{application.reference}/"
    response = login(client, world.applicant).post(reverse("access:inbox_read", args=[note.pk]))
    assert response.status_code == 302 and response["Location"] == note.url
    note.refresh_from_db()
    assert note.read_at is not None
    first = note.read_at
    client.post(reverse("access:inbox_read", args=[note.pk]))  # again: stays read, same time
    note.refresh_from_db()
    assert note.read_at == first
    assert client.get(reverse("access:inbox_read", args=[note.pk])).status_code == 405


def test_a_notification_without_a_safe_link_returns_to_the_inbox(client: Any, world: World) -> None:
    plain = Notification.objects.create(user=world.applicant, subject="Plain", body="x")
    evil = Notification.objects.create(
        user=world.applicant, subject="Evil", body="x", url="https://evil.example/phish"
    )
    login(client, world.applicant)
    for note in (plain, evil):
        response = client.post(reverse("access:inbox_read", args=[note.pk]))
        assert response["Location"] == reverse("access:inbox")


def test_another_users_notification_is_404(client: Any, world: World) -> None:
    theirs = Notification.objects.create(user=world.stranger, subject="Theirs", body="x")
    response = login(client, world.applicant).post(reverse("access:inbox_read", args=[theirs.pk]))
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_as_read_touches_only_my_notifications(client: Any, world: World) -> None:
    for subject in ("One", "Two"):
        Notification.objects.create(user=world.applicant, subject=subject, body="x")
    theirs = Notification.objects.create(user=world.stranger, subject="Theirs", body="x")
    response = login(client, world.applicant).post(reverse("access:inbox_read_all"))
    assert response.status_code == 302 and response["Location"] == reverse("access:inbox")
    assert not Notification.objects.filter(user=world.applicant, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert "0 unread messages" in client.get(reverse("access:inbox")).content.decode()


# --- navigation -------------------------------------------------------------------------------


def test_navigation_shows_the_unread_count_and_the_access_pages(client: Any, world: World) -> None:
    for subject in ("One", "Two"):
        Notification.objects.create(user=world.applicant, subject=subject, body="x")
    html = login(client, world.applicant).get(reverse("home")).content.decode()
    assert f'<a href="{reverse("access:inbox")}">Inbox (2 unread)</a>' in html
    assert 'href="/access/applications/"' in html and 'href="/access/cases/"' not in html
    assert f'href="{reverse("access:register")}"' in html
    assert f'href="{reverse("access:metrics")}"' in html
    client.post(reverse("access:inbox_read_all"))
    html = client.get(reverse("home")).content.decode()
    assert ">Inbox<" in html and "unread)" not in html


@pytest.mark.parametrize("who", ["handler", "decider", "reviewer", "assistant"])
def test_authority_staff_reviewers_and_the_desk_get_the_cases_entry(
    client: Any, world: World, who: str
) -> None:
    html = login(client, getattr(world, who)).get(reverse("home")).content.decode()
    assert 'href="/access/cases/"' in html and 'href="/access/applications/"' not in html


def test_named_persons_without_a_role_get_the_applications_entry(
    client: Any, world: World, django_user_model: Any
) -> None:
    outsider = django_user_model.objects.create_user(
        username="named", email="named@example.lu", password="x-long-password-1"
    )
    html = login(client, outsider).get(reverse("home")).content.decode()
    assert 'href="/access/applications/"' not in html
    application = world.draft()
    actions.add_named_person(
        application=application, by=world.applicant, name="Named", email=outsider.email
    )
    html = client.get(reverse("home")).content.decode()
    assert 'href="/access/applications/"' in html and "Inbox (1 unread)" in html


def test_anonymous_users_get_no_inbox_entry(client: Any, db: Any) -> None:
    html = client.get(reverse("home")).content.decode()
    assert reverse("access:inbox") not in html and "/access/cases/" not in html


# --- waiting for you --------------------------------------------------------------------------


def test_applicant_drafts_returned_terms_and_permits(client: Any, world: World) -> None:
    draft = world.draft()
    world.draft(by=world.stranger)  # someone else's: never counted
    returned = world.submitted()
    actions.assign(application=returned, by=world.handler, handler=world.handler)
    actions.return_application(application=returned, by=world.handler, reasons="Add a DPIA.")
    approved = world.approved()
    assert keys(world.applicant, "applicant") == {
        "applicant.drafts": 1,
        "applicant.returned": 1,
        "applicant.terms": 3,  # the applicant named themselves on each
        "applicant.permits": 1,
    }
    html = workspace(client, world.applicant, "applicant")
    assert "Waiting for you" in html and "Nothing is waiting" not in html
    assert f'href="/access/applications/{draft.reference}/"' in html
    assert f"/access/applications/{returned.reference}/" in html
    assert approved.permit.number in html and "Terms of use to accept" in html
    actions.accept_terms(application=approved, by=world.applicant)
    assert keys(world.applicant, "applicant")["applicant.terms"] == 2
    assert keys(world.colleague, "applicant") == {}
    assert "Nothing is waiting for you." in workspace(client, world.colleague, "applicant")


def test_named_persons_see_terms_to_accept_by_email_before_their_account_is_linked(
    world: World, django_user_model: Any
) -> None:
    application = world.draft()
    actions.add_named_person(
        application=application, by=world.applicant, name="Later", email="later@example.lu"
    )
    later = django_user_model.objects.create_user(
        username="later", email="later@example.lu", password="x-long-password-1"
    )
    assert keys(later) == {"applicant.terms": 1}


def test_assistant_sees_drafts(client: Any, world: World) -> None:
    mine, theirs = world.draft(), world.draft(by=world.stranger)
    world.submitted()
    assert keys(world.assistant, "assistant") == {"assistant.drafts": 2}
    html = workspace(client, world.assistant, "assistant")
    assert mine.reference in html and theirs.reference in html


def test_handler_unassigned_mine_and_deadlines(client: Any, world: World) -> None:
    with time_machine.travel(datetime(2025, 1, 10, 10, tzinfo=UTC), tick=False) as clock:
        unassigned = world.submitted()
        mine = world.submitted()
        actions.assign(application=mine, by=world.handler, handler=world.handler)
        theirs = world.submitted()
        actions.assign(application=theirs, by=world.handler2, handler=world.handler2)
        assert keys(world.handler, "handler") == {"handler.unassigned": 1, "handler.mine": 1}
        clock.move_to(datetime(2025, 2, 28, 10, tzinfo=UTC))  # deadline 10 March: 10 days left
        assert keys(world.handler, "handler")["handler.deadlines"] == 2  # mine and unassigned
        html = workspace(client, world.handler, "handler")
        assert unassigned.reference in html and mine.reference in html
        assert theirs.reference not in html
        assert "decide by 10 March 2025" in html
        clock.move_to(datetime(2025, 3, 11, 10, tzinfo=UTC))
        assert "overdue since 10 March 2025" in workspace(client, world.handler, "handler")
        assert keys(world.handler2, "handler") == {"handler.mine": 1, "handler.unassigned": 1,
                                                   "handler.deadlines": 2}  # fmt: skip


def test_reviewer_opinions_of_my_organisation_not_yet_given(client: Any, world: World) -> None:
    application = world.under_review()  # the holder of "stays" is asked
    assert keys(world.reviewer, "reviewer") == {"reviewer.opinions": 1}
    assert keys(world.other_reviewer, "reviewer") == {}
    html = workspace(client, world.reviewer, "reviewer")
    assert application.reference in html and "Health Directorate" in html
    actions.give_opinion(
        application=application, by=world.reviewer, vote="favourable", text="Fine."
    )
    assert keys(world.reviewer, "reviewer") == {}
    assert "Nothing is waiting for you." in workspace(client, world.reviewer, "reviewer")


def test_decider_applications_under_review(client: Any, world: World) -> None:
    application = world.under_review()
    world.submitted()  # not yet under review
    assert keys(world.decider, "decider") == {"decider.to_decide": 1}
    assert application.reference in workspace(client, world.decider, "decider")
    actions.decide(application=application, by=world.decider, outcome="rejected", reasons="No.")
    assert keys(world.decider, "decider") == {}


def test_deciders_are_not_asked_to_decide_applications_that_name_them(world: World) -> None:
    # Staff cannot be named: this person was named by e-mail and joined the authority later.
    application = world.draft()
    actions.add_named_person(
        application=application, by=world.applicant, name="D", email="joins@example.lu"
    )
    actions.submit(application=application, by=world.applicant)
    actions.assign(application=application, by=world.handler, handler=world.handler)
    actions.start_review(application=application, by=world.handler)
    decider = UserFactory(username="joins", email="JOINS@example.lu")
    MembershipFactory(user=decider, organisation=world.authority, role="decider")
    assert "decider.to_decide" not in keys(decider)
    assert keys(world.decider)["decider.to_decide"] == 1


def test_other_roles_keep_their_page(client: Any, world: World, make_member: Any) -> None:
    world.under_review()
    steward = make_member("steward", organisation=world.holder)
    html = workspace(client, steward, "steward")
    assert "Waiting for you" not in html and "data files" in html
    assert waiting_for(steward) == []
    checker = make_member("output_checker")
    assert "Nothing is waiting for you." in workspace(client, checker, "output_checker")


def test_a_workspace_shows_only_the_work_of_its_role(client: Any, world: World,
                                                     make_member: Any) -> None:  # fmt: skip
    world.under_review()
    both = make_member("decider", organisation=world.authority)
    from tests.factories.accounts import MembershipFactory

    MembershipFactory(user=both, organisation=world.authority, role="handler")
    assert set(keys(both)) == {"decider.to_decide"}  # the case is world.handler's
    assert "Nothing is waiting for you." in workspace(client, both, "handler")
    assert "Applications under review, to decide" in workspace(client, both, "decider")
    assert client.get(reverse("accounts:workspace", args=["applicant"])).status_code == 403
