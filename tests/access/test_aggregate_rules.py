"""The output rules of the aggregate-only service in a permit: the total of queries
(``max_queries``) and the privacy budget of its DP queries (``epsilon``, ``delta``), set by
the decider in the decision and the amendment forms, validated, and kept by an amendment that
does not show them."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from datalux.access import actions
from tests.access.world import World

pytestmark = pytest.mark.django_db


def _amend(world: World, application: Any, **rules: str) -> Any:
    """The amendment form as a browser posts it, the stays granted as they are."""
    key = f"amend-ds{world.stays.pk}"
    return {
        "amend-reason": "More queries for the follow-up.",
        f"{key}_grant": "on",
        f"{key}_variables": ["age", "diagnosis"],
        "amend-threshold": "10",
        "amend-rounding_base": "5",
        **{f"amend-{k}": v for k, v in rules.items()},
    }


@pytest.mark.parametrize("value", [0, -3, 2.5, "10", True])
def test_a_bad_max_queries_is_refused_with_what_to_fix(world: World, value: Any) -> None:
    application = world.under_review()
    with pytest.raises(ValidationError, match="max_queries must be a whole number"):
        actions.decide(
            application=application, by=world.decider, outcome="approved",
            reasons="Meets the criteria of Art. 5.",
            permit={"output_rules": {"max_queries": value}},
        )  # fmt: skip


def test_max_queries_is_set_and_amended_in_the_form_keeping_rules_it_does_not_show(
    client: Any, world: World
) -> None:
    application = world.approved(output_rules={"aggregate_only": True, "max_queries": 50})
    permit = application.permit
    assert permit.output_rules["max_queries"] == 50 and permit.output_rules["aggregate_only"]
    client.force_login(world.decider)
    page = client.get(reverse("access:case_permit", args=[application.reference])).text
    assert 'name="amend-max_queries"' in page and 'value="50"' in page
    url = reverse("access:case_permit_amend", args=[application.reference])
    response = client.post(url, _amend(world, application, max_queries="80"))
    assert response.status_code == 302, response.text
    permit.refresh_from_db()
    assert permit.output_rules["max_queries"] == 80
    assert permit.output_rules["aggregate_only"] is True  # not shown by the form, kept
    response = client.post(url, _amend(world, application, max_queries=""))
    assert response.status_code == 302
    permit.refresh_from_db()
    assert "max_queries" not in permit.output_rules and permit.output_rules["aggregate_only"]
    response = client.post(url, _amend(world, application, max_queries="0"))
    assert response.status_code == 400


def _decide(world: World, **rules: Any) -> Any:
    application = world.under_review()
    actions.decide(
        application=application, by=world.decider, outcome="approved",
        reasons="Meets the criteria of Art. 5.", permit={"output_rules": rules},
    )  # fmt: skip
    application.refresh_from_db()
    return application.permit


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"epsilon": 0}, "epsilon must be a number above 0 and at most 10"),
        ({"epsilon": -1}, "epsilon must be a number above 0"),
        ({"epsilon": 10.5}, "at most 10"),
        ({"epsilon": float("nan")}, "epsilon must be a number"),
        ({"epsilon": float("inf")}, "epsilon must be a number"),
        ({"epsilon": "1"}, "epsilon must be a number"),
        ({"epsilon": True}, "epsilon must be a number"),
        ({"delta": -1e-9}, "delta must be a number from 0 to 1e-05"),
        ({"delta": 0.01}, "delta must be a number from 0 to 1e-05"),
        ({"delta": float("nan")}, "delta must be a number"),
    ],
)
def test_a_bad_budget_is_refused_with_what_to_fix(
    world: World, rules: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        _decide(world, **rules)


def test_the_decision_sets_the_project_s_epsilon_and_delta(world: World) -> None:
    permit = _decide(world, epsilon=2, delta=1e-6)
    assert permit.output_rules["epsilon"] == 2.0 and permit.output_rules["delta"] == 1e-6
    assert "epsilon" not in _decide(world, epsilon=None).output_rules


def test_the_amendment_form_sets_epsilon_and_delta_and_refuses_bad_ones(
    client: Any, world: World
) -> None:
    application = world.approved(output_rules={"aggregate_only": True, "epsilon": 1.5})
    permit = application.permit
    client.force_login(world.decider)
    page = client.get(reverse("access:case_permit", args=[application.reference])).text
    assert 'name="amend-epsilon"' in page and 'value="1.5"' in page and 'name="amend-delta"' in page
    url = reverse("access:case_permit_amend", args=[application.reference])
    response = client.post(url, _amend(world, application, epsilon="3", delta="0.000001"))
    assert response.status_code == 302, response.text
    permit.refresh_from_db()
    assert permit.output_rules["epsilon"] == 3.0 and permit.output_rules["delta"] == 1e-6
    for bad in ({"epsilon": "0"}, {"epsilon": "11"}, {"epsilon": "nan"}, {"delta": "0.1"}):
        response = client.post(url, _amend(world, application, **bad))
        assert response.status_code == 400, bad
    permit.refresh_from_db()
    assert permit.output_rules["epsilon"] == 3.0  # unchanged by the refused amendments
    # an amendment that leaves the field as the form shows it keeps the budget
    response = client.post(url, _amend(world, application, epsilon="3", delta="0.000001"))
    permit.refresh_from_db()
    assert permit.output_rules["epsilon"] == 3.0
