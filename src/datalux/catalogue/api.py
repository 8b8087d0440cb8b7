"""API: the catalogue. Reads are public (a token or session also shows the caller's drafts);
stewards create and update records, replace dictionaries and publish, by token or session.

Protected datasets expose metadata and dictionary only: their distributions carry no access or
download address, and no endpoint returns rows.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from ninja import Field, Query, Router, Schema
from ninja.responses import Status
from pydantic import ConfigDict

from datalux.accounts.actions import authenticate_token
from datalux.accounts.models import Organisation
from datalux.accounts.roles import Permission
from datalux.catalogue import actions
from datalux.catalogue.dcat import landing_page_path
from datalux.catalogue.dictionary import DictionaryError
from datalux.catalogue.downloads import download_url
from datalux.catalogue.metrics import catalogue_metrics
from datalux.catalogue.models import DataProduct, Dataset, DatasetStatus, Distribution
from datalux.catalogue.mqa import dataset_score, published_score
from datalux.catalogue.search import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, SearchQuery, search
from datalux.core.absolute import absolute

router = Router(tags=["catalogue"])

MAX_PAGE = 10_000


def _reader(request: HttpRequest) -> Any:
    """Reads need no sign-in. A Bearer token, if sent, must be valid (401 otherwise)."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        return authenticate_token(token.strip())
    return request.user  # the session user, or AnonymousUser (truthy: the read goes on)


def _user(request: HttpRequest) -> Any:
    from datalux.core.api import user_of

    return user_of(request)


def _require(request: HttpRequest, obj: Any = None) -> Any:
    from datalux.core.api import require

    return require(request, Permission.MANAGE_HOLDINGS, obj)


def _api_error(status: int, code: str, message: str, details: Any = None) -> Exception:
    from datalux.core.api import ApiError

    return ApiError(status, code, message, details)


# ---------------------------------------------------------------------------------------------
# Schemas


class DatasetSummaryOut(Schema):
    pid: str
    title: dict[str, str]
    description: dict[str, str]
    display_title: str
    publisher: str
    publisher_name: str
    access_rights: str
    themes: list[str]
    keywords: list[str]
    accrual_periodicity: str
    status: str
    modified: datetime
    page_url: str

    @staticmethod
    def resolve_publisher(obj: Dataset) -> str:
        return obj.publisher.slug

    @staticmethod
    def resolve_publisher_name(obj: Dataset) -> str:
        return obj.publisher.name

    @staticmethod
    def resolve_page_url(obj: Dataset) -> str:
        return reverse("catalogue:dataset", args=[obj.pid])


class DatasetOut(DatasetSummaryOut):
    uri: str
    legal_basis: str
    conditions_for_reuse: str
    licence: str
    contact_name: str
    contact_email: str
    temporal_start: date | None
    temporal_end: date | None
    spatial: list[str]
    version: str
    issued: datetime | None
    protected: bool
    variables: int
    shacl_conforms: bool | None
    views: int

    @staticmethod
    def resolve_protected(obj: Dataset) -> bool:
        return obj.is_protected

    @staticmethod
    def resolve_variables(obj: Dataset) -> int:
        return obj.variables.count()


class FacetValueOut(Schema):
    value: str
    label: str
    count: int
    selected: bool


class FacetOut(Schema):
    name: str
    title: str
    values: list[FacetValueOut]


class SearchOut(Schema):
    total: int
    page: int
    page_size: int
    pages: int
    sort: str
    items: list[DatasetSummaryOut]
    facets: list[FacetOut]


class SearchParams(Schema):
    q: str = Field("", max_length=500, description="Words to find (all must match).")
    sort: Literal["relevance", "modified"] = "relevance"
    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    theme: list[str] = Field(default_factory=list, description="EU data-theme codes (OR).")
    publisher: list[str] = Field(default_factory=list, description="Publisher slugs (OR).")
    access_rights: list[str] = Field(default_factory=list, description="PUBLIC, RESTRICTED...")
    format: list[str] = Field(default_factory=list, description="Distribution formats (OR).")
    keyword: list[str] = Field(default_factory=list)
    frequency: list[str] = Field(default_factory=list, description="Update frequency codes.")


class VariableOut(Schema):
    position: int
    name: str
    label: dict[str, str]
    description: dict[str, str]
    type: str
    unit: str
    code_list: str
    allowed_values: list[Any]
    missing_values: list[Any]
    required: bool
    privacy_role: str
    period: bool
    linkage_kind: str


class DistributionOut(Schema):
    id: int
    title: dict[str, str]
    description: dict[str, str]
    file_format: str
    media_type: str
    byte_size: int | None
    licence: str
    issued: datetime
    access_url: str | None
    download_url: str | None


class CodeFileOut(Schema):
    path: str
    sha256: str


class CodeVersionOut(Schema):
    number: int
    sha256: str
    files: list[CodeFileOut]


class ReleasedOutputOut(Schema):
    """A released file, described (never its content)."""

    name: str
    sha256: str
    size: int | None
    description: str


class DataProductOut(Schema):
    id: int
    kind: str
    title: str
    description: str
    url: str
    page: str = Field(description="The data product's public page.")
    licence: str
    organisation: str
    datasets: list[str]
    created_at: datetime
    permit_number: str = Field(description="The permit it was made under ('' if none).")
    code_versions: list[CodeVersionOut] = Field(
        description="The exact code versions that produced a result of reuse."
    )
    outputs: list[ReleasedOutputOut] = Field(
        description="The released files of a result of reuse, by name, size and SHA-256."
    )


class DataProductPageOut(Schema):
    total: int
    page: int
    page_size: int
    items: list[DataProductOut]


class DatasetIn(Schema):
    publisher: str = Field(description="Slug of the data holder that publishes the dataset.")
    slug: str = ""
    title: dict[str, str]
    description: dict[str, str] = Field(default_factory=dict)
    keywords: list[str] = Field(default_factory=list)
    themes: list[str] = Field(default_factory=list)
    access_rights: str
    legal_basis: str = ""
    conditions_for_reuse: str = ""
    licence: str = ""
    contact_name: str = ""
    contact_email: str = ""
    temporal_start: date | None = None
    temporal_end: date | None = None
    spatial: list[str] = Field(
        default_factory=list, description="Places covered: EU authority or GeoNames URIs."
    )
    accrual_periodicity: str = "UNKNOWN"
    version: str = ""


class DatasetPatch(Schema):
    title: dict[str, str] | None = None
    description: dict[str, str] | None = None
    keywords: list[str] | None = None
    themes: list[str] | None = None
    access_rights: str | None = None
    legal_basis: str | None = None
    conditions_for_reuse: str | None = None
    licence: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    temporal_start: date | None = None
    temporal_end: date | None = None
    spatial: list[str] | None = None
    accrual_periodicity: str | None = None
    version: str | None = None


class TableSchemaIn(Schema):
    """A Frictionless Table Schema descriptor (other keys, e.g. missingValues, are kept)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    fields_: list[Any] = Field(alias="fields", description="One object per variable.")


class ShareOut(Schema):
    key: str
    label: str
    datasets: int
    open: int


class ViewedOut(Schema):
    pid: str
    title: str
    publisher: str
    views: int


class MetricsOut(Schema):
    published: int
    open: int
    open_share: float
    views: int
    by_access_rights: list[ShareOut]
    by_publisher: list[ShareOut]
    most_viewed: list[ViewedOut]


class MqaDimensionOut(Schema):
    dimension: str
    label: str
    points: float
    max_points: int


class MqaIndicatorOut(Schema):
    key: str
    dimension: str
    property: str = Field(description="The DCAT-AP property the indicator reads.")
    level: str = Field(description="dataset or distribution (points in proportion).")
    max_points: int
    points: float
    met: int = Field(description="Datasets or distributions that meet the indicator...")
    of: int = Field(description="...out of this many.")
    description: str
    fix: str = Field(description="How to earn the points lost (empty when none is lost).")


class MqaOut(Schema):
    """The data.europa.eu MQA score (405 points; Excellent from 351)."""

    points: int
    max_points: int
    rating: Literal["excellent", "good", "sufficient", "bad"]
    rating_label: str
    datasets: int
    distributions: int
    dimensions: list[MqaDimensionOut]
    indicators: list[MqaIndicatorOut]


# ---------------------------------------------------------------------------------------------
# Reads


def _visible(request: HttpRequest, pid: str) -> Dataset:
    queryset = Dataset.objects.visible_to(_user(request)).select_related("publisher")
    return get_object_or_404(queryset, pid=pid)


@router.get("/datasets", response=SearchOut, auth=_reader)
def list_datasets(request: HttpRequest, params: Query[SearchParams]) -> dict[str, Any]:
    """Search the datasets visible to the caller: full text, facet filters, sort, pages."""
    filters = {
        name: values
        for name in ("theme", "publisher", "access_rights", "format", "keyword", "frequency")
        if (values := getattr(params, name))
    }
    query = SearchQuery(
        text=params.q,
        filters=filters,
        sort=params.sort,
        page=params.page,
        page_size=params.page_size,
    )
    result = search(_user(request), query)
    return {
        "total": result.total,
        "page": query.page,
        "page_size": query.page_size,
        "pages": result.pages,
        "sort": result.sort,
        "items": result.datasets,
        "facets": result.facets,
    }


@router.get("/datasets/{pid}", response=DatasetOut, auth=_reader)
def get_dataset(request: HttpRequest, pid: str) -> Dataset:
    return _visible(request, pid)


@router.get("/datasets/{pid}/variables", response=list[VariableOut], auth=_reader)
def dataset_variables(request: HttpRequest, pid: str) -> Any:
    return _visible(request, pid).variables.all()


def _distribution(dist: Distribution, dataset: Dataset, request: HttpRequest) -> dict[str, Any]:
    protected = dataset.is_protected
    return {
        "id": dist.pk,
        "title": dist.title,
        "description": dist.description,
        "file_format": dist.file_format,
        "media_type": dist.media_type,
        "byte_size": dist.byte_size,
        "licence": dist.licence,
        "issued": dist.issued,
        # protected data are never downloadable: no address is given out
        "access_url": None
        if protected
        else (
            absolute(landing_page_path(dataset.pid), request)
            if dist.data_file_id
            else (dist.access_url or None)
        ),
        "download_url": download_url(
            dist,
            pid=dataset.pid,
            protected=protected or dataset.status != DatasetStatus.PUBLISHED,
            request=request,
        )
        or None,
    }


@router.get("/datasets/{pid}/distributions", response=list[DistributionOut], auth=_reader)
def dataset_distributions(request: HttpRequest, pid: str) -> list[dict[str, Any]]:
    dataset = _visible(request, pid)
    return [_distribution(d, dataset, request) for d in dataset.distributions.all()]


def _code_versions(stored: Any) -> list[dict[str, Any]]:
    return [
        {
            "number": v["number"] if isinstance(v.get("number"), int) else 0,
            "sha256": str(v.get("sha256", "")),
            "files": [
                {"path": str(f.get("path", "")), "sha256": str(f.get("sha256", ""))}
                for f in v.get("files") or []
                if isinstance(f, dict)
            ],
        }
        for v in stored or []
        if isinstance(v, dict)
    ]


def _outputs(stored: Any) -> list[dict[str, Any]]:
    return [
        {
            "name": str(o.get("name", "")),
            "sha256": str(o.get("sha256", "")),
            "size": o["size"] if isinstance(o.get("size"), int) else None,
            "description": str(o.get("description", "")),
        }
        for o in stored or []
        if isinstance(o, dict)
    ]


@router.get("/data-products", response=DataProductPageOut, auth=_reader)
def data_products(
    request: HttpRequest,
    dataset: str = "",
    organisation: str = "",
    page: int = Query(1, ge=1, le=MAX_PAGE),
    page_size: int = Query(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE),
) -> dict[str, Any]:
    """The register of data products (code, algorithms, results), newest first."""
    visible = Dataset.objects.visible_to(_user(request))
    queryset = DataProduct.objects.select_related("organisation").order_by("-created_at", "-pk")
    if dataset:
        queryset = queryset.filter(datasets__in=visible.filter(pid=dataset)).distinct()
    if organisation:
        queryset = queryset.filter(organisation__slug=organisation)
    total = queryset.count()
    start = (page - 1) * page_size
    products = list(queryset[start : start + page_size])
    links: dict[int, list[str]] = {}
    for product_id, pid in (
        DataProduct.datasets.through.objects.filter(
            dataproduct_id__in=[p.pk for p in products], dataset__in=visible
        )
        .order_by("dataset__pid")
        .values_list("dataproduct_id", "dataset__pid")
    ):
        links.setdefault(product_id, []).append(pid)
    items = [
        {
            "id": p.pk,
            "kind": p.kind,
            "title": p.title,
            "description": p.description,
            "url": p.url,
            "licence": p.licence,
            "organisation": p.organisation.slug,
            "datasets": links.get(p.pk, []),
            "created_at": p.created_at,
            "page": absolute(reverse("catalogue:data_product", args=[p.pk]), request),
            "permit_number": p.permit_number,
            "code_versions": _code_versions(p.code_versions),
            "outputs": _outputs(p.outputs),
        }
        for p in products
    ]
    return {"total": total, "page": page, "page_size": page_size, "items": items}


@router.get("/metrics", response=MetricsOut, auth=_reader)
def metrics(request: HttpRequest) -> dict[str, Any]:
    """Published datasets by access rights and publisher, share of open data, page views."""
    m = catalogue_metrics()
    return {**m.__dict__, "open_share": m.open_share}


@router.get("/mqa", response=MqaOut, auth=_reader)
def catalogue_mqa(request: HttpRequest) -> dict[str, Any]:
    """The MQA score of the platform's catalogue (its published datasets), per dimension and
    indicator, computed from its DCAT-AP export."""
    return published_score().as_dict()


@router.get("/datasets/{pid}/mqa", response=MqaOut)
def dataset_mqa(request: HttpRequest, pid: str) -> dict[str, Any]:
    """The MQA score of one record, with each indicator that loses points and how to fix it
    (stewards of its publisher)."""
    dataset = _visible(request, pid)
    _require(request, dataset)
    return dataset_score(dataset).as_dict()


# ---------------------------------------------------------------------------------------------
# Writes (stewards of the publisher; token or session)


@router.post("/datasets", response={201: DatasetOut})
def create_dataset(request: HttpRequest, payload: DatasetIn) -> Status:
    """Create a draft record for a data holder where the caller is a steward."""
    publisher = get_object_or_404(Organisation, slug=payload.publisher)
    user = _require(request, publisher)
    fields = payload.model_dump(exclude={"publisher", "slug"})
    dataset = actions.create_dataset(publisher=publisher, by=user, slug=payload.slug, **fields)
    return Status(201, dataset)


@router.patch("/datasets/{pid}", response=DatasetOut)
def update_dataset(request: HttpRequest, pid: str, payload: DatasetPatch) -> Dataset:
    """Change some fields of a record (only the fields sent)."""
    dataset = _visible(request, pid)
    user = _require(request, dataset)
    fields = payload.model_dump(exclude_unset=True)
    return actions.update_dataset(dataset=dataset, by=user, **fields)


@router.put("/datasets/{pid}/dictionary", response=list[VariableOut])
def put_dictionary(request: HttpRequest, pid: str, payload: TableSchemaIn) -> Any:
    """Replace the data dictionary with a Frictionless Table Schema descriptor."""
    dataset = _visible(request, pid)
    user = _require(request, dataset)
    table_schema = payload.model_dump(by_alias=True)
    try:
        actions.set_dictionary(dataset=dataset, by=user, table_schema=table_schema)
    except DictionaryError as exc:
        raise _api_error(422, "invalid_dictionary", str(exc), exc.problems) from exc
    return dataset.variables.all()


@router.post("/datasets/{pid}/publish", response=DatasetOut)
def publish(request: HttpRequest, pid: str) -> Dataset:
    """Check the record against DCAT-AP and publish it; 422 with the findings if it fails."""
    dataset = _visible(request, pid)
    user = _require(request, dataset)
    try:
        dataset = actions.publish_dataset(dataset=dataset, by=user)
    except actions.DictionaryMismatch as exc:
        raise _api_error(422, "dictionary_mismatch", exc.messages[0], exc.problems) from exc
    if dataset.status != DatasetStatus.PUBLISHED:
        raise _api_error(
            422,
            "publication_refused",
            "the record does not meet DCAT-AP: fix the findings and publish again",
            dataset.shacl_report,
        )
    return dataset
