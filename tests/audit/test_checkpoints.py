"""Signed checkpoints anchor the chain: a rewritten, truncated or forged history is caught.

The attacker here has the database (drops the triggers, edits rows, recomputes every hash) but
not the signing key nor the published checkpoint files, which live outside the database.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import DatabaseError, connection, transaction

from datalux.audit import checkpoints
from datalux.audit.actions import CheckpointRefused, run_verification, write_checkpoint
from datalux.audit.chain import canonical_json, event_hash
from datalux.audit.checkpoints import Checkpoint, check, latest, read_file, sign_head
from datalux.audit.kinds import EventKind
from datalux.audit.log import head, record, verify
from datalux.audit.models import AuditCheckpoint, AuditEvent
from datalux.audit.signing import key_id

pytestmark = pytest.mark.django_db


def _events(n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        record(EventKind.ORGANISATION_CREATED, object_type="test", object_id=i, details={"i": i})


def _drop_triggers() -> None:
    """What an attacker with database-owner rights could do (inside the test transaction)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for name in (
                "audit_no_update",
                "audit_no_delete",
                "audit_checkpoint_no_update",
                "audit_checkpoint_no_delete",
            ):
                cursor.execute(f"DROP TRIGGER {name}")
        else:
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
            cursor.execute("ALTER TABLE audit_auditcheckpoint DISABLE TRIGGER USER")


def _rewrite_history(seq: int, details: dict[str, Any]) -> None:
    """Edit event ``seq`` and recompute every hash and link after it: the chain stays valid."""
    _drop_triggers()
    prev = AuditEvent.objects.get(seq=seq).prev_hash
    for event in AuditEvent.objects.filter(seq__gte=seq).order_by("seq"):
        if event.seq == seq:
            event.details_json = canonical_json(details)
        digest = event_hash(
            seq=event.seq,
            occurred_at=event.occurred_at,
            kind=event.kind,
            actor_id=event.actor_id,
            actor_label=event.actor_label,
            organisation_id=event.organisation_id,
            object_type=event.object_type,
            object_id=event.object_id,
            details_json=event.details_json,
            prev_hash=prev,
        )
        AuditEvent.objects.filter(pk=event.pk).update(
            details_json=event.details_json, prev_hash=prev, hash=digest
        )
        prev = digest


@pytest.fixture
def signed() -> Checkpoint:
    """Five events, a checkpoint of them (its record is event #6), then three more events."""
    _events(5)
    checkpoint, new = write_checkpoint()
    assert new and checkpoint is not None and checkpoint.seq == 5
    _events(3, start=5)
    return checkpoint


def test_a_checkpoint_is_signed_stored_recorded_and_published(
    signed: Checkpoint, settings: Any
) -> None:
    row = AuditCheckpoint.objects.get()
    assert Checkpoint.from_row(row) == signed
    assert signed.head_hash == AuditEvent.objects.get(seq=5).hash and signed.event_count == 5
    recorded = AuditEvent.objects.get(seq=6)
    assert recorded.kind == EventKind.AUDIT_CHECKPOINT_WRITTEN
    assert recorded.details == {"seq": 5, "head_hash": signed.head_hash, "key_id": signed.key_id}
    # The file outside the database, the public key beside it, the private key 0600.
    folder = Path(settings.DATALUX_AUDIT_CHECKPOINT_DIR)
    published = folder / "00000005.json"
    assert read_file(published) == signed
    assert stat.S_IMODE(published.stat().st_mode) == 0o644
    assert json.loads(published.read_text())["statement"]["head_hash"] == signed.head_hash
    assert (
        (folder / "keys" / f"{signed.key_id}.pem")
        .read_text()
        .startswith("-----BEGIN PUBLIC KEY-----")
    )
    key_file = Path(settings.DATALUX_AUDIT_SIGNING_KEY)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    result = run_verification(latest_checkpoint=True)
    assert result.ok and result.checkpoint_seq == 5, result.summary()
    assert "signed checkpoint #5" in result.summary()


def test_an_idle_chain_is_not_signed_again(signed: Checkpoint) -> None:
    latest_one, new = write_checkpoint()
    assert new and latest_one is not None and latest_one.seq == 9  # 5 + its record + 3
    again, new = write_checkpoint()
    assert not new and again == latest_one
    assert AuditCheckpoint.objects.count() == 2
    assert AuditEvent.objects.order_by("-seq").first().seq == 10  # no event for the idle run


def test_a_rewritten_history_passes_the_chain_but_not_the_checkpoint(signed: Checkpoint) -> None:
    _rewrite_history(2, {"i": 99})
    assert verify().ok  # the unkeyed chain alone cannot tell
    result = run_verification(latest_checkpoint=True)
    assert not result.ok
    assert result.seq == 5 and result.checkpoint_seq == 5
    assert "differs from signed checkpoint #5" in result.problem
    assert "BROKEN at event #5" in result.summary()
    verified = AuditEvent.objects.order_by("-seq").first()
    assert verified.kind == EventKind.AUDIT_VERIFIED
    assert verified.details["ok"] is False and verified.details["checkpoint_seq"] == 5


def test_deleting_the_stored_checkpoints_hides_nothing(signed: Checkpoint) -> None:
    _rewrite_history(2, {"i": 99})
    AuditCheckpoint.objects.all().delete()  # the published file stays outside the database
    assert latest() == signed
    assert not run_verification(latest_checkpoint=True).ok


def test_the_next_checkpoint_refuses_to_sign_a_rewritten_history(signed: Checkpoint) -> None:
    _rewrite_history(3, {"i": 42})
    with pytest.raises(CheckpointRefused) as refused:
        write_checkpoint()
    assert refused.value.verification.seq == 5
    assert AuditCheckpoint.objects.count() == 1
    last = AuditEvent.objects.order_by("-seq").first()
    assert last.kind == EventKind.AUDIT_CHECKPOINT_REFUSED
    assert last.details["checkpoint_seq"] == 5 and last.details["first_bad_seq"] == 5


def test_removing_the_events_after_a_checkpoint_is_detected(signed: Checkpoint) -> None:
    _drop_triggers()
    AuditEvent.objects.filter(seq__gt=5).delete()  # the checkpoint's record goes with them
    assert verify().ok and head()[0] == 5
    result = run_verification(latest_checkpoint=True)
    assert not result.ok and result.seq == 6
    assert "record of signed checkpoint #5 is missing" in result.problem


def test_events_after_a_checkpoint_replaced_are_detected(signed: Checkpoint) -> None:
    _drop_triggers()
    AuditEvent.objects.filter(seq__gt=5).delete()
    _events(4, start=50)  # new, valid events where the removed ones were
    assert verify().ok
    result = run_verification(latest_checkpoint=True)
    assert not result.ok and "is another event" in result.problem
    with pytest.raises(CheckpointRefused):
        write_checkpoint()


def test_a_chain_truncated_before_the_checkpoint_is_detected(signed: Checkpoint) -> None:
    _drop_triggers()
    AuditEvent.objects.filter(seq__gte=4).delete()
    assert verify().ok and head()[0] == 3
    result = run_verification(latest_checkpoint=True)
    assert not result.ok and result.seq == 5
    assert "ends before the anchored event #5 of signed checkpoint #5" in result.problem


def test_a_checkpoint_signed_with_another_key_is_refused(signed: Checkpoint) -> None:
    _rewrite_history(2, {"i": 99})
    seq, digest = head()
    forged = sign_head(
        Ed25519PrivateKey.generate(), seq=seq, head_hash=digest, event_count=seq, at=_now()
    )
    result = check(forged, keys=checkpoints.trusted_keys())
    assert not result.ok and result.seq is None and result.checkpoint_seq == seq
    assert f"signed with key {forged.key_id}, which is not a trusted public key" in result.problem
    assert result.summary().startswith("audit checkpoint REFUSED:")


def test_an_altered_checkpoint_fails_its_signature(signed: Checkpoint) -> None:
    _rewrite_history(2, {"i": 99})
    altered = Checkpoint(**{**signed.__dict__, "head_hash": AuditEvent.objects.get(seq=5).hash})
    result = check(altered, keys=checkpoints.trusted_keys())
    assert not result.ok and "signature of checkpoint #5 is not valid" in result.problem
    # A forged row in the table is refused the same way, and blocks the next checkpoint.
    AuditCheckpoint.objects.create(
        seq=7,
        head_hash=AuditEvent.objects.get(seq=7).hash,
        event_count=7,
        created_at=_now(),
        key_id=signed.key_id,
        signature=signed.signature,
    )
    assert "not valid" in run_verification(latest_checkpoint=True).problem
    with pytest.raises(CheckpointRefused):
        write_checkpoint()


def test_an_altered_stored_checkpoint_is_caught_by_its_file(signed: Checkpoint) -> None:
    _drop_triggers()
    AuditCheckpoint.objects.update(head_hash="f" * 64)
    assert latest() == signed  # the published file is the reference
    altered = Checkpoint.from_row(AuditCheckpoint.objects.get())
    with pytest.raises(checkpoints.CheckpointError, match="differs from the one in the database"):
        checkpoints.publish(altered, checkpoints.signing_key().public_key())


def test_checkpoints_are_append_only_in_the_database(signed: Checkpoint) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditCheckpoint.objects.update(head_hash="0" * 64)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditCheckpoint.objects.all().delete()


def test_the_checkpoint_key_id_is_the_signing_key(signed: Checkpoint) -> None:
    assert signed.key_id == key_id(checkpoints.signing_key().public_key())
    assert set(checkpoints.trusted_keys()) == {signed.key_id}


def test_an_empty_log_has_nothing_to_sign() -> None:
    assert write_checkpoint() == (None, False)
    assert AuditCheckpoint.objects.count() == 0


def _now() -> Any:
    from django.utils import timezone

    return timezone.now()
