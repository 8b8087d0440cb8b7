"""Key management of the trusted third party (TTP): the master key and per-domain keys.

A *domain* is one pseudonym space (the gPAS model): ``holder:ccss``, ``project:2026-017``...
The same identifier gets unrelated pseudonyms in two domains, and only the TTP, which holds
the master key, can derive a domain's keys.

- The **master key** is at least 32 random bytes, read from a key file or from the
  environment variable ``DATALUX_TTP_MASTER_KEY``; it is never stored in the database and
  never logged (its ``repr`` is redacted).
- **Key file format** (written by :func:`write_key_file` / ``datalux privacy keygen``): a text
  file whose one non-comment line is the key in standard base64 (RFC 4648, with padding);
  lines starting with ``#`` are comments. The file must not be readable by group or others
  (``chmod 600``), as for an SSH private key. The environment variable holds the same base64.
- **Domain keys** are derived with HKDF-SHA256 (RFC 5869) from the master key, with the
  domain name and the key's purpose in ``info``; the one-way (HMAC) key and the reversible
  (AES-SIV) key of one domain are two separate derivations. See
  ``docs/adr/0002-pseudonymisation-keys.md``.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from datalux.privacy.errors import DomainError, KeyMaterialError

__all__ = [
    "MASTER_KEY_ENV_VAR",
    "MIN_MASTER_KEY_BYTES",
    "DomainKeys",
    "MasterKey",
    "check_domain_name",
    "load_master_key",
    "write_key_file",
]

MASTER_KEY_ENV_VAR = "DATALUX_TTP_MASTER_KEY"
MIN_MASTER_KEY_BYTES = 32
DEFAULT_MASTER_KEY_BYTES = 32

# HKDF salt: a fixed, public, versioned label (RFC 5869 §3.1 allows a non-secret salt; the
# master key is already uniformly random). Changing it changes every pseudonym.
_HKDF_SALT = b"datalux/pseudonym-domains/v1"
_HMAC_INFO = b"datalux/v1/hmac-sha256/"
_SIV_INFO = b"datalux/v1/aes-256-siv/"
_HMAC_KEY_BYTES = 32
_SIV_KEY_BYTES = 64  # AES-256-SIV takes two 256-bit keys

_DOMAIN_RE = re.compile(r"[a-z0-9][a-z0-9._:-]{0,79}")


def check_domain_name(domain: str) -> str:
    """Return ``domain`` if it is a well-formed domain name, else raise :class:`DomainError`.

    Names are lowercase ASCII (letters, digits and ``. _ : -``), 1 to 80 characters, e.g.
    ``holder:ccss`` or ``project:2026-017``. Lowercase only, so that ``Project`` and
    ``project`` cannot silently become two pseudonym spaces.
    """
    if not isinstance(domain, str) or _DOMAIN_RE.fullmatch(domain) is None:
        raise DomainError(
            "a domain name is 1-80 lowercase ASCII letters, digits and '.', '_', ':', '-' "
            "starting with a letter or digit (for example 'holder:ccss' or 'project:2026-017')"
        )
    return domain


def _hkdf(master: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=_HKDF_SALT, info=info).derive(master)


@dataclass(frozen=True)
class DomainKeys:
    """The keys of one pseudonym domain, derived from the master key.

    ``hmac_key`` is the key of the one-way pseudonyms: ``HMAC-SHA256(hmac_key, value)``. It is
    the 64-character lowercase hex of a 32-byte HKDF output, as ASCII bytes (256 bits of
    entropy; the text form lets vectorised engines take it as a string, and 64 bytes is
    exactly SHA-256's block size, so HMAC uses it without hashing it first).

    ``siv_key`` is the 64-byte AES-256-SIV key of the reversible pseudonyms (TTP only).
    """

    domain: str
    hmac_key: bytes = field(repr=False)
    siv_key: bytes = field(repr=False)


class MasterKey:
    """The TTP's master key. Its bytes never appear in ``repr``, errors or logs."""

    __slots__ = ("_material",)

    def __init__(self, material: bytes) -> None:
        if not isinstance(material, bytes | bytearray):
            raise KeyMaterialError("the master key must be bytes")
        if len(material) < MIN_MASTER_KEY_BYTES:
            raise KeyMaterialError(
                f"the master key is {len(material)} bytes long, at least "
                f"{MIN_MASTER_KEY_BYTES} are needed: make a new one with "
                "'datalux privacy keygen --out KEYFILE'"
            )
        self._material = bytes(material)

    def __repr__(self) -> str:
        return f"MasterKey(<redacted, {len(self._material)} bytes>)"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MasterKey):
            return NotImplemented
        return secrets.compare_digest(self._material, other._material)

    def __hash__(self) -> int:
        return id(self)

    @classmethod
    def generate(cls, n_bytes: int = DEFAULT_MASTER_KEY_BYTES) -> MasterKey:
        """A new random master key from the operating system's CSPRNG."""
        return cls(secrets.token_bytes(n_bytes))

    @classmethod
    def from_base64(cls, text: str, *, source: str = "the key") -> MasterKey:
        """Decode the key-file / environment-variable format (standard base64)."""
        try:
            material = base64.b64decode(text.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise KeyMaterialError(
                f"{source} is not valid base64: it must hold one line of standard base64, "
                "as written by 'datalux privacy keygen --out KEYFILE'"
            ) from None
        return cls(material)

    def to_base64(self) -> str:
        """The key-file format of this key (handle with care: this is the secret)."""
        return base64.b64encode(self._material).decode("ascii")

    def domain_keys(self, domain: str, *, secret: bytes = b"") -> DomainKeys:
        """Derive the keys of ``domain`` (HKDF-SHA256, one derivation per purpose).

        ``secret`` is the domain's own random secret, when it has one (a project's domain
        does: :mod:`datalux.spe.keys`). It enters every derivation, so that destroying it makes
        the domain's pseudonyms impossible to derive again, even with the master key
        (crypto-shredding). Without it a domain's keys come from the master key alone."""
        name = check_domain_name(domain).encode("ascii")
        if secret:
            if len(secret) < MIN_MASTER_KEY_BYTES:
                raise KeyMaterialError(
                    f"a domain secret is at least {MIN_MASTER_KEY_BYTES} bytes long"
                )
            name += b"\x00" + secret
        hmac_key = _hkdf(self._material, _HMAC_INFO + name, _HMAC_KEY_BYTES).hex().encode("ascii")
        siv_key = _hkdf(self._material, _SIV_INFO + name, _SIV_KEY_BYTES)
        return DomainKeys(domain=domain, hmac_key=hmac_key, siv_key=siv_key)


def _read_key_file(path: Path) -> MasterKey:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise KeyMaterialError(
            f"key file {path} does not exist: make one with 'datalux privacy keygen --out {path}'"
        ) from None
    except OSError as exc:
        raise KeyMaterialError(f"cannot read key file {path}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise KeyMaterialError(f"key file {path} is not a regular file")
    if info.st_mode & 0o077:
        raise KeyMaterialError(
            f"key file {path} is readable by group or others (mode "
            f"{stat.S_IMODE(info.st_mode):04o}): restrict it with 'chmod 600 {path}'"
        )
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        raise KeyMaterialError(
            f"cannot read key file {path} as text: it must hold one line of base64"
        ) from None
    lines = [ln.strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    if len(lines) != 1:
        raise KeyMaterialError(
            f"key file {path} must hold exactly one non-comment line (the key in base64), "
            f"found {len(lines)}"
        )
    return MasterKey.from_base64(lines[0], source=f"key file {path}")


def load_master_key(
    key_file: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> MasterKey:
    """Load the master key from ``key_file``, else from ``$DATALUX_TTP_MASTER_KEY``.

    Raises :class:`KeyMaterialError` naming the fix when neither is set, the file is missing
    or too open, or the key is malformed or shorter than 32 bytes.
    """
    if key_file is not None:
        return _read_key_file(Path(key_file))
    env = os.environ if environ is None else environ
    value = env.get(MASTER_KEY_ENV_VAR)
    if value is None or not value.strip():
        raise KeyMaterialError(
            f"no master key: pass a key file (--key-file KEYFILE) or set {MASTER_KEY_ENV_VAR} "
            "to the key in base64; make a key with 'datalux privacy keygen --out KEYFILE'"
        )
    return MasterKey.from_base64(value, source=f"${MASTER_KEY_ENV_VAR}")


def write_key_file(path: str | os.PathLike[str], key: MasterKey | None = None) -> MasterKey:
    """Write ``key`` (a new random one by default) to a new key file with mode 0600.

    Refuses to overwrite an existing file. The file appears whole or not at all: it is
    written to a temporary file in the same folder, then hard-linked into place.
    """
    target = Path(path)
    key = MasterKey.generate() if key is None else key
    if target.exists():
        raise KeyMaterialError(f"{target} already exists: refusing to overwrite a key file")
    folder = target.parent
    if not folder.is_dir():
        raise KeyMaterialError(f"folder {folder} does not exist: create it first")
    tmp = folder / f".{target.name}.{secrets.token_hex(8)}.tmp"
    body = (
        "# datalux TTP master key (base64). Keep secret: whoever holds it can re-identify.\n"
        f"{key.to_base64()}\n"
    ).encode("ascii")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, target)
        except FileExistsError:
            raise KeyMaterialError(
                f"{target} already exists: refusing to overwrite a key file"
            ) from None
    finally:
        tmp.unlink(missing_ok=True)
    return key
