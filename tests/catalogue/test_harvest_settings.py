"""The harvesting and DCAT-AP cache settings: parsed with a fix-it hint, safe defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from datalux.core.config import load
from datalux.core.env import Env, SettingsError

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DATALUX_MODE": "production",
    "DATALUX_SECRET_KEY": "x" * 40,
    "DATALUX_ALLOWED_HOSTS": "data.example.lu",
    "DATABASE_URL": "postgresql://u:p@db.example:5432/datalux",
    "DATALUX_BASE_URI": "https://data.example.lu",
}


def test_defaults() -> None:
    development = load(Env({}), ROOT)
    assert development.harvest_allowed_hosts == ()
    assert development.harvest_file_dir == ROOT / "src" / "datalux" / "demo" / "data"
    assert development.dcat_cache_seconds == 60
    assert development.harvest_withdraw_limit_percent == 20
    assert development.harvest_grace_days == 30
    production = load(Env(PRODUCTION), ROOT)
    assert production.harvest_file_dir is None and production.harvest_allowed_hosts == ()


def test_allowed_hosts_and_folder_are_parsed(tmp_path: Path) -> None:
    config = load(
        Env(
            {
                "DATALUX_HARVEST_ALLOWED_HOSTS": "Catalogue.Intranet.LU, 10.1.2.0/24,fd00::1",
                "DATALUX_HARVEST_FILE_DIR": str(tmp_path),
                "DATALUX_DCAT_CACHE_SECONDS": "0",
                "DATALUX_HARVEST_WITHDRAW_LIMIT_PERCENT": "35 %",
                "DATALUX_HARVEST_GRACE_DAYS": "0",
            }
        ),
        ROOT,
    )
    assert config.harvest_withdraw_limit_percent == 35 and config.harvest_grace_days == 0
    assert config.harvest_allowed_hosts == ("catalogue.intranet.lu", "10.1.2.0/24", "fd00::1/128")
    assert config.harvest_file_dir == tmp_path.resolve()
    assert config.dcat_cache_seconds == 0


@pytest.mark.parametrize(
    ("variable", "value", "hint"),
    [
        ("DATALUX_HARVEST_ALLOWED_HOSTS", "http://intranet/", "host names, addresses or networks"),
        ("DATALUX_HARVEST_ALLOWED_HOSTS", "bad host", "host names, addresses or networks"),
        ("DATALUX_DCAT_CACHE_SECONDS", "-5", "a whole number"),
        ("DATALUX_DCAT_CACHE_SECONDS", "a minute", "a whole number"),
        ("DATALUX_HARVEST_WITHDRAW_LIMIT_PERCENT", "120", "from 0 to 100"),
        ("DATALUX_HARVEST_WITHDRAW_LIMIT_PERCENT", "0.2", "from 0 to 100"),
        ("DATALUX_HARVEST_GRACE_DAYS", "a month", "a whole number"),
    ],
)
def test_bad_values_fail_with_a_hint(variable: str, value: str, hint: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load(Env({variable: value}), ROOT)
    assert caught.value.name == variable and hint in caught.value.hint
