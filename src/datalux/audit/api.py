"""API: read the audit log (restricted) and verify the chain."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema

from datalux.accounts.roles import Permission
from datalux.audit.actions import run_verification
from datalux.audit.models import AuditEvent

router = Router(tags=["audit"])


class EventOut(Schema):
    seq: int
    occurred_at: datetime
    kind: str
    actor_label: str
    organisation_id: int | None
    object_type: str
    object_id: str
    details: dict
    hash: str
    prev_hash: str


class VerificationOut(Schema):
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    problem: str
    seq: int | None


@router.get("/events", response=list[EventOut])
def events(request: HttpRequest, after: int = 0, limit: int = 100):  # type: ignore[no-untyped-def]
    from datalux.core.api import require

    user = require(request, Permission.VIEW_AUDIT_LOG)
    limit = max(1, min(limit, 1000))
    return AuditEvent.objects.restrict(user).filter(seq__gt=after).order_by("seq")[:limit]


@router.post("/verify", response=VerificationOut)
def verify(request: HttpRequest):  # type: ignore[no-untyped-def]
    from datalux.core.api import require

    user = require(request, Permission.VERIFY_AUDIT_CHAIN)
    return run_verification(by=user)
