"""Every page of the data authority by every role: who gets the page, who is refused, and how.

One approved application (with its permit) is the object; the world's parties and staff
are compared with fresh users of every role who have nothing to do with it.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from datalux.access import urls_applicant, urls_authority, urls_public
from datalux.access.models import Application
from datalux.accounts.roles import ROLES
from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent
from tests.access.world import World

pytestmark = pytest.mark.django_db

PARTY = {"w.applicant"}
STAFF = {"w.handler", "w.decider", "w.reviewer"}  # the reviewer's organisation was asked
APPLICANTS = {"applicant", "w.applicant", "w.stranger"}
EVERYONE = {*ROLES, "w.applicant", "w.handler", "w.decider", "w.reviewer", "w.stranger"}
QUEUE = {"handler", "decider", "reviewer", "assistant", *STAFF}
EDIT = ("application_edit", "application_datasets", "application_persons")
EDIT += ("application_attachments", "application_withdraw")

# name -> {status: users}; users not listed get the "otherwise" status.
GET_MATRIX: dict[str, tuple[dict[int, set[str]], int]] = {
    "applications": ({200: EVERYONE}, 200),
    "application_new": ({200: APPLICANTS}, 403),
    "application": ({200: {*PARTY, "assistant"}, 302: STAFF | {"handler", "decider"}}, 404),
    **{
        name: ({409: PARTY, 403: {*STAFF, "assistant", "handler", "decider"}}, 404) for name in EDIT
    },
    "permit": ({200: {*PARTY, *STAFF, "assistant", "handler", "decider"}}, 404),
    "cases": ({200: QUEUE}, 403),
    "case": ({200: QUEUE - {"reviewer"}, 404: {"reviewer"}}, 403),
    "case_permit": ({200: QUEUE - {"reviewer"}, 404: {"reviewer"}}, 403),
    "register": ({200: EVERYONE}, 200),
    "metrics": ({200: EVERYONE}, 200),
    "inbox": ({200: EVERYONE}, 200),
}
PUBLIC = {"register", "metrics"}
# POST-only operations that change an application or a permit.
POSTS = [
    name
    for module in (urls_applicant, urls_authority)
    for name in (p.name for p in module.urlpatterns)
    if name not in GET_MATRIX and name not in ("application_attachment", "application_terms")
]
OUTSIDERS = ["citizen", "output_checker", "steward", "ttp_operator", "platform_admin"]


def _url(name: str, application: Application) -> str:
    pattern = next(
        str(p.pattern)
        for m in (urls_applicant, urls_authority, urls_public)
        for p in m.urlpatterns
        if p.name == name
    )
    kwargs: dict[str, Any] = {}
    if "<str:ref>" in pattern:
        kwargs["ref"] = application.reference
    if "<str:number>" in pattern:
        kwargs["number"] = application.permit.number
    if "<int:pk>" in pattern:
        kwargs["pk"] = 1
    if "<int:person>" in pattern:
        kwargs["person"] = application.named_persons.first().pk
    return reverse(f"access:{name}", kwargs=kwargs)


@pytest.fixture
def approved(world: World) -> Application:
    return world.approved()


def _user(label: str, world: World, make_member: Any) -> Any:
    if label.startswith("w."):
        return getattr(world, label[2:])
    return make_member(label)


def test_the_matrix_covers_every_page() -> None:
    names = {p.name for m in (urls_applicant, urls_authority, urls_public) for p in m.urlpatterns}
    covered = set(GET_MATRIX) | set(POSTS) | {"application_attachment", "application_terms"}
    assert names - {"inbox_read", "inbox_read_all"} <= covered


@pytest.mark.parametrize("name", sorted(GET_MATRIX))
def test_anonymous_users_are_sent_to_login_except_on_public_pages(
    client: Any, approved: Application, name: str
) -> None:
    response = client.get(_url(name, approved))
    if name in PUBLIC:
        assert response.status_code == 200
    else:
        assert response.status_code == 302 and "/accounts/login/" in response.url


@pytest.mark.parametrize("label", sorted(EVERYONE))
def test_pages_by_role(
    client: Any, world: World, make_member: Any, approved: Application, label: str
) -> None:
    client.force_login(_user(label, world, make_member))
    for name, (grants, otherwise) in GET_MATRIX.items():
        expected = next((s for s, users in grants.items() if label in users), otherwise)
        before = AuditEvent.objects.filter(kind=EventKind.ACCESS_DENIED).count()
        response = client.get(_url(name, approved))
        assert response.status_code == expected, (name, label, response.status_code)
        if expected == 403:  # every refusal is audited
            after = AuditEvent.objects.filter(kind=EventKind.ACCESS_DENIED).count()
            assert after == before + 1, (name, label)


@pytest.mark.parametrize("label", [*OUTSIDERS, "w.stranger"])
def test_outsiders_cannot_change_anything(
    client: Any, world: World, make_member: Any, approved: Application, label: str
) -> None:
    client.force_login(_user(label, world, make_member))
    state, permit_version = approved.state, approved.permit.version
    for name in POSTS:
        response = client.post(_url(name, approved), {"reason": "x", "reasons": "x"})
        assert response.status_code in (403, 404), (name, label, response.status_code)
    approved.refresh_from_db()
    assert (approved.state, approved.permit.version) == (state, permit_version)
    assert approved.permit.state == "active"
