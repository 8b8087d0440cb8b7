"""Read settings from environment variables, failing loudly with a fix-it hint.

Every setting datalux reads from the environment goes through :class:`Env`, so that
a wrong value stops the process at start-up with a message that says what to change,
instead of failing later in a request.  The variables are documented in
``.env.example``; a test checks that every variable read here is listed there.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

# Every variable datalux reads: name -> one-line description (kept in .env.example too).
KNOWN_VARIABLES: dict[str, str] = {
    "DATALUX_MODE": "development (default) or production",
    "DATALUX_SECRET_KEY": "Django secret key; required in production",
    "DATALUX_ALLOWED_HOSTS": "comma-separated host names; required in production",
    "DATABASE_URL": "metadata database URL; SQLite under var/ when unset",
    "DATALUX_STORAGE": "root folder of the data files (Parquet)",
    "DATALUX_VAR": "folder for the SQLite database and other local state",
    "DATALUX_DEBUG": "1 to show Django debug pages (never in production)",
    "DATALUX_TASKS_BACKEND": "database (default, durable) or immediate (run in-process)",
    "DATALUX_EMAIL_BACKEND": "Django e-mail backend path; console in development",
    "DATALUX_LOG_LEVEL": "log level of the datalux loggers (INFO by default)",
    "DATALUX_BASE_URI": "public base URI of persistent identifiers (https://data.example.lu)",
    "DATALUX_MAX_UPLOAD_MB": "largest upload accepted, in megabytes (default 2048)",
    "DATALUX_UPLOAD_MAX_ROWS": "most rows an uploaded CSV or Parquet file may hold "
    "(default 100000000)",
    "DATALUX_UPLOAD_MAX_EXPANDED_MB": "most mebibytes an uploaded file may expand to once read "
    "(decompressed Parquet; default 16384)",
    "DATALUX_BEHIND_PROXY": "1 when a TLS reverse proxy sets X-Forwarded-Proto (trusted)",
    "DATALUX_CSRF_TRUSTED_ORIGINS": "comma-separated origins allowed to post forms (https://...)",
    "DATALUX_WEB_WORKERS": "web server (gunicorn) worker processes for datalux serve",
    "DATALUX_WEB_THREADS": "threads per web server worker for datalux serve (default 4)",
    "DATALUX_SESSION_IDLE_MINUTES": "minutes of inactivity that end a session "
    "(default 30 in production, 480 in development)",
    "DATALUX_LOGIN_FAILURE_LIMIT": "failed sign-ins that lock an account (default 5)",
    "DATALUX_LOGIN_ADDRESS_FAILURE_LIMIT": "failed sign-ins that lock a network address "
    "(default 30)",
    "DATALUX_LOGIN_LOCKOUT_MINUTES": "minutes a sign-in lockout lasts (default 15)",
    "DATALUX_REQUIRE_2FA": "1 to require a second factor of authority, output-checker, "
    "TTP-operator and admin users outside production (always required in production)",
    "DATALUX_HARVEST_ALLOWED_HOSTS": "comma-separated hosts on internal addresses the harvester "
    "may reach (names, addresses or networks; default: none)",
    "DATALUX_HARVEST_FILE_DIR": "folder local DCAT-AP files may be harvested from (default: "
    "none in production, the demo sample folder in development)",
    "DATALUX_HARVEST_WITHDRAW_LIMIT_PERCENT": "share of a source's records (0-100 %) one "
    "harvest run may withdraw; a run over it changes nothing until an operator confirms it "
    "(default 20)",
    "DATALUX_HARVEST_GRACE_DAYS": "days a harvested record no longer in its source stays, "
    "withdrawn, before it is deleted; it comes back if the source lists it again (default 30)",
    "DATALUX_DCAT_CACHE_SECONDS": "seconds an anonymous DCAT-AP catalogue page is cached "
    "(default 60; 0: never)",
    "DATALUX_TTP_KEY_FILE": "trusted third party's master key file (var/ttp/master.key)",
    "DATALUX_TTP_MASTER_KEY": "the master key itself in base64, when there is no key file",
    "DATALUX_SPE_RETENTION_DAYS": "days a locked extract is kept before deletion (default 90)",
    "DATALUX_SPE_RUNTIMES_FILE": "JSON list of the runtimes workspace jobs may use (unset: the "
    "platform's own Python)",
    "DATALUX_SPE_LINKAGE_SPINE": "PID of the dataset with national numbers that tables without "
    "them are linked to when the permit grants none (default: none)",
    "DATALUX_SPE_AGGREGATE_QUERIES_PER_DAY": "most aggregate queries the aggregate-only service "
    "releases per permit per day (default 200)",
    "DATALUX_AUDIT_SIGNING_KEY": "Ed25519 key file signing audit checkpoints "
    "(var/audit/signing.key; required to exist in production)",
    "DATALUX_AUDIT_CHECKPOINT_DIR": "folder of the signed audit checkpoint files "
    "(var/audit/checkpoints)",
    "DATALUX_ONCEONLY_SIGNING_KEY": "Ed25519 key file signing Once Only exchange-log entries and "
    "receipts (var/onceonly/signing.key; required to exist in production)",
    "DATALUX_ONCEONLY_PSEUDONYM_KEY": "key file of the keyed pseudonyms the exchange log records "
    "persons by (var/onceonly/pseudonym.key; required to exist in production)",
    "DATALUX_OIDC_CLIENT_ID": "client id at the state's OpenID Connect identity provider; set, "
    "citizens may sign in with their national identity (unset: not offered)",
    "DATALUX_OIDC_CLIENT_SECRET": "client secret issued by the identity provider (required when "
    "DATALUX_OIDC_CLIENT_ID is set)",
    "DATALUX_OIDC_ISSUER": "the identity provider's issuer, exactly as its id tokens' iss",
    "DATALUX_OIDC_AUTHORIZATION_ENDPOINT": "the identity provider's authorization endpoint",
    "DATALUX_OIDC_TOKEN_ENDPOINT": "the identity provider's token endpoint",
    "DATALUX_OIDC_USERINFO_ENDPOINT": "the identity provider's userinfo endpoint",
    "DATALUX_OIDC_JWKS_ENDPOINT": "the identity provider's JWKS (public signing keys) endpoint",
    "DATALUX_OIDC_SCOPES": "scopes asked of the identity provider (default openid)",
    "DATALUX_OIDC_NATIONAL_NUMBER_CLAIM": "the claim that holds the citizen's national number "
    "(default national_number)",
    "DATALUX_OIDC_TIMEOUT_SECONDS": "seconds to wait for the identity provider (default 10)",
}


class SettingsError(Exception):
    """A setting is missing or wrong. The message says which one and how to fix it."""

    def __init__(self, name: str, problem: str, hint: str) -> None:
        self.name = name
        self.problem = problem
        self.hint = hint
        super().__init__(f"{name}: {problem}\n  fix: {hint}")


@dataclass
class Env:
    """Typed access to environment variables with explicit defaults and hints."""

    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)

    def _raw(self, name: str) -> str | None:
        if name not in KNOWN_VARIABLES:
            raise KeyError(f"{name} is not declared in datalux.core.env.KNOWN_VARIABLES")
        value = self.environ.get(name)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def str(self, name: str, default: str | None = None, *, hint: str = "") -> str:
        value = self._raw(name)
        if value is None:
            if default is None:
                raise SettingsError(name, "is not set", hint or f"export {name}=...")
            return default
        return value

    def optional(self, name: str) -> str | None:
        return self._raw(name)

    def bool(self, name: str, default: bool = False) -> bool:
        value = self._raw(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise SettingsError(name, f"is {value!r}, not a yes/no value", f"set {name}=1 or {name}=0")

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        value = self.str(name, default)
        if value not in choices:
            raise SettingsError(
                name, f"is {value!r}", f"set {name} to one of: {', '.join(choices)}"
            )
        return value

    def list(self, name: str, default: list[str] | None = None) -> list[str]:
        value = self._raw(name)
        if value is None:
            return list(default or [])
        return [item.strip() for item in value.split(",") if item.strip()]

    def path(self, name: str, default: Path) -> Path:
        value = self._raw(name)
        return Path(value).expanduser().resolve() if value else default.resolve()
