"""Public pages of the register of data products: the list and one product.

A data product is public once registered (a result of reuse is registered when a named person
publishes a released request, see :mod:`datalux.spe.publication`). Its page shows what the
catalogue holds about it: the summary, the permit it was made under (a link to the permit's
entry in the public register), the datasets it was made from (only those the reader may see),
the exact code versions (their SHA-256 and file lists) and the released outputs by name, size
and SHA-256. A file's content is never read or shown here: the released files themselves are
downloaded by the permit's named persons only, in the secure processing environment's pages.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from datalux.catalogue.models import DataProduct, DataProductKind, Dataset

PAGE_SIZE = 25


def register_entry_path(permit_number: str) -> str:
    """The permit's entry in the public permit register (found by its number, anchored)."""
    number = quote(permit_number, safe="")
    return f"{reverse('access:register')}?q={number}#permit-{number}"


def _page_number(value: str | None) -> int:
    return int(value) if value and value.isdigit() and 0 < int(value) < 100_000 else 1


@require_GET
def data_product_list(request: HttpRequest) -> HttpResponse:
    """Every registered data product, newest first (``?kind=`` to keep one kind)."""
    products = DataProduct.objects.select_related("organisation").order_by("-created_at", "-pk")
    kind = request.GET.get("kind", "")
    if kind in DataProductKind.values:
        products = products.filter(kind=kind)
    else:
        kind = ""
    page = Paginator(products, PAGE_SIZE).get_page(_page_number(request.GET.get("page")))
    return render(
        request,
        "catalogue/data_products.html",
        {"page": page, "kind": kind, "kinds": DataProductKind.choices},
    )


def _size(value: Any) -> int | None:
    return value if isinstance(value, int) and value >= 0 else None


@require_GET
def data_product_page(request: HttpRequest, pk: int) -> HttpResponse:
    product = get_object_or_404(DataProduct.objects.select_related("organisation"), pk=pk)
    visible = Dataset.objects.visible_to(request.user)
    datasets = list(
        visible.filter(data_products=product).select_related("publisher").order_by("pid")
    )
    outputs = [
        {
            "name": str(o.get("name", "")),
            "size": _size(o.get("size")),
            "sha256": str(o.get("sha256", "")),
            "description": str(o.get("description", "")),
        }
        for o in product.outputs or []
        if isinstance(o, dict)
    ]
    code_versions = [
        {
            "number": v.get("number"),
            "sha256": str(v.get("sha256", "")),
            "files": [
                {"path": str(f.get("path", "")), "sha256": str(f.get("sha256", ""))}
                for f in v.get("files") or []
                if isinstance(f, dict)
            ],
        }
        for v in product.code_versions or []
        if isinstance(v, dict)
    ]
    context = {
        "product": product,
        "datasets": datasets,
        "outputs": outputs,
        "code_versions": code_versions,
        "register_url": register_entry_path(product.permit_number) if product.permit_number else "",
    }
    return render(request, "catalogue/data_product.html", context)
