"""API: harvest sources (platform administrators only). Register, list, run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema
from ninja.responses import Status

from datalux.accounts.models import Organisation
from datalux.accounts.roles import Permission
from datalux.catalogue.harvest import HarvestError, harvest_task, register_source, run_harvest
from datalux.catalogue.models import HarvestSource

router = Router(tags=["harvest"])


def _operator(request: HttpRequest) -> Any:
    from datalux.core.api import require

    return require(request, Permission.MANAGE_ORGANISATIONS)


class SourceIn(Schema):
    name: str
    url: str
    publisher: str  # slug of the organisation every harvested record of the source belongs to


class SourceOut(Schema):
    id: int
    name: str
    url: str
    publisher: str
    catalogue: str
    active: bool
    last_run_at: datetime | None
    last_status: str
    last_report: dict[str, Any]

    @staticmethod
    def resolve_publisher(obj: HarvestSource) -> str:
        return obj.publisher.slug

    @staticmethod
    def resolve_catalogue(obj: HarvestSource) -> str:
        return obj.catalogue.slug


class QueuedOut(Schema):
    task_id: str


@router.get("/sources", response=list[SourceOut])
def list_sources(request: HttpRequest) -> Any:
    _operator(request)
    return HarvestSource.objects.select_related("publisher", "catalogue").order_by("name")


@router.post("/sources", response={201: SourceOut})
def create_source(request: HttpRequest, payload: SourceIn) -> Status:
    """Register a remote DCAT-AP catalogue: an http(s) URL on a public address (or a host the
    operator allowed), or a file in the server's harvest folder."""
    user = _operator(request)
    publisher = get_object_or_404(Organisation, slug=payload.publisher)
    source = register_source(
        name=payload.name, url=payload.url.strip(), publisher=publisher, by=user
    )
    return Status(201, source)


@router.post("/sources/{source_id}/run", response={200: dict[str, Any], 202: QueuedOut})
def run_source(request: HttpRequest, source_id: int, background: bool = False) -> Any:
    """Harvest now and return the report, or queue it for the worker (``?background=true``)."""
    from datalux.core.api import ApiError

    user = _operator(request)
    source = get_object_or_404(HarvestSource, pk=source_id)
    if background:
        result = harvest_task.enqueue(source.pk)
        return Status(202, {"task_id": str(result.id)})
    try:
        return run_harvest(source=source, by=user).as_dict()
    except HarvestError as exc:
        raise ApiError(422, "harvest_failed", str(exc)) from None
