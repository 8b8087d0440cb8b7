"""The extract API (``/api/v1/spe``): the preparation queue and each permit's extract.

The trusted third party's operators and the case handlers list preparations and queue one
(``POST /permits/{number}/prepare``: 202, or 409 with the reason when the permit is not
active or a preparation is under way); anyone who may see the permit (its researchers) reads
its extract's state and manifest, without the operators' failure details.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import Http404, HttpRequest
from ninja import Router, Schema
from ninja.responses import Status

from datalux.access import queries
from datalux.access.models import Permit
from datalux.accounts.roles import Permission
from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.core.api import ApiError, user_of
from datalux.spe import jobs
from datalux.spe.models import Preparation, PreparationState
from datalux.spe.views import may_operate

router = Router(tags=["spe"])


class PreparationOut(Schema):
    permit: str
    version: int
    state: str
    step: str
    engine: str
    attempts: int
    code: str
    message: str
    requested_at: datetime
    finished_at: datetime | None
    locked_at: datetime | None
    deleted_at: datetime | None
    manifest: dict[str, Any] | None


class ExtractOut(Schema):
    permit: str
    version: int
    state: str  # "not requested" when nothing was asked yet
    available: bool
    manifest: dict[str, Any] | None


def _out(p: Preparation) -> dict[str, Any]:
    return {
        "permit": p.permit.number,
        "version": p.version,
        "state": p.state,
        "step": p.step_detail,
        "engine": p.engine,
        "attempts": p.attempts,
        "code": p.code,
        "message": p.message,
        "requested_at": p.requested_at,
        "finished_at": p.finished_at,
        "locked_at": p.locked_at,
        "deleted_at": p.deleted_at,
        "manifest": p.manifest,
    }


def _operator(request: HttpRequest) -> Any:
    user = user_of(request)
    if not may_operate(user):
        record(
            EventKind.ACCESS_DENIED,
            actor=user,
            object_type="api",
            object_id=request.path[:64],
            details={"permission": Permission.OPERATE_PRIVACY_SERVICES.value,
                     "method": request.method or ""},
        )  # fmt: skip
        raise ApiError(
            403,
            "forbidden",
            "only the trusted third party's operators and the case handlers prepare extracts",
        )
    return user


def _permit(number: str) -> Permit:
    permit = Permit.objects.filter(number=number).first()
    if permit is None:
        raise Http404
    return permit


@router.get("/preparations", response=list[PreparationOut])
def list_preparations(request: HttpRequest, state: str = "", limit: int = 100) -> list[Any]:
    """Preparations, newest first (``state`` one of queued, extracting, ..., ready, failed)."""
    _operator(request)
    if state and state not in PreparationState.values:
        raise ApiError(422, "invalid", f"state must be one of {', '.join(PreparationState.values)}")
    rows = Preparation.objects.select_related("permit")
    if state:
        rows = rows.filter(state=state)
    return [_out(p) for p in rows[: max(1, min(limit, 500))]]


@router.get("/permits/{number}/preparations", response=list[PreparationOut])
def permit_preparations(request: HttpRequest, number: str) -> list[Any]:
    """Every version's preparation of one permit, the newest version first."""
    _operator(request)
    permit = _permit(number)
    return [_out(p) for p in permit.preparations.select_related("permit").order_by("-version")]


@router.post("/permits/{number}/prepare", response={202: PreparationOut, 200: PreparationOut})
def prepare(request: HttpRequest, number: str) -> Status:
    """Queue the preparation of the permit's current version; 200 when it is ready already."""
    user = _operator(request)
    preparation = jobs.request_preparation(_permit(number), by=user)
    return Status(200 if preparation.state == PreparationState.READY else 202, _out(preparation))


@router.get("/permits/{number}/extract", response=ExtractOut)
def extract(request: HttpRequest, number: str) -> dict[str, Any]:
    """The state and manifest of the current version's extract, for whoever sees the permit."""
    user = user_of(request)
    permit = _permit(number) if may_operate(user) else queries.get_visible_permit(user, number)
    preparation = permit.preparations.filter(version=permit.version).first()
    if preparation is None:
        return {"permit": permit.number, "version": permit.version,
                "state": "not requested", "available": False, "manifest": None}  # fmt: skip
    return {
        "permit": permit.number,
        "version": permit.version,
        "state": preparation.state,
        "available": preparation.available,
        "manifest": preparation.manifest if preparation.available else None,
    }
