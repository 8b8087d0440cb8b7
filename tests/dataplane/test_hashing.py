"""HMAC-SHA256 from the engines' own SHA-256 equals Python's hmac, on every engine."""

from __future__ import annotations

import hmac
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datalux.dataplane import Backend, hmac_sha256_hex

KEYS = {
    "32 bytes": bytes(range(32)),
    "64 ascii hex (domain key form)": ("ab" * 32).encode(),
    "100 bytes (longer than a block)": bytes(range(100)),
    "1 byte": b"k",
}


def values(n: int = 300) -> list[str | None]:
    rng = random.Random(7)
    alphabet = "abcXYZ0123456789 -_.\\'\"éß中🙂"
    out: list[str | None] = ["", "\\xAA", "'; DROP TABLE t; --", "x" * 200, None]
    out += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) for _ in range(n)]
    return out


@pytest.mark.parametrize("key", KEYS.values(), ids=KEYS.keys())
def test_engine_hmac_equals_python_hmac(backend: Backend, tmp_path: Path, key: bytes) -> None:
    vals = values()
    path = tmp_path / "v.parquet"
    pq.write_table(pa.table({"i": list(range(len(vals))), "v": pa.array(vals, pa.string())}), path)
    t = backend.register_parquet("v", path)
    result = backend.to_arrow(t.mutate(h=hmac_sha256_hex(t.v, key)).order_by("i"))
    expected = [
        None if v is None else hmac.new(key, v.encode(), "sha256").hexdigest() for v in vals
    ]
    assert result.column("h").to_pylist() == expected


def test_integer_columns_hash_their_decimal_text(backend: Backend, tmp_path: Path) -> None:
    key = bytes(range(32))
    path = tmp_path / "n.parquet"
    pq.write_table(pa.table({"n": pa.array([0, 42, -7, 1985073003328], pa.int64())}), path)
    t = backend.register_parquet("n", path)
    got = backend.to_arrow(t.mutate(h=hmac_sha256_hex(t.n, key)).order_by("n"))
    assert got.column("h").to_pylist() == [
        hmac.new(key, str(n).encode(), "sha256").hexdigest() for n in (-7, 0, 42, 1985073003328)
    ]


def test_empty_key_is_refused(backend: Backend, tmp_path: Path) -> None:
    path = tmp_path / "v.parquet"
    pq.write_table(pa.table({"v": ["a"]}), path)
    t = backend.register_parquet("v", path)
    with pytest.raises(ValueError, match="empty"):
        hmac_sha256_hex(t.v, b"")
