"""Issue 10, item 12: every row-filter value is checked against its variable's type, with a
message saying what to write - also where the checks had gaps: numbers that are not finite,
whole numbers the stored column cannot hold, years, durations, JSON objects and arrays, values
of 'any' variables, and nested lists in 'in' and 'between'; datetimes with an offset become
the stored UTC time. The API answers the same 422 (no internal error)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from datalux.access.filters import check_filters
from tests.access.world import World
from tests.factories.catalogue import VariableFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def typed(world: World) -> World:
    for name, type_ in [
        ("cost", "number"),
        ("born", "year"),
        ("stay", "duration"),
        ("extra", "object"),
        ("codes", "array"),
        ("note", "any"),
        ("admitted_at", "datetime"),
    ]:
        VariableFactory(dataset=world.stays, name=name, type=type_)
    return world


def refused(world: World, variable: str, op: str, value: Any) -> str:
    with pytest.raises(ValidationError) as err:
        check_filters(world.stays, [{"variable": variable, "op": op, "value": value}])
    return " | ".join(err.value.message_dict["filters"])


def clean(world: World, variable: str, op: str, value: Any) -> Any:
    return check_filters(world.stays, [{"variable": variable, "op": op, "value": value}])[0][
        "value"
    ]


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-inf", float("nan"), float("inf"), "1e400"])
def test_numbers_are_finite(typed: World, value: Any) -> None:
    assert "cost is a number: give a finite number" in refused(typed, "cost", ">", value)


@pytest.mark.parametrize("value", ["NaN", "sNaN", float("inf")])
def test_whole_numbers_that_are_not_numbers_are_refused_not_an_error(
    typed: World, value: Any
) -> None:
    assert "age is a number: give a finite number" in refused(typed, "age", "=", value)


def test_whole_numbers_fit_the_stored_column(typed: World) -> None:
    assert "age holds whole numbers from -9223372036854775808 to 9223372036854775807" in (
        refused(typed, "age", "<", 2**63)
    )
    assert clean(typed, "age", "<", 2**63 - 1) == 2**63 - 1
    assert "born holds whole numbers from 0 to 9999, not 12345" in refused(
        typed, "born", ">=", 12345
    )
    assert clean(typed, "born", "between", ["1950", 1960]) == [1950, 1960]


def test_durations_are_iso_8601(typed: World) -> None:
    for bad in ("3 days", "P", "PT", "P1DT", 3):
        assert "stay is a duration: write it in ISO 8601, e.g. P3D or PT2H30M" in refused(
            typed, "stay", "=", bad
        )
    assert clean(typed, "stay", "=", " P3DT4H ") == "P3DT4H"


def test_json_objects_and_arrays_are_json_text(typed: World) -> None:
    assert 'extra holds JSON objects: write one as text, e.g. {"a": 1}' in refused(
        typed, "extra", "=", "[1]"
    )
    assert "codes holds JSON arrays: write one as text, e.g. [1, 2]" in refused(
        typed, "codes", "=", "not json"
    )
    assert clean(typed, "extra", "=", '{"a": 1}') == '{"a": 1}'


def test_nested_values_in_lists_are_refused(typed: World) -> None:
    assert "note: give a text or a number, not {'a': 1}" in refused(
        typed, "note", "in", [{"a": 1}, "x"]
    )
    assert "note: give a text or a number, not [1]" in refused(typed, "note", "in", [[1], "x"])
    assert clean(typed, "note", "in", ["x", 2]) == ["x", "2"]
    assert "give a text or a number" in refused(typed, "note", "=", True)


def test_datetimes_with_an_offset_become_utc(typed: World) -> None:
    assert clean(typed, "admitted_at", ">=", "2024-03-31T14:05:00+02:00") == "2024-03-31T12:05:00"
    assert clean(typed, "admitted_at", ">=", "2024-03-31T14:05") == "2024-03-31T14:05:00"


def test_the_api_refuses_a_non_finite_number_with_a_422(client: Any, typed: World) -> None:
    application = typed.draft(complete=False)
    client.force_login(typed.applicant)
    path = f"/api/v1/access/applications/{application.reference}/datasets/{typed.stays.pid}"
    body = '{"variables": ["age"], "filters": [{"variable": "age", "op": ">", "value": NaN}]}'
    response = client.put(path, body, content_type="application/json")
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert json.dumps(error["details"]).count("age is a number: give a finite number") == 1
    assert not application.datasets.exists()
