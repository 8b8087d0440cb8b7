"""Append to the exchange log and verify it (hash chain, signatures, receipts as anchors).

Appends are serialised (SQLite: a file lock, then the transaction takes the write lock at
BEGIN; PostgreSQL: an advisory lock of its own), so the chain never forks. The work inside the
lock is small: read the head, hash, sign (Ed25519, ~50 us), insert; a delivered entry's
data-tracker records (one per person) go in with it, in one bulk insert.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db import connection, transaction
from django.utils import timezone

from datalux.audit.signing import signature_valid
from datalux.onceonly import keys, signals
from datalux.onceonly.models import ExchangeLogEntry, Outcome, TrackerRecord, Visibility
from datalux.onceonly.receipts import GENESIS, entry_hash, receipt, sign_entry, signed_bytes

_PG_LOCK_KEY = 7_401_315  # advisory lock serialising writers of the exchange log on PostgreSQL
_appending = threading.Lock()
_lock_fds: dict[Path, int] = {}  # the lock file's descriptor, opened once per process
logger = logging.getLogger("datalux.onceonly")


@dataclass
class Draft:
    """What an exchange records (filled in as the request is checked)."""

    outcome: str = str(Outcome.REFUSED)
    refusal_code: str = ""
    consumer: str = ""
    system: str = ""
    token_key_id: str = ""
    on_behalf_of: str = ""
    protocol: str = ""
    protocol_version: int | None = None
    purpose: str = ""
    items: list[str] = field(default_factory=list)
    case_reference: str = ""
    subjects: list[str] = field(default_factory=list)
    subject_count: int = 0
    visibility: str = str(Visibility.PUBLIC)
    visible_from: date | None = None
    # the bodies whose exchange system the caller is (checked against the protocol; not logged)
    exchange_orgs: set[int] = field(default_factory=set)
    # the pseudonyms (among ``subjects``) whose data were delivered: one tracker record each
    delivered_subjects: list[str] = field(default_factory=list)


@contextmanager
def _sqlite_file_lock() -> Iterator[None]:
    """On SQLite, writers of the log queue on a file lock before BEGIN: a blocked ``flock``
    wakes as soon as the holder lets go, where SQLite's busy handler polls with sleeps of 1 to
    100 ms (the tail of the latency under load). Threads of one process queue on ``_appending``
    first (one descriptor per process: ``flock`` does not separate its threads)."""
    if connection.vendor != "sqlite":
        yield
        return
    path = keys.signing_key_file().parent / "log.lock"  # beside the key: one per installation
    fd = _lock_fds.get(path)
    if fd is None:
        for old in _lock_fds.values():  # the settings moved the key (tests): one file at a time
            os.close(old)
        _lock_fds.clear()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = _lock_fds[path] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_PG_LOCK_KEY])


def append(draft: Draft) -> tuple[ExchangeLogEntry, dict[str, Any]]:
    """Write one entry; returns it and its signed receipt."""
    private = keys.signing_key()  # outside the lock: read once, cached
    with _appending, _sqlite_file_lock(), transaction.atomic():
        _lock()
        last = ExchangeLogEntry.objects.order_by("-seq").only("seq", "hash").first()
        entry = ExchangeLogEntry(
            seq=last.seq + 1 if last else 1,
            request_id=uuid.uuid4().hex,
            occurred_at=timezone.now(),
            outcome=draft.outcome,
            refusal_code=draft.refusal_code[:40],
            consumer_slug=draft.consumer[:80],
            system=draft.system[:150],
            token_key_id=draft.token_key_id[:16],
            on_behalf_of=draft.on_behalf_of[:100],
            protocol_reference=draft.protocol[:20],
            protocol_version=draft.protocol_version,
            purpose=draft.purpose[:80],
            items=list(draft.items),
            case_reference=draft.case_reference[:100],
            subjects=list(draft.subjects),
            subject_count=draft.subject_count,
            visibility=draft.visibility,
            visible_from=draft.visible_from,
            prev_hash=last.hash if last else GENESIS,
        )
        statement = entry.statement()
        entry.hash = entry_hash(statement)
        entry.key_id, entry.signature = sign_entry(private, entry.hash)
        entry.save(force_insert=True)
        if entry.outcome == Outcome.DELIVERED and draft.delivered_subjects:
            TrackerRecord.objects.bulk_create(_tracker_records(entry, draft.delivered_subjects))
    if entry.outcome == Outcome.DELIVERED and draft.delivered_subjects:
        if entry.visibility != Visibility.DEFERRED:  # deferred: told when visible (citizens)
            # outside the log's lock: at once, or when the caller's transaction commits
            subjects = list(dict.fromkeys(draft.delivered_subjects))
            transaction.on_commit(partial(_announce, entry.pk, subjects))
    return entry, receipt(statement, entry.hash, entry.key_id, entry.signature)


def _announce(entry_id: int, subjects: list[str]) -> None:
    """Send :data:`signals.tracker_records_visible`; a receiver's error never fails the
    exchange (logged by kind only: no pseudonym, no value)."""
    sent = signals.tracker_records_visible.send_robust(
        TrackerRecord, entry_id=entry_id, subjects=subjects
    )
    for receiver, result in sent:
        if isinstance(result, Exception):
            logger.error(
                "a receiver of the tracker records of entry %s failed: %s (%s)",
                entry_id, getattr(receiver, "__qualname__", receiver), type(result).__name__,
            )  # fmt: skip


def _tracker_records(entry: ExchangeLogEntry, subjects: Sequence[str]) -> list[TrackerRecord]:
    """One data-tracker record per person whose data the entry delivered (item 5)."""
    return [
        TrackerRecord(
            subject=subject,
            entry=entry,
            consumer_slug=entry.consumer_slug,
            protocol_reference=entry.protocol_reference,
            protocol_version=entry.protocol_version,
            purpose=entry.purpose,
            items=list(entry.items),
            occurred_at=entry.occurred_at,
            visible_from=entry.visible_from if entry.visibility == Visibility.DEFERRED else None,
        )
        for subject in dict.fromkeys(subjects)  # a person twice in a batch: one record
    ]


def receipt_of(entry: ExchangeLogEntry) -> dict[str, Any]:
    return receipt(entry.statement(), entry.hash, entry.key_id, entry.signature)


def _problem(
    entry: ExchangeLogEntry,
    expected: int,
    prev: str,
    trusted: dict[str, Ed25519PublicKey],
    wanted: dict[int, str],
) -> tuple[str, int | None]:
    """What is wrong with ``entry`` at its place in the chain ("" when nothing), and where."""
    if entry.seq != expected:
        what = "missing" if entry.seq > expected else "out of order"
        return f"entry #{expected} is {what} (next stored is #{entry.seq})", expected
    if entry.prev_hash != prev:
        return (
            "its link does not match the previous entry's hash (an entry before it was "
            "removed, inserted or reordered)",
            entry.seq,
        )
    if entry_hash(entry.statement()) != entry.hash:
        return "its content does not match its hash (the entry was edited)", entry.seq
    public = trusted.get(entry.key_id)
    if public is None:
        return f"it is signed with the unknown key {entry.key_id}", entry.seq
    if not signature_valid(public, signed_bytes(entry.hash), entry.signature):
        return (
            "its signature is not valid (the entry was rewritten without the signing key)",
            entry.seq,
        )
    if entry.seq in wanted and wanted[entry.seq] != entry.hash:
        return "its hash differs from the receipt given for it", entry.seq
    return "", None


@dataclass(frozen=True)
class LogVerification:
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    problem: str = ""
    seq: int | None = None  # the first entry found broken or missing

    def summary(self) -> str:
        if self.ok:
            return (
                f"exchange log intact: {self.checked} entries, head #{self.head_seq} "
                f"{self.head_hash}"
            )
        return f"exchange log BROKEN at entry #{self.seq}: {self.problem}"


def verify(
    *,
    anchors: Sequence[tuple[int, str]] = (),
    public_keys: dict[str, Ed25519PublicKey] | None = None,
) -> LogVerification:
    """Recompute every hash and link in order, check every signature, and check that each
    anchor (seq, hash) - from the receipts consumers hold - is in the log with that hash: a
    receipt is the proof, outside the database, that the entry existed."""
    trusted = keys.trusted_keys() if public_keys is None else public_keys
    wanted = dict(anchors)
    expected, prev, checked = 1, GENESIS, 0
    rows: Iterable[ExchangeLogEntry] = ExchangeLogEntry.objects.order_by("seq").iterator(
        chunk_size=5000
    )
    for entry in rows:
        problem, at = _problem(entry, expected, prev, trusted, wanted)
        if problem:
            return LogVerification(False, checked, entry.seq - 1, prev, problem, at)
        prev = entry.hash
        checked += 1
        expected += 1
    beyond = sorted(seq for seq in wanted if seq >= expected)
    if beyond:
        return LogVerification(
            False,
            checked,
            expected - 1,
            prev,
            f"the log ends before entry #{beyond[0]}, for which a receipt was given "
            "(newest entries removed)",
            beyond[0],
        )
    return LogVerification(True, checked, expected - 1, prev)
