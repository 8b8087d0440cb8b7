"""The audit signing key (Ed25519): made once, kept outside the database, never exported.

The private key signs checkpoints of the audit chain (:mod:`datalux.audit.checkpoints`). Its
public key is published (``<key file>.pub``, the checkpoint folder's ``keys/<key id>.pem`` and
``GET /api/v1/audit/checkpoint``) so that anyone can check a checkpoint without the private key.

Pure functions on paths, no Django import: ``datalux audit keygen`` runs before the production
settings are complete (production refuses to start without the key).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "ALGORITHM",
    "SigningKeyError",
    "generate",
    "key_id",
    "load_private",
    "load_public",
    "public_key_file",
    "public_pem",
    "sign",
    "signature_valid",
    "write_exclusive",
]

ALGORITHM = "Ed25519"


class SigningKeyError(Exception):
    """The signing key (or a public key) cannot be used; ``hint`` says what to do."""

    def __init__(self, problem: str, hint: str) -> None:
        self.problem = problem
        self.hint = hint
        super().__init__(f"{problem}; fix: {hint}")


def key_id(public: Ed25519PublicKey) -> str:
    """A short public name of the key: the first 16 hex digits of SHA-256 of its 32 bytes."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public: Ed25519PublicKey) -> str:
    """The public key as PEM (SubjectPublicKeyInfo), the format of the published files."""
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def public_key_file(private_key_file: Path) -> Path:
    """Where the public key of ``private_key_file`` is written next to it (``<name>.pub``)."""
    return private_key_file.with_name(private_key_file.name + ".pub")


def write_exclusive(path: Path, data: bytes, mode: int) -> None:
    """Write a new file whole or not at all; :class:`FileExistsError` when it exists.

    Written to a temporary file in the same folder, then hard-linked into place (a link never
    replaces an existing file, so two writers cannot overwrite each other).
    """
    tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def generate(path: Path) -> Ed25519PrivateKey:
    """Make a new key in ``path`` (mode 0600, its folder 0700 when made) and its public key
    beside it (``<path>.pub``, 0644). Refuses to overwrite an existing key."""
    if path.exists():
        raise SigningKeyError(
            f"the audit signing key {path} already exists",
            "keep it (checkpoints signed with it stay verifiable); to rotate, move it away "
            "first and keep its public key published",
        )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    private = Ed25519PrivateKey.generate()
    body = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        write_exclusive(path, body, 0o600)
    except FileExistsError:
        raise SigningKeyError(
            f"the audit signing key {path} already exists", "keep the existing key"
        ) from None
    public_file = public_key_file(path)
    public_file.unlink(missing_ok=True)  # a stale .pub of a key moved away
    write_exclusive(public_file, public_pem(private.public_key()).encode("ascii"), 0o644)
    return private


def load_private(path: Path) -> Ed25519PrivateKey:
    """Read the private key file; :class:`SigningKeyError` says what is wrong and the fix."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise SigningKeyError(
            f"the audit signing key {path} does not exist",
            f"make it once with `datalux audit keygen --out {path}` (mode 0600), or point "
            "DATALUX_AUDIT_SIGNING_KEY to the existing key file",
        ) from None
    except OSError as exc:
        raise SigningKeyError(
            f"cannot read the audit signing key {path} ({exc.strerror})",
            "run datalux as the account that owns the key file",
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise SigningKeyError(
            f"the audit signing key {path} is not a regular file",
            "point DATALUX_AUDIT_SIGNING_KEY to the key file",
        )
    if info.st_mode & 0o077:
        raise SigningKeyError(
            f"the audit signing key {path} is readable by group or others "
            f"(mode {stat.S_IMODE(info.st_mode):04o})",
            f"restrict it: chmod 600 {path}",
        )
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError, UnsupportedAlgorithm):
        raise SigningKeyError(
            f"the audit signing key {path} is not an unencrypted PEM private key",
            "use the file written by `datalux audit keygen`",
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(
            f"the audit signing key {path} is not an Ed25519 key",
            "make one with `datalux audit keygen`",
        )
    return key


def load_public(path: Path) -> Ed25519PublicKey:
    """Read a published public key (PEM, as ``<key file>.pub`` or the API's ``pem``)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningKeyError(
            f"cannot read the public key {path} ({exc.strerror or exc})",
            "give the public key file (PEM) published with the checkpoints",
        ) from None
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise SigningKeyError(
            f"{path} is not a PEM public key",
            "give the public key (-----BEGIN PUBLIC KEY-----), never the private key file",
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(
            f"the public key {path} is not an Ed25519 key",
            "give the audit signing key's public key",
        )
    return key


def sign(private: Ed25519PrivateKey, data: bytes) -> str:
    """The Ed25519 signature of ``data`` in standard base64."""
    return base64.b64encode(private.sign(data)).decode("ascii")


def signature_valid(public: Ed25519PublicKey, data: bytes, signature: str) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        public.verify(raw, data)
    except InvalidSignature:
        return False
    return True
