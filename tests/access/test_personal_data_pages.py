"""The pages apply the API's policy on personal data (issue 10, item 6): named persons'
e-mail addresses are for the parties and the data authority only, and the applicant's history
holds only what is meant for them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from datalux.access import actions, queries
from datalux.access.models import Application
from datalux.access.states import TransitionError
from datalux.audit.kinds import EventKind
from tests.access.world import World

API = "/api/v1/access"


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def html(user: Any, url: str) -> str:
    response = signed_in(user).get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def named(application: Application) -> str:
    (person,) = application.named_persons.all()
    return str(person.email)


# --- e-mail addresses ------------------------------------------------------------------------


def test_case_page_shows_e_mails_to_the_authority_only(world: World) -> None:
    application = world.under_review()  # the holder's reviewer is asked for an opinion
    email = named(application)
    url = reverse("access:case", args=[application.reference])
    for user in (world.handler, world.decider):
        assert email in html(user, url), user
    for user in (world.reviewer, world.assistant):
        page = html(user, url)
        assert email not in page, user
        assert 'id="emails-hidden"' in page
        assert "Ana Researcher" in page  # names are shown


def test_applicant_page_hides_e_mails_from_the_assistance_desk(world: World) -> None:
    application = world.draft()
    email = named(application)
    url = reverse("access:application", args=[application.reference])
    assert email in html(world.applicant, url)
    page = html(world.assistant, url)
    assert email not in page and "Ana Researcher" in page
    persons = reverse("access:application_persons", args=[application.reference])
    assert email in html(world.applicant, persons)


def test_permit_pages_show_e_mails_to_the_parties_and_the_authority_only(world: World) -> None:
    application = world.approved()
    email = named(application)
    number = application.permit.number
    words = reverse("access:permit", args=[number])
    terms = reverse("access:case_permit", args=[application.reference])
    for user in (world.reviewer, world.assistant):
        assert email not in html(user, words), user
        spec = json.loads(html(user, f"{words}?format=json"))
        assert spec["authorised_persons"] and all(
            p["email"] is None for p in spec["authorised_persons"]
        )
        assert email not in html(user, terms), user
    assert email in html(world.applicant, words)
    assert email in html(world.applicant, f"{words}?format=json")
    assert email in html(world.decider, terms)


def test_the_pages_and_the_api_share_one_rule(world: World) -> None:
    application = world.under_review()
    for user, expected in [
        (world.applicant, True),
        (world.handler, True),
        (world.decider, True),
        (world.reviewer, False),
        (world.assistant, False),
    ]:
        assert queries.sees_emails(user, application) is expected, user
        body = signed_in(user).get(f"{API}/applications/{application.reference}").json()
        shown = [p["email"] for p in body["named_persons"]]
        assert (shown == [named(application)]) is expected, user


# --- the history -----------------------------------------------------------------------------


@pytest.fixture
def noted(world: World) -> Application:
    """An application under review with an internal note, a public comment and a refused
    staff action on it."""
    application = world.under_review()
    actions.comment(
        application=application, by=world.handler, body="Ethics looks thin.", internal=True
    )
    actions.comment(application=application, by=world.handler, body="Please add the protocol.")
    with pytest.raises(PermissionDenied):
        actions.decide(
            application=application, by=world.handler, outcome="approved", reasons="x"
        )  # a handler cannot decide: refused and audited
    with pytest.raises(TransitionError):
        actions.submit(application=application, by=world.applicant)  # the applicant's own
    return application


def _kinds(events: list[dict[str, Any]]) -> list[str]:
    return [e["kind"] for e in events]


def test_the_applicant_sees_only_the_history_meant_for_them(
    world: World, noted: Application
) -> None:
    url = f"{API}/applications/{noted.reference}/history"
    mine = signed_in(world.applicant).get(url).json()
    kinds = _kinds(mine)
    for kind in ("application.created", "application.submitted", "application.review_started"):
        assert kind in kinds, kind
    comments = [e for e in mine if e["kind"] == EventKind.APPLICATION_COMMENTED]
    assert [c["details"]["internal"] for c in comments] == [False]  # the internal note is not
    assert "application.assigned" not in kinds
    assert "application.opinion_given" not in kinds
    refused = [e for e in mine if e["kind"] in ("application.action_refused", "access.denied")]
    assert refused and {e["actor"] for e in refused} == {world.applicant.get_username()}

    # The authority still sees everything.
    theirs = signed_in(world.handler).get(url).json()
    internal = [
        e
        for e in theirs
        if e["kind"] == EventKind.APPLICATION_COMMENTED and e["details"]["internal"]
    ]
    assert len(internal) == 1
    assert world.handler.get_username() in {
        e["actor"] for e in theirs if e["kind"] in ("application.action_refused", "access.denied")
    }
    assert "application.assigned" in _kinds(theirs)
    assert len(theirs) > len(mine)


def test_the_case_page_history_follows_the_same_rule(world: World, noted: Application) -> None:
    url = reverse("access:case", args=[noted.reference])
    handler = html(world.handler, url)
    desk = html(world.assistant, url)  # the assistance desk reads no internal notes
    assert handler.count("application.assigned") >= 1
    assert "application.assigned" not in desk
    assert "internal: yes" not in desk and "internal: True" not in desk
    assert len(queries.history_for(world.assistant, noted)) < len(
        queries.history_for(world.handler, noted)
    )
