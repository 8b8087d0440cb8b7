"""The Content-Security-Policy (issue 10, item 9) breaks nothing the browser shows: no page of
each role's main journey, no htmx exchange, no page of the Django admin and not the API's
documentation reports a violation (console or ``securitypolicyviolation`` event)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from datalux.accounts.models import User
from tests.access.world import World
from tests.browser.conftest import PASSWORD, login

pytestmark = pytest.mark.browser

# Runs before any script of the page (through the DevTools protocol, so the policy allows it).
WATCH = """window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(
  `${e.violatedDirective} ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`));"""


def watched(open_page: Callable[..., Any]) -> tuple[Page, list[str]]:
    """A page whose policy violations (events and console lines) end up in the list."""
    page = open_page()
    found: list[str] = []
    page.add_init_script(WATCH)
    page.on(
        "console",
        lambda msg: (
            found.append(f"console: {msg.text}") if "Content Security Policy" in msg.text else None
        ),
    )
    return page, found


def visit(page: Page, found: list[str], path: str) -> None:
    response = page.goto(path)
    assert response is not None and response.ok, f"{path}: {response and response.status}"
    assert response.headers.get("content-security-policy"), path
    page.wait_for_load_state("load")
    found.extend(f"{path}: {v}" for v in page.evaluate("window.__csp"))


def test_no_page_of_the_main_journeys_breaks_the_policy(
    world: World, open_page: Callable[..., Any]
) -> None:
    approved = world.approved()
    ref, permit = approved.reference, approved.permit.number
    case = world.under_review()
    draft = world.draft()
    journeys: list[tuple[Any, list[str]]] = [
        (
            None,
            [
                reverse("home"),
                reverse("catalogue:search"),
                reverse("catalogue:dataset", args=[world.stays.pid]),
                reverse("access:register"),
                reverse("access:metrics"),
                reverse("accounts:login"),
                "/api/v1/docs",
            ],
        ),
        (
            world.applicant,
            [
                reverse("access:applications"),
                reverse("access:application", args=[ref]),
                reverse("access:application_edit", args=[draft.reference]),
                reverse("access:permit", args=[permit]),
                reverse("accounts:tokens"),
            ],
        ),
        (
            world.handler,
            [
                reverse("access:cases"),
                reverse("access:case", args=[case.reference]),
                reverse("access:case_permit", args=[ref]),
            ],
        ),
    ]
    problems: list[str] = []
    for user, paths in journeys:
        page, found = watched(open_page)
        if user is not None:
            login(page, user.username)
        for path in paths:
            visit(page, found, path)
        problems += found
    assert problems == [], "\n".join(problems)


def test_an_htmx_exchange_breaks_nothing(world: World, open_page: Callable[..., Any]) -> None:
    draft = world.draft()
    page, found = watched(open_page)
    login(page, world.applicant.username)
    visit(page, found, reverse("access:application_datasets", args=[draft.reference]))
    with page.expect_response(lambda r: "dataset=" in r.url) as answer:
        page.get_by_role("link", name=f"Choose {world.jobs.pid}").click()
    assert answer.value.ok and answer.value.request.headers.get("hx-request") == "true"
    expect(page.locator("#dataset-request")).to_contain_text(world.jobs.pid)
    found.extend(page.evaluate("window.__csp"))
    assert page.locator("style").count() == 0  # htmx added no inline style of its own
    assert found == [], "\n".join(found)


def test_the_admin_works_under_the_policy(world: World, open_page: Callable[..., Any]) -> None:
    User.objects.create_superuser("csp-admin", "csp-admin@example.lu", PASSWORD)
    page, found = watched(open_page)
    login(page, "csp-admin")
    for path in (
        "/admin/",
        "/admin/accounts/user/",
        f"/admin/accounts/user/{world.applicant.pk}/change/",
        "/admin/catalogue/dataset/",
    ):
        visit(page, found, path)
    assert found == [], "\n".join(found)
