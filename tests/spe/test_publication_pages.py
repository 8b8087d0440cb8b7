"""A released, published request as the public sees it: the data product page, the permit
register, the catalogue API and the DCAT-AP export show the results' description, the code
versions and the outputs' fingerprints, never a file's content, a checker's comment or the
context given to the checkers (issue 13, items 4)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from datalux.catalogue import dcat
from datalux.catalogue.models import DataProduct
from datalux.catalogue.shacl import validate_graph
from datalux.spe import releases
from datalux.spe.publication import publish
from tests.access.world import World
from tests.spe.test_releases import SAFE, _approve_all, _draft

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("workspace_key")]

PRIVATE = "OLGA-PRIVATE-NOTE"
PUBLIC_COMMENT = "OSCAR-COMMENT-FOR-THE-RESEARCHER"
SUMMARY = "Stays by region in 2020-2024: counts of hospital stays per region, all ages."


def _published(world: World, permit: Any, checkers: tuple[Any, Any, Any]) -> DataProduct:
    olga, oscar, _ = checkers
    item, _job = _draft(world, permit, {"output/by_region.csv": SAFE})
    releases.submit(request=item, by=world.applicant)
    [file] = item.files.all()
    releases.review(
        request=item,
        by=olga,
        votes={file.pk: {"decision": "approve", "private_comment": PRIVATE}},
    )
    releases.review(
        request=item,
        by=oscar,
        votes={file.pk: {"decision": "approve", "public_comment": PUBLIC_COMMENT}},
    )
    releases.release(request=item, by=olga)
    return publish(request=item, by=world.applicant, summary=SUMMARY, licence="CC-BY-4.0")


def _never_private(text: str) -> None:
    for secret in (PRIVATE, PUBLIC_COMMENT, "North,120", "South,85", "n is the number of stays"):
        assert secret not in text, secret


def test_the_public_page_of_a_published_result(
    world: World, permit: Any, checkers: tuple[Any, Any, Any]
) -> None:
    product = _published(world, permit, checkers)
    page = Client().get(reverse("catalogue:data_product", args=[product.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert SUMMARY in html and "by_region.csv" in html and permit.number in html
    assert product.outputs[0]["sha256"] in html and product.code_versions[0]["sha256"] in html
    assert reverse("catalogue:dataset", args=[world.stays.pid]) in html
    _never_private(html)
    # the released file itself stays with the permit's named persons
    [file] = product.releases.get().files.all()
    url = reverse("spe:released_file", args=[file.pk, file.filename])
    assert url not in html
    assert Client().get(url).status_code in (302, 403)


def test_the_register_lists_the_published_data_products_of_a_permit(
    world: World, permit: Any, checkers: tuple[Any, Any, Any]
) -> None:
    client = Client()
    before = client.get(reverse("access:register")).content.decode()
    assert f'id="permit-{permit.number}"' in before and "register-products" not in before
    product = _published(world, permit, checkers)
    page = client.get(reverse("access:register"), {"q": permit.number})
    html = page.content.decode()
    assert reverse("catalogue:data_product", args=[product.pk]) in html
    _never_private(html)
    api = client.get("/api/v1/access/register", {"q": permit.number}).json()
    [entry] = api["items"]
    assert entry["data_products"] == [{"id": product.pk, "title": product.title, "kind": "result"}]
    # the product page's permit link finds this very entry
    link = client.get(reverse("catalogue:data_product", args=[product.pk]))
    assert f"?q={permit.number}#permit-{permit.number}" in link.content.decode()


def test_the_api_and_the_export_describe_it_without_content(
    world: World, permit: Any, checkers: tuple[Any, Any, Any], settings: Any
) -> None:
    settings.DATALUX_BASE_URI_CONFIGURED = True
    product = _published(world, permit, checkers)
    client = Client()
    api = client.get("/api/v1/catalogue/data-products").json()
    [item] = api["items"]
    assert item["permit_number"] == permit.number and item["outputs"] == product.outputs
    _never_private(str(api))
    body = dcat.export_catalogue("turtle").decode()
    _never_private(body)
    graph = dcat.parse(body, "turtle")
    assert validate_graph(graph).conforms
    assert f"/id/data-product/{product.pk}" in body


def test_a_released_request_is_not_public_before_it_is_published(
    world: World, permit: Any, checkers: tuple[Any, Any, Any]
) -> None:
    olga, oscar, _ = checkers
    item, _job = _draft(world, permit, {"output/by_region.csv": SAFE})
    releases.submit(request=item, by=world.applicant)
    _approve_all(item, olga, oscar)
    releases.release(request=item, by=olga)
    client = Client()
    listing = client.get(reverse("catalogue:data_products")).content.decode()
    assert item.title not in listing and "No data product registered yet." in listing
    register = client.get(reverse("access:register")).content.decode()
    assert "register-products" not in register
    assert "by_region.csv" not in dcat.export_catalogue("turtle").decode()
    assert client.get(reverse("catalogue:data_product", args=[1])).status_code == 404


def test_the_register_csv_counts_the_published_outputs_and_links_the_products(
    world: World, permit: Any, checkers: tuple[Any, Any, Any], settings: Any
) -> None:
    import csv
    import io

    settings.DATALUX_BASE_URI = "https://data.example.lu"
    settings.DATALUX_BASE_URI_CONFIGURED = True
    client = Client()

    def row() -> dict[str, str]:
        response = client.get(reverse("access:register"), {"format": "csv"})
        assert response.status_code == 200
        rows = list(csv.DictReader(io.StringIO(response.content.decode())))
        return next(r for r in rows if r["permit_number"] == permit.number)

    before = row()
    assert before["released_outputs"] == "0" and before["data_product_urls"] == ""
    product = _published(world, permit, checkers)
    after = row()
    assert after["released_outputs"] == "1"
    assert after["data_product_urls"] == (
        "https://data.example.lu" + reverse("catalogue:data_product", args=[product.pk])
    )
    _never_private(str(after))
