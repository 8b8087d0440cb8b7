"""DCAT-AP endpoints: the catalogue (Hydra-paged) and each dataset's persistent URI.

Content negotiation on ``Accept`` (``text/turtle``, ``application/rdf+xml``,
``application/ld+json``), overridden by ``?format=turtle|xml|json-ld``. A dataset URI asked
for HTML (a browser) redirects to the dataset page.

Anyone may read the catalogue, so its pages are bounded and cached: an anonymous reader gets
at most ``ANONYMOUS_MAX_PAGE_SIZE`` datasets a page (signed-in users ``MAX_PAGE_SIZE``), and
an anonymous page is served from the cache for ``DATALUX_DCAT_CACHE_SECONDS``. The cache key
holds the number of published datasets, their newest change and the highest and the sum of
their ids (and the same of the results of reuse), so a publication, an edit or a withdrawal is
seen at the next request; only
services and catalogue descriptions wait for the cache to expire. Records left out of a page
(stored metadata that cannot be exported, see :func:`datalux.catalogue.dcat.build_catalogue`)
are counted in the ``X-Datalux-Skipped-Records`` header.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max, Sum
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import get_language
from django.views.decorators.http import require_safe

from datalux.catalogue import dcat
from datalux.catalogue.dictionary import to_table_schema
from datalux.catalogue.models import Catalogue, Dataset, DatasetStatus
from datalux.core.absolute import absolute

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000  # signed-in users
ANONYMOUS_MAX_PAGE_SIZE = 200
SKIPPED_HEADER = "X-Datalux-Skipped-Records"
HTML = "text/html"
FORMAT_ALIASES = {
    "turtle": "turtle",
    "ttl": "turtle",
    "xml": "xml",
    "rdf": "xml",
    "rdfxml": "xml",
    "json-ld": "json-ld",
    "jsonld": "json-ld",
}
MEDIA_TYPES = {media: fmt for fmt, (media, _ext) in dcat.FORMATS.items()}


class NotAcceptable(Exception):
    pass


def _negotiate(request: HttpRequest, *, html: bool) -> str:
    """``turtle``, ``xml``, ``json-ld`` or ``html``; raises NotAcceptable with the choices."""
    asked = request.GET.get("format")
    if asked:
        fmt = FORMAT_ALIASES.get(asked.strip().lower())
        if fmt is None:
            raise NotAcceptable(f"unknown format {asked!r}: use turtle, xml or json-ld")
        return fmt
    accept = request.headers.get("Accept", "").strip()
    if not accept or accept == "*/*":
        return "html" if html and not accept else "turtle"
    offered = [*([HTML] if html else []), *MEDIA_TYPES]
    if "application/json" in accept and "application/ld+json" not in accept:
        offered.append("application/json")  # plain JSON clients get JSON-LD
    preferred = request.get_preferred_type(offered)
    if preferred is None:
        raise NotAcceptable(
            "none of the accepted media types is available: ask for "
            + ", ".join(offered)
            + " (or add ?format=turtle|xml|json-ld)"
        )
    if preferred == HTML:
        return "html"
    if preferred == "application/json":
        return "json-ld"
    return MEDIA_TYPES[preferred]


def _rdf_response(body: bytes, fmt: str) -> HttpResponse:
    media_type = dcat.FORMATS[fmt][0]
    response = HttpResponse(body, content_type=f"{media_type}; charset=utf-8")
    patch_vary_headers(response, ["Accept"])
    return response


def _not_acceptable(exc: NotAcceptable) -> HttpResponse:
    response = HttpResponse(str(exc), status=406, content_type="text/plain; charset=utf-8")
    patch_vary_headers(response, ["Accept"])
    return response


def _int_param(request: HttpRequest, name: str, default: int) -> int:
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{name} must be a whole number of 1 or more, not {raw!r}")
    return int(raw)


@require_safe
def catalogue_dcat(request: HttpRequest) -> HttpResponse:
    """The public catalogue in DCAT-AP, one Hydra page at a time (``?page=&page_size=``)."""
    try:
        fmt = _negotiate(request, html=False)
    except NotAcceptable as exc:
        return _not_acceptable(exc)
    anonymous = not request.user.is_authenticated
    try:
        number = _int_param(request, "page", 1)
        limit = ANONYMOUS_MAX_PAGE_SIZE if anonymous else MAX_PAGE_SIZE
        size = min(_int_param(request, "page_size", DEFAULT_PAGE_SIZE), limit)
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    state = (
        dcat.published_datasets()
        .order_by()
        .aggregate(total=Count("pk"), latest=Max("modified"), top=Max("pk"), ids=Sum("pk"))
    )
    url = absolute(request.path, request)
    if request.GET.get("format"):
        url += f"?format={fmt}"
    page = dcat.Page(number=number, size=size, total=state["total"], url=url)
    if number > page.last:
        raise Http404(f"there are {page.last} pages of {size} datasets")
    seconds = int(getattr(settings, "DATALUX_DCAT_CACHE_SECONDS", 0))
    key = _cache_key(fmt, page, state | _results_state()) if anonymous and seconds > 0 else None
    cached = cache.get(key) if key else None
    if cached is not None:
        body, skipped = cached
    else:
        body, pids = dcat.export_catalogue_with_report(fmt, page)
        skipped = len(pids)
        if key:
            cache.set(key, (body, skipped), seconds)
    response = _rdf_response(body, fmt)
    if skipped:
        response[SKIPPED_HEADER] = str(skipped)
    if key:
        patch_cache_control(response, public=True, max_age=seconds)
    return response


def _results_state() -> dict[str, object]:
    """What changes when a result of reuse is published (or removed): part of the cache key."""
    from datalux.catalogue.dcat_products import published_results

    products = (
        published_results()
        .order_by()
        .aggregate(results=Count("pk"), results_top=Max("pk"), results_ids=Sum("pk"))
    )
    return dict(products)


def _cache_key(fmt: str, page: dcat.Page, state: dict[str, object]) -> str:
    """Changes with the page asked for and with every publication, edit or withdrawal."""
    parts = (fmt, page.number, page.size, page.url, get_language(), *sorted(state.items()))
    return "dcat:page:" + hashlib.sha256(repr(parts).encode()).hexdigest()


class _Gone(Exception):
    pass


def _resolve(request: HttpRequest, pid: str) -> Dataset:
    """The dataset behind a PID if the user may see it; 410 for withdrawn ones, else 404."""
    dataset = Dataset.objects.visible_to(request.user).filter(pid=pid).first()
    if dataset is None:
        if Dataset.objects.filter(pid=pid, status=DatasetStatus.WITHDRAWN).exists():
            raise _Gone()
        raise Http404("no such dataset, or not visible to you")
    return dataset


def _gone() -> HttpResponse:
    return HttpResponse(
        "this dataset was withdrawn from the catalogue; its identifier is kept and never reused",
        status=410,
        content_type="text/plain; charset=utf-8",
    )


@require_safe
def dataset_dcat(request: HttpRequest, pid: str) -> HttpResponse:
    """A dataset's persistent URI: its page for browsers, its DCAT-AP description otherwise."""
    try:
        fmt = _negotiate(request, html=True)
    except NotAcceptable as exc:
        return _not_acceptable(exc)
    try:
        dataset = _resolve(request, pid)
    except _Gone:
        return _gone()
    if fmt == "html":
        response: HttpResponse = HttpResponseRedirect(reverse("catalogue:dataset", args=[pid]))
        patch_vary_headers(response, ["Accept"])
        return response
    graph = dcat.dataset_graph(dataset, with_catalogue=False)
    return _rdf_response(dcat.serialize(graph, fmt), fmt)


@require_safe
def dataset_schema(request: HttpRequest, pid: str) -> HttpResponse:
    """The data dictionary the dataset conforms to (``dct:conformsTo``), as a Table Schema."""
    try:
        dataset = _resolve(request, pid)
    except _Gone:
        return _gone()
    variables = list(dataset.variables.order_by("position"))
    if not variables:
        raise Http404("this dataset has no data dictionary yet")
    return JsonResponse(to_table_schema(variables), content_type="application/schema+json")


@require_safe
def data_product_dcat(request: HttpRequest, pk: int) -> HttpResponse:
    """A result of reuse's persistent URI: its page for browsers, DCAT-AP otherwise."""
    from datalux.catalogue.dcat_products import product_graph, published_results

    try:
        fmt = _negotiate(request, html=True)
    except NotAcceptable as exc:
        return _not_acceptable(exc)
    product = get_object_or_404(published_results(), pk=pk)
    if fmt == "html":
        response: HttpResponse = HttpResponseRedirect(
            reverse("catalogue:data_product", args=[product.pk])
        )
        patch_vary_headers(response, ["Accept"])
        return response
    return _rdf_response(dcat.serialize(product_graph(product), fmt), fmt)


@require_safe
def catalogue_uri(request: HttpRequest, slug: str) -> HttpResponse:
    """A catalogue's URI resolves to the DCAT-AP catalogue endpoint."""
    get_object_or_404(Catalogue, slug=slug)
    return HttpResponseRedirect(reverse("dcat:catalogue"))
