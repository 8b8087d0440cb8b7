"""Issue 10, item 12: the web pages' refusals (403, 404) are audited as the API's are - once per
request, whoever refused; signed-in users' 404s, not anonymous ones (scanners would flood the
chain) nor static files."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def denied() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(kind=EventKind.ACCESS_DENIED).order_by("seq"))


@pytest.fixture
def member(make_member: Any) -> Any:
    return make_member("applicant")


@pytest.mark.urls("tests.core.refusal_urls")
def test_a_bare_403_is_audited_once(client: Any, member: Any) -> None:
    client.force_login(member)
    response = client.get("/bare/")
    assert response.status_code == 403
    [event] = denied()
    assert (event.actor_id, event.object_type, event.object_id) == (member.pk, "path", "/bare/")
    assert event.details == {"method": "GET", "status": 403, "reason": "not yours"}


@pytest.mark.urls("tests.core.refusal_urls")
def test_a_refusal_audited_by_its_guard_or_action_is_not_audited_twice(
    client: Any, member: Any
) -> None:
    client.force_login(member)
    assert client.get("/guarded/").status_code == 403
    assert len(denied()) == 1  # the guard's own event
    assert client.get("/audited/").status_code == 403
    assert len(denied()) == 1  # the action recorded its refusal: nothing more
    assert client.get("/bare/").status_code == 403  # the next request is counted again
    assert len(denied()) == 2


@pytest.mark.urls("tests.core.refusal_urls")
def test_an_anonymous_403_is_audited(client: Any) -> None:
    assert client.post("/bare/").status_code == 403
    [event] = denied()
    assert event.actor_id is None and event.details["method"] == "POST"


@pytest.mark.urls("tests.core.refusal_urls")
def test_a_signed_in_users_404_is_audited(client: Any, member: Any) -> None:
    client.force_login(member)
    assert client.get("/hidden/APP-123/").status_code == 404
    assert client.get("/no/such/page/").status_code == 404
    first, second = denied()
    assert (first.object_id, first.details) == (
        "/hidden/APP-123/",
        {"method": "GET", "status": 404, "reason": "no such thing, or not visible to you"},
    )
    # a path no view answers: the resolver's list of patterns is never recorded
    assert (second.object_id, second.details["reason"]) == ("/no/such/page/", "no such page")


@pytest.mark.urls("tests.core.refusal_urls")
def test_anonymous_and_static_404s_are_not_audited(client: Any, member: Any) -> None:
    assert client.get("/hidden/APP-123/").status_code == 404
    assert client.get("/wp-login.php").status_code == 404
    client.force_login(member)
    assert client.get("/static/no-such-file.css").status_code == 404
    assert client.get("/favicon.ico").status_code == 404
    assert denied() == []


def test_a_hidden_application_page_is_audited(client: Any, member: Any) -> None:
    """The real pages: an application reference the user may not see answers 404, audited."""
    client.force_login(member)
    url = reverse("access:application", args=["DA-2099-0001"])
    assert client.get(url).status_code == 404
    [event] = denied()
    assert event.object_id == url and event.details["status"] == 404
