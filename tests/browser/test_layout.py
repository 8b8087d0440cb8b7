"""Layout: no page scrolls sideways on a 375 px phone, nor the metrics and permit pages on a
1280 px laptop (wide tables scroll inside their own box, long words break); every checkbox and
radio button sits beside its label."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import Page

from tests.access.world import World
from tests.browser.conftest import login

pytestmark = pytest.mark.browser

# The label's first line and its box share a line when their tops are this close (px).
BESIDE_PX = 12

BOXES_APART = """(px) => [...document.querySelectorAll('input[type=checkbox], input[type=radio]')]
  .filter(i => i.offsetParent !== null)
  .map(i => {
    const label = i.labels && i.labels[0];
    if (!label) return `${i.name}: no label`;
    const box = i.getBoundingClientRect(), text = label.getBoundingClientRect();
    const beside = label.contains(i)
      ? Math.abs(box.top - text.top) < box.height + px
      : box.top < text.bottom && text.top < box.bottom && text.left >= box.right - 1;
    return beside ? null : `${i.name}: "${label.textContent.trim().slice(0, 40)}" not beside`;
  }).filter(Boolean)"""


def sideways(page: Page, path: str, width: int) -> str | None:
    """None when ``path`` fits ``width``; else what sticks out."""
    page.set_viewport_size({"width": width, "height": 900})
    response = page.goto(path)
    assert response is not None and response.ok, f"{path}: {response and response.status}"
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    if scroll <= inner:
        return None
    wide = page.evaluate(
        """(w) => [...document.querySelectorAll('main *')]
             .filter(e => e.getBoundingClientRect().right > w + 1)
             .slice(0, 3).map(e => e.tagName.toLowerCase())""",
        inner,
    )
    return f"{path} at {width} px: {scroll} px wide ({', '.join(wide)})"


def test_no_horizontal_scrolling_at_375_and_on_metrics_and_permit_pages_at_1280(
    world: World, open_page: Any
) -> None:
    application = world.approved()
    ref, permit = application.reference, application.permit.number
    world.under_review()  # a second case, so lists have several rows
    public = [
        reverse("home"),
        reverse("catalogue:search"),
        reverse("catalogue:dataset", args=[world.stays.pid]),
        reverse("catalogue:metrics"),
        reverse("access:register"),
        reverse("access:metrics"),
        reverse("accounts:login"),
    ]
    applicant = [
        reverse("access:applications"),
        reverse("access:application", args=[ref]),
        reverse("access:permit", args=[permit]),
        reverse("accounts:tokens"),
    ]
    handler = [
        reverse("access:cases"),
        reverse("access:case", args=[ref]),
        reverse("access:case_permit", args=[ref]),
        reverse("access:metrics"),
    ]
    wide_1280 = {
        reverse("catalogue:metrics"),
        reverse("access:metrics"),
        reverse("access:permit", args=[permit]),
        reverse("access:case_permit", args=[ref]),
    }
    problems: list[str] = []
    for username, paths in ((None, public), (world.applicant, applicant), (world.handler, handler)):
        page = open_page()
        if username is not None:
            login(page, username.username)
        for path in paths:
            for width in (375, 1280) if path in wide_1280 else (375,):
                found = sideways(page, path, width)
                if found:
                    problems.append(found)
    assert problems == [], "pages scroll sideways:\n" + "\n".join(problems)


def test_checkboxes_and_radios_sit_beside_their_labels(world: World, open_page: Any) -> None:
    application = world.under_review()
    draft = world.draft()
    pages = (
        (world.decider, reverse("access:case", args=[application.reference])),
        (world.reviewer, reverse("access:case", args=[application.reference])),
        (world.applicant, reverse("access:application_edit", args=[draft.reference])),
        (None, reverse("catalogue:search")),
    )
    problems: list[str] = []
    for user, path in pages:
        page = open_page()
        if user is not None:
            login(page, user.username)
        for width in (375, 1280):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(path)
            apart = page.evaluate(BOXES_APART, BESIDE_PX)
            assert page.locator("input[type=checkbox], input[type=radio]").count() > 0, path
            problems += [f"{path} at {width} px: {a}" for a in apart]
    assert problems == [], "\n".join(problems)
