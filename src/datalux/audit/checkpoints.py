"""Signed checkpoints of the audit chain: an anchor that database rights alone cannot forge.

A checkpoint is the statement ``{format, seq, head_hash, event_count, created_at, key_id}``,
signed with Ed25519 (:mod:`datalux.audit.signing`) over its canonical JSON. It is kept in the
table :class:`~datalux.audit.models.AuditCheckpoint` and published as a file
``<DATALUX_AUDIT_CHECKPOINT_DIR>/NNNNNNNN.json`` (the head's event number), with the public
key beside them as ``keys/<key id>.pem``. Whoever rewrites the history before a checkpoint
changes the hash of its event, even when every later hash is recomputed; whoever removes the
events after it removes its record (the event just after it, ``audit.checkpoint_written``).

The files are the anchor outside the database: :func:`latest` takes the newest of the table
and the folder, so deleting rows hides nothing. See docs/adr/0014-audit-anchoring.md.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings

from datalux.audit.chain import GENESIS, canonical_json, timestamp
from datalux.audit.kinds import EventKind
from datalux.audit.log import Verification, verify
from datalux.audit.models import AuditCheckpoint, AuditEvent
from datalux.audit.signing import (
    ALGORITHM,
    SigningKeyError,
    generate,
    key_id,
    load_private,
    load_public,
    public_key_file,
    public_pem,
    sign,
    signature_valid,
    write_exclusive,
)

__all__ = [
    "FORMAT",
    "Checkpoint",
    "CheckpointError",
    "check",
    "check_signature",
    "current_public_key",
    "folder",
    "latest",
    "publish",
    "read_file",
    "sign_head",
    "signing_key",
    "trusted_keys",
]

logger = logging.getLogger("datalux.audit")

FORMAT = "datalux-audit-checkpoint/1"
_FILE_RE = re.compile(r"(\d{8,})\.json")
_HASH_RE = re.compile(r"[0-9a-f]{64}")
_KEY_ID_RE = re.compile(r"[0-9a-f]{16}")
_STATEMENT_KEYS = frozenset({"format", "seq", "head_hash", "event_count", "created_at", "key_id"})


class CheckpointError(Exception):
    """A checkpoint file cannot be read or published; the message names the file and why."""


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    head_hash: str
    event_count: int
    created_at: str  # UTC ISO-8601 text, as signed
    key_id: str
    signature: str  # Ed25519 over canonical_json(statement), standard base64

    def statement(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "seq": self.seq,
            "head_hash": self.head_hash,
            "event_count": self.event_count,
            "created_at": self.created_at,
            "key_id": self.key_id,
        }

    def signed_bytes(self) -> bytes:
        return canonical_json(self.statement()).encode("utf-8")

    def document(self) -> dict[str, Any]:
        """The file's content and the API's ``checkpoint``: the same JSON object."""
        return {"statement": self.statement(), "algorithm": ALGORITHM, "signature": self.signature}

    def to_json(self) -> str:
        return json.dumps(self.document(), indent=2, sort_keys=True) + "\n"

    @property
    def file_name(self) -> str:
        return f"{self.seq:08d}.json"

    @classmethod
    def from_row(cls, row: AuditCheckpoint) -> Checkpoint:
        return cls(
            seq=row.seq,
            head_hash=row.head_hash,
            event_count=row.event_count,
            created_at=timestamp(row.created_at),
            key_id=row.key_id,
            signature=row.signature,
        )

    @classmethod
    def parse(cls, document: Any, *, source: str) -> Checkpoint:
        """Read the file/API form; :class:`CheckpointError` names what is wrong."""

        def bad(what: str) -> CheckpointError:
            return CheckpointError(f"{source} is not a datalux audit checkpoint: {what}")

        if not isinstance(document, dict):
            raise bad("expected a JSON object")
        statement = document.get("statement")
        signature = document.get("signature")
        if not isinstance(statement, dict) or set(statement) != _STATEMENT_KEYS:
            raise bad(f"'statement' must hold exactly {', '.join(sorted(_STATEMENT_KEYS))}")
        if document.get("algorithm", ALGORITHM) != ALGORITHM:
            raise bad(f"'algorithm' must be {ALGORITHM}")
        if not isinstance(signature, str) or not signature:
            raise bad("'signature' (base64) is missing")
        if statement["format"] != FORMAT:
            raise bad(f"'format' is {statement['format']!r}, not {FORMAT!r}")
        for name in ("seq", "event_count"):
            value = statement[name]
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise bad(f"'{name}' must be a positive whole number")
        if not isinstance(statement["head_hash"], str) or not _HASH_RE.fullmatch(
            statement["head_hash"]
        ):
            raise bad("'head_hash' must be 64 lowercase hex digits")
        if not isinstance(statement["key_id"], str) or not _KEY_ID_RE.fullmatch(
            statement["key_id"]
        ):
            raise bad("'key_id' must be 16 lowercase hex digits")
        if not isinstance(statement["created_at"], str):
            raise bad("'created_at' must be a UTC time as text")
        return cls(
            seq=statement["seq"],
            head_hash=statement["head_hash"],
            event_count=statement["event_count"],
            created_at=statement["created_at"],
            key_id=statement["key_id"],
            signature=signature,
        )


# -- keys ---------------------------------------------------------------------------------


def folder() -> Path:
    return Path(settings.DATALUX_AUDIT_CHECKPOINT_DIR)


def _key_file() -> Path:
    return Path(settings.DATALUX_AUDIT_SIGNING_KEY)


def signing_key() -> Ed25519PrivateKey:
    """The configured private key. Outside production it is made on first use; production
    refuses to start without it (:mod:`datalux.audit.apps`)."""
    path = _key_file()
    if not path.exists() and settings.DATALUX_MODE != "production":
        generate(path)
        logger.warning("made an audit signing key for development: %s", path)
    return load_private(path)


def current_public_key() -> Ed25519PublicKey | None:
    """The configured key's public half (from the key file, else its ``.pub``); None when
    there is no key yet. Never makes one."""
    path = _key_file()
    try:
        return load_private(path).public_key()
    except SigningKeyError:
        pass
    published = public_key_file(path)
    if published.exists():
        try:
            return load_public(published)
        except SigningKeyError as exc:
            logger.warning("audit public key not usable: %s", exc)
    return None


def trusted_keys() -> dict[str, Ed25519PublicKey]:
    """Key id -> public key: the configured key and every key published in ``keys/`` (the
    keys of earlier checkpoints after a rotation). Ids are recomputed, never read from names."""
    keys: dict[str, Ed25519PublicKey] = {}
    keys_dir = folder() / "keys"
    if keys_dir.is_dir():
        for pem in sorted(keys_dir.glob("*.pem")):
            try:
                public = load_public(pem)
            except SigningKeyError as exc:
                logger.warning("ignored a published audit key: %s", exc)
                continue
            keys[key_id(public)] = public
    current = current_public_key()
    if current is not None:
        keys[key_id(current)] = current
    return keys


# -- files --------------------------------------------------------------------------------


def read_file(path: Path) -> Checkpoint:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise CheckpointError(f"cannot read the checkpoint file {path} ({reason})") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CheckpointError(
            f"{path} is not a datalux audit checkpoint: not JSON (line {exc.lineno})"
        ) from None
    return Checkpoint.parse(document, source=str(path))


def _newest_file() -> Checkpoint | None:
    directory = folder()
    if not directory.is_dir():
        return None
    numbered = [
        (int(match.group(1)), path)
        for path in directory.iterdir()
        if (match := _FILE_RE.fullmatch(path.name)) is not None
    ]
    if not numbered:
        return None
    _, path = max(numbered)
    return read_file(path)


def latest() -> Checkpoint | None:
    """The newest checkpoint of the table and the folder (the file when both have it)."""
    row = AuditCheckpoint.objects.order_by("-seq").first()
    in_table = Checkpoint.from_row(row) if row is not None else None
    in_folder = _newest_file()
    if in_table is None or (in_folder is not None and in_folder.seq >= in_table.seq):
        return in_folder
    return in_table


def publish(checkpoint: Checkpoint, public: Ed25519PublicKey) -> Path:
    """Write the checkpoint's file (0644, never replaced) and its public key ``keys/ID.pem``.

    An existing file with other content is an error: the file outside the database wins and
    the difference means the stored row was altered."""
    directory = folder()
    (directory / "keys").mkdir(parents=True, exist_ok=True, mode=0o755)
    key_path = directory / "keys" / f"{key_id(public)}.pem"
    if not key_path.exists():
        try:
            write_exclusive(key_path, public_pem(public).encode("ascii"), 0o644)
        except FileExistsError:
            pass
    path = directory / checkpoint.file_name
    try:
        write_exclusive(path, checkpoint.to_json().encode("utf-8"), 0o644)
    except FileExistsError:
        if read_file(path) != checkpoint:
            raise CheckpointError(
                f"the published checkpoint {path} differs from the one in the database: "
                "the stored checkpoint was altered (the file is the reference)"
            ) from None
    return path


def sign_head(
    private: Ed25519PrivateKey, *, seq: int, head_hash: str, event_count: int, at: datetime
) -> Checkpoint:
    unsigned = Checkpoint(
        seq=seq,
        head_hash=head_hash,
        event_count=event_count,
        created_at=timestamp(at),
        key_id=key_id(private.public_key()),
        signature="",
    )
    return replace(unsigned, signature=sign(private, unsigned.signed_bytes()))


# -- verification -------------------------------------------------------------------------


def check_signature(checkpoint: Checkpoint, public: Ed25519PublicKey) -> bool:
    """Whether ``public`` is the checkpoint's key and its signature is valid."""
    return key_id(public) == checkpoint.key_id and signature_valid(
        public, checkpoint.signed_bytes(), checkpoint.signature
    )


def _records(event: AuditEvent | None, checkpoint: Checkpoint) -> bool:
    if event is None or event.kind != EventKind.AUDIT_CHECKPOINT_WRITTEN:
        return False
    details = event.details
    return details.get("seq") == checkpoint.seq and details.get("head_hash") == (
        checkpoint.head_hash
    )


def check(
    checkpoint: Checkpoint, *, keys: Mapping[str, Ed25519PublicKey], full: bool = True
) -> Verification:
    """Check ``checkpoint`` against the database.

    1. It is signed by one of ``keys`` and its signature is valid.
    2. The event at its number has its hash (a rewrite before it is caught, even with every
       later hash recomputed), and the event after it is its record (removing the events after
       it is caught).
    3. The chain is intact: the whole chain (``full``), or from the checkpoint on.

    A failed step 1 answers ``seq=None`` ("checkpoint REFUSED"); the others name the event.
    """
    name = f"signed checkpoint #{checkpoint.seq}"

    def refused(problem: str) -> Verification:
        return Verification(False, 0, 0, GENESIS, problem, None, checkpoint.seq)

    public = keys.get(checkpoint.key_id)
    if public is None:
        trusted = ", ".join(sorted(keys)) or "none"
        return refused(
            f"checkpoint #{checkpoint.seq} is signed with key {checkpoint.key_id}, which is not "
            f"a trusted public key (trusted: {trusted}); give the public key that signed it"
        )
    if not check_signature(checkpoint, public):
        return refused(
            f"the signature of checkpoint #{checkpoint.seq} is not valid for key "
            f"{checkpoint.key_id} (the checkpoint was forged or altered)"
        )
    if checkpoint.event_count != checkpoint.seq:
        return refused(
            f"checkpoint #{checkpoint.seq} states {checkpoint.event_count} events: datalux "
            "signs only a complete chain (as many events as the head's number)"
        )
    anchor = (checkpoint.seq, checkpoint.head_hash)
    result = (
        verify(anchor=anchor, anchor_name=name) if full else verify(since=anchor, anchor_name=name)
    )
    if not result.ok:
        return replace(result, checkpoint_seq=checkpoint.seq)
    following = AuditEvent.objects.filter(seq=checkpoint.seq + 1).first()
    if not _records(following, checkpoint):
        what = "is missing" if following is None else "is another event"
        return Verification(
            False,
            result.checked,
            checkpoint.seq,
            checkpoint.head_hash,
            f"the record of {name} {what}: the events after the checkpoint were removed "
            "or replaced",
            checkpoint.seq + 1,
            checkpoint.seq,
        )
    return replace(result, checkpoint_seq=checkpoint.seq)
