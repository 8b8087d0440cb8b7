"""Reversible pseudonyms and domain translation: for the trusted third party (TTP) only.

Construction: **AES-256-SIV** (RFC 5297, deterministic authenticated encryption, from the
``cryptography`` package) under the domain's ``siv_key``, with the domain name as associated
data. The token is the unpadded base64url of ``SIV tag (16 bytes) || ciphertext``.

Why AES-SIV (see ``docs/adr/0002-pseudonymisation-keys.md``): it is deterministic (the same
identifier gives the same token, so tokens link across files like the one-way pseudonyms),
it is misuse-resistant (no nonce to manage), and it is authenticated, so a token from another
domain, a wrong key or a single altered character is refused instead of decrypting to
garbage. Tokens are only for files that stay inside the TTP: whoever holds the master key can
re-identify them, which is the point (re-identification under a legal order) and the risk.

**Translation** (holder domain -> project domain) happens inside the TTP: the holder-domain
token is decrypted in memory and the identifier immediately re-pseudonymised with the
project domain's one-way key; identifiers are never written out, returned or logged.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Iterator

import pyarrow as pa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from datalux.privacy.errors import InputError, ReidentificationError
from datalux.privacy.keys import DomainKeys
from datalux.privacy.pseudonyms import as_text_array, pseudonymise_array

__all__ = ["decrypt_token", "encrypt_value", "reidentify_array", "reversible_array", "translate"]

_AD_PREFIX = b"datalux/v1/reversible/"


def _aead(keys: DomainKeys) -> tuple[AESSIV, list[bytes]]:
    return AESSIV(keys.siv_key), [_AD_PREFIX + keys.domain.encode("ascii")]


def encrypt_value(value: str, keys: DomainKeys) -> str:
    """The reversible pseudonym (token) of one identifier in ``keys.domain``."""
    aead, ad = _aead(keys)
    return base64.urlsafe_b64encode(aead.encrypt(value.encode("utf-8"), ad)).rstrip(b"=").decode()


def _decode(token: str) -> bytes:
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ReidentificationError(
            "a reversible pseudonym is not base64url text: was the column produced by "
            "reversible pseudonymisation?"
        ) from None
    if len(raw) < 16:
        raise ReidentificationError("a reversible pseudonym is too short to be a token")
    return raw


def decrypt_token(token: str, keys: DomainKeys) -> str:
    """The identifier behind one token; :class:`ReidentificationError` if it is not one of
    ``keys.domain``'s tokens (other domain, other master key, or altered)."""
    aead, ad = _aead(keys)
    try:
        return aead.decrypt(_decode(token), ad).decode("utf-8")
    except InvalidTag:
        raise ReidentificationError(
            f"a token does not decrypt in domain '{keys.domain}': it belongs to another domain "
            "or master key, or it was altered"
        ) from None


def _map(values: pa.Array | pa.ChunkedArray, fn: object) -> Iterator[str | None]:
    f = fn  # a callable str -> str
    for v in values.to_pylist():
        yield None if v is None else f(v)  # type: ignore[operator]


def reversible_array(
    values: pa.Array | pa.ChunkedArray | Iterable[str | None], keys: DomainKeys
) -> pa.Array:
    """Reversible pseudonyms of a column (nulls stay null). One AES-SIV call per value."""
    arr = as_text_array(values)
    return pa.array(_map(arr, lambda v: encrypt_value(v, keys)), type=pa.string())


def reidentify_array(
    tokens: pa.Array | pa.ChunkedArray | Iterable[str | None], keys: DomainKeys
) -> pa.Array:
    """Decrypt a column of tokens of ``keys.domain`` (re-identification under a legal order)."""
    arr = _token_array(tokens)
    return pa.array(_map(arr, lambda t: decrypt_token(t, keys)), type=pa.string())


def _token_array(
    tokens: pa.Array | pa.ChunkedArray | Iterable[str | None],
) -> pa.Array | pa.ChunkedArray:
    arr = tokens if isinstance(tokens, pa.Array | pa.ChunkedArray) else pa.array(list(tokens))
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        if pa.types.is_null(arr.type):
            return arr.cast(pa.string())
        raise InputError(f"reversible pseudonyms are text; got a column of type {arr.type}")
    return arr


def translate(
    tokens: pa.Array | pa.ChunkedArray | Iterable[str | None],
    from_keys: DomainKeys,
    to_keys: DomainKeys,
) -> pa.Array:
    """Translate reversible tokens of a holder domain into one-way pseudonyms of a project
    domain, inside the TTP: equal to :func:`pseudonymise_array` of the identifiers in
    ``to_keys.domain``. The identifiers exist only in memory, one batch at a time."""
    arr = _token_array(tokens)
    step = 100_000
    out: list[pa.Array] = []
    for start in range(0, len(arr), step):
        clear = pa.array(
            _map(arr.slice(start, step), lambda t: decrypt_token(t, from_keys)), type=pa.string()
        )
        out.append(pseudonymise_array(clear, to_keys))
        del clear
    if not out:
        return pa.array([], type=pa.string())
    return pa.concat_arrays(out)
