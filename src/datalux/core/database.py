"""Check that the metadata database answers, with a message that says what to fix."""

from __future__ import annotations

from django.db import DatabaseError, connection


class DatabaseUnavailable(Exception):
    pass


def describe(settings_dict: dict) -> str:
    engine = settings_dict["ENGINE"].rsplit(".", 1)[-1]
    if engine == "sqlite3":
        return f"SQLite database {settings_dict['NAME']}"
    host = settings_dict.get("HOST") or "localhost"
    port = settings_dict.get("PORT") or 5432
    return f"PostgreSQL database {settings_dict.get('NAME')!r} at {host}:{port}"


def ensure_database() -> None:
    """Open a connection, creating the SQLite folder if needed; raise with a hint otherwise."""
    settings_dict = connection.settings_dict
    if settings_dict["ENGINE"].endswith("sqlite3"):
        from pathlib import Path

        Path(settings_dict["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    try:
        connection.ensure_connection()
    except DatabaseError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseUnavailable(
            f"cannot connect to the {describe(settings_dict)}: {first_line}\n"
            "  fix: start the database server, or correct DATABASE_URL "
            "(unset it to use the embedded SQLite database under var/)"
        ) from exc
