"""The register of data products: the public pages, the API's new fields and results of reuse in
the DCAT-AP export, valid against the official 3.0.1 shapes (issue 13, item 4)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from pyshacl import validate
from rdflib import RDF, Literal, URIRef

from datalux.catalogue import dcat
from datalux.catalogue.dcat_products import DCMITYPE, PROV, SPDX
from datalux.catalogue.models import DataProduct
from datalux.catalogue.shacl import shapes_graph, validate_graph
from datalux.catalogue.views_dcat import SKIPPED_HEADER
from tests.catalogue.dcat_fixtures import Demo, build_demo

pytestmark = pytest.mark.django_db

DCAT, DCT = dcat.DCAT, dcat.DCT
CODE_SHA = hashlib.sha256(b"code").hexdigest()
FILE_SHA = hashlib.sha256(b"analysis.py").hexdigest()
OUTPUT_SHA = hashlib.sha256(b"by_region").hexdigest()


@pytest.fixture(autouse=True)
def _configured_base_uri(settings: Any) -> None:
    settings.DATALUX_BASE_URI_CONFIGURED = True


def _result(demo: Demo, **fields: Any) -> DataProduct:
    values: dict[str, Any] = {
        "kind": "result",
        "title": "Stays by region",
        "description": "Counts of hospital stays per region, 2020-2024, all ages.",
        "licence": "CC-BY-4.0",
        "organisation": demo.open_data.publisher,
        "permit_number": "DLX-P-2026-0007",
        "code_versions": [
            {
                "number": 2,
                "sha256": CODE_SHA,
                "files": [{"path": "analysis/counts.py", "sha256": FILE_SHA}],
            }
        ],
        "outputs": [
            {
                "name": "by_region.csv",
                "sha256": OUTPUT_SHA,
                "size": 42,
                "description": "Stays per region",
            }
        ],
    }
    product = DataProduct.objects.create(**(values | fields))
    product.datasets.set([demo.open_data, demo.protected, demo.draft])
    return product


def test_the_data_product_page_shows_code_outputs_permit_and_visible_datasets(
    client: Client,
) -> None:
    demo = build_demo()
    product = _result(demo)
    page = client.get(reverse("catalogue:data_product", args=[product.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    for text in (
        "Stays by region",
        "Counts of hospital stays per region",
        "CC-BY-4.0",
        demo.open_data.publisher.name,
        CODE_SHA,
        "analysis/counts.py",
        FILE_SHA,
        "by_region.csv",
        OUTPUT_SHA,
        "Stays per region",
        reverse("catalogue:dataset", args=[demo.open_data.pid]),
        reverse("catalogue:dataset", args=[demo.protected.pid]),
    ):
        assert text in html, text
    # the permit links to its entry in the public register
    assert f"{reverse('access:register')}?q=DLX-P-2026-0007#permit-DLX-P-2026-0007" in html
    # a draft dataset is not shown to the public
    assert demo.draft.pid not in html


def test_unknown_data_products_are_404(client: Client) -> None:
    assert client.get(reverse("catalogue:data_product", args=[999])).status_code == 404
    assert client.get("/catalogue/data-products/x/").status_code == 404
    assert client.get(reverse("dcat:data_product", args=[999])).status_code == 404


def test_the_list_page_filters_by_kind_and_links_each_product(client: Client) -> None:
    demo = build_demo()
    result = _result(demo)
    code = DataProduct.objects.create(
        kind="source_code", title="Readmission model", organisation=demo.open_data.publisher
    )
    search = client.get(reverse("catalogue:search"))
    assert reverse("catalogue:data_products").encode() in search.content
    page = client.get(reverse("catalogue:data_products"))
    assert page.status_code == 200
    for product in (result, code):
        assert reverse("catalogue:data_product", args=[product.pk]).encode() in page.content
    only = client.get(reverse("catalogue:data_products"), {"kind": "result"})
    assert b"Stays by region" in only.content and b"Readmission model" not in only.content
    odd = client.get(reverse("catalogue:data_products"), {"kind": "<x>", "page": "-3"})
    assert odd.status_code == 200 and b"Readmission model" in odd.content
    # the organisation and dataset pages link to the product page
    organisation = client.get(
        reverse("catalogue:organisation", args=[demo.open_data.publisher.slug])
    )
    assert reverse("catalogue:data_product", args=[result.pk]).encode() in organisation.content
    dataset = client.get(reverse("catalogue:dataset", args=[demo.open_data.pid]))
    assert reverse("catalogue:data_product", args=[result.pk]).encode() in dataset.content


def test_the_api_gives_permit_code_versions_and_outputs(client: Client) -> None:
    demo = build_demo()
    product = _result(demo)
    [item] = client.get("/api/v1/catalogue/data-products").json()["items"]
    assert item["id"] == product.pk
    assert item["permit_number"] == "DLX-P-2026-0007"
    assert item["code_versions"] == product.code_versions
    assert item["outputs"] == product.outputs
    assert item["page"].endswith(reverse("catalogue:data_product", args=[product.pk]))
    assert demo.draft.pid not in item["datasets"]


def test_results_of_reuse_in_the_export_conform_to_the_official_shapes() -> None:
    demo = build_demo()
    product = _result(demo)
    DataProduct.objects.create(  # not a result: not exported
        kind="source_code", title="Readmission model", organisation=demo.open_data.publisher
    )
    graph = dcat.parse(dcat.export_catalogue("turtle"), "turtle")
    conforms, _results, text = validate(
        graph, shacl_graph=shapes_graph(), inference="none", allow_warnings=True
    )
    assert conforms, text
    assert validate_graph(graph).conforms
    node = URIRef(f"{dcat.base_url()}/id/data-product/{product.pk}")
    root = URIRef(dcat.catalogue_uri(demo.catalogue.slug))
    assert (root, DCAT.dataset, node) in graph
    assert (node, RDF.type, DCAT.Dataset) in graph
    assert len(set(graph.subjects(RDF.type, DCAT.Dataset))) == 4  # 3 datasets and the result
    # made from the published datasets only (a draft is never named)
    sources = {URIRef(demo.open_data.uri), URIRef(demo.protected.uri)}
    assert set(graph.objects(node, PROV.wasDerivedFrom)) == sources
    assert set(graph.objects(node, DCT.source)) == sources
    register = graph.value(node, DCT.relation)
    assert str(register).endswith("/access/register/?q=DLX-P-2026-0007#permit-DLX-P-2026-0007")
    # the code version and its file, with their SHA-256
    project = graph.value(node, PROV.wasGeneratedBy)
    code = graph.value(project, PROV.used)
    assert (code, RDF.type, DCMITYPE.Software) in graph
    digest = graph.value(graph.value(code, SPDX.checksum), SPDX.checksumValue)
    assert str(digest) == CODE_SHA
    part = graph.value(code, DCT.hasPart)
    assert str(graph.value(part, DCT.title)) == "analysis/counts.py"
    assert str(graph.value(graph.value(part, SPDX.checksum), SPDX.checksumValue)) == FILE_SHA
    # each released output is a distribution: name, size, checksum, no download address
    dist = graph.value(node, DCAT.distribution)
    assert graph.value(dist, DCT.title) == Literal("by_region.csv")
    assert graph.value(dist, DCAT.byteSize) == Literal(42, datatype=dcat.XSD.nonNegativeInteger)
    assert str(graph.value(graph.value(dist, SPDX.checksum), SPDX.checksumValue)) == OUTPUT_SHA
    assert graph.value(dist, DCAT.downloadURL) is None
    assert str(graph.value(dist, DCAT.accessURL)).endswith(
        reverse("catalogue:data_product", args=[product.pk])
    )
    assert "Readmission model" not in dcat.export_catalogue("turtle").decode()


def test_a_result_on_its_own_and_in_a_later_page_stays_valid(client: Client) -> None:
    demo = build_demo()
    product = _result(demo)
    # page 1 of one dataset a page: dct:source only to what the page describes
    response = client.get(reverse("dcat:catalogue"), {"page": 1, "page_size": 1})
    graph = dcat.parse(response.content, "turtle")
    assert validate_graph(graph).conforms
    node = URIRef(f"{dcat.base_url()}/id/data-product/{product.pk}")
    assert len(set(graph.objects(node, PROV.wasDerivedFrom))) == 2
    assert len(set(graph.objects(node, DCT.source))) < 2
    later_page = client.get(reverse("dcat:catalogue"), {"page": 2, "page_size": 1})
    later = dcat.parse(later_page.content, "turtle")
    assert (node, RDF.type, DCAT.Dataset) not in later
    # the persistent URI: RDF for machines, the page for browsers
    alone = client.get(reverse("dcat:data_product", args=[product.pk]), {"format": "turtle"})
    assert alone.status_code == 200
    graph = dcat.parse(alone.content, "turtle")
    assert validate_graph(graph).conforms and (node, RDF.type, DCAT.Dataset) in graph
    browser = client.get(reverse("dcat:data_product", args=[product.pk]), HTTP_ACCEPT="text/html")
    assert browser.status_code == 302
    assert browser["Location"] == reverse("catalogue:data_product", args=[product.pk])


def test_a_result_with_a_bad_stored_value_is_left_out_whole(client: Client) -> None:
    demo = build_demo()
    good = _result(demo)
    bad = _result(demo, title="Bad", code_versions=[{"number": "not a number"}])
    response = client.get(reverse("dcat:catalogue"))
    assert response.status_code == 200 and response[SKIPPED_HEADER] == "1"
    graph = dcat.parse(response.content, "turtle")
    assert validate_graph(graph).conforms
    base = dcat.base_url()
    assert (URIRef(f"{base}/id/data-product/{good.pk}"), RDF.type, DCAT.Dataset) in graph
    assert not any(str(s).startswith(f"{base}/id/data-product/{bad.pk}") for s in graph.subjects())


def test_the_anonymous_cache_sees_a_new_result(client: Client, settings: Any) -> None:
    settings.DATALUX_DCAT_CACHE_SECONDS = 300
    demo = build_demo()
    before = client.get(reverse("dcat:catalogue")).content
    product = _result(demo)
    after = client.get(reverse("dcat:catalogue")).content
    assert f"/id/data-product/{product.pk}".encode() not in before
    assert f"/id/data-product/{product.pk}".encode() in after
