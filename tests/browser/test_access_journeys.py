"""Each role's main journey through the data authority's pages, in a real browser.

The applicant drafts and submits from a dataset's catalogue page; the handler, a reviewer and a
decider take a case to a narrowed permit that the public register then lists; a named person
is refused the workspace until they accept the terms; and the pages refuse what a user may not
see. The Django-client tests in tests/access/ cover every branch; these prove the pages work
together as a user clicks through them (forms, links, redirects, messages).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from django.template.defaultfilters import urlencode
from playwright.sync_api import Page, expect

from datalux.access import actions
from datalux.access.models import Application, Permit
from datalux.access.vocabularies import STANDARD_CONDITIONS
from tests.access.world import WORDS, World
from tests.browser.conftest import login

pytestmark = pytest.mark.browser


def nav(page: Page, name: str) -> Any:
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True)


def field(scope: Any, label: str) -> Any:
    """The form control labelled ``label`` (Django adds a colon to its labels)."""
    return scope.get_by_label(re.compile(rf"^\s*{re.escape(label)}\s*:?\s*$"))


def message(page: Page) -> Any:
    return page.locator("main ul.messages")


def screenshot(page: Page, name: str) -> None:
    """With DATALUX_SCREENSHOTS=folder, keep a full-page picture to look at."""
    folder = os.environ.get("DATALUX_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


# The applicant.


def test_applicant_drafts_from_the_catalogue_and_submits(page: Page, world: World) -> None:
    login(page, "ana")
    pid = world.stays.pid
    page.goto(f"/catalogue/datasets/{pid}/")
    page.get_by_role("link", name="Request access").click()
    expect(page).to_have_url(
        re.compile(rf"/access/applications/new/\?dataset={re.escape(urlencode(pid))}$")
    )
    field(page, "Project title").fill("Readmissions after heart failure")
    page.get_by_role("button", name="Create the draft").click()

    # The dataset step: the dictionary of the dataset chosen in the catalogue.
    expect(page.get_by_role("heading", name=re.compile("Hospital stays"))).to_be_visible()
    field(page, "age").check()
    field(page, "diagnosis").check()
    field(page, "Period from").fill("2020-01-01")
    field(page, "Period until").fill("2024-12-31")
    field(page, "Population").fill("Adults admitted to hospital")
    first_filter = page.get_by_role("group", name="Filter 1")
    field(first_filter, "Variable").select_option("age")
    field(first_filter, "Operator").select_option(">=")
    field(first_filter, "Value").fill("18")
    page.get_by_role("button", name="Save this dataset request").click()

    # The application page: a draft, and the completeness check lists what is missing.
    expect(message(page)).to_contain_text(f"{pid} requested with 2 variables.")
    expect(page.locator("#state")).to_have_text("Draft")
    datasets = page.locator("#datasets")
    expect(datasets).to_contain_text("age, diagnosis")
    expect(datasets).to_contain_text("age >= 18")
    gaps = page.locator("ul.gaps li")
    expect(gaps.filter(has_text="choose the purpose category")).to_have_count(1)
    expect(gaps.filter(has_text="name at least one person")).to_have_count(1)
    expect(page.get_by_role("button", name="Submit to the data authority")).to_be_visible()

    # The form: every gap of the form is answered.
    page.get_by_role("link", name="Edit the form").click()
    field(page, "Purpose category").select_option("scientific_research")
    field(page, "Detailed description of the purpose").fill(WORDS)
    field(page, "Expected benefit").fill(WORDS)
    field(page, "Lay summary for publication").fill(WORDS)
    field(page, "Form of the data").select_option("pseudonymised")
    field(page, "Why anonymised data are not enough").fill(WORDS)
    field(page, "Legal basis (GDPR Art. 6)").select_option("6.1.e")
    field(page, "The data include special categories of personal data").check()
    field(page, "Exemption for special categories (GDPR Art. 9(2))").select_option("9.2.j")
    field(page, "Ethics approval reference").fill("CNER 2026-117")
    field(page, "Funding").fill("FNR grant C26/BM/1")
    field(page, "Safeguards").fill(WORDS)
    field(page, "Requested duration (months)").fill("12")
    field(page, "Processing tools").fill("R 4.4")
    page.get_by_role("button", name="Save the draft").click()
    expect(message(page)).to_contain_text("Changes saved.")
    expect(gaps).to_have_count(1)
    expect(gaps).to_have_text("name at least one person who will access the data")

    # A named person: the last gap goes away.
    page.get_by_role("link", name="Name a person").click()
    field(page, "Name").fill("Ana Researcher")
    field(page, "E-mail").fill(world.applicant.email)
    field(page, "Role in the project").fill("Principal investigator")
    page.get_by_role("button", name="Add").click()
    expect(message(page)).to_contain_text("Ana Researcher is named")
    expect(gaps).to_have_count(0)
    expect(page.locator("#completeness")).to_contain_text("The application is complete")

    # Submitted: the state and the decision deadline are shown; the form is closed.
    page.get_by_role("button", name="Submit to the data authority").click()
    expect(message(page)).to_contain_text("Submitted.")
    expect(page.locator("#state")).to_have_text("Submitted")
    application = Application.objects.get(applicant=world.applicant)
    assert application.state == "submitted" and application.deadline is not None
    expect(page.locator("#deadline")).to_contain_text(application.deadline.strftime("%Y-%m-%d"))
    expect(page.get_by_role("link", name="Edit the form")).to_have_count(0)
    assert application.datasets.get().variables == ["age", "diagnosis"]


# The data authority: handler, reviewer, decider; then the public register.


def test_handler_reviewer_and_decider_take_a_case_to_the_register(
    open_page: Any, world: World
) -> None:
    application = world.submitted()
    ref = application.reference

    handler = open_page()
    login(handler, "handler")
    nav(handler, "Cases").click()
    handler.get_by_role("link", name=ref).click()
    expect(handler.get_by_role("heading", level=1)).to_contain_text(ref)
    handler.get_by_role("button", name="Assign to me").click()
    expect(message(handler)).to_contain_text("Handler assigned.")
    handler.get_by_role("button", name="Start the review").click()
    expect(message(handler)).to_contain_text("Review started.")
    expect(handler.get_by_text("State: Under review")).to_be_visible()

    reviewer = open_page()
    login(reviewer, "holder-reviewer")
    nav(reviewer, "Cases").click()
    reviewer.get_by_role("link", name=ref).click()
    opinion = reviewer.get_by_role("region", name="Your opinion")
    field(opinion, "Favourable with conditions").check()
    field(opinion, "Reasons for your vote").fill("Fine if the results are published.")
    opinion.get_by_label(str(STANDARD_CONDITIONS["publish-results"][1])).check()
    opinion.get_by_role("button", name="Give my opinion").click()
    expect(message(reviewer)).to_contain_text("Your opinion was recorded.")
    expect(reviewer.get_by_role("cell", name="Fine if the results are published.")).to_be_visible()
    expect(reviewer.get_by_role("region", name="Your opinion")).to_have_count(0)

    decider = open_page()
    login(decider, "decider")
    nav(decider, "Cases").click()
    decider.get_by_role("link", name="Awaiting decision").click()
    decider.get_by_role("link", name=ref).click()
    expect(decider.get_by_role("cell", name="Favourable with conditions")).to_be_visible()
    screenshot(decider, "case")
    decide = decider.get_by_role("region", name="Decide")
    field(decide, "Approved").check()
    field(decide, "Reasons").fill("Meets the criteria of Art. 5.")
    decide.get_by_label(re.compile(r"^diagnosis")).uncheck()  # narrowed: age only
    decide.get_by_role("button", name="Record the decision").click()
    expect(message(decider)).to_contain_text("Decision recorded")
    expect(decider.get_by_text("State: Approved")).to_be_visible()
    permit = Permit.objects.get(application=application)
    assert permit.spec()["datasets"][0]["variables"] == ["age"]
    expect(decider.get_by_role("link", name=re.compile(f"Permit {permit.number}"))).to_be_visible()

    public = open_page()  # signed out
    public.goto("/")
    nav(public, "Permit register").click()
    expect(public.locator("#register-count")).to_contain_text("1 approved project")
    entry = public.locator("article.register-entry")
    expect(entry.get_by_role("heading")).to_have_text(application.title)
    expect(entry).to_contain_text(ref)
    expect(entry).to_contain_text(world.lab.name)
    expect(entry).to_contain_text(permit.number)
    expect(entry.get_by_role("link", name="Hospital stays")).to_be_visible()
    screenshot(public, "register")


# The named person.


def test_named_person_gets_the_workspace_only_after_accepting_the_terms(
    page: Page, world: World
) -> None:
    application = world.approved()
    permit = Permit.objects.get(application=application)
    login(page, "ana")
    nav(page, "Applications").click()
    page.get_by_role("link", name=re.compile(application.reference)).first.click()
    page.get_by_role("link", name=f"See permit {permit.number}").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(permit.number)

    # Before the terms: told why, and the button is refused with the reason.
    expect(page.locator("#access-refusal")).to_contain_text("accept the terms of use")
    page.get_by_role("button", name="Open secure workspace").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "You are not allowed to see this page"
    )
    expect(page.locator("main")).to_contain_text("accept the terms of use")
    application.refresh_from_db()
    assert application.access_granted_at is None

    # The terms, then the workspace.
    page.go_back()
    page.locator("#access-refusal").get_by_role("link", name="Terms of use").click()
    field(page, "I accept these terms of use").check()
    page.get_by_role("button", name="Accept").click()
    expect(message(page)).to_contain_text("You accepted the terms of use")
    page.get_by_role("link", name=f"See permit {permit.number}").click()
    expect(page.locator("#access-refusal")).to_have_count(0)
    page.get_by_role("button", name="Open secure workspace").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Secure workspace of permit {permit.number}"
    )
    application.refresh_from_db()
    assert application.access_granted_at is not None


# Refusals.


def test_pages_refuse_what_a_user_may_not_see(open_page: Any, world: World) -> None:
    theirs = world.draft(by=world.stranger)
    asked = world.under_review()  # the holder of "Hospital stays" is asked
    also_asked = world.under_review()
    actions.request_opinion(
        application=also_asked, by=world.handler, organisation=world.other_holder, question="?"
    )

    applicant = open_page()
    login(applicant, "ana")
    response = applicant.goto(f"/access/applications/{theirs.reference}/")
    assert response is not None and response.status == 404
    expect(applicant.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(applicant.locator("main")).not_to_contain_text(theirs.title)
    response = applicant.goto("/access/cases/")
    assert response is not None and response.status == 403
    expect(applicant.get_by_role("heading", level=1)).to_have_text(
        "You are not allowed to see this page"
    )

    reviewer = open_page()
    login(reviewer, "other-reviewer")
    nav(reviewer, "Cases").click()
    queue = reviewer.locator("main")
    expect(queue.get_by_role("link", name=also_asked.reference)).to_be_visible()
    expect(queue.get_by_role("link", name=asked.reference)).to_have_count(0)
    reviewer.get_by_role("link", name=re.compile("^All")).click()
    expect(queue.get_by_role("link", name=also_asked.reference)).to_be_visible()
    expect(queue.get_by_role("link", name=asked.reference)).to_have_count(0)
    response = reviewer.goto(f"/access/cases/{asked.reference}/")
    assert response is not None and response.status == 404
    expect(reviewer.get_by_role("heading", level=1)).to_have_text("Page not found")
