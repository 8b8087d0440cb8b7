"""The whole release journey in a real browser (issue 13, finishing item 6).

A named person starts a release request with an output of a finished job and submits it; two
output checkers each approve it in the checking queue, blind; one releases it; the researcher
downloads the released file. The Django-client tests in tests/spe/ cover every branch; this one
proves the pages work together as the three users click through them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from datalux.access import actions
from datalux.accounts.roles import OrganisationKind
from datalux.privacy.keys import MASTER_KEY_ENV_VAR, MasterKey
from datalux.spe import jobs
from datalux.spe.models import ReleaseRequest
from tests.access.world import World, _member
from tests.browser.conftest import PASSWORD, login
from tests.factories.accounts import OrganisationFactory
from tests.spe.test_plan import _permit, _store
from tests.spe.test_releases import SAFE, _job
from tests.spe.test_workspace import _submitted

pytestmark = pytest.mark.browser

OUTPUT = "output/by_region.csv"


@pytest.fixture
def released_world(world: World, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """An active permit on the hospital stays (extract prepared, terms accepted), a job of its
    workspace that wrote a safe table, and two output checkers who may sign in."""
    monkeypatch.setenv(MASTER_KEY_ENV_VAR, MasterKey(b"w" * 32).to_base64())
    monkeypatch.setattr(settings, "DATALUX_TTP_KEY_FILE", None)
    _store(world)
    permit = _permit(world)
    preparation = jobs.request_preparation(permit, enqueue=False)
    jobs.run_preparation(preparation.pk)
    actions.accept_terms(application=permit.application, by=world.applicant)
    workspace, _version = _submitted(world, permit)
    job = _job(workspace, {OUTPUT: SAFE})
    operator = OrganisationFactory(name="SPE operator", kind=OrganisationKind.SPE_OPERATOR)
    for name in ("olga", "oscar"):
        checker = _member("output_checker", operator, name)
        checker.set_password(PASSWORD)
        checker.save(update_fields=["password"])
    return {"permit": permit, "job": job}


def message(page: Page) -> Any:
    return page.locator("main ul.messages")


def _approve(page: Page, checker: str, title: str) -> None:
    login(page, checker)
    page.goto("/spe/outputs/")
    page.get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(title)
    vote = page.get_by_role("group", name="Your vote on this file")
    vote.get_by_label("Approve", exact=True).check()
    page.get_by_role("button", name="Submit my review").click()
    expect(message(page)).to_contain_text("Review submitted.")
    expect(page.get_by_text("Your vote:")).to_contain_text("Approved")


def test_a_release_from_request_to_download(
    open_page: Any, world: World, released_world: dict[str, Any], tmp_path: Path
) -> None:
    permit, job = released_world["permit"], released_world["job"]
    title = "Stays by region"

    # The researcher starts a request, adds the output with its context and submits it.
    researcher = open_page()
    login(researcher, "ana")
    researcher.goto(f"/spe/workspace/{permit.number}/releases/")
    researcher.get_by_label("Title (what the outputs are about)").fill(title)
    researcher.get_by_role("button", name="Start a release request").click()
    expect(researcher).to_have_url(re.compile(r"/releases/\d+/$"))
    researcher.get_by_label("Output (moderately sensitive").select_option(f"{job.pk}:{OUTPUT}")
    researcher.get_by_label("What it shows").fill("Hospital stays by region, 2020-2024")
    researcher.get_by_label("The counts behind every rate").fill("n: stays per region")
    researcher.get_by_label("Columns that hold counts").fill("n")
    researcher.get_by_role("button", name="Add and check").click()
    expect(message(researcher)).to_contain_text(f"{OUTPUT} added and checked.")
    files = researcher.get_by_role("table", name="Files in this request")
    expect(files).to_contain_text(OUTPUT)
    expect(files.locator("summary.check-pass")).to_have_count(1)
    researcher.get_by_role("button", name="Submit for checking").click()
    expect(message(researcher)).to_contain_text("Submitted: two output checkers")
    expect(researcher.locator(".release-state")).to_have_text("Under review")
    item = ReleaseRequest.objects.get(title=title)

    # Two checkers approve in the checking queue; the second sees the first's vote, then
    # releases the approved files.
    first = open_page()
    _approve(first, "olga", title)
    second = open_page()
    _approve(second, "oscar", title)
    expect(second.get_by_text("Other checker:")).to_contain_text("Approved")
    expect(second.locator(".release-state")).to_have_text("Approved, awaiting release")
    second.get_by_role("button", name="Release the approved files").click()
    expect(message(second)).to_contain_text("Files released.")
    expect(second.locator(".release-state")).to_have_text("Released")
    second.goto("/spe/outputs/")
    expect(
        second.get_by_role("table", name="Release requests waiting for checkers")
    ).not_to_contain_text(title)

    # The researcher sees the release and downloads the released copy.
    researcher.goto(f"/spe/workspace/{permit.number}/releases/{item.pk}/")
    expect(researcher.locator(".release-state")).to_have_text("Released")
    expect(files.locator("td.outcome")).to_have_text("Released")
    with researcher.expect_download() as download:
        researcher.get_by_role("link", name="Download the released file").click()
    saved = tmp_path / "downloaded.csv"
    download.value.save_as(saved)
    assert download.value.suggested_filename == "by_region.csv"
    assert saved.read_text() == SAFE
    item.refresh_from_db()
    assert item.state == "released" and item.released_by.username == "oscar"
