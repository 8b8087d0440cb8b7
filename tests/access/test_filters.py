"""Row filters checked against the variable's type and code list: in the action, on the
dataset-request page (beside the row) and in the API (422 with the message)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from datalux.access import actions, completeness
from datalux.access.filters import check_filters, suggest_code
from datalux.dataplane.codelists import code_list
from tests.access.test_views_applicant import dataset_post
from tests.access.world import World
from tests.factories.catalogue import VariableFactory

pytestmark = pytest.mark.django_db


def refusal(world: World, *filters: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as err:
        check_filters(world.stays, list(filters))
    return " | ".join(err.value.message_dict["filters"])


def test_icd10_code_in_the_wrong_form_names_the_right_one(world: World) -> None:
    message = refusal(world, {"variable": "diagnosis", "op": "=", "value": "S720"})
    assert message == "filter 1: 'S720' is not a valid code of ICD-10; write it as S72.0"
    message = refusal(world, {"variable": "diagnosis", "op": "in", "value": ["I50", "s72.0"]})
    assert "write it as S72.0" in message
    assert "is not a code of ICD-10 (e.g." in refusal(
        world, {"variable": "diagnosis", "op": "=", "value": "heart failure"}
    )
    ok = check_filters(world.stays, [{"variable": "diagnosis", "op": "=", "value": "S72.0"}])
    assert ok == [{"variable": "diagnosis", "op": "=", "value": "S72.0"}]


def test_suggestions_of_other_lists() -> None:
    assert suggest_code(code_list("nace2"), "6201") == "62.01"
    assert suggest_code(code_list("iso3166"), "lu") == "LU"
    assert suggest_code(code_list("icd10"), "S72.0") is None  # already right: nothing to say
    assert suggest_code(code_list("icd10"), "hello") is None


def test_numbers_for_numeric_variables(world: World) -> None:
    assert "age is a number" in refusal(world, {"variable": "age", "op": ">=", "value": "adult"})
    assert "(write decimals with a point)" in refusal(
        world, {"variable": "age", "op": ">=", "value": "18,5"}
    )
    assert "age holds whole numbers" in refusal(
        world, {"variable": "age", "op": ">=", "value": 18.5}
    )
    assert "age is a number" in refusal(world, {"variable": "age", "op": "=", "value": True})
    # Numbers written as text are stored as numbers, so the form and the API agree.
    clean = check_filters(
        world.stays,
        [
            {"variable": "age", "op": ">=", "value": "18"},
            {"variable": "age", "op": "between", "value": [18, "65"]},
        ],
    )
    assert [f["value"] for f in clean] == [18, [18, 65]]
    assert "low value first" in refusal(
        world, {"variable": "age", "op": "between", "value": [65, 18]}
    )


def test_dates_for_date_variables(world: World) -> None:
    VariableFactory(dataset=world.stays, name="admitted", type="date")
    for bad in ("15/03/2020", "2020-02-30", 20200315):
        message = refusal(world, {"variable": "admitted", "op": ">=", "value": bad})
        assert "admitted is a date: write it as YYYY-MM-DD, e.g. 2020-01-31" in message
    clean = check_filters(
        world.stays,
        [{"variable": "admitted", "op": "between", "value": [" 2020-01-01", "2020-12-31"]}],
    )
    assert clean[0]["value"] == ["2020-01-01", "2020-12-31"]


def test_operators_valid_for_the_type(world: World) -> None:
    VariableFactory(dataset=world.stays, name="readmitted", type="boolean")
    message = refusal(world, {"variable": "commune", "op": ">", "value": "Esch"})
    assert message == (
        "filter 1: '>' does not apply to commune (string); use =, !=, in, is_null, not_null"
    )
    assert "'between' does not apply to readmitted (boolean)" in refusal(
        world, {"variable": "readmitted", "op": "between", "value": [False, True]}
    )
    assert "readmitted is yes or no" in refusal(
        world, {"variable": "readmitted", "op": "=", "value": "maybe"}
    )
    # Ranges of codes of an ordered classification are allowed (ICD-10 S72.0 to S72.9).
    assert check_filters(
        world.stays, [{"variable": "diagnosis", "op": "between", "value": ["S72.0", "S72.9"]}]
    )[0]["value"] == ["S72.0", "S72.9"]


def test_every_bad_filter_is_named_and_nothing_is_stored(world: World) -> None:
    application = world.draft(complete=False)
    with pytest.raises(ValidationError) as err:
        actions.request_dataset(
            application=application, by=world.applicant, dataset=world.stays,
            variables=["age", "diagnosis"],
            filters=[
                {"variable": "age", "op": ">=", "value": 18},
                {"variable": "diagnosis", "op": "=", "value": "S720"},
                {"variable": "age", "op": "<", "value": "old"},
            ],
        )  # fmt: skip
    messages = err.value.message_dict["filters"]
    assert [m.split(":")[0] for m in messages] == ["filter 2", "filter 3"]
    assert not application.datasets.exists()


def test_the_page_shows_the_refusal_on_the_row(client: Any, world: World) -> None:
    application = world.draft(complete=False)
    client.force_login(world.applicant)
    page = reverse("access:application_datasets", args=[application.reference])
    data = dataset_post(
        world.stays.pid, ["diagnosis"], ("diagnosis", "=", "S720"), ("age", ">", "50%")
    )
    response = client.post(page, data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Check the row filters below." in html
    assert "filter 1: &#x27;S720&#x27; is not a valid code of ICD-10; write it as S72.0" in html
    assert "age is a number: give a number such as 18 or 2.5, not &#x27;50%&#x27;" in html
    # The typed values stay in the form.
    assert 'name="filters-0-value" value="S720"' in html
    assert not application.datasets.exists()
    data["filters-0-value"] = "S72.0"
    data["filters-1-value"] = "50"
    assert client.post(page, data).status_code == 302
    assert application.datasets.get().filters == [
        {"variable": "diagnosis", "op": "=", "value": "S72.0"},
        {"variable": "age", "op": ">", "value": 50},
    ]


def test_the_api_refuses_with_the_right_form(client: Any, world: World) -> None:
    application = world.draft(complete=False)
    client.force_login(world.applicant)
    path = f"/api/v1/access/applications/{application.reference}/datasets/{world.stays.pid}"
    body = {
        "variables": ["diagnosis"],
        "filters": [{"variable": "diagnosis", "op": "=", "value": "S720"}],
    }
    response = client.put(path, json.dumps(body), content_type="application/json")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["details"]["filters"] == [
        "filter 1: 'S720' is not a valid code of ICD-10; write it as S72.0"
    ]
    assert not application.datasets.exists()
    body["filters"][0]["value"] = "S72.0"
    response = client.put(path, json.dumps(body), content_type="application/json")
    assert response.status_code == 201


def test_a_permit_checks_added_filters_too(world: World) -> None:
    application = world.under_review()
    with pytest.raises(ValidationError, match=r"write it as S72\.0"):
        actions.decide(
            application=application, by=world.decider, outcome="approved",
            reasons="Meets the criteria.",
            permit={"datasets": {world.stays.pid: {"filters": [
                {"variable": "age", "op": ">=", "value": 18},
                {"variable": "diagnosis", "op": "=", "value": "S720"},
            ]}}},
        )  # fmt: skip


def test_filters_that_no_longer_fit_the_dictionary_are_a_gap(world: World) -> None:
    application = world.draft()
    assert not [g for g in completeness.check(application) if "filters" in g.field]
    world.stays.variables.filter(name="age").update(type="date")
    gaps = [g for g in completeness.check(application) if g.field.endswith(".filters")]
    assert gaps and "age is a date: write it as YYYY-MM-DD" in gaps[0].message
