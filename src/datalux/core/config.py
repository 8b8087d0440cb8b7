"""Build the Django settings that depend on the environment (pure: no Django import).

Kept apart from ``datalux.settings`` so that the rules (production refuses unsafe
defaults, database URLs are parsed with clear errors) are unit-tested directly.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dj_database_url

from datalux.core.env import Env, SettingsError

DEV_SECRET_KEY = "datalux-development-only-secret-key-not-for-production"  # noqa: S105
DEV_BASE_URI = "http://127.0.0.1:8000"  # outside requests, when DATALUX_BASE_URI is unset


@dataclass(frozen=True)
class OidcConfig:
    """The state's OpenID Connect identity provider (citizen sign-in, datalux.citizens.oidc)."""

    client_id: str
    client_secret: str = field(repr=False)
    issuer: str = ""
    authorization_endpoint: str = ""
    token_endpoint: str = ""
    userinfo_endpoint: str = ""
    jwks_endpoint: str = ""
    scopes: str = "openid"
    national_number_claim: str = "national_number"
    timeout_seconds: int = 10


@dataclass(frozen=True)
class Config:
    # ``repr`` (and so Django's debug page, which pretty-prints settings) leaves out the secret
    # key and the database entry (its password); datalux.core.debug hides CONFIG there too.
    mode: str
    debug: bool
    secret_key: str = field(repr=False)
    allowed_hosts: list[str]
    database: dict[str, Any] = field(repr=False)
    storage_root: Path
    var_dir: Path
    tasks_backend: str
    email_backend: str
    log_level: str
    base_uri: str
    max_upload_mb: int
    # what an upload may hold once read (decompression bombs): rows, and mebibytes expanded
    upload_max_rows: int = 100_000_000
    upload_max_expanded_mb: int = 16_384
    behind_proxy: bool = False
    # False when DATALUX_BASE_URI is unset (development): absolute URLs then come from the
    # request being served, and ``base_uri`` (the development default) only outside requests.
    base_uri_configured: bool = True
    csrf_trusted_origins: tuple[str, ...] = ()
    web_workers: int = 2
    web_threads: int = 4
    # sign-in (issue 10, item 7): minutes of inactivity after which a session ends; failed
    # sign-ins that lock an account / a network address, and for how long; whether authority,
    # output-checker, TTP-operator and admin users must use a second factor (always in production)
    session_idle_minutes: int = 480
    login_failure_limit: int = 5
    login_address_failure_limit: int = 30
    login_lockout_minutes: int = 15
    require_2fa: bool = False
    # harvesting: hosts on internal addresses the harvester may still reach (names, addresses
    # or networks), and the folder local DCAT-AP files may be harvested from (None: none)
    harvest_allowed_hosts: tuple[str, ...] = ()
    harvest_file_dir: Path | None = None
    # the share of a source's records (percent) one run may withdraw without an operator's
    # confirmation, and the days a withdrawn harvested record stays before it is deleted
    harvest_withdraw_limit_percent: int = 20
    harvest_grace_days: int = 30
    # seconds an anonymous page of the DCAT-AP catalogue is served from the cache (0: never)
    dcat_cache_seconds: int = 60
    # the trusted third party's master key file (used when it exists; else the environment)
    ttp_key_file: Path | None = None
    # days a locked extract (permit revoked, expired or closed) is kept before deletion
    spe_retention_days: int = 90
    # the dataset (PID) the trusted third party links tables without national numbers to
    # when the permit grants no dataset that has them (e.g. the population register)
    spe_linkage_spine: str = ""
    # the operator's list of runtimes the workspace's jobs may use (JSON; unset: the platform's
    # own Python)
    spe_runtimes_file: Path | None = None
    # the most aggregate queries the aggregate-only service releases per permit per day (the
    # count resets at local midnight); a permit's output rule max_queries caps its total
    spe_aggregate_queries_per_day: int = 200
    # the Ed25519 key that signs audit checkpoints (outside the database; see ADR 0014) and
    # the folder where the signed checkpoints are published as files
    audit_signing_key: Path | None = None
    audit_checkpoint_dir: Path | None = None
    # Once Only (issue 15): the Ed25519 key that signs every exchange-log entry and receipt,
    # and the key file of the keyed pseudonyms the log records persons by (both outside the
    # database)
    onceonly_signing_key: Path | None = None
    onceonly_pseudonym_key: Path | None = None
    # citizen sign-in through the state's identity provider (issue 16; None: not offered)
    oidc: OidcConfig | None = None

    @property
    def production(self) -> bool:
        return self.mode == "production"


def database_from_url(url: str | None, var_dir: Path) -> dict[str, Any]:
    """Return a Django DATABASES entry for ``url`` (SQLite under ``var_dir`` when None)."""
    if url is None:
        return sqlite_database(var_dir / "datalux.sqlite3")
    if not url.startswith(("postgres://", "postgresql://", "sqlite://")):
        raise SettingsError(
            "DATABASE_URL",
            f"has an unsupported scheme ({url.split(':', 1)[0]!r})",
            "use postgresql://USER:PASSWORD@HOST:PORT/NAME, or unset it for SQLite under var/",
        )
    try:
        parsed = dict(dj_database_url.parse(url))
    except Exception as exc:  # dj_database_url raises plain ValueErrors
        raise SettingsError(
            "DATABASE_URL",
            f"cannot be parsed ({exc})",
            "use postgresql://USER:PASSWORD@HOST:PORT/NAME",
        ) from exc
    if parsed["ENGINE"].endswith("sqlite3"):
        return sqlite_database(Path(parsed["NAME"]))
    if not parsed.get("NAME"):
        raise SettingsError("DATABASE_URL", "names no database", "end the URL with /DATABASE_NAME")
    parsed.setdefault("OPTIONS", {})
    parsed["OPTIONS"].setdefault("connect_timeout", 5)
    parsed["CONN_MAX_AGE"] = 60
    parsed["CONN_HEALTH_CHECKS"] = True
    return parsed


def sqlite_database(path: Path) -> dict[str, Any]:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {
            # Writers queue instead of failing, and every transaction takes the write
            # lock at BEGIN, so the audit chain never forks under concurrent writers.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL",
        },
    }


def load(env: Env, base_dir: Path) -> Config:
    mode = env.choice("DATALUX_MODE", ("development", "production"), "development")
    production = mode == "production"
    var_dir = env.path("DATALUX_VAR", base_dir / "var")
    url = env.optional("DATABASE_URL")
    database = database_from_url(url, var_dir)

    if production:
        secret_key = env.str(
            "DATALUX_SECRET_KEY",
            hint="production needs its own secret: export DATALUX_SECRET_KEY=$(python -c "
            "'import secrets; print(secrets.token_urlsafe(50))')",
        )
        if secret_key == DEV_SECRET_KEY or len(secret_key) < 32:
            raise SettingsError(
                "DATALUX_SECRET_KEY",
                "is the development key or shorter than 32 characters",
                "generate a long random key and keep it secret",
            )
        allowed_hosts = env.list("DATALUX_ALLOWED_HOSTS")
        if not allowed_hosts or "*" in allowed_hosts:
            raise SettingsError(
                "DATALUX_ALLOWED_HOSTS",
                "is not set (or is '*') in production",
                "export DATALUX_ALLOWED_HOSTS=data.example.lu",
            )
        if database["ENGINE"].endswith("sqlite3"):
            raise SettingsError(
                "DATABASE_URL",
                "points to SQLite (or is unset) in production",
                "export DATABASE_URL=postgresql://USER:PASSWORD@HOST:5432/datalux",
            )
        debug = env.bool("DATALUX_DEBUG", False)
        if debug:
            raise SettingsError(
                "DATALUX_DEBUG", "is on in production", "unset DATALUX_DEBUG in production"
            )
    else:
        secret_key = env.str("DATALUX_SECRET_KEY", DEV_SECRET_KEY)
        allowed_hosts = env.list("DATALUX_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
        debug = env.bool("DATALUX_DEBUG", True)

    return Config(
        mode=mode,
        debug=debug,
        secret_key=secret_key,
        allowed_hosts=allowed_hosts,
        database=database,
        storage_root=env.path("DATALUX_STORAGE", var_dir / "storage"),
        var_dir=var_dir,
        tasks_backend=env.choice("DATALUX_TASKS_BACKEND", ("database", "immediate"), "database"),
        email_backend=env.str(
            "DATALUX_EMAIL_BACKEND",
            "django.core.mail.backends.smtp.EmailBackend"
            if production
            else "django.core.mail.backends.console.EmailBackend",
        ),
        base_uri=_base_uri(env, production),
        base_uri_configured=env.optional("DATALUX_BASE_URI") is not None,
        max_upload_mb=_positive_int(env, "DATALUX_MAX_UPLOAD_MB", 2048),
        upload_max_rows=_positive_int(env, "DATALUX_UPLOAD_MAX_ROWS", 100_000_000),
        upload_max_expanded_mb=_positive_int(env, "DATALUX_UPLOAD_MAX_EXPANDED_MB", 16_384),
        behind_proxy=env.bool("DATALUX_BEHIND_PROXY", False),
        csrf_trusted_origins=_origins(env),
        web_workers=_positive_int(env, "DATALUX_WEB_WORKERS", _default_web_workers()),
        web_threads=_positive_int(env, "DATALUX_WEB_THREADS", 4),
        session_idle_minutes=_positive_int(
            env, "DATALUX_SESSION_IDLE_MINUTES", 30 if production else 8 * 60
        ),
        login_failure_limit=_positive_int(env, "DATALUX_LOGIN_FAILURE_LIMIT", 5),
        login_address_failure_limit=_positive_int(env, "DATALUX_LOGIN_ADDRESS_FAILURE_LIMIT", 30),
        login_lockout_minutes=_positive_int(env, "DATALUX_LOGIN_LOCKOUT_MINUTES", 15),
        require_2fa=_require_2fa(env, production),
        harvest_allowed_hosts=_harvest_hosts(env),
        harvest_file_dir=_harvest_file_dir(env, production),
        harvest_withdraw_limit_percent=_percent(env, "DATALUX_HARVEST_WITHDRAW_LIMIT_PERCENT", 20),
        harvest_grace_days=_whole_number(env, "DATALUX_HARVEST_GRACE_DAYS", 30),
        dcat_cache_seconds=_whole_number(env, "DATALUX_DCAT_CACHE_SECONDS", 60),
        ttp_key_file=env.path("DATALUX_TTP_KEY_FILE", var_dir / "ttp" / "master.key"),
        spe_retention_days=_positive_int(env, "DATALUX_SPE_RETENTION_DAYS", 90),
        spe_linkage_spine=env.optional("DATALUX_SPE_LINKAGE_SPINE") or "",
        spe_runtimes_file=_optional_path(env, "DATALUX_SPE_RUNTIMES_FILE"),
        spe_aggregate_queries_per_day=_positive_int(
            env, "DATALUX_SPE_AGGREGATE_QUERIES_PER_DAY", 200
        ),
        audit_signing_key=audit_signing_key_file(env, base_dir),
        audit_checkpoint_dir=env.path(
            "DATALUX_AUDIT_CHECKPOINT_DIR", var_dir / "audit" / "checkpoints"
        ),
        onceonly_signing_key=env.path(
            "DATALUX_ONCEONLY_SIGNING_KEY", var_dir / "onceonly" / "signing.key"
        ),
        onceonly_pseudonym_key=env.path(
            "DATALUX_ONCEONLY_PSEUDONYM_KEY", var_dir / "onceonly" / "pseudonym.key"
        ),
        log_level=env.choice("DATALUX_LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO"),
        oidc=_oidc(env, production),
    )


def audit_signing_key_file(env: Env, base_dir: Path) -> Path:
    """The audit signing key's path, read on its own: ``datalux audit keygen`` runs before the
    key exists, when production's start-up check (datalux.audit.apps) would refuse to start."""
    var_dir = env.path("DATALUX_VAR", base_dir / "var")
    return env.path("DATALUX_AUDIT_SIGNING_KEY", var_dir / "audit" / "signing.key")


def _require_2fa(env: Env, production: bool) -> bool:
    """Production always requires the second factor of the roles that need one; elsewhere
    DATALUX_REQUIRE_2FA=1 turns the requirement on (to try it out before going live)."""
    required = env.bool("DATALUX_REQUIRE_2FA", production)
    if production and not required:
        raise SettingsError(
            "DATALUX_REQUIRE_2FA",
            "is off in production",
            "unset DATALUX_REQUIRE_2FA: production always requires a second factor for "
            "authority, output-checker, TTP-operator and admin users",
        )
    return required


def _base_uri(env: Env, production: bool) -> str:
    if production:
        value = env.str(
            "DATALUX_BASE_URI",
            hint="persistent identifiers need the public address: "
            "export DATALUX_BASE_URI=https://data.example.lu",
        )
    else:
        value = env.str("DATALUX_BASE_URI", DEV_BASE_URI)
    if not value.startswith(("http://", "https://")):
        raise SettingsError(
            "DATALUX_BASE_URI", f"is {value!r}", "use an http(s) URL without a path"
        )
    return value.rstrip("/")


def _origins(env: Env) -> tuple[str, ...]:
    origins = tuple(env.list("DATALUX_CSRF_TRUSTED_ORIGINS", []))
    for origin in origins:
        scheme, sep, rest = origin.partition("://")
        if scheme not in ("http", "https") or not sep or not rest or "/" in rest:
            raise SettingsError(
                "DATALUX_CSRF_TRUSTED_ORIGINS",
                f"holds {origin!r}, not an origin",
                "list scheme and host only, e.g. https://data.example.lu",
            )
    return origins


def _default_web_workers() -> int:
    # gunicorn's rule of thumb (2 x cores + 1), capped: each worker holds its own connections.
    return min(2 * (os.cpu_count() or 1) + 1, 9)


def _positive_int(env: Env, name: str, default: int) -> int:
    raw = env.str(name, str(default))
    if not raw.isdigit() or int(raw) <= 0:
        raise SettingsError(name, f"is {raw!r}", f"set {name} to a positive whole number")
    return int(raw)


_HOST_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62})(?:\.[a-z0-9-]{1,63})*\.?\Z")


def _harvest_hosts(env: Env) -> tuple[str, ...]:
    hosts = []
    for entry in env.list("DATALUX_HARVEST_ALLOWED_HOSTS", []):
        try:
            hosts.append(str(ipaddress.ip_network(entry, strict=False)))
            continue
        except ValueError:
            pass
        if not _HOST_NAME.match(entry.lower()):
            raise SettingsError(
                "DATALUX_HARVEST_ALLOWED_HOSTS",
                f"holds {entry!r}, not a host name, address or network",
                "list host names, addresses or networks, e.g. catalogue.intranet.lu,10.1.2.0/24",
            )
        hosts.append(entry.lower().rstrip("."))
    return tuple(hosts)


def _harvest_file_dir(env: Env, production: bool) -> Path | None:
    value = env.optional("DATALUX_HARVEST_FILE_DIR")
    if value:
        return Path(value).expanduser().resolve()
    # development: the sample catalogue the demo harvests (src/datalux/demo/data)
    return None if production else Path(__file__).resolve().parent.parent / "demo" / "data"


def _whole_number(env: Env, name: str, default: int) -> int:
    raw = env.str(name, str(default))
    if not raw.isdigit():
        raise SettingsError(name, f"is {raw!r}", f"set {name} to a whole number (0 or more)")
    return int(raw)


def _percent(env: Env, name: str, default: int) -> int:
    raw = env.str(name, str(default)).strip().removesuffix("%").strip()
    if not raw.isdigit() or int(raw) > 100:
        raise SettingsError(
            name, f"is {raw!r}", f"set {name} to a whole number of percent from 0 to 100, e.g. 20"
        )
    return int(raw)


def _optional_path(env: Env, name: str) -> Path | None:
    value = env.optional(name)
    return Path(value).expanduser() if value else None


_OIDC_URLS = {
    "issuer": "DATALUX_OIDC_ISSUER",
    "authorization": "DATALUX_OIDC_AUTHORIZATION_ENDPOINT",
    "token": "DATALUX_OIDC_TOKEN_ENDPOINT",
    "userinfo": "DATALUX_OIDC_USERINFO_ENDPOINT",
    "jwks": "DATALUX_OIDC_JWKS_ENDPOINT",
}


def _oidc(env: Env, production: bool) -> OidcConfig | None:
    """The identity provider when DATALUX_OIDC_CLIENT_ID is set (then every endpoint must be
    too, https in production); None otherwise: the sign-in page offers passwords only."""
    client_id = env.optional("DATALUX_OIDC_CLIENT_ID")
    if client_id is None:
        return None
    urls = {}
    for name, variable in _OIDC_URLS.items():
        value = env.str(
            variable,
            hint=f"OIDC sign-in is on (DATALUX_OIDC_CLIENT_ID is set): set {variable} to the "
            "provider's value from its discovery document (/.well-known/openid-configuration), "
            "or unset DATALUX_OIDC_CLIENT_ID",
        )
        schemes = ("https://",) if production else ("https://", "http://")
        if not value.startswith(schemes):
            raise SettingsError(
                variable,
                f"is {value!r}",
                "use the provider's https:// address"
                if production
                else "use the provider's http(s):// address",
            )
        urls[name] = value
    claim = env.str("DATALUX_OIDC_NATIONAL_NUMBER_CLAIM", "national_number")
    if not re.fullmatch(r"[A-Za-z0-9_.:/-]{1,100}", claim):
        raise SettingsError(
            "DATALUX_OIDC_NATIONAL_NUMBER_CLAIM",
            f"is {claim!r}, not a claim name",
            "set it to the name of the claim that holds the national number, e.g. national_number",
        )
    scopes = " ".join(env.str("DATALUX_OIDC_SCOPES", "openid").replace(",", " ").split())
    if "openid" not in scopes.split():
        raise SettingsError(
            "DATALUX_OIDC_SCOPES",
            f"is {scopes!r}",
            "include the scope openid, e.g. 'openid profile'",
        )
    return OidcConfig(
        client_id=client_id,
        client_secret=env.str(
            "DATALUX_OIDC_CLIENT_SECRET",
            hint="OIDC sign-in is on: set the client secret the identity provider issued "
            "(keep it out of version control)",
        ),
        issuer=urls["issuer"],  # compared with the id token's iss exactly, as given
        authorization_endpoint=urls["authorization"],
        token_endpoint=urls["token"],
        userinfo_endpoint=urls["userinfo"],
        jwks_endpoint=urls["jwks"],
        scopes=scopes,
        national_number_claim=claim,
        timeout_seconds=_positive_int(env, "DATALUX_OIDC_TIMEOUT_SECONDS", 10),
    )
