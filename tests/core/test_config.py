"""Settings come from the environment; bad values fail loudly with a fix-it hint."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from datalux.core.config import DEV_SECRET_KEY, load
from datalux.core.env import KNOWN_VARIABLES, Env, SettingsError

ROOT = Path(__file__).resolve().parents[2]


def _load(**env: str):  # type: ignore[no-untyped-def]
    return load(Env(env), ROOT)


def test_defaults_are_sqlite_under_var() -> None:
    config = _load()
    assert config.database["ENGINE"] == "django.db.backends.sqlite3"
    assert config.database["NAME"] == str((ROOT / "var" / "datalux.sqlite3").resolve())
    assert config.storage_root == (ROOT / "var" / "storage").resolve()
    assert config.secret_key == DEV_SECRET_KEY


def test_database_url_selects_postgresql() -> None:
    config = _load(DATABASE_URL="postgresql://u:p@db.example:5433/datalux")
    assert config.database["ENGINE"] == "django.db.backends.postgresql"
    assert (config.database["HOST"], config.database["PORT"], config.database["NAME"]) == (
        "db.example",
        5433,
        "datalux",
    )


@pytest.mark.parametrize(
    ("env", "variable", "hint"),
    [
        ({"DATABASE_URL": "mysql://u@h/db"}, "DATABASE_URL", "postgresql://"),
        ({"DATABASE_URL": "postgresql://u@h:5432"}, "DATABASE_URL", "/DATABASE_NAME"),
        ({"DATALUX_MODE": "prod"}, "DATALUX_MODE", "development, production"),
        ({"DATALUX_DEBUG": "maybe"}, "DATALUX_DEBUG", "DATALUX_DEBUG=1"),
        ({"DATALUX_MODE": "production"}, "DATALUX_SECRET_KEY", "secrets.token_urlsafe"),
        (
            {"DATALUX_MODE": "production", "DATALUX_SECRET_KEY": "short"},
            "DATALUX_SECRET_KEY",
            "long random key",
        ),
        (
            {"DATALUX_MODE": "production", "DATALUX_SECRET_KEY": "x" * 50},
            "DATALUX_ALLOWED_HOSTS",
            "DATALUX_ALLOWED_HOSTS=",
        ),
        (
            {
                "DATALUX_MODE": "production",
                "DATALUX_SECRET_KEY": "x" * 50,
                "DATALUX_ALLOWED_HOSTS": "data.example.lu",
            },
            "DATABASE_URL",
            "postgresql://",
        ),
    ],
)
def test_bad_settings_fail_with_a_hint(env: dict[str, str], variable: str, hint: str) -> None:
    with pytest.raises(SettingsError) as excinfo:
        _load(**env)
    assert excinfo.value.name == variable
    assert hint in str(excinfo.value)


def test_production_accepts_a_complete_configuration() -> None:
    config = _load(
        DATALUX_MODE="production",
        DATALUX_BASE_URI="https://data.example.lu/",
        DATALUX_SECRET_KEY="k" * 50,
        DATALUX_ALLOWED_HOSTS="data.example.lu",
        DATABASE_URL="postgresql://u:p@db:5432/datalux",
    )
    assert config.production and not config.debug
    assert config.allowed_hosts == ["data.example.lu"]
    assert config.base_uri == "https://data.example.lu"


def test_every_variable_is_documented_in_env_example() -> None:
    example = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", example, flags=re.MULTILINE))
    assert set(KNOWN_VARIABLES) <= documented, set(KNOWN_VARIABLES) - documented


def test_an_unset_base_uri_is_told_apart_from_a_configured_one() -> None:
    unset = _load()
    assert not unset.base_uri_configured and unset.base_uri == "http://127.0.0.1:8000"
    assert not _load(DATALUX_BASE_URI="  ").base_uri_configured
    # the development default written out is still a choice the request must not override
    chosen = _load(DATALUX_BASE_URI="http://127.0.0.1:8000")
    assert chosen.base_uri_configured


def test_the_aggregate_service_s_daily_query_cap() -> None:
    assert _load().spe_aggregate_queries_per_day == 200
    assert _load(DATALUX_SPE_AGGREGATE_QUERIES_PER_DAY="50").spe_aggregate_queries_per_day == 50
    for bad in ("0", "-1", "many"):
        with pytest.raises(SettingsError, match="positive whole number") as refused:
            _load(DATALUX_SPE_AGGREGATE_QUERIES_PER_DAY=bad)
        assert refused.value.name == "DATALUX_SPE_AGGREGATE_QUERIES_PER_DAY"
