"""Exchange-log entries as signed statements, and their offline check (no Django import).

An entry is a flat JSON object (:data:`ENTRY_KEYS`: who asked, on behalf of which official,
under which protocol, which items, which persons as keyed pseudonyms, the case reference, the
time, the outcome, the previous entry's hash). Its hash is
``SHA-256(canonical_json(entry))`` (sorted keys, no whitespace, UTF-8), and its signature is
Ed25519 over ``SIGNED_PREFIX + hash``. A receipt is ``{format, entry, hash, algorithm,
key_id, signature}``: whoever holds it and the public key can check, without the platform,
that the platform logged exactly this entry. ``datalux onceonly verify-receipt`` does that.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from datalux.audit.chain import canonical_json
from datalux.audit.signing import ALGORITHM, key_id, sign, signature_valid

FORMAT = "datalux-onceonly-receipt/1"
ENTRY_FORMAT = "datalux-onceonly-entry/1"
SIGNED_PREFIX = b"datalux-onceonly-entry/1\n"
GENESIS = "0" * 64
ENTRY_KEYS = frozenset(
    {
        "format",
        "seq",
        "request_id",
        "occurred_at",
        "outcome",
        "refusal_code",
        "consumer",
        "system",
        "token_key_id",
        "on_behalf_of",
        "protocol",
        "protocol_version",
        "purpose",
        "items",
        "case_reference",
        "subjects",
        "subject_count",
        "visibility",
        "visible_from",
        "prev_hash",
    }
)
_HASH = re.compile(r"[0-9a-f]{64}")
_KEY_ID = re.compile(r"[0-9a-f]{16}")


def entry_hash(entry: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(entry).encode("utf-8")).hexdigest()


def signed_bytes(digest: str) -> bytes:
    return SIGNED_PREFIX + digest.encode("ascii")


def sign_entry(private: Ed25519PrivateKey, digest: str) -> tuple[str, str]:
    """(key id, signature) of an entry's hash."""
    return key_id(private.public_key()), sign(private, signed_bytes(digest))


def receipt(entry: dict[str, Any], digest: str, key: str, signature: str) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "entry": entry,
        "hash": digest,
        "algorithm": ALGORITHM,
        "key_id": key,
        "signature": signature,
    }


class ReceiptError(Exception):
    """A receipt cannot be read or checked; the message says what is wrong (never the data)."""


@dataclass(frozen=True)
class ReceiptCheck:
    ok: bool
    problem: str = ""
    seq: int | None = None
    hash: str = ""

    def summary(self) -> str:
        if self.ok:
            return f"receipt valid: exchange-log entry #{self.seq} {self.hash}"
        return f"receipt NOT valid: {self.problem}"


def parse(text: str, source: str = "the receipt") -> dict[str, Any]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReceiptError(f"{source} is not JSON (line {exc.lineno})") from None
    if isinstance(document, dict) and "receipt" in document and "format" not in document:
        document = document["receipt"]  # the API's whole answer saved as it came
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ReceiptError(f"{source} is not a datalux Once Only receipt (format {FORMAT})")
    return document


def check(document: dict[str, Any], keys: dict[str, Ed25519PublicKey]) -> ReceiptCheck:
    """Whether ``document`` is a receipt of an entry signed by one of ``keys`` (id -> key)."""
    entry = document.get("entry")
    digest = document.get("hash")
    key = document.get("key_id")
    signature = document.get("signature")
    if not isinstance(entry, dict) or set(entry) != ENTRY_KEYS:
        return ReceiptCheck(False, "its entry is missing or has other fields than a log entry")
    seq = entry.get("seq") if isinstance(entry.get("seq"), int) else None
    if entry.get("format") != ENTRY_FORMAT:
        return ReceiptCheck(False, f"its entry is not of the format {ENTRY_FORMAT}", seq)
    if document.get("algorithm") != ALGORITHM:
        return ReceiptCheck(False, f"it is not signed with {ALGORITHM}", seq)
    if not isinstance(digest, str) or not _HASH.fullmatch(digest):
        return ReceiptCheck(False, "its hash is not 64 hexadecimal digits", seq)
    if entry_hash(entry) != digest:
        return ReceiptCheck(False, "its entry does not match its hash (the entry was changed)", seq)
    if not isinstance(key, str) or not _KEY_ID.fullmatch(key):
        return ReceiptCheck(False, "its key id is not 16 hexadecimal digits", seq)
    public = keys.get(key)
    if public is None:
        return ReceiptCheck(
            False,
            f"it names the key {key}, which is not among the public keys given: give the "
            "platform's published key (GET /api/v1/onceonly/keys) with --public-key",
            seq,
        )
    if not isinstance(signature, str) or not signature_valid(
        public, signed_bytes(digest), signature
    ):
        return ReceiptCheck(False, "its signature is not valid for its hash and key", seq)
    return ReceiptCheck(True, "", seq, digest)
