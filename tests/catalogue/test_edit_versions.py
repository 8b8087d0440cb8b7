"""Two tabs editing one dataset record or one data dictionary: the other tab's changes are
not silently overwritten; a conflict shows the typed values and what changed."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from datalux.catalogue import actions
from datalux.catalogue.forms import DatasetForm
from datalux.core.edit_versions import EditConflict
from tests.catalogue.test_dictionary_editor import rows_post
from tests.catalogue.world import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(make_member: Any) -> dict[str, Any]:
    return build_world(make_member)


def token(html: str) -> str:
    match = re.search(r'name="edit_version" value="([^"]+)"', html)
    assert match, "the form carries no version token"
    return match.group(1)


def shown_form(dataset: Any, **changes: Any) -> dict[str, Any]:
    """The metadata form as the browser posts it, unchanged but for ``changes``."""
    data = {k: ("" if v is None else v) for k, v in DatasetForm.initial_for(dataset).items()}
    return {**data, **changes}


def test_metadata_other_fields_kept_and_same_field_refused(
    client: Any, world: dict[str, Any]
) -> None:
    stays = world["stays"]
    client.force_login(world["steward"])
    edit = reverse("catalogue:dataset_edit", args=[stays.pid])
    tab_a, tab_b = (token(client.get(edit).content.decode()) for _ in range(2))
    shown = shown_form(stays)
    b = {**shown, "contact_name": "Desk B", "edit_version": tab_b}
    assert client.post(edit, b).status_code == 302
    # A changed the legal basis only: B's contact stays.
    a = {**shown, "legal_basis": "Law of 2024", "edit_version": tab_a}
    assert client.post(edit, a).status_code == 302
    stays.refresh_from_db()
    assert (stays.contact_name, stays.legal_basis) == ("Desk B", "Law of 2024")
    # A again from the same old page, now over B's contact: refused, A's text kept.
    a = {**shown, "contact_name": "Desk A, typed", "edit_version": tab_a}
    response = client.post(edit, a)
    assert response.status_code == 409
    html = response.content.decode()
    assert "Not saved: someone else saved this page" in html
    assert "Contact name: “Desk B”" in html and 'value="Desk A, typed"' in html
    stays.refresh_from_db()
    assert stays.contact_name == "Desk B"
    response = client.post(edit, {**a, "edit_version": token(html)})
    assert response.status_code == 302
    stays.refresh_from_db()
    assert stays.contact_name == "Desk A, typed"


def test_dictionary_changed_meanwhile_is_not_replaced(client: Any, world: dict[str, Any]) -> None:
    stays = world["stays"]
    client.force_login(world["steward"])
    page = reverse("catalogue:dataset_dictionary", args=[stays.pid])
    tab_a, tab_b = (token(client.get(page).content.decode()) for _ in range(2))
    rows = [
        {"original": "birth_date", "name": "birth_date", "type": "date", "ORDER": "1"},
        {"original": "diagnosis", "name": "diagnosis", "ORDER": "2"},
    ]
    b = rows_post(rows[0], {**rows[1], "code_list": "icd10"}, edit_version=tab_b)
    assert client.post(page, b).status_code == 302
    a = rows_post({**rows[0], "unit": "typed by A"}, rows[1], edit_version=tab_a)
    response = client.post(page, a)
    assert response.status_code == 409
    html = response.content.decode()
    assert "Changed meanwhile" in html and "diagnosis: “string · diagnosis · icd10”" in html
    assert 'value="typed by A"' in html  # the typed row is still there
    assert stays.variables.get(name="diagnosis").code_list == "icd10"
    assert stays.variables.get(name="birth_date").unit == ""
    # The pasted Table Schema is protected the same way.
    with pytest.raises(EditConflict):
        actions.set_dictionary(
            dataset=stays, by=world["steward"], expected_version=tab_a,
            table_schema={"fields": [{"name": "x"}]},
        )  # fmt: skip
    assert client.post(page, {**a, "edit_version": token(html)}).status_code == 302
    assert stays.variables.get(name="birth_date").unit == "typed by A"
