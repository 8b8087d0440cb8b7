"""The compiled HMAC kernel equals ``hmac.new`` bit for bit, at every length and key size."""

from __future__ import annotations

import hmac
import random

import pyarrow as pa
import pytest

from datalux.privacy.hmac_kernel import LANES, MAX_FAST, HmacSha256


def expected(key: bytes, values: list[bytes | None]) -> list[str | None]:
    return [None if v is None else hmac.new(key, v, "sha256").hexdigest() for v in values]


@pytest.mark.parametrize("key_length", [1, 32, 63, 64, 65, 100])
def test_every_message_length_around_the_block_boundaries(key_length: int) -> None:
    rng = random.Random(key_length)
    key = bytes(rng.randrange(256) for _ in range(key_length))
    values = [bytes(rng.randrange(256) for _ in range(n)) for n in range(0, 140)]
    got = HmacSha256(key).hex(pa.array(values, type=pa.binary()))
    assert got.to_pylist() == expected(key, values)
    assert MAX_FAST in range(140) and MAX_FAST + 1 in range(140)  # both paths were taken


def test_text_nulls_slices_and_partial_lanes() -> None:
    key = b"domain-key"
    words = ["1950010112345", "", None, "Ærø-Ünïcødé ✓", "x" * 56, None, *map(str, range(40))]
    arr = pa.array(words, type=pa.string())
    sliced = arr.slice(3, LANES + 5)  # an offset into the buffers and a partial last lane group
    values = [None if w is None else w.encode() for w in words[3 : 3 + LANES + 5]]
    assert HmacSha256(key).hex(sliced).to_pylist() == expected(key, values)
    large = pa.array(words, type=pa.large_string())
    assert HmacSha256(key).hex(large).to_pylist() == expected(
        key, [None if w is None else w.encode() for w in words]
    )


def test_empty_array() -> None:
    assert HmacSha256(b"k").hex(pa.array([], type=pa.string())).to_pylist() == []


def test_a_different_key_gives_different_pseudonyms() -> None:
    arr = pa.array(["1950010112345"] * (LANES + 1))
    first, second = HmacSha256(b"a").hex(arr), HmacSha256(b"b").hex(arr)
    assert first[0] != second[0]
    assert len(set(first.to_pylist())) == 1
