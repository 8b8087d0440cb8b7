"""The data-dictionary editor: one row per variable (add without JavaScript or with htmx,
remove, reorder, pick a code list), saved through the same checks as a pasted Table Schema."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from datalux.catalogue.dictionary import DictionaryError, parse_table_schema
from datalux.catalogue.models import Variable
from tests.catalogue.world import build_world

pytestmark = pytest.mark.django_db

FIELDS = ("original", "name", "type", "title", "description", "unit", "code_list",
          "privacy_role", "linkage_kind", "ORDER")  # fmt: skip
DEFAULTS = {"type": "string", "privacy_role": "other"}


@pytest.fixture
def world(make_member: Any) -> dict[str, Any]:
    world = build_world(make_member)
    # A French label and allowed values the editor does not show: they must be kept.
    Variable.objects.filter(dataset=world["stays"], name="diagnosis").update(
        label={"en": "Main diagnosis", "fr": "Diagnostic principal"}, allowed_values=["I10", "J45"]
    )
    return world


def url(world: dict[str, Any]) -> str:
    return reverse("catalogue:dataset_dictionary", args=[world["stays"].pid])


def rows_post(*rows: dict[str, Any], **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "editor": "rows",
        "variables-TOTAL_FORMS": str(len(rows)),
        "variables-INITIAL_FORMS": str(sum(1 for r in rows if r.get("original"))),
        "variables-MIN_NUM_FORMS": "0",
        "variables-MAX_NUM_FORMS": "500",
        **extra,
    }
    for i, row in enumerate(rows):
        for key in FIELDS:
            data[f"variables-{i}-{key}"] = row.get(key, DEFAULTS.get(key, ""))
        for box in ("required", "period", "DELETE"):
            if row.get(box):
                data[f"variables-{i}-{box}"] = "on"
    return data


def names(world: dict[str, Any]) -> list[str]:
    return list(world["stays"].variables.order_by("position").values_list("name", flat=True))


def test_the_editor_shows_the_current_variables_and_the_code_lists(
    client: Any, world: dict[str, Any]
) -> None:
    client.force_login(world["steward"])
    html = client.get(url(world)).content.decode()
    assert 'name="variables-0-name" value="birth_date"' in html
    assert 'name="variables-1-name" value="diagnosis"' in html
    assert 'name="variables-TOTAL_FORMS" value="3"' in html  # and one empty row
    assert '<option value="icd10">ICD-10' in html and "Remove this variable" in html
    assert 'name="schema_text"' in html  # the JSON paste stays


def test_steward_adds_removes_reorders_and_picks_a_code_list(
    client: Any, world: dict[str, Any]
) -> None:
    client.force_login(world["steward"])
    response = client.post(
        url(world),
        rows_post(
            {"original": "birth_date", "name": "birth_date", "type": "date", "ORDER": "1",
             "DELETE": True},
            {"original": "diagnosis", "name": "main_diagnosis", "title": "Main diagnosis",
             "code_list": "icd10", "privacy_role": "sensitive", "required": True, "ORDER": "2"},
            {"name": "length_of_stay", "type": "integer", "unit": "day", "title": "Days",
             "ORDER": "1"},
        ),
    )  # fmt: skip
    assert response.status_code == 302
    assert names(world) == ["length_of_stay", "main_diagnosis"]
    stay, diagnosis = world["stays"].variables.order_by("position")
    assert (stay.type, stay.unit, stay.label) == ("integer", "day", {"en": "Days"})
    assert diagnosis.code_list == "icd10" and diagnosis.privacy_role == "sensitive"
    assert diagnosis.required is True
    # Renamed, it keeps what the editor does not show.
    assert diagnosis.label == {"en": "Main diagnosis", "fr": "Diagnostic principal"}
    assert diagnosis.allowed_values == ["I10", "J45"]


def test_add_a_row_without_javascript_keeps_what_was_typed(
    client: Any, world: dict[str, Any]
) -> None:
    client.force_login(world["steward"])
    data = rows_post(
        {"original": "birth_date", "name": "birth_date", "type": "date", "ORDER": "2"},
        {"original": "diagnosis", "name": "diagnosis", "title": "Typed, not saved", "ORDER": "1"},
        {},  # the empty row, left empty
        add="1",
    )
    response = client.post(url(world), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="variables-TOTAL_FORMS" value="4"' in html  # two rows, two empty ones
    # Shown in the new order, with the typed title; nothing saved yet.
    assert 'name="variables-0-name" value="diagnosis"' in html
    assert 'value="Typed, not saved"' in html
    assert 'name="variables-1-name" value="birth_date"' in html
    assert names(world) == ["birth_date", "diagnosis"]
    fragment = client.post(url(world), data, HTTP_HX_REQUEST="true").content.decode()
    assert fragment.startswith("<form") and 'id="dictionary-editor"' in fragment
    assert "<html" not in fragment


def test_rows_are_checked_like_a_table_schema(client: Any, world: dict[str, Any]) -> None:
    client.force_login(world["steward"])
    response = client.post(
        url(world),
        rows_post(
            {"original": "birth_date", "name": "ward", "ORDER": "1"},
            {"original": "diagnosis", "name": "ward", "ORDER": "2"},
        ),
    )
    html = response.content.decode()
    assert "The dictionary was not saved:" in html and "the name is used twice" in html
    assert 'value="ward"' in html  # what was typed is still there
    response = client.post(
        url(world), rows_post({"original": "birth_date", "name": "", "title": "No name"})
    )
    assert "This field is required." in response.content.decode()
    response = client.post(url(world), rows_post({"name": "x", "type": "colour"}))
    assert "Select a valid choice" in response.content.decode()
    assert names(world) == ["birth_date", "diagnosis"]


def test_only_the_publishers_stewards_edit_rows(client: Any, world: dict[str, Any]) -> None:
    data = rows_post({"name": "ward"})
    assert client.post(url(world), data).status_code == 302  # to the login page
    for user in ("applicant", "other_steward"):
        client.force_login(world[user])
        assert client.post(url(world), data).status_code == 403
    assert names(world) == ["birth_date", "diagnosis"]


def test_the_date_a_permitted_period_applies_to_is_marked_once(
    client: Any, world: dict[str, Any]
) -> None:
    client.force_login(world["steward"])
    birth = {"original": "birth_date", "name": "birth_date", "type": "date", "ORDER": "1"}
    diagnosis = {"original": "diagnosis", "name": "diagnosis", "ORDER": "2"}
    response = client.post(url(world), rows_post(birth | {"period": True}, diagnosis))
    assert response.status_code == 302
    marked = world["stays"].variables.filter(period=True)
    assert [v.name for v in marked] == ["birth_date"]
    # shown ticked, and kept in the Table Schema
    html = client.get(url(world)).content.decode()
    boxes = re.findall(r'<input[^>]*name="variables-\d-period"[^>]*>', html)
    assert len(boxes) == 3 and "checked" in boxes[0] and "checked" not in boxes[1], boxes
    schema = client.get(reverse("dcat:dataset_schema", args=[world["stays"].pid])).json()
    assert [f["name"] for f in schema["fields"] if f.get("period")] == ["birth_date"]

    # on a text, or twice: refused, and the stored dictionary stays as it was
    refused = client.post(url(world), rows_post(birth, diagnosis | {"period": True}))
    assert refused.status_code == 200
    assert "a permitted period applies to a date; the type is string" in refused.content.decode()
    second = {"name": "discharge_date", "type": "date", "ORDER": "3", "period": True}
    refused = client.post(url(world), rows_post(birth | {"period": True}, diagnosis, second))
    assert "period is set on birth_date, discharge_date" in refused.content.decode()
    assert [v.name for v in world["stays"].variables.filter(period=True)] == ["birth_date"]
    assert names(world) == ["birth_date", "diagnosis"]


def test_what_a_variable_says_of_who_the_record_is_is_marked_once_per_kind(
    client: Any, world: dict[str, Any]
) -> None:
    client.force_login(world["steward"])
    birth = {"original": "birth_date", "name": "birth_date", "type": "date", "ORDER": "1"}
    diagnosis = {"original": "diagnosis", "name": "diagnosis", "ORDER": "2"}
    response = client.post(url(world), rows_post(birth | {"linkage_kind": "birth_date"}, diagnosis))
    assert response.status_code == 302
    assert world["stays"].variables.get(name="birth_date").linkage_kind == "birth_date"
    schema = client.get(reverse("dcat:dataset_schema", args=[world["stays"].pid])).json()
    assert {f["name"]: f.get("linkageKind") for f in schema["fields"]} == {
        "birth_date": "birth_date",
        "diagnosis": None,
    }
    twice = rows_post(
        birth | {"linkage_kind": "birth_date"}, diagnosis | {"linkage_kind": "birth_date"}
    )
    refused = client.post(url(world), twice)
    assert "linkageKind birth_date is set on birth_date, diagnosis" in refused.content.decode()
    assert world["stays"].variables.get(name="diagnosis").linkage_kind == ""


def test_an_unknown_linkage_kind_is_named() -> None:
    with pytest.raises(DictionaryError, match="linkageKind 'iris' is not one of record_id"):
        parse_table_schema({"fields": [{"name": "eye", "linkageKind": "iris"}]})
