from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db import transaction
from django.utils import timezone

from datalux.audit import checkpoints
from datalux.audit.chain import GENESIS
from datalux.audit.checkpoints import Checkpoint, CheckpointError
from datalux.audit.kinds import EventKind
from datalux.audit.log import Verification, head, lock_chain, record, verify
from datalux.audit.models import AuditCheckpoint, AuditEvent
from datalux.audit.signing import key_id

# The hourly task (datalux.audit.tasks): its own task.finished events are not news to sign.
CHECKPOINT_TASK = "audit.write_checkpoint"


class CheckpointRefused(Exception):
    """No checkpoint was signed: the chain does not extend the latest one (recorded)."""

    def __init__(self, verification: Verification) -> None:
        self.verification = verification
        super().__init__(verification.summary())


def run_verification(
    *,
    by: Any = None,
    anchor: tuple[int, str] | None = None,
    checkpoint: Checkpoint | None = None,
    latest_checkpoint: bool = False,
    public_key: Ed25519PublicKey | None = None,
) -> Verification:
    """Verify the chain, then record the outcome as a new event (after reading the chain).

    Against ``anchor`` (SEQ:HASH kept outside), ``checkpoint`` (a signed checkpoint, e.g. a file
    an auditor kept) or, with ``latest_checkpoint``, the newest checkpoint of the table and the
    published files (none yet: the chain alone). The checkpoint's signature is checked with
    ``public_key``, else with the configured and published keys.
    """
    if anchor is not None and (checkpoint is not None or latest_checkpoint):
        raise ValueError("verify against an anchor or a checkpoint, not both")
    result: Verification | None = None
    if checkpoint is None and latest_checkpoint:
        try:
            checkpoint = checkpoints.latest()
        except CheckpointError as exc:
            result = Verification(False, 0, 0, GENESIS, str(exc))
    if result is None:
        if checkpoint is not None:
            keys = (
                {key_id(public_key): public_key}
                if public_key is not None
                else checkpoints.trusted_keys()
            )
            result = checkpoints.check(checkpoint, keys=keys)
        else:
            result = verify(anchor=anchor)
    record(
        EventKind.AUDIT_VERIFIED,
        actor=by,
        details={
            "ok": result.ok,
            "checked": result.checked,
            "first_bad_seq": result.seq,
            "checkpoint_seq": result.checkpoint_seq,
        },
    )
    return result


def write_checkpoint(*, by: Any = None) -> tuple[Checkpoint | None, bool]:
    """Sign the chain's head as a checkpoint; return it and whether it is new.

    Safe to repeat (the hourly task, ``datalux audit checkpoint``):

    1. Lock the chain (nothing is appended meanwhile) and read its head; an empty chain has
       nothing to sign (None, False).
    2. Nothing new since the latest checkpoint (table or files) but its own record and the
       hourly task's ``task.finished``: return it, not signed again (False).
    3. Check that the chain extends the latest checkpoint (its signature, the hash of its
       event, its record, every event after it, and as many events as the head's number);
       the whole chain when there is none yet. If not, record ``audit.checkpoint_refused`` and
       raise :class:`CheckpointRefused`: a rewritten history is never signed.
    4. Sign, store the row and record ``audit.checkpoint_written`` (the next event), in one
       transaction.
    5. After the commit, publish the file ``NNNNNNNN.json`` and ``keys/<key id>.pem``
       (repeated for a latest checkpoint whose file is missing).
    """
    private = checkpoints.signing_key()
    public = private.public_key()
    keys = checkpoints.trusted_keys() | {key_id(public): public}
    refused: Verification | None = None
    result: Checkpoint | None = None
    new = False
    with transaction.atomic():
        lock_chain()
        previous = checkpoints.latest()
        seq, digest = head()
        if seq == 0:
            return None, False
        news = (
            AuditEvent.objects.filter(seq__gt=previous.seq if previous else 0)
            .exclude(kind=EventKind.AUDIT_CHECKPOINT_WRITTEN)
            .exclude(kind=EventKind.TASK_FINISHED, object_id=CHECKPOINT_TASK)
        )
        if previous is not None and previous.seq < seq and not news.exists():
            result = previous
        else:
            refused = _refusal(previous, keys, seq=seq, digest=digest)
            if refused is None:
                now = timezone.now()
                result = checkpoints.sign_head(
                    private, seq=seq, head_hash=digest, event_count=seq, at=now
                )
                AuditCheckpoint.objects.create(
                    seq=result.seq,
                    head_hash=result.head_hash,
                    event_count=result.event_count,
                    created_at=now,
                    key_id=result.key_id,
                    signature=result.signature,
                )
                record(
                    EventKind.AUDIT_CHECKPOINT_WRITTEN,
                    actor=by,
                    object_type="audit.checkpoint",
                    object_id=result.seq,
                    details={
                        "seq": result.seq,
                        "head_hash": result.head_hash,
                        "key_id": result.key_id,
                    },
                )
                new = True
    if refused is not None:
        record(
            EventKind.AUDIT_CHECKPOINT_REFUSED,
            actor=by,
            object_type="audit.checkpoint",
            object_id=refused.checkpoint_seq or "",
            details={
                "problem": refused.problem,
                "first_bad_seq": refused.seq,
                "checkpoint_seq": refused.checkpoint_seq,
            },
        )
        raise CheckpointRefused(refused)
    assert result is not None
    if new or not (checkpoints.folder() / result.file_name).exists():
        signer = keys.get(result.key_id)
        if signer is not None and checkpoints.check_signature(result, signer):
            checkpoints.publish(result, signer)
    return result, new


def _refusal(
    previous: Checkpoint | None,
    keys: dict[str, Ed25519PublicKey],
    *,
    seq: int,
    digest: str,
) -> Verification | None:
    """Why the head ``seq``/``digest`` must not be signed; None when it extends ``previous``."""
    check = checkpoints.check(previous, keys=keys, full=False) if previous else verify()
    if not check.ok:
        return check
    count = AuditEvent.objects.filter(seq__lte=seq).count()
    if count != seq:
        return Verification(
            False,
            count,
            seq,
            digest,
            f"the chain holds {count} events up to #{seq}: events before the latest "
            "checkpoint are missing",
            previous.seq if previous else 1,
            previous.seq if previous else None,
        )
    return None
