"""DCAT-AP endpoints: the catalogue (Hydra-paged) and each dataset's persistent URI.

Content negotiation on ``Accept`` (``text/turtle``, ``application/rdf+xml``,
``application/ld+json``), overridden by ``?format=turtle|xml|json-ld``. A dataset URI asked
for HTML (a browser) redirects to the dataset page.
"""

from __future__ import annotations

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
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_safe

from datalux.catalogue import dcat
from datalux.catalogue.dictionary import to_table_schema
from datalux.catalogue.models import Catalogue, Dataset, DatasetStatus
from datalux.core.absolute import absolute

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
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
    try:
        number = _int_param(request, "page", 1)
        size = min(_int_param(request, "page_size", DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    total = dcat.published_datasets().count()
    url = absolute(request.path, request)
    if request.GET.get("format"):
        url += f"?format={fmt}"
    page = dcat.Page(number=number, size=size, total=total, url=url)
    if number > page.last:
        raise Http404(f"there are {page.last} pages of {size} datasets")
    return _rdf_response(dcat.export_catalogue(fmt, page), fmt)


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
def catalogue_uri(request: HttpRequest, slug: str) -> HttpResponse:
    """A catalogue's URI resolves to the DCAT-AP catalogue endpoint."""
    get_object_or_404(Catalogue, slug=slug)
    return HttpResponseRedirect(reverse("dcat:catalogue"))
