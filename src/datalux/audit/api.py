"""API: read the audit log (restricted), verify the chain, and the latest signed checkpoint."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema

from datalux.accounts.roles import Permission
from datalux.audit import checkpoints
from datalux.audit.actions import run_verification
from datalux.audit.models import AuditEvent
from datalux.audit.signing import ALGORITHM, key_id, public_pem

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
    checkpoint_seq: int | None


class StatementOut(Schema):
    format: str
    seq: int
    head_hash: str
    event_count: int
    created_at: str
    key_id: str


class CheckpointOut(Schema):
    statement: StatementOut
    algorithm: str
    signature: str


class PublicKeyOut(Schema):
    key_id: str
    algorithm: str
    pem: str


class LatestCheckpointOut(Schema):
    checkpoint: CheckpointOut | None
    public_key: PublicKeyOut | None


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
    return run_verification(by=user, latest_checkpoint=True)


@router.get("/checkpoint", response=LatestCheckpointOut, auth=None)
def checkpoint(request: HttpRequest):  # type: ignore[no-untyped-def]
    """The latest signed checkpoint of the audit chain and the public key that verifies it.

    Open to everyone: a checkpoint holds only an event number, a count, a hash, a time and a
    key id, never the content of an event. Keep `checkpoint` as a file and check the platform
    later with `datalux audit verify --checkpoint FILE --public-key KEY.pem`. `public_key` is
    the key that signed it (the current key when there is no checkpoint yet; null when the
    key is not known here)."""
    latest = checkpoints.latest()
    keys = checkpoints.trusted_keys()
    public = keys.get(latest.key_id) if latest is not None else checkpoints.current_public_key()
    return {
        "checkpoint": latest.document() if latest is not None else None,
        "public_key": (
            {"key_id": key_id(public), "algorithm": ALGORITHM, "pem": public_pem(public)}
            if public is not None
            else None
        ),
    }
