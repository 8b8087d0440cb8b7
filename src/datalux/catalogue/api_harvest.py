"""API: harvest sources (platform administrators only). Register, list, run; the runs of a
source, and the decision on a held run (confirm or discard)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema
from ninja.responses import Status

from datalux.accounts.models import Organisation
from datalux.accounts.roles import Permission
from datalux.catalogue.harvest import (
    HarvestError,
    HarvestHeld,
    harvest_task,
    register_source,
    run_harvest,
)
from datalux.catalogue.harvest_runs import (
    HISTORY_SHOWN,
    RunDecisionRefused,
    confirm_run,
    discard_run,
)
from datalux.catalogue.models import HarvestRun, HarvestSource

router = Router(tags=["harvest"])


def _operator(request: HttpRequest) -> Any:
    from datalux.core.api import require

    return require(request, Permission.MANAGE_ORGANISATIONS)


class SourceIn(Schema):
    name: str
    url: str
    publisher: str  # slug of the organisation every harvested record of the source belongs to
    every_hours: int | None = None  # harvested by the scheduler that often (None: by hand)


class SourceOut(Schema):
    id: int
    name: str
    url: str
    publisher: str
    catalogue: str
    active: bool
    harvest_every_hours: int | None
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


class RunOut(Schema):
    id: int
    status: str
    started_at: datetime
    ended_at: datetime | None
    scheduled: bool
    created: int
    updated: int
    unchanged: int
    withdrawn: int  # of a held run: what it would have withdrawn
    deleted: int
    skipped: int
    errors: int
    problems: list[str]
    error: str
    held_of: int
    held_withdrawals: list[str]
    confirms: int | None

    @staticmethod
    def resolve_confirms(obj: HarvestRun) -> int | None:
        return obj.confirms_id


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
        name=payload.name,
        url=payload.url.strip(),
        publisher=publisher,
        by=user,
        every_hours=payload.every_hours,
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
    except HarvestHeld as exc:
        raise ApiError(409, "harvest_held", str(exc), {"run": exc.run.pk}) from None
    except HarvestError as exc:
        raise ApiError(422, "harvest_failed", str(exc)) from None


@router.get("/sources/{source_id}/runs", response=list[RunOut])
def list_runs(request: HttpRequest, source_id: int) -> Any:
    """The source's runs, newest first (counts, per-record problems, held runs)."""
    _operator(request)
    source = get_object_or_404(HarvestSource, pk=source_id)
    return list(source.runs.all()[:HISTORY_SHOWN])


@router.post("/runs/{run_id}/confirm", response={200: dict[str, Any]})
def confirm(request: HttpRequest, run_id: int) -> Any:
    """Apply a held run: the source is read again and imported, withdrawals included, only if
    it still serves what the held run read."""
    from datalux.core.api import ApiError

    user = _operator(request)
    run = get_object_or_404(HarvestRun.objects.select_related("source"), pk=run_id)
    try:
        return confirm_run(run=run, by=user).as_dict()
    except RunDecisionRefused as exc:
        raise ApiError(409, "run_not_held", str(exc)) from None
    except HarvestError as exc:
        raise ApiError(422, "harvest_failed", str(exc)) from None


@router.post("/runs/{run_id}/discard", response={200: RunOut})
def discard(request: HttpRequest, run_id: int) -> Any:
    """Close a held run without applying it."""
    from datalux.core.api import ApiError

    user = _operator(request)
    run = get_object_or_404(HarvestRun.objects.select_related("source"), pk=run_id)
    try:
        return discard_run(run=run, by=user)
    except RunDecisionRefused as exc:
        raise ApiError(409, "run_not_held", str(exc)) from None
