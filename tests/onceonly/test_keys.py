"""The exchange log's keys: where the settings put them, made in development only, private."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from datalux.cli import main
from datalux.core import config
from datalux.core.env import Env
from datalux.onceonly import keys
from datalux.onceonly.apps import check_keys


def test_the_settings_name_the_key_files(tmp_path: Path) -> None:
    loaded = config.load(Env({"DATALUX_VAR": str(tmp_path)}), tmp_path)
    assert loaded.onceonly_signing_key == (tmp_path / "onceonly" / "signing.key").resolve()
    assert loaded.onceonly_pseudonym_key == (tmp_path / "onceonly" / "pseudonym.key").resolve()
    moved = config.load(
        Env({"DATALUX_ONCEONLY_SIGNING_KEY": str(tmp_path / "hsm" / "log.key")}), tmp_path
    )
    assert moved.onceonly_signing_key == (tmp_path / "hsm" / "log.key").resolve()


def test_development_makes_private_keys_on_first_use(settings: Any) -> None:
    keys.signing_key()
    keys.pseudonym_keys()
    for path in (
        Path(settings.DATALUX_ONCEONLY_SIGNING_KEY),
        Path(settings.DATALUX_ONCEONLY_PSEUDONYM_KEY),
    ):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keys.pseudonym_keys().domain == keys.PSEUDONYM_DOMAIN


def test_a_key_readable_by_others_is_refused(settings: Any) -> None:
    keys.signing_key()
    path = Path(settings.DATALUX_ONCEONLY_SIGNING_KEY)
    path.chmod(0o644)
    with pytest.raises(keys.ExchangeKeyError, match="chmod 600"):
        keys.signing_key()


def test_production_warns_without_keys_and_makes_none(settings: Any, tmp_path: Path) -> None:
    settings.DATALUX_MODE = "production"
    settings.DATALUX_ONCEONLY_SIGNING_KEY = tmp_path / "none" / "signing.key"
    settings.DATALUX_ONCEONLY_PSEUDONYM_KEY = tmp_path / "none" / "pseudonym.key"
    warnings = check_keys()
    assert [w.id for w in warnings] == ["onceonly.W001", "onceonly.W001"]
    assert "datalux onceonly keygen" in warnings[0].hint
    assert not (tmp_path / "none").exists()


def test_cli_keygen_makes_both_keys_and_keeps_them(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("DATALUX_VAR", str(tmp_path))
    monkeypatch.delenv("DATALUX_ONCEONLY_SIGNING_KEY", raising=False)
    monkeypatch.delenv("DATALUX_ONCEONLY_PSEUDONYM_KEY", raising=False)
    runner = CliRunner()
    made = runner.invoke(main, ["onceonly", "keygen"])
    assert made.exit_code == 0, made.output
    assert made.output.count("made the") == 2
    folder = tmp_path / "onceonly"
    assert (folder / "signing.key").exists() and (folder / "signing.key.pub").exists()
    assert (folder / "pseudonym.key").exists() and list((folder / "keys").glob("*.pem"))
    before = (folder / "signing.key").read_bytes()
    again = runner.invoke(main, ["onceonly", "keygen"])
    assert again.exit_code == 0 and again.output.count("kept the existing") == 2
    assert (folder / "signing.key").read_bytes() == before
