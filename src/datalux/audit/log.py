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


def lock_chain() -> None:
    """Serialise appends (call inside ``transaction.atomic``). SQLite: transactions are
    IMMEDIATE (write lock at BEGIN)."""
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
        lock_chain()
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
    checkpoint_seq: int | None = None  # the signed checkpoint checked against, if any

    def summary(self) -> str:
        if self.ok:
            text = (
                f"audit chain intact: {self.checked} events, head #{self.head_seq} {self.head_hash}"
            )
            if self.checkpoint_seq is not None:
                text += f"; it contains signed checkpoint #{self.checkpoint_seq}"
            return text
        if self.seq is None:
            return f"audit checkpoint REFUSED: {self.problem}"
        return (
            f"audit chain BROKEN at event #{self.seq}: {self.problem} ({self.checked} events read)"
        )


def _rows(from_seq: int) -> Iterator[AuditEvent]:
    return AuditEvent.objects.filter(seq__gte=from_seq).order_by("seq").iterator(chunk_size=5000)


def verify(
    *,
    anchor: tuple[int, str] | None = None,
    since: tuple[int, str] | None = None,
    anchor_name: str = "the anchor recorded earlier",
) -> Verification:
    """Recompute every hash and link in order; report the first broken or missing link.

    ``anchor`` is a (seq, hash) pair recorded earlier outside the database (``datalux audit
    head``, a signed checkpoint): it detects the removal of the newest events, which no chain
    can show by itself, and a rewritten history whose hashes were all recomputed.

    ``since`` is an anchor already proven (the latest signed checkpoint): the walk starts at
    that event instead of the first, checks that it still has that hash, and checks every
    event after it (``checked`` then counts from there).
    """
    if anchor is not None and since is not None:
        raise ValueError("verify() takes an anchor or a starting point (since), not both")
    anchor = anchor or since
    expected_seq = since[0] if since is not None else 1
    prev: str | None = None if since is not None else GENESIS  # None: not known yet
    checked = 0
    anchor_seen = anchor is None
    for event in _rows(expected_seq):
        last = prev if prev is not None else event.prev_hash
        if event.seq != expected_seq:
            what = "missing" if event.seq > expected_seq else "out of order"
            return Verification(
                False,
                checked,
                expected_seq - 1,
                last,
                f"event #{expected_seq} is {what} (next stored is #{event.seq})",
                expected_seq,
            )
        if prev is not None and event.prev_hash != prev:
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
                last,
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
                    f"its hash differs from {anchor_name} (the history up to it was rewritten)",
                    event.seq,
                )
            anchor_seen = True
        prev = event.hash
        checked += 1
        expected_seq += 1
    head_hash = prev if prev is not None else GENESIS
    if not anchor_seen:
        assert anchor is not None
        return Verification(
            False,
            checked,
            expected_seq - 1,
            head_hash,
            f"the chain ends before the anchored event #{anchor[0]} of {anchor_name} "
            "(newest events removed)",
            anchor[0],
        )
    return Verification(True, checked, expected_seq - 1, head_hash)


def head() -> tuple[int, str]:
    last = AuditEvent.objects.order_by("-seq").only("seq", "hash").first()
    return (last.seq, last.hash) if last else (0, GENESIS)
