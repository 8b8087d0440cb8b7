"""The audit chain: append, verify, and detection of edited, deleted and reordered events."""

from __future__ import annotations

import itertools

import pytest
from django.db import DatabaseError, connection, transaction

from datalux.audit.chain import GENESIS
from datalux.audit.kinds import DESCRIPTIONS, EventKind
from datalux.audit.log import head, record, verify
from datalux.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def _drop_triggers() -> None:
    """What an attacker with database-owner rights could do (inside the test transaction)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER audit_no_update")
            cursor.execute("DROP TRIGGER audit_no_delete")
        else:
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")


def _events(n: int) -> list[AuditEvent]:
    return [
        record(EventKind.ORGANISATION_CREATED, object_type="test", object_id=i, details={"i": i})
        for i in range(n)
    ]


def test_events_are_chained_and_verify() -> None:
    events = _events(5)
    assert events[0].seq == 1 and events[0].prev_hash == GENESIS
    for before, after in itertools.pairwise(events):
        assert after.prev_hash == before.hash
        assert after.seq == before.seq + 1
    result = verify()
    assert result.ok, result.summary()
    assert result.checked == 5
    assert head() == (5, events[-1].hash)


def test_database_refuses_update_and_delete() -> None:
    (event,) = _events(1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(kind="user.logged_in")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).kind == EventKind.ORGANISATION_CREATED


def test_verify_detects_an_edited_event() -> None:
    _events(4)
    _drop_triggers()
    AuditEvent.objects.filter(seq=3).update(details_json='{"i":99}')
    result = verify()
    assert not result.ok
    assert result.seq == 3
    assert "edited" in result.problem


def test_verify_detects_a_deleted_event() -> None:
    _events(4)
    _drop_triggers()
    AuditEvent.objects.filter(seq=2).delete()
    result = verify()
    assert not result.ok
    assert result.seq == 2
    assert "missing" in result.problem


def test_verify_detects_reordered_events() -> None:
    _events(4)
    _drop_triggers()
    # Swap the positions of events 2 and 3 (seq is unique: go through a free number).
    AuditEvent.objects.filter(seq=2).update(seq=1000)
    AuditEvent.objects.filter(seq=3).update(seq=2)
    AuditEvent.objects.filter(seq=1000).update(seq=3)
    result = verify()
    assert not result.ok
    assert result.seq == 2
    assert "link" in result.problem


def test_verify_detects_a_rewritten_suffix_only_with_an_anchor() -> None:
    _events(4)
    anchor = head()
    _drop_triggers()
    AuditEvent.objects.filter(seq=4).delete()  # remove the newest event: the chain stays valid
    assert verify().ok
    result = verify(anchor=anchor)
    assert not result.ok
    assert "anchored" in result.problem


def test_details_never_carry_protected_values() -> None:
    with pytest.raises(ValueError, match="national_id"):
        record(EventKind.ACCESS_DENIED, details={"national_id": "1980010112345"})
    with pytest.raises(ValueError, match="floats"):
        record(EventKind.ACCESS_DENIED, details={"score": 0.5})
    assert AuditEvent.objects.count() == 0


def test_every_event_kind_is_documented() -> None:
    assert set(DESCRIPTIONS) == set(EventKind)
    assert all(len(text) > 10 for text in DESCRIPTIONS.values())


def test_an_unknown_event_kind_is_refused() -> None:
    """The kind column has no choices: ``record`` is what keeps it to ``EventKind``."""
    with pytest.raises(ValueError, match="not a valid EventKind"):
        record("access.made_up", details={})  # type: ignore[arg-type]
    assert AuditEvent.objects.count() == 0
