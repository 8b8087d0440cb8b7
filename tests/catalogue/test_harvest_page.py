"""The harvest page shows every run's figures (created, updated, withdrawn, skipped, errors,
start and end) and is linked from the operator's navigation only."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from datalux.catalogue.harvest import HarvestError, run_harvest
from datalux.catalogue.harvest_runs import recent_runs
from tests.catalogue.test_harvest import (
    RIVERS,
    _harvest_settings,
    holder,
    make_source,
    roads,
    write,
)

pytestmark = pytest.mark.django_db
__all__ = ["_harvest_settings", "holder"]  # the fixtures, imported for these tests

PAGE = "/catalogue/harvest/"


def cells(html: str, caption: str) -> list[list[str]]:
    """The body rows of the table captioned ``caption``, as cell texts."""
    table = html[html.index(caption) :]
    table = table[: table.index("</table>")]
    return [
        [re.sub(r"<[^>]+>|\s+", " ", c).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1], re.S)
    ]


def test_each_run_shows_its_figures_newest_first(
    tmp_path: Path, holder: Any, make_member: Any, client: Client, settings: Any
) -> None:
    settings.DATALUX_HARVEST_WITHDRAW_LIMIT_PERCENT = 50  # rivers, 1 of 2, may go
    admin = make_member("platform_admin")
    path = write(tmp_path / "c.ttl", RIVERS, roads())
    source = make_source(str(path), holder)
    run_harvest(source=source, by=admin)  # 2 created
    write(path, roads("Road network"))  # rivers gone, roads changed
    run_harvest(source=source, by=admin)
    path.unlink()
    with pytest.raises(HarvestError):
        run_harvest(source=source, by=admin)  # unreadable: fails, nothing changed

    client.force_login(admin)
    html = client.get(PAGE).content.decode()
    sources = cells(html, "Sources and their last run")
    assert sources[0][3].startswith("failed:")
    rows = cells(html, "Runs of remote, newest first")
    assert len(rows) == 3
    failed, second, first = rows
    # started, ended, outcome, created, updated, unchanged, withdrawn, skipped, errors, by
    assert first[2:] == ["completed", "2", "0", "0", "0", "0", "0", admin.username]
    assert second[2:] == ["completed", "0", "1", "0", "1", "0", "0", admin.username]
    assert failed[2].startswith("failed, nothing changed:") and failed[8] == "1"
    for row in rows:
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row[0]), row[0]
        assert row[0] <= row[1]  # started before it ended
    runs = recent_runs([source])[source.pk]
    assert [r.ok for r in runs] == [False, True, True]
    assert all(r.started_at and r.started_at <= r.ended_at for r in runs)


def test_a_source_never_run_says_so(holder: Any, make_member: Any, client: Client) -> None:
    make_source("https://remote.example.lu/catalog.ttl", holder)
    client.force_login(make_member("platform_admin"))
    assert "Not run yet." in client.get(PAGE).content.decode()


def test_the_last_run_column_gives_its_numbers(
    tmp_path: Path, holder: Any, make_member: Any, client: Client
) -> None:
    admin = make_member("platform_admin")
    run_harvest(source=make_source(str(write(tmp_path / "c.ttl", RIVERS)), holder), by=admin)
    client.force_login(admin)
    row = cells(client.get(PAGE).content.decode(), "Sources and their last run")[0]
    assert row[3] == "1 created, 0 updated, 0 unchanged, 0 withdrawn"


def test_the_operators_navigation_links_the_harvest_page(
    holder: Any, make_member: Any, client: Client
) -> None:
    link = f'href="{reverse("dcat:harvest_sources")}"'
    client.force_login(make_member("platform_admin"))
    assert link in client.get(reverse("home")).content.decode()
    for role in ("steward", "handler", "applicant"):
        client.force_login(make_member(role))
        assert link not in client.get(reverse("home")).content.decode(), role
    client.logout()
    assert link not in client.get(reverse("home")).content.decode()
