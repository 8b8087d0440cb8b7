"""One-way pseudonyms (HMAC-SHA256) against Python's hmac, reversible mode, translation."""

from __future__ import annotations

import hmac
import random
import string

import pyarrow as pa
import pytest

from datalux.privacy import (
    InputError,
    MasterKey,
    ReidentificationError,
    decrypt_token,
    encrypt_value,
    pseudonym,
    pseudonymise_array,
    reidentify_array,
    reversible_array,
    translate,
)

MASTER = MasterKey(bytes(range(100, 132)))
HOLDER = MASTER.domain_keys("holder:ccss")
PROJECT = MASTER.domain_keys("project:2026-017")


def python_hmac(key: bytes, value: str | None) -> str | None:
    return None if value is None else hmac.new(key, value.encode("utf-8"), "sha256").hexdigest()


def random_values(n: int, seed: int = 1) -> list[str | None]:
    rng = random.Random(seed)
    alphabet = string.ascii_letters + string.digits + " -.éßЖ中🙂"
    out: list[str | None] = []
    for _ in range(n):
        if rng.random() < 0.05:
            out.append(None)
        else:
            out.append("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 150))))
    return out


def test_vectorised_pseudonyms_equal_python_hmac_bit_for_bit() -> None:
    values = random_values(3000)
    values += ["", "0", "19850730033" + "28", "x" * 64, "x" * 65, "x" * 1000]
    got = pseudonymise_array(pa.array(values, type=pa.string()), PROJECT).to_pylist()
    assert got == [python_hmac(PROJECT.hmac_key, v) for v in values]
    assert all(g is None or (len(g) == 64 and set(g) <= set("0123456789abcdef")) for g in got)


@pytest.mark.parametrize("typ", [pa.string(), pa.large_string(), pa.string_view()])
def test_all_arrow_text_types(typ: pa.DataType) -> None:
    values = ["a", None, "bc"]
    got = pseudonymise_array(pa.array(values, type=typ), HOLDER).to_pylist()
    assert got == [python_hmac(HOLDER.hmac_key, v) for v in values]


def test_chunked_arrays_and_lists() -> None:
    values = random_values(500, seed=2)
    chunked = pa.chunked_array([values[:100], values[100:], []], type=pa.string())
    assert pseudonymise_array(chunked, HOLDER).to_pylist() == [
        python_hmac(HOLDER.hmac_key, v) for v in values
    ]
    assert pseudonymise_array(values, HOLDER).to_pylist() == [
        python_hmac(HOLDER.hmac_key, v) for v in values
    ]
    assert pseudonymise_array(pa.array([], type=pa.string()), HOLDER).to_pylist() == []


def test_integer_columns_are_pseudonymised_in_decimal() -> None:
    got = pseudonymise_array(pa.array([1985073003328, None, 7], type=pa.int64()), HOLDER)
    assert got.to_pylist() == [
        python_hmac(HOLDER.hmac_key, "1985073003328"),
        None,
        python_hmac(HOLDER.hmac_key, "7"),
    ]


def test_binary_columns_are_hashed_as_bytes() -> None:
    raw = [b"\x00\xff\x10", b""]
    got = pseudonymise_array(pa.array(raw, type=pa.binary()), HOLDER).to_pylist()
    assert got == [hmac.new(HOLDER.hmac_key, b, "sha256").hexdigest() for b in raw]


def test_float_columns_are_refused() -> None:
    with pytest.raises(InputError, match="cast the column to text"):
        pseudonymise_array(pa.array([1.5]), HOLDER)


def test_reference_function_is_python_hmac() -> None:
    assert pseudonym("abc", HOLDER) == python_hmac(HOLDER.hmac_key, "abc")
    assert pseudonym(b"abc", HOLDER) == pseudonym("abc", HOLDER)


def test_one_way_pseudonyms_differ_between_domains() -> None:
    values = [f"{i:013d}" for i in range(1000)]
    a = pseudonymise_array(values, HOLDER).to_pylist()
    b = pseudonymise_array(values, PROJECT).to_pylist()
    assert not set(a) & set(b)
    assert len(set(a)) == len(values)  # no collision inside one domain either
    assert pseudonymise_array(values, HOLDER).to_pylist() == a  # deterministic


# --- reversible mode and translation --------------------------------------------------


def test_reversible_tokens_round_trip_and_are_deterministic() -> None:
    values = random_values(300, seed=3)
    tokens = reversible_array(values, HOLDER)
    assert reidentify_array(tokens, HOLDER).to_pylist() == values
    assert reversible_array(values, HOLDER).to_pylist() == tokens.to_pylist()
    text = [t for t in tokens.to_pylist() if t is not None]
    assert all(set(t) <= set(string.ascii_letters + string.digits + "-_") for t in text)


def test_reversible_tokens_do_not_contain_the_value() -> None:
    token = encrypt_value("19850730033" + "28", HOLDER)
    assert "1985" not in token
    assert decrypt_token(token, HOLDER) == "1985073003328"


def test_tokens_of_another_domain_are_refused() -> None:
    token = encrypt_value("1985073003328", HOLDER)
    with pytest.raises(ReidentificationError, match="project:2026-017") as info:
        decrypt_token(token, PROJECT)
    assert "1985073003328" not in str(info.value)
    other_master = MasterKey(bytes(32)).domain_keys("holder:ccss")
    with pytest.raises(ReidentificationError):
        decrypt_token(token, other_master)


def test_altered_tokens_are_refused() -> None:
    token = encrypt_value("1985073003328", HOLDER)
    flipped = ("A" if token[5] != "A" else "B").join([token[:5], token[6:]])
    with pytest.raises(ReidentificationError):
        decrypt_token(flipped, HOLDER)
    with pytest.raises(ReidentificationError, match="base64url"):
        decrypt_token("%%%", HOLDER)
    with pytest.raises(ReidentificationError, match="too short"):
        decrypt_token("abcd", HOLDER)


def test_translation_equals_direct_pseudonymisation_in_the_project_domain() -> None:
    values = [f"1985{i:09d}" for i in range(2000)] + [None]
    holder_tokens = reversible_array(values, HOLDER)
    translated = translate(holder_tokens, HOLDER, PROJECT)
    assert translated.to_pylist() == pseudonymise_array(values, PROJECT).to_pylist()
    assert translated.to_pylist()[:-1] == [python_hmac(PROJECT.hmac_key, v) for v in values[:-1]]
    # and differs from the holder's own one-way pseudonyms
    assert not set(translated.to_pylist()[:-1]) & set(
        pseudonymise_array(values[:-1], HOLDER).to_pylist()
    )


def test_translation_refuses_tokens_from_the_wrong_domain() -> None:
    tokens = reversible_array(["1"], PROJECT)
    with pytest.raises(ReidentificationError):
        translate(tokens, HOLDER, PROJECT)


@pytest.mark.parametrize("workers", [1, 2])
def test_large_columns_are_hashed_in_slices_on_threads(workers: int) -> None:
    n = 262_144 + 1000  # one full slice and a bit
    values = [f"{i:013d}" for i in range(n)]
    got = pseudonymise_array(pa.array(values), HOLDER, workers=workers).to_pylist()
    assert len(got) == n
    for i in (0, 1, 262_143, 262_144, n - 1):  # both sides of the slice boundary
        assert got[i] == python_hmac(HOLDER.hmac_key, values[i])
    assert got[::997] == [python_hmac(HOLDER.hmac_key, v) for v in values[::997]]
