"""Write audit events (in the caller's transaction) and verify the chain."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from datalux.audit.chain import GENESIS, canonical_json, check_details, event_hash
from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent

_PG_LOCK_KEY = 7_401_301  # advisory lock serialising writers of the chain on PostgreSQL


def _lock_chain() -> None:
    """Serialise appends. SQLite: transactions are IMMEDIATE (write lock at BEGIN)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_PG_LOCK_KEY])


def record(
    kind: EventKind,
    *,
    actor: Any = None,
    organisation: Any = None,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain, inside the current transaction (or a new one).

    Call it from the action that changes state, in the same ``transaction.atomic`` block, so
    the change and its event are committed together or not at all.
    """
    kind = EventKind(kind)
    details = details or {}
    check_details(details)
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    actor_id = actor.pk if actor is not None and getattr(actor, "is_authenticated", False) else None
    actor_label = actor.get_username() if actor_id is not None else ""
    organisation_id = organisation.pk if organisation is not None else None
    details_json = canonical_json(details)
    with transaction.atomic():
        _lock_chain()
        last = AuditEvent.objects.order_by("-seq").only("seq", "hash").first()
        seq = last.seq + 1 if last else 1
        prev_hash = last.hash if last else GENESIS
        occurred_at = timezone.now()
        digest = event_hash(
            seq=seq,
            occurred_at=occurred_at,
            kind=kind.value,
            actor_id=actor_id,
            actor_label=actor_label,
            organisation_id=organisation_id,
            object_type=object_type,
            object_id=str(object_id),
            details_json=details_json,
            prev_hash=prev_hash,
        )
        return AuditEvent.objects.create(
            seq=seq,
            occurred_at=occurred_at,
            kind=kind.value,
            actor_id=actor_id,
            actor_label=actor_label,
            organisation_id=organisation_id,
            object_type=object_type,
            object_id=str(object_id),
            details_json=details_json,
            prev_hash=prev_hash,
            hash=digest,
        )


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    problem: str = ""
    seq: int | None = None  # the first event found broken or missing

    def summary(self) -> str:
        if self.ok:
            return (
                f"audit chain intact: {self.checked} events, head #{self.head_seq} {self.head_hash}"
            )
        return (
            f"audit chain BROKEN at event #{self.seq}: {self.problem} ({self.checked} events read)"
        )


def _rows() -> Iterator[AuditEvent]:
    return AuditEvent.objects.order_by("seq").iterator(chunk_size=5000)


def verify(*, anchor: tuple[int, str] | None = None) -> Verification:
    """Recompute every hash and link in order; report the first broken or missing link.

    ``anchor`` is a (seq, hash) pair recorded earlier outside the database (``datalux audit
    head``): it detects the removal of the newest events, which no chain can show by itself.
    """
    expected_seq = 1
    prev = GENESIS
    checked = 0
    anchor_seen = anchor is None
    for event in _rows():
        if event.seq != expected_seq:
            what = "missing" if event.seq > expected_seq else "out of order"
            return Verification(
                False,
                checked,
                expected_seq - 1,
                prev,
                f"event #{expected_seq} is {what} (next stored is #{event.seq})",
                expected_seq,
            )
        if event.prev_hash != prev:
            return Verification(
                False,
                checked,
                event.seq - 1,
                prev,
                "its link does not match the previous event's hash "
                "(an event before it was removed, inserted or reordered)",
                event.seq,
            )
        recomputed = event_hash(
            seq=event.seq,
            occurred_at=event.occurred_at,
            kind=event.kind,
            actor_id=event.actor_id,
            actor_label=event.actor_label,
            organisation_id=event.organisation_id,
            object_type=event.object_type,
            object_id=event.object_id,
            details_json=event.details_json,
            prev_hash=event.prev_hash,
        )
        if recomputed != event.hash:
            return Verification(
                False,
                checked,
                event.seq - 1,
                prev,
                "its content does not match its hash (the event was edited)",
                event.seq,
            )
        if anchor is not None and event.seq == anchor[0]:
            if event.hash != anchor[1]:
                return Verification(
                    False,
                    checked,
                    event.seq,
                    event.hash,
                    "its hash differs from the anchor recorded earlier",
                    event.seq,
                )
            anchor_seen = True
        prev = event.hash
        checked += 1
        expected_seq += 1
    if not anchor_seen:
        assert anchor is not None
        return Verification(
            False,
            checked,
            expected_seq - 1,
            prev,
            f"the chain ends before the anchored event #{anchor[0]} (newest events removed)",
            anchor[0],
        )
    return Verification(True, checked, expected_seq - 1, prev)


def head() -> tuple[int, str]:
    last = AuditEvent.objects.order_by("-seq").only("seq", "hash").first()
    return (last.seq, last.hash) if last else (0, GENESIS)
