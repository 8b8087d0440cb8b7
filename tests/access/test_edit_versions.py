"""Two tabs editing one draft: fields the other tab changed are kept, a field both changed is
refused with the typed values and what changed; without a token (the API) nothing changes."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from datalux.access import actions
from datalux.core.edit_versions import EditConflict
from tests.access.test_views_applicant import form_data
from tests.access.world import World

pytestmark = pytest.mark.django_db


def shown_version(html: str) -> str:
    match = re.search(r'name="edit_version" value="([^"]+)"', html)
    assert match, "the form carries no version token"
    return match.group(1)


def test_edits_of_other_fields_are_kept(world: World) -> None:
    application = world.draft()
    version = actions.form_version(application)
    actions.update_application(application=application, by=world.applicant, funding="Tab B")
    # Tab A sends every field of its stale form, having changed the title only.
    stale = {**actions.drafting.form_values(application), "funding": "FNR grant C26/BM/1"}
    actions.update_application(
        application=application, by=world.applicant, expected_version=version,
        **{**stale, "title": "Tab A title"},
    )  # fmt: skip
    application.refresh_from_db()
    assert (application.title, application.funding) == ("Tab A title", "Tab B")


def test_a_field_both_changed_is_a_conflict_and_nothing_is_saved(world: World) -> None:
    application = world.draft()
    version = actions.form_version(application)
    actions.update_application(application=application, by=world.applicant, funding="Tab B")
    with pytest.raises(EditConflict) as err:
        actions.update_application(
            application=application, by=world.applicant, expected_version=version,
            funding="Tab A", title="Tab A title",
        )  # fmt: skip
    assert err.value.changed == ["funding"]
    application.refresh_from_db()
    assert (application.title, application.funding) == ("Readmissions", "Tab B")
    with pytest.raises(EditConflict):
        actions.update_application(
            application=application, by=world.applicant, expected_version="forged", title="x"
        )


def test_the_page_shows_typed_values_and_what_changed(client: Any, world: World) -> None:
    application = world.draft()
    client.force_login(world.applicant)
    edit = reverse("access:application_edit", args=[application.reference])
    tab_a = shown_version(client.get(edit).content.decode())
    tab_b = shown_version(client.get(edit).content.decode())
    assert (
        client.post(edit, form_data(funding="Funded by B", edit_version=tab_b)).status_code == 302
    )
    response = client.post(edit, form_data(funding="My long funding text", edit_version=tab_a))
    assert response.status_code == 409
    html = response.content.decode()
    assert "Not saved: someone else saved this page while you were editing it." in html
    assert "Funding: “Funded by B”" in html  # what changed, as saved now
    assert "My long funding text</textarea>" in html  # the typed text is not lost
    application.refresh_from_db()
    assert application.funding == "Funded by B"
    # Saving again from the conflict page is a deliberate choice, and it is saved.
    again = form_data(funding="My long funding text", edit_version=shown_version(html))
    assert client.post(edit, again).status_code == 302
    application.refresh_from_db()
    assert application.funding == "My long funding text"


def test_the_other_tab_changing_another_field_saves_both(client: Any, world: World) -> None:
    application = world.draft()
    client.force_login(world.applicant)
    edit = reverse("access:application_edit", args=[application.reference])
    tab_a = shown_version(client.get(edit).content.decode())
    tab_b = shown_version(client.get(edit).content.decode())
    # Each tab posts the whole form; B changed the funding only, A the title only.
    client.post(edit, form_data(title="Readmissions", funding="Funded by B", edit_version=tab_b))
    response = client.post(edit, form_data(title="Title by A", edit_version=tab_a))
    assert response.status_code == 302
    application.refresh_from_db()
    assert (application.title, application.funding) == ("Title by A", "Funded by B")
