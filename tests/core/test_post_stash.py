"""A form sent after the session expired: what was typed is kept through the login and
offered again (sent again, or discarded); never passwords; only for a while."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from datalux.access.models import Application
from datalux.core import post_stash
from tests.access.test_views_applicant import form_data
from tests.access.world import World, build_world

pytestmark = pytest.mark.django_db

TYPED = 'A long text typed for an hour: <the purpose> & "why", line one\nline two'


@pytest.fixture
def world(db: Any) -> World:
    world = build_world()
    world.applicant.set_password("demo-pass-2030")
    world.applicant.save()
    return world


def expired_post(client: Any, world: World) -> tuple[str, Any]:
    """Tab open, session gone (as after expiry), then the form is sent."""
    application = world.draft()
    edit = reverse("access:application_edit", args=[application.reference])
    client.logout()
    response = client.post(edit, form_data(purpose_description=TYPED, password="secret"))
    return edit, response


def sign_in(client: Any, world: World, next_url: str) -> Any:
    login = reverse("accounts:login")
    return client.post(
        f"{login}?next={next_url}",
        {"username": world.applicant.username, "password": "demo-pass-2030", "next": next_url},
    )


def test_the_typed_text_survives_the_login_and_is_sent_again(client: Any, world: World) -> None:
    edit, response = expired_post(client, world)
    assert response.status_code == 302 and response["Location"].startswith(
        reverse("accounts:login")
    )
    login_page = client.get(response["Location"]).content.decode()
    assert "Your session had expired. Sign in again: what you sent is kept" in login_page
    kept = client.session[post_stash.SESSION_KEY]
    assert kept["path"] == edit
    assert not [k for k, _v in kept["fields"] if k in ("password", "csrfmiddlewaretoken")]

    response = sign_in(client, world, edit)
    assert response.status_code == 302 and response["Location"] == edit
    page = client.get(edit)
    html = page.content.decode()
    assert "What you had typed is kept" in html
    assert (
        'name="purpose_description" value="A long text typed for an hour: &lt;the purpose&gt;'
        in html
    )
    assert 'name="password"' not in html
    data = dict(kept["fields"])
    resent = client.post(edit, data)  # the "Send it again" button
    assert resent.status_code == 302
    application = Application.objects.get(title="Readmissions after heart failure")
    assert application.purpose_description == TYPED
    assert post_stash.SESSION_KEY not in client.session
    assert "What you had typed is kept" not in client.get(edit).content.decode()


def test_discard_shows_the_page_as_it_is(client: Any, world: World) -> None:
    edit, _response = expired_post(client, world)
    sign_in(client, world, edit)
    response = client.post(edit, {post_stash.DISCARD: "1"})
    assert response.status_code == 302 and response["Location"] == edit
    html = client.get(edit).content.decode()
    assert "What you had typed is kept" not in html and "The application form" in html
    assert TYPED[:20] not in html


def test_the_kept_form_is_only_offered_for_its_page_and_for_a_while(
    client: Any, world: World
) -> None:
    edit, _response = expired_post(client, world)
    sign_in(client, world, reverse("home"))
    assert "What you had typed is kept" not in client.get(reverse("home")).content.decode()
    session = client.session
    session[post_stash.SESSION_KEY]["at"] -= post_stash.STASH_SECONDS + 1
    session.save()
    assert "What you had typed is kept" not in client.get(edit).content.decode()
    assert post_stash.SESSION_KEY not in client.session


def test_signed_in_posts_and_refusals_keep_nothing(client: Any, world: World) -> None:
    application = world.draft()
    edit = reverse("access:application_edit", args=[application.reference])
    client.force_login(world.stranger)  # signed in, but not allowed: no login redirect
    client.post(edit, form_data(purpose_description=TYPED))
    assert post_stash.SESSION_KEY not in client.session
