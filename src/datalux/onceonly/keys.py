"""The exchange log's two keys, both in files outside the database (never in a row, never logged).

* The **signing key** (Ed25519, ``DATALUX_ONCEONLY_SIGNING_KEY``, PEM PKCS#8, mode 0600) signs
  every log entry and so every receipt. Its public key is written beside it (``<file>.pub``)
  and published as ``<key folder>/keys/<key id>.pem`` (kept after a rotation, so old receipts
  stay verifiable) and at ``GET /api/v1/onceonly/keys``.
* The **pseudonym key** (``DATALUX_ONCEONLY_PSEUDONYM_KEY``, the privacy library's key-file
  format: one line of base64, mode 0600) is dedicated to the log: persons are recorded as
  ``HMAC-SHA256`` pseudonyms in the domain ``onceonly:exchange-log`` under it, never by their
  national number. It is not the trusted third party's master key, so whoever runs the
  exchange service cannot derive any research project's pseudonyms, and the reverse.

Outside production both are made on first use; production refuses to start without them
(:mod:`datalux.onceonly.apps`), and ``datalux onceonly keygen`` makes them.
"""

from __future__ import annotations

import logging
import stat
import threading
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings

from datalux.audit.signing import key_id, public_key_file, public_pem, write_exclusive
from datalux.privacy import DomainKeys, KeyMaterialError, load_master_key, write_key_file

logger = logging.getLogger("datalux.onceonly")

PSEUDONYM_DOMAIN = "onceonly:exchange-log"

_lock = threading.Lock()
_cache: dict[tuple[str, str, int], object] = {}


class ExchangeKeyError(Exception):
    """A key of the exchange log cannot be used; the message says which and what to do."""


def signing_key_file() -> Path:
    return Path(settings.DATALUX_ONCEONLY_SIGNING_KEY)


def pseudonym_key_file() -> Path:
    return Path(settings.DATALUX_ONCEONLY_PSEUDONYM_KEY)


def published_keys_dir() -> Path:
    return signing_key_file().parent / "keys"


def _check_file(path: Path, setting: str) -> int:
    """The file's mtime (ns) once it is a private regular file; ExchangeKeyError otherwise."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ExchangeKeyError(
            f"the exchange-log key {path} does not exist: make it with "
            f"`datalux onceonly keygen`, or point {setting} to the existing key file"
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise ExchangeKeyError(f"the exchange-log key {path} is not a regular file")
    if info.st_mode & 0o077:
        raise ExchangeKeyError(
            f"the exchange-log key {path} is readable by group or others: chmod 600 {path}"
        )
    return info.st_mtime_ns


def generate_signing_key(path: Path) -> Ed25519PrivateKey:
    """A new Ed25519 key in ``path`` (0600) with its public key beside it and published."""
    if path.exists():
        raise ExchangeKeyError(
            f"the exchange-log signing key {path} already exists: keep it (receipts signed with "
            "it stay verifiable); to rotate, move it away first and keep its public key published"
        )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    private = Ed25519PrivateKey.generate()
    body = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_exclusive(path, body, 0o600)
    public_file = public_key_file(path)
    public_file.unlink(missing_ok=True)  # a stale .pub of a key moved away
    write_exclusive(public_file, public_pem(private.public_key()).encode("ascii"), 0o644)
    publish(private.public_key(), path.parent / "keys")
    return private


def generate_pseudonym_key(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        write_key_file(path)
    except KeyMaterialError as exc:
        raise ExchangeKeyError(str(exc)) from None


def publish(public: Ed25519PublicKey, folder: Path | None = None) -> Path:
    """Write ``keys/<key id>.pem`` beside the key file (never replaced)."""
    folder = folder or published_keys_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o755)
    target = folder / f"{key_id(public)}.pem"
    if not target.exists():
        try:
            write_exclusive(target, public_pem(public).encode("ascii"), 0o644)
        except FileExistsError:
            pass
    return target


def _development() -> bool:
    return getattr(settings, "DATALUX_MODE", "development") != "production"


def signing_key() -> Ed25519PrivateKey:
    """The configured signing key (read once per change of the file)."""
    path = signing_key_file()
    with _lock:
        if not path.exists() and _development():
            generate_signing_key(path)
            logger.warning("made an exchange-log signing key for development: %s", path)
        mtime = _check_file(path, "DATALUX_ONCEONLY_SIGNING_KEY")
        cache_key = ("signing", str(path), mtime)
        cached = _cache.get(cache_key)
        if isinstance(cached, Ed25519PrivateKey):
            return cached
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError, TypeError, UnsupportedAlgorithm):
            raise ExchangeKeyError(
                f"the exchange-log signing key {path} is not an unencrypted PEM private key: "
                "use the file written by `datalux onceonly keygen`"
            ) from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ExchangeKeyError(f"the exchange-log signing key {path} is not an Ed25519 key")
        publish(key.public_key())
        _cache[cache_key] = key
        return key


def pseudonym_keys() -> DomainKeys:
    """The HMAC key of the log's pseudonym domain (read once per change of the file)."""
    path = pseudonym_key_file()
    with _lock:
        if not path.exists() and _development():
            generate_pseudonym_key(path)
            logger.warning("made an exchange-log pseudonym key for development: %s", path)
        mtime = _check_file(path, "DATALUX_ONCEONLY_PSEUDONYM_KEY")
        cache_key = ("pseudonym", str(path), mtime)
        cached = _cache.get(cache_key)
        if isinstance(cached, DomainKeys):
            return cached
        try:
            keys = load_master_key(path).domain_keys(PSEUDONYM_DOMAIN)
        except KeyMaterialError as exc:
            raise ExchangeKeyError(f"the exchange-log pseudonym key: {exc}") from None
        _cache[cache_key] = keys
        return keys


def load_public_pem(data: bytes, source: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ExchangeKeyError(
            f"{source} is not a PEM public key (-----BEGIN PUBLIC KEY-----); never give the "
            "private key file"
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise ExchangeKeyError(f"{source} is not an Ed25519 public key")
    return key


def trusted_keys() -> dict[str, Ed25519PublicKey]:
    """Key id -> public key: every key published in ``keys/`` and the configured one. Ids are
    recomputed from the keys, never read from file names."""
    keys: dict[str, Ed25519PublicKey] = {}
    folder = published_keys_dir()
    if folder.is_dir():
        for pem in sorted(folder.glob("*.pem")):
            try:
                public = load_public_pem(pem.read_bytes(), str(pem))
            except (OSError, ExchangeKeyError) as exc:
                logger.warning("ignored a published exchange-log key: %s", exc)
                continue
            keys[key_id(public)] = public
    current = public_key_file(signing_key_file())
    if current.exists():
        try:
            public = load_public_pem(current.read_bytes(), str(current))
            keys[key_id(public)] = public
        except (OSError, ExchangeKeyError) as exc:
            logger.warning("exchange-log public key not usable: %s", exc)
    return keys
