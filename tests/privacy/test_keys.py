"""Master key loading and per-domain key derivation (HKDF-SHA256)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import stat
from pathlib import Path

import pytest

from datalux.privacy import (
    MASTER_KEY_ENV_VAR,
    DomainError,
    KeyMaterialError,
    MasterKey,
    load_master_key,
    write_key_file,
)
from datalux.privacy.keys import check_domain_name

MATERIAL = bytes(range(32))


def rfc5869_hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    """HKDF written out from RFC 5869 with the standard library, to check the library's."""
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    okm, block, counter = b"", b"", 1
    while len(okm) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        okm += block
        counter += 1
    return okm[:length]


def test_rfc5869_helper_matches_the_rfc_test_vector() -> None:
    # RFC 5869, appendix A.1 (test case 1)
    okm = rfc5869_hkdf_sha256(
        bytes.fromhex("0b" * 22),
        bytes.fromhex("000102030405060708090a0b0c"),
        bytes.fromhex("f0f1f2f3f4f5f6f7f8f9"),
        42,
    )
    assert okm.hex() == (
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    )


def test_domain_keys_are_hkdf_of_the_master_key_with_domain_and_purpose_in_info() -> None:
    keys = MasterKey(MATERIAL).domain_keys("project:2026-017")
    salt = b"datalux/pseudonym-domains/v1"
    expected_hmac = rfc5869_hkdf_sha256(
        MATERIAL, salt, b"datalux/v1/hmac-sha256/project:2026-017", 32
    )
    expected_siv = rfc5869_hkdf_sha256(
        MATERIAL, salt, b"datalux/v1/aes-256-siv/project:2026-017", 64
    )
    assert keys.hmac_key == expected_hmac.hex().encode("ascii")
    assert len(keys.hmac_key) == 64
    assert keys.siv_key == expected_siv
    assert keys.domain == "project:2026-017"


def test_domains_and_purposes_get_unrelated_keys() -> None:
    master = MasterKey(MATERIAL)
    a, b = master.domain_keys("holder:ccss"), master.domain_keys("project:1")
    assert a.hmac_key != b.hmac_key
    assert a.siv_key != b.siv_key
    assert bytes.fromhex(a.hmac_key.decode()) not in a.siv_key
    other_master = MasterKey(bytes(range(1, 33)))
    assert other_master.domain_keys("holder:ccss").hmac_key != a.hmac_key
    # deterministic: the same master and domain give the same keys
    assert MasterKey(MATERIAL).domain_keys("holder:ccss") == a


@pytest.mark.parametrize("name", ["Project", "", "a b", "x" * 81, "-lead", "é", "a/b"])
def test_malformed_domain_names_are_refused(name: str) -> None:
    with pytest.raises(DomainError, match="lowercase"):
        check_domain_name(name)


@pytest.mark.parametrize("name", ["holder:ccss", "project:2026-017", "a", "x.y_z-1"])
def test_wellformed_domain_names_pass(name: str) -> None:
    assert check_domain_name(name) == name


def test_key_material_never_shows_in_repr() -> None:
    master = MasterKey(MATERIAL)
    keys = master.domain_keys("d")
    assert MATERIAL.hex() not in repr(master)
    assert "redacted" in repr(master)
    assert keys.hmac_key.decode() not in repr(keys)
    assert repr(keys.siv_key) not in repr(keys)


def test_short_master_key_is_refused_with_a_fix() -> None:
    with pytest.raises(KeyMaterialError, match=r"31 bytes long, at least 32.*keygen"):
        MasterKey(bytes(31))


def write_mode(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def test_key_file_round_trip_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "ttp.key"
    written = write_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_master_key(path) == written
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # no temp file left


def test_key_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "ttp.key"
    first = write_key_file(path)
    with pytest.raises(KeyMaterialError, match="already exists"):
        write_key_file(path)
    assert load_master_key(path) == first


def test_key_file_with_comments_and_base64(tmp_path: Path) -> None:
    b64 = base64.b64encode(MATERIAL).decode()
    path = write_mode(tmp_path / "k", f"# a comment\n\n{b64}\n")
    assert load_master_key(path) == MasterKey(MATERIAL)


def test_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(KeyMaterialError, match=r"does not exist.*keygen"):
        load_master_key(tmp_path / "nope.key")


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = write_mode(tmp_path / "k", base64.b64encode(MATERIAL).decode(), 0o644)
    with pytest.raises(KeyMaterialError, match="chmod 600"):
        load_master_key(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not base64 !!", "not valid base64"),
        (base64.b64encode(bytes(16)).decode(), "16 bytes long"),
        ("", "exactly one non-comment line"),
        ("a\nb\n", "exactly one non-comment line"),
    ],
)
def test_malformed_key_files(tmp_path: Path, text: str, message: str) -> None:
    path = write_mode(tmp_path / "k", text)
    with pytest.raises(KeyMaterialError, match=message) as info:
        load_master_key(path)
    assert text.strip() == "" or text.strip() not in str(info.value)


def test_key_from_environment_variable() -> None:
    env = {MASTER_KEY_ENV_VAR: base64.b64encode(MATERIAL).decode()}
    assert load_master_key(environ=env) == MasterKey(MATERIAL)


def test_no_key_anywhere_names_both_fixes() -> None:
    with pytest.raises(KeyMaterialError, match=rf"--key-file.*{MASTER_KEY_ENV_VAR}"):
        load_master_key(environ={})


def test_short_key_in_environment_is_refused() -> None:
    env = {MASTER_KEY_ENV_VAR: base64.b64encode(bytes(8)).decode()}
    with pytest.raises(KeyMaterialError, match="8 bytes long"):
        load_master_key(environ=env)


def test_key_file_takes_precedence_over_environment(tmp_path: Path) -> None:
    other = os.urandom(32)
    path = write_mode(tmp_path / "k", base64.b64encode(MATERIAL).decode())
    env = {MASTER_KEY_ENV_VAR: base64.b64encode(other).decode()}
    assert load_master_key(path, environ=env) == MasterKey(MATERIAL)
