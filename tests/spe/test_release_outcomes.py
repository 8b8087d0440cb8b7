"""What the release pages call a decision once it is taken: the outcome ("Approved", "Returned
for changes", "Released", "Rejected"), never the verb of the voting form ("Approve", "Request
changes"); and a published request links to its data product (issue 13, finishing items 1-2)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from datalux.spe import releases
from datalux.spe.publication import publish
from tests.access.world import World
from tests.spe.test_releases import SAFE, _approve_all, _draft

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("workspace_key")]

OTHER = "region,n\nWest,50\nCentre,60\n"
SUMMARY = "Stays by region in 2020-2024: counts of hospital stays per region, all ages."


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _outcomes(html: str) -> list[str]:
    """The text of every outcome cell of a page, in order."""
    cells = re.findall(r'class="outcome">(.*?)(?:<p class="comment">|</td>|</dd>)', html, re.S)
    return [c.strip() for c in cells]


def test_the_release_and_check_pages_show_outcomes_not_verbs(
    world: World, permit: Any, checkers: tuple[Any, Any, Any]
) -> None:
    olga, oscar, _ = checkers
    item, _job = _draft(world, permit, {"output/a.csv": SAFE, "output/b.csv": OTHER})
    releases.submit(request=item, by=world.applicant)
    first, second = item.files.order_by("pk")
    for checker in (olga, oscar):
        releases.review(
            request=item,
            by=checker,
            votes={
                first.pk: {"decision": "approve"},
                second.pk: {"decision": "changes", "public_comment": "Round to 5."},
            },
        )
    item.refresh_from_db()
    assert item.state == "returned"
    page = _client(world.applicant).get(reverse("spe:release", args=[permit.number, item.pk]))
    html = page.content.decode()
    assert ">Approve<" not in html and ">Request changes<" not in html
    assert _outcomes(html) == ["Approved", "Returned for changes"]
    check = _client(olga).get(reverse("spe:check", args=[item.pk])).content.decode()
    assert "Your vote: <strong>Approved</strong>" in check
    assert "Your vote: <strong>Changes requested</strong>" in check
    assert "Other checker: <strong>Changes requested</strong>" in check
    assert "<strong>Approve</strong>" not in check
    assert "<strong>Request changes</strong>" not in check

    # resubmitted, approved by both and released: each file says so
    releases.remove_file(request=item, by=world.applicant, file=second)
    releases.submit(request=item, by=world.applicant)
    _approve_all(item, olga, oscar)
    check = _client(olga).get(reverse("spe:check", args=[item.pk])).content.decode()
    assert _outcomes(check) == ["Approved"]
    releases.release(request=item, by=olga)
    page = _client(world.applicant).get(reverse("spe:release", args=[permit.number, item.pk]))
    assert _outcomes(page.content.decode()) == ["Released"]


def test_a_rejected_request_shows_its_files_rejected(
    world: World, permit: Any, checkers: tuple[Any, Any, Any]
) -> None:
    olga, oscar, _ = checkers
    item, _job = _draft(world, permit, {"output/a.csv": SAFE})
    releases.submit(request=item, by=world.applicant)
    _approve_all(item, olga, oscar)
    releases.reject(request=item, by=oscar, reasons="The regions are too small.")
    page = _client(world.applicant).get(reverse("spe:release", args=[permit.number, item.pk]))
    html = page.content.decode()
    assert _outcomes(html) == ["Rejected"]
    assert "Approve<" not in html


def test_a_published_request_links_to_its_data_product_and_back(
    world: World, permit: Any, checkers: tuple[Any, Any, Any]
) -> None:
    olga, oscar, _ = checkers
    item, _job = _draft(world, permit, {"output/a.csv": SAFE})
    releases.submit(request=item, by=world.applicant)
    _approve_all(item, olga, oscar)
    releases.release(request=item, by=olga)
    url = reverse("spe:release", args=[permit.number, item.pk])
    client = _client(world.applicant)
    assert 'id="data-product-link"' not in client.get(url).content.decode()
    product = publish(request=item, by=world.applicant, summary=SUMMARY)
    html = client.get(url).content.decode()
    product_url = reverse("catalogue:data_product", args=[product.pk])
    assert f'id="data-product-link" href="{product_url}"' in html
    # the data product page leads to the permit's entry in the public register
    public = Client().get(product_url).content.decode()
    register = reverse("access:register")
    assert f'href="{register}?q={permit.number}#permit-{permit.number}"' in public
