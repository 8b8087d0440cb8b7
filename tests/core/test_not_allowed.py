"""A GET on a form-action address (publish, withdraw, submit, decide…) explains that the action
is done from its form and links back to the object; the status stays 405, nothing changes."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from datalux.access.states import ApplicationState
from datalux.catalogue.models import DatasetStatus
from datalux.core.not_allowed import back_to
from tests.access.world import build_world
from tests.catalogue.world import build_world as build_catalogue

pytestmark = pytest.mark.django_db


def assert_form_page(response: Any, back: str) -> None:
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    html = response.content.decode()
    assert "This action is done from its form" in html
    assert f'<a href="{back}">' in html
    assert "<nav" in html  # the site's layout, not a bare page


def test_get_on_publish_and_withdraw_links_back_to_the_dataset(
    client: Any, make_member: Any
) -> None:
    world = build_catalogue(make_member)
    draft = world["draft"]
    client.force_login(world["steward"])
    page = reverse("catalogue:dataset", args=[draft.pid])
    for name in ("catalogue:dataset_publish", "catalogue:dataset_withdraw"):
        assert_form_page(client.get(reverse(name, args=[draft.pid])), page)
    draft.refresh_from_db()
    assert draft.status == DatasetStatus.DRAFT  # nothing changed
    client.logout()  # anonymous: the same explanation, no change either
    assert_form_page(client.get(reverse("catalogue:dataset_publish", args=[draft.pid])), page)


def test_get_on_application_and_case_actions_links_back_to_them(client: Any) -> None:
    world = build_world()
    application = world.submitted()
    ref = application.reference
    client.force_login(world.applicant)
    assert_form_page(
        client.get(reverse("access:application_submit", args=[ref])),
        reverse("access:application", args=[ref]),
    )
    client.force_login(world.decider)
    assert_form_page(
        client.get(reverse("access:case_decide", args=[ref])),
        reverse("access:case", args=[ref]),
    )
    assert_form_page(
        client.get(reverse("access:case_permit_revoke", args=[ref])),
        reverse("access:case_permit", args=[ref]),
    )
    application.refresh_from_db()
    assert application.state == ApplicationState.SUBMITTED


def test_other_posts_and_methods_are_untouched(client: Any, make_member: Any) -> None:
    world = build_catalogue(make_member)
    client.force_login(world["steward"])
    url = reverse("catalogue:dataset_publish", args=[world["draft"].pid])
    assert client.put(url).status_code == 405 and client.put(url).content == b""
    assert client.post(url).status_code in (302, 400)  # the form's own POST still acts
    api = client.get("/api/v1/catalogue/datasets/X/publish")  # the JSON API keeps its answers
    assert "This action is done from its form" not in api.content.decode()


def test_back_to_climbs_to_the_nearest_page() -> None:
    assert back_to("/catalogue/harvest/5/run") == reverse("dcat:harvest_sources")
    assert back_to("/nowhere/at/all/") == reverse("home")
