"""HMAC-SHA256 as an Ibis expression, built from the engines' own SHA-256.

    HMAC(k, m) = SHA256((k ^ opad) || SHA256((k ^ ipad) || m))        (RFC 2104)

Ibis has no binary concatenation, so the portable form goes through hex text: the padded
key blocks are hex literals, ``hex(m)`` is the hex of the value's UTF-8 bytes on both DuckDB
and Spark, ``unhex`` turns the joined hex back into bytes, and SHA-256 (``sha256`` on DuckDB,
``sha2(x, 256)`` on Spark) returns lowercase hex. The result equals
``hmac.new(key, m.encode(), "sha256").hexdigest()``.

The compiled SQL holds the padded key blocks: never log it, never show it in an error.
"""

from __future__ import annotations

import hashlib

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.types as ir

__all__ = ["hmac_sha256_hex"]

_BLOCK = 64  # SHA-256 block size in bytes


@ibis.udf.scalar.builtin(name="unhex")
def _unhex(value: str) -> dt.Binary:  # type: ignore[empty-body]
    """The engine's ``unhex`` (hex text -> bytes); same name on DuckDB and Spark."""


@ibis.udf.scalar.builtin(name="hex")
def _hex(value: str) -> str:  # type: ignore[empty-body]
    """The engine's ``hex`` of a string's UTF-8 bytes; same name on DuckDB and Spark."""


def _sha256_hex(value: ir.BinaryValue) -> ir.StringValue:
    return ops.HexDigest(value, "sha256").to_expr()  # type: ignore[no-any-return]


def _pads(key: bytes) -> tuple[str, str]:
    if not key:
        raise ValueError("an HMAC key must not be empty")
    block = key if len(key) <= _BLOCK else hashlib.sha256(key).digest()
    block = block.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in block).hex(), bytes(b ^ 0x5C for b in block).hex()


def hmac_sha256_hex(value: ir.Value, key: bytes) -> ir.StringValue:
    """Lowercase hex HMAC-SHA256 of ``value`` (text; integers are cast to decimal text).

    Nulls stay null. Runs on every engine whose ``hex``, ``unhex`` and SHA-256 Ibis compiles.
    """
    text = value if value.type().is_string() else value.cast("string")
    ipad_hex, opad_hex = _pads(key)
    inner = _sha256_hex(_unhex(ibis.literal(ipad_hex) + _hex(text)))
    return _sha256_hex(_unhex(ibis.literal(opad_hex) + inner))
