"""The data authority's pages: queue, case file, procedure actions and permits, by role."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.urls import reverse

from datalux.access import actions
from datalux.access.models import Comment, Decision, Opinion, Permit
from datalux.access.states import ApplicationState, PermitState
from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent
from tests.access.world import World
from tests.factories.accounts import UserFactory

pytestmark = pytest.mark.django_db


def events(kind: EventKind) -> int:
    return AuditEvent.objects.filter(kind=kind).count()


def case_url(application: Any, name: str = "case") -> str:
    return reverse(f"access:{name}", args=[application.reference])


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T10:00:00").replace(tzinfo=UTC)


def row(html: str, element_id: str) -> str:
    """The markup of the table row with this id."""
    match = re.search(rf'<tr id="{element_id}"[^>]*>.*?</tr>', html, re.S)
    assert match, f"no row {element_id}"
    return match.group(0)


def decision(world: World, variables: list[str], **extra: Any) -> dict[str, Any]:
    """The decide form as a browser posts it, every requested dataset granted."""
    key = f"decide-ds{world.stays.pk}"
    return {
        "decide-outcome": "approved",
        "decide-reasons": "Meets the criteria of Art. 5.",
        f"{key}_grant": "on",
        f"{key}_variables": variables,
        f"{key}_time_start": "2020-01-01",
        f"{key}_time_end": "2024-12-31",
        f"{key}_filters": "",
        "decide-threshold": "10",
        "decide-rounding_base": "5",
        **extra,
    }


# Who gets in.


def test_anonymous_users_are_sent_to_the_login_page(client: Any, world: World) -> None:
    application = world.submitted()
    for url in (reverse("access:cases"), case_url(application)):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("accounts:login"))
    response = client.post(case_url(application, "case_decide"), decision(world, ["age"]))
    assert response.status_code == 302
    assert not Decision.objects.exists()


@pytest.mark.parametrize("role", ["applicant", "citizen"])
def test_the_queue_is_refused_to_applicants_and_citizens(
    client: Any, world: World, make_member: Any, role: str
) -> None:
    application = world.submitted()
    user = world.applicant if role == "applicant" else make_member("citizen")
    client.force_login(user)
    before = events(EventKind.ACCESS_DENIED)
    assert client.get(reverse("access:cases")).status_code == 403
    # Not even their own application's staff view.
    assert client.get(case_url(application)).status_code == 403
    assert events(EventKind.ACCESS_DENIED) == before + 2


def test_a_reviewer_of_another_holder_cannot_see_a_case_it_was_not_asked_about(
    client: Any, world: World
) -> None:
    application = world.under_review()
    client.force_login(world.other_reviewer)
    assert client.get(case_url(application)).status_code == 404
    response = client.post(
        case_url(application, "case_give_opinion"),
        {"give_opinion-vote": "favourable", "give_opinion-text": "Sure"},
    )
    assert response.status_code == 404
    assert not Opinion.objects.exists()
    assert application.reference not in client.get(reverse("access:cases") + "?tab=all").text
    # The reviewer of the holder that was asked does see it.
    client.force_login(world.reviewer)
    assert client.get(case_url(application)).status_code == 200


# The handler.


def test_handler_journey_assign_return_resubmission_highlight_and_review(
    client: Any, world: World
) -> None:
    application = world.submitted()
    client.force_login(world.handler)
    queue = client.get(reverse("access:cases"))
    assert queue.status_code == 200 and application.reference in queue.text

    response = client.post(
        case_url(application, "case_assign"), {"assign-handler": world.handler.pk}
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.handler == world.handler
    assert application.reference in client.get(reverse("access:cases") + "?tab=mine").text
    assert application.reference not in client.get(reverse("access:cases")).text  # unassigned

    # Only the assigned handler returns it: the other handler is refused (and it is audited).
    client.force_login(world.handler2)
    before = events(EventKind.ACCESS_DENIED)
    response = client.post(case_url(application, "case_return"), {"return-reasons": "No."})
    assert response.status_code == 403
    assert events(EventKind.ACCESS_DENIED) == before + 1

    client.force_login(world.handler)
    response = client.post(case_url(application, "case_return"), {"return-reasons": "  "})
    assert response.status_code == 400
    assert "say what the applicant must complete" in response.text
    response = client.post(
        case_url(application, "case_return"),
        {"return-reasons": "Say who funds the hosting."},
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.state == ApplicationState.RETURNED and application.returns == 1

    actions.update_application(application=application, by=world.applicant, funding="FNR + EU")
    actions.submit(application=application, by=world.applicant)

    page = client.get(case_url(application))
    assert page.status_code == 200
    funding = row(page.text, "field-funding")
    assert 'class="changed"' in funding
    assert '<ins class="current">FNR + EU</ins>' in funding
    assert '<del class="previous">FNR grant C26/BM/1</del>' in funding
    assert 'class="changed"' not in row(page.text, "field-title")
    assert "Say who funds the hosting." in page.text  # the return reasons, as a comment
    assert EventKind.APPLICATION_RESUBMITTED.value in page.text  # the history

    response = client.post(case_url(application, "case_start_review"), {})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.state == ApplicationState.UNDER_REVIEW
    assert application.opinion_requests.get().organisation == world.holder
    # A second start is refused by the state machine.
    response = client.post(case_url(application, "case_start_review"), {})
    assert response.status_code == 409
    assert "cannot start review a application that is under review" in response.text.replace(
        "an application", "a application"
    )


def test_handler_asks_another_organisation_and_leaves_an_internal_note(
    client: Any, world: World
) -> None:
    application = world.under_review()
    client.force_login(world.handler)
    response = client.post(
        case_url(application, "case_request_opinion"),
        {"request_opinion-organisation": world.other_holder.pk, "request_opinion-question": "?"},
    )
    assert response.status_code == 302
    assert application.opinion_requests.filter(organisation=world.other_holder).exists()
    # An applicant organisation cannot be asked: not offered, refused when posted.
    response = client.post(
        case_url(application, "case_request_opinion"),
        {"request_opinion-organisation": world.lab.pk},
    )
    assert response.status_code == 400
    response = client.post(
        case_url(application, "case_comment"),
        {"comment-body": "Check the DPIA.", "comment-internal": "on"},
    )
    assert response.status_code == 302
    assert Comment.objects.get(body="Check the DPIA.").internal
    assert "internal note" in client.get(case_url(application)).text


def test_the_deadline_is_extended_once(client: Any, world: World) -> None:
    application = world.under_review()
    deadline = application.deadline
    client.force_login(world.handler)
    assert "Extend the deadline" in client.get(case_url(application)).text
    response = client.post(
        case_url(application, "case_extend_deadline"),
        {"extend_deadline-reason": "Two holders must be consulted."},
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.extended_days == 30
    assert application.deadline == deadline + timedelta(days=30)
    page = client.get(case_url(application))
    assert "Two holders must be consulted." in page.text
    assert "Extend the deadline" not in page.text
    response = client.post(
        case_url(application, "case_extend_deadline"),
        {"extend_deadline-reason": "Again."},
    )
    assert response.status_code == 400
    assert "only once" in response.text
    application.refresh_from_db()
    assert application.extended_days == 30


def test_the_queue_is_sorted_by_deadline_and_shows_overdue_cases(client: Any, world: World) -> None:
    with time_machine.travel(at("2026-01-05"), tick=False) as clock:
        early = world.submitted()
        clock.move_to(at("2026-03-01"))
        late = world.submitted()
        clock.move_to(at("2026-03-20"))
        client.force_login(world.handler)
        text = client.get(reverse("access:cases")).text
    assert text.index(early.reference) < text.index(late.reference)
    assert re.search(rf'<tr class="overdue">\s*<th scope="row"><a[^>]*>{early.reference}<', text)
    assert "overdue" in text and "42 days left" in text


# Reviewers and the assistance desk.


def test_a_reviewer_gives_an_opinion_through_the_page(client: Any, world: World) -> None:
    application = world.under_review()
    client.force_login(world.reviewer)
    queue = client.get(reverse("access:cases"))
    assert application.reference in queue.text  # awaiting my organisation's opinion
    assert 'id="opinion-heading"' in client.get(case_url(application)).text
    response = client.post(
        case_url(application, "case_give_opinion"),
        {
            "give_opinion-vote": "favourable_with_conditions",
            "give_opinion-text": "Fine if results are published.",
            "give_opinion-conditions": ["publish-results"],
        },
    )
    assert response.status_code == 302
    opinion = Opinion.objects.get(reviewer=world.reviewer)
    assert opinion.vote == "favourable_with_conditions"
    assert opinion.conditions == ["publish-results"]
    page = client.get(case_url(application))
    assert "Fine if results are published." in page.text
    assert 'id="opinion-heading"' not in page.text
    assert application.reference not in client.get(reverse("access:cases")).text


def test_the_assistance_desk_sees_drafts_and_comments_without_deciding(
    client: Any, world: World
) -> None:
    draft = world.draft(complete=False)
    client.force_login(world.assistant)
    queue = client.get(reverse("access:cases") + "?tab=drafts")
    assert draft.reference in queue.text
    page = client.get(case_url(draft))
    assert "add at least one dataset" in page.text  # the completeness gaps
    assert "Decide" not in page.text
    response = client.post(
        case_url(draft, "case_comment"), {"comment-body": "Add your DPIA.", "comment-field": ""}
    )
    assert response.status_code == 302
    assert Comment.objects.filter(application=draft, author=world.assistant).exists()
    response = client.post(case_url(draft, "case_decide"), decision(world, ["age"]))
    assert response.status_code == 403


# The decider.


def test_a_decider_approves_a_narrower_permit_with_a_standard_condition(
    client: Any, world: World
) -> None:
    application = world.under_review()
    client.force_login(world.decider)
    page = client.get(case_url(application))
    assert f'name="decide-ds{world.stays.pk}_variables" value="diagnosis"' in page.text
    response = client.post(
        case_url(application, "case_decide"),
        decision(
            world,
            ["age"],
            **{
                "decide-conditions": ["no-transfer-outside-eu"],
                f"decide-ds{world.stays.pk}_filters": "age <= 65",
                "decide-free_kind_0": "obligation",
                "decide-free_text_0": "Share the code with the holder.",
            },
        ),
    )
    assert response.status_code == 302, response.text
    application.refresh_from_db()
    assert application.state == ApplicationState.APPROVED
    spec = Permit.objects.get(application=application).spec()
    assert spec["datasets"][0]["variables"] == ["age"]
    assert spec["datasets"][0]["filters"] == [
        {"variable": "age", "op": ">=", "value": 18},
        {"variable": "age", "op": "<=", "value": 65},
    ]
    codes = {c["code"] for c in spec["conditions"]}
    assert {"no-transfer-outside-eu", "no-reidentification"} <= codes
    assert {"kind": "obligation", "code": "", "text": "Share the code with the holder."} in spec[
        "conditions"
    ]


def test_a_permit_cannot_grant_a_variable_that_was_not_requested(client: Any, world: World) -> None:
    application = world.under_review()
    client.force_login(world.decider)
    before = events(EventKind.APPLICATION_ACTION_REFUSED)
    response = client.post(
        case_url(application, "case_decide"), decision(world, ["age", "national_id"])
    )
    assert response.status_code == 400
    assert "did not request national_id" in response.text
    assert not Permit.objects.exists() and not Decision.objects.exists()
    application.refresh_from_db()
    assert application.state == ApplicationState.UNDER_REVIEW
    assert events(EventKind.APPLICATION_ACTION_REFUSED) == before + 1


def test_a_reviewer_posting_a_decision_is_refused_and_audited(client: Any, world: World) -> None:
    application = world.under_review()
    client.force_login(world.reviewer)
    assert (
        'action="' + case_url(application, "case_decide")
        not in client.get(case_url(application)).text
    )
    before = events(EventKind.ACCESS_DENIED)
    response = client.post(case_url(application, "case_decide"), decision(world, ["age"]))
    assert response.status_code == 403
    assert events(EventKind.ACCESS_DENIED) == before + 1
    application.refresh_from_db()
    assert application.state == ApplicationState.UNDER_REVIEW
    assert not Decision.objects.exists()


def test_deciding_a_withdrawn_application_is_a_conflict(client: Any, world: World) -> None:
    application = world.under_review()
    actions.withdraw(application=application, by=world.applicant, reason="Funding ended")
    client.force_login(world.decider)
    response = client.post(case_url(application, "case_decide"), decision(world, ["age"]))
    assert response.status_code == 409
    assert "that is withdrawn" in response.text
    assert not Permit.objects.exists() and not Decision.objects.exists()


def test_a_rejection_records_reasons_and_issues_no_permit(client: Any, world: World) -> None:
    application = world.under_review()
    client.force_login(world.decider)
    data = decision(world, ["age"], **{"decide-outcome": "rejected"})
    assert client.post(case_url(application, "case_decide"), data).status_code == 302
    application.refresh_from_db()
    assert application.state == ApplicationState.REJECTED
    assert not Permit.objects.exists()
    assert client.get(case_url(application, "case_permit")).status_code == 404


# Permits.


def test_permit_page_extend_amend_revoke(client: Any, world: World) -> None:
    application = world.approved()
    permit = application.permit
    client.force_login(world.decider)
    page = client.get(case_url(application, "case_permit"))
    assert page.status_code == 200 and permit.number in page.text

    new_end = permit.ends_on + timedelta(days=90)
    response = client.post(
        case_url(application, "case_permit_extend"),
        {"extend-ends_on": new_end.isoformat(), "extend-reason": "Cohort follow-up."},
    )
    assert response.status_code == 302
    permit.refresh_from_db()
    assert permit.ends_on == new_end and permit.version == 2
    response = client.post(
        case_url(application, "case_permit_extend"),
        {"extend-ends_on": permit.starts_on.isoformat(), "extend-reason": "Shorter?"},
    )
    assert response.status_code == 400 and "after the current end" in response.text

    key = f"amend-ds{world.stays.pk}"
    response = client.post(
        case_url(application, "case_permit_amend"),
        {
            "amend-reason": "The holder cannot release diagnoses.",
            f"{key}_grant": "on",
            f"{key}_variables": ["age"],
            "amend-threshold": "20",
            "amend-rounding_base": "5",
        },
    )
    assert response.status_code == 302, response.text
    permit.refresh_from_db()
    assert permit.version == 3 and permit.datasets.get().variables == ["age"]
    assert permit.output_rules["threshold"] == 20
    page = client.get(case_url(application, "case_permit")).text
    assert "removed diagnosis" in page and "Cohort follow-up." in page

    # Handlers may close but not revoke.
    client.force_login(world.handler)
    before = events(EventKind.ACCESS_DENIED)
    response = client.post(
        case_url(application, "case_permit_revoke"), {"revoke-reason": "Breach."}
    )
    assert response.status_code == 403 and events(EventKind.ACCESS_DENIED) == before + 1

    client.force_login(world.decider)
    response = client.post(
        case_url(application, "case_permit_revoke"), {"revoke-reason": "Breach of terms."}
    )
    assert response.status_code == 302
    permit.refresh_from_db()
    assert permit.state == PermitState.REVOKED
    response = client.post(case_url(application, "case_permit_revoke"), {"revoke-reason": "Again."})
    assert response.status_code == 409 and "that is revoked" in response.text

    client.force_login(world.handler)
    response = client.post(case_url(application, "case_permit_close"), {"close-reason": ""})
    assert response.status_code == 302
    permit.refresh_from_db()
    assert permit.state == PermitState.CLOSED


# The admin.


def test_the_admin_shows_permits_and_decisions_read_only(client: Any, world: World) -> None:
    application = world.approved()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    permit = application.permit
    assert client.get(reverse("admin:access_permit_changelist")).status_code == 200
    assert client.get(reverse("admin:access_permit_change", args=[permit.pk])).status_code == 200
    assert client.get(reverse("admin:access_permit_add")).status_code == 403
    for model in ("decision", "permitversion", "snapshot"):
        assert client.get(reverse(f"admin:access_{model}_add")).status_code == 403
    response = client.post(reverse("admin:access_permit_delete", args=[permit.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert Permit.objects.filter(pk=permit.pk).exists()
