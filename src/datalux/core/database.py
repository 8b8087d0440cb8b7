"""Check that the metadata database answers, with a message that says what to fix."""

from __future__ import annotations

import os
from pathlib import Path

from django.db import DatabaseError, connection

from datalux.dataplane.storage import private_folder


class DatabaseUnavailable(Exception):
    pass


def describe(settings_dict: dict) -> str:
    engine = settings_dict["ENGINE"].rsplit(".", 1)[-1]
    if engine == "sqlite3":
        return f"SQLite database {settings_dict['NAME']}"
    host = settings_dict.get("HOST") or "localhost"
    port = settings_dict.get("PORT") or 5432
    return f"PostgreSQL database {settings_dict.get('NAME')!r} at {host}:{port}"


def create_sqlite_file(name: str) -> None:
    """The SQLite database file, readable by its owner only (0600; SQLite gives its journal and
    WAL files the same mode), in a folder created 0700 if missing. An existing file is made
    owner-only too. ``:memory:`` and ``file:`` URIs are left alone."""
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    path = Path(name)
    private_folder(path.parent)
    os.close(os.open(path, os.O_RDONLY | os.O_CREAT, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists() and file.stat().st_uid == os.getuid():
            os.chmod(file, 0o600)


def ensure_database() -> None:
    """Open a connection, creating the SQLite file (owner-only) if needed; raise with a hint
    otherwise."""
    settings_dict = connection.settings_dict
    if settings_dict["ENGINE"].endswith("sqlite3"):
        create_sqlite_file(str(settings_dict["NAME"]))
    try:
        connection.ensure_connection()
    except DatabaseError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseUnavailable(
            f"cannot connect to the {describe(settings_dict)}: {first_line}\n"
            "  fix: start the database server, or correct DATABASE_URL "
            "(unset it to use the embedded SQLite database under var/)"
        ) from exc
