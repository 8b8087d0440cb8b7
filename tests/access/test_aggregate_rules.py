"""The output rules of the aggregate-only service in a permit: the total of queries
(``max_queries``), set by the decider in the decision and the amendment forms, validated, and
kept by an amendment that does not show them."""

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
