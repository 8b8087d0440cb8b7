"""Backups of one installation: the metadata database, the storage root and the audit anchor.

A backup directory holds ``database.sqlite3`` (SQLite online backup, consistent while the
server runs) or ``database.pgdump`` (``pg_dump --format=custom``), ``storage/`` (a copy of the
storage root, relative paths kept) and ``manifest.json`` (format, datalux version, engine,
audit anchor ``SEQ:HASH``, every file with its size and SHA-256). It is written into a hidden
sibling and renamed at the end, so a crash never leaves a half backup that looks complete.

SQLite's anchor is read from the copy itself. PostgreSQL's is read just before ``pg_dump``
starts its snapshot: the audit log is append-only, so that event is in the dump.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from datalux.dataplane.storage import file_sha256 as _sha256

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
AUDIT_TABLE = "audit_auditevent"
# Rows in any of these mean an installation is in use: a restore over it is refused.
IN_USE_TABLES = ("audit_auditevent", "accounts_user", "catalogue_dataset")


class BackupError(Exception):
    """A backup cannot be made, checked or restored; each line says what to fix."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Installation:
    """Where one installation keeps its data (from Django's settings)."""

    database: dict[str, Any]
    storage_root: Path

    @property
    def engine(self) -> str:
        return "postgresql" if "postgresql" in self.database["ENGINE"] else "sqlite"


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() or p.is_symlink())


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    if candidates:
        return str(candidates[-1])
    raise BackupError(
        [f"{name} is not installed; fix: run  sh scripts/system-deps postgres  and try again"]
    )


def _pg_env(database: dict[str, Any]) -> dict[str, str]:
    env = dict(os.environ)
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER")):
        if database.get(key):
            env[var] = str(database[key])
    if database.get("PASSWORD"):
        env["PGPASSWORD"] = str(database["PASSWORD"])
    return env


def _pg(tool: str, *args: str, database: dict[str, Any] | None = None) -> str:
    """Run a PostgreSQL client tool; "" on success, else the last line it printed on stderr."""
    done = subprocess.run(  # noqa: S603
        [_pg_tool(tool), *args],
        env=_pg_env(database) if database else None,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode == 0:
        return ""
    lines = done.stderr.strip().splitlines()
    return lines[-1] if lines else f"{tool} exited with status {done.returncode}"


def _anchor_of_sqlite(path: Path) -> str:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        query = f"SELECT seq, hash FROM {AUDIT_TABLE} ORDER BY seq DESC LIMIT 1"  # noqa: S608
        row = conn.execute(query).fetchone()
    return f"{row[0]}:{row[1]}" if row else ""


def create(target: Path, installation: Installation, *, anchor_now: Any = None) -> dict[str, Any]:
    """Write a complete backup into ``target`` (absent or empty) and return its manifest."""
    target = target.absolute()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError([f"{target} is not empty; fix: name a new directory for the backup"])
    partial = target.parent / f".{target.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        if installation.engine == "sqlite":
            source = sqlite3.connect(str(installation.database["NAME"]))
            dest = sqlite3.connect(str(partial / SQLITE_FILE))
            with dest:
                source.backup(dest)
            source.close()
            dest.close()
            anchor = _anchor_of_sqlite(partial / SQLITE_FILE)
        else:
            anchor = anchor_now() if anchor_now else ""
            db = installation.database
            error = _pg(
                "pg_dump", "--format=custom", "--no-owner", "--file", str(partial / PG_FILE),
                str(db["NAME"]), database=db,
            )  # fmt: skip
            if error:
                raise BackupError([f"pg_dump failed: {error}"])
        storage = installation.storage_root
        if storage.is_dir():
            shutil.copytree(storage, partial / "storage", symlinks=False)
        else:
            (partial / "storage").mkdir()
        files = [
            {
                "path": p.relative_to(partial).as_posix(),
                "size": p.stat().st_size,
                "sha256": _sha256(p),
            }
            for p in _files(partial)
        ]
        manifest = {
            "format": FORMAT,
            "datalux_version": version("datalux"),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "engine": installation.engine,
            "audit_anchor": anchor,
            "files": files,
        }
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        if target.exists():
            target.rmdir()
        partial.rename(target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return manifest


def read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    fix = "fix: use another backup"
    if not path.is_file():
        raise BackupError([f"backup incomplete: {path} is missing; {fix}"])
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BackupError([f"backup damaged: {MANIFEST} is not valid JSON ({exc}); {fix}"]) from exc
    keys = {"format", "engine", "audit_anchor", "files"}
    if not isinstance(manifest, dict) or not keys <= manifest.keys():
        raise BackupError([f"backup damaged: {MANIFEST} lacks {sorted(keys)}; {fix}"])
    if manifest["format"] != FORMAT:
        raise BackupError(
            [
                f"backup format {manifest['format']} is not {FORMAT}; fix: restore it with the "
                f"datalux version that made it ({manifest.get('datalux_version', '?')})"
            ]
        )
    return manifest


def verify(directory: Path) -> dict[str, Any]:
    """Check every file against the manifest and the database copy; raise with one line each."""
    directory = directory.absolute()
    if not directory.is_dir():
        raise BackupError([f"{directory} is not a directory; fix: name a backup directory"])
    manifest = read_manifest(directory)
    fix = "fix: use another backup"
    problems: list[str] = []
    listed = {}
    for entry in manifest["files"]:
        listed[entry["path"]] = entry
        path = directory / entry["path"]
        if not path.is_file():
            problems.append(f"backup incomplete: {entry['path']} is missing; {fix}")
        elif path.stat().st_size != entry["size"]:
            problems.append(
                f"backup damaged: {entry['path']} has {path.stat().st_size} bytes, the manifest "
                f"says {entry['size']}; {fix}"
            )
        elif (digest := _sha256(path)) != entry["sha256"]:
            problems.append(
                f"backup damaged: {entry['path']} has checksum {digest[:16]}…, the manifest says "
                f"{entry['sha256'][:16]}…; {fix}"
            )
    for path in _files(directory):
        rel = path.relative_to(directory).as_posix()
        if rel != MANIFEST and rel not in listed:
            problems.append(f"backup altered: {rel} is not in the manifest; {fix}")
    db_file = SQLITE_FILE if manifest["engine"] == "sqlite" else PG_FILE
    if db_file not in listed:
        problems.append(f"backup incomplete: the manifest lists no {db_file}; {fix}")
    if not problems:
        problems += _check_database(directory / db_file, manifest)
    if problems:
        raise BackupError(problems)
    return manifest


def _check_database(path: Path, manifest: dict[str, Any]) -> list[str]:
    fix = "fix: use another backup"
    if manifest["engine"] == "sqlite":
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
                ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
            anchor = _anchor_of_sqlite(path)
        except sqlite3.DatabaseError as exc:
            return [f"backup damaged: {path.name} is not a readable SQLite database ({exc}); {fix}"]
        if ok != "ok":
            return [f"backup damaged: {path.name} fails SQLite's integrity check ({ok}); {fix}"]
        if anchor != manifest["audit_anchor"]:
            return [
                f"backup altered: the audit head in {path.name} is {anchor or 'empty'}, the "
                f"manifest says {manifest['audit_anchor'] or 'empty'}; {fix}"
            ]
        return []
    if _pg("pg_restore", "--list", str(path)):
        return [f"backup damaged: pg_restore cannot read {path.name}; {fix}"]
    return []


def in_use(installation: Installation) -> list[str]:
    """Why ``installation`` is not empty (rows in use, files in storage); [] when it is."""
    reasons: list[str] = []
    if installation.engine == "sqlite":
        name = Path(installation.database["NAME"])
        if name.exists():
            with sqlite3.connect(f"file:{name}?mode=ro", uri=True) as conn:
                tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
                for table in IN_USE_TABLES:
                    query = f"SELECT 1 FROM {table} LIMIT 1"  # noqa: S608
                    if table in tables and conn.execute(query).fetchone():
                        reasons.append(f"the database {name} has rows in {table}")
    else:
        from django.db import connection

        tables = set(connection.introspection.table_names())
        with connection.cursor() as cursor:
            for table in IN_USE_TABLES:
                if table in tables:
                    cursor.execute(f"SELECT 1 FROM {table} LIMIT 1")  # noqa: S608
                    if cursor.fetchone():
                        reasons.append(
                            f"the database {installation.database['NAME']} has rows in {table}"
                        )
    root = installation.storage_root
    if root.is_dir() and any(p.is_file() for p in root.rglob("*")):
        reasons.append(f"the storage root {root} holds files")
    return reasons


def restore(directory: Path, installation: Installation) -> dict[str, Any]:
    """Restore a verified backup into an empty installation; nothing changes on refusal."""
    manifest = verify(directory)
    directory = directory.absolute()
    if manifest["engine"] != installation.engine:
        raise BackupError(
            [
                f"this backup is of a {manifest['engine']} database and this installation uses "
                f"{installation.engine}; fix: restore it into a {manifest['engine']} installation"
            ]
        )
    reasons = in_use(installation)
    if reasons:
        raise BackupError(
            [
                "restore needs an empty installation: "
                + "; ".join(reasons)
                + "; fix: point DATABASE_URL/DATALUX_VAR and DATALUX_STORAGE at an empty one"
            ]
        )
    if installation.engine == "sqlite":
        name = Path(installation.database["NAME"])
        name.parent.mkdir(parents=True, exist_ok=True)
        temp = name.with_name(name.name + ".restoring")
        shutil.copyfile(directory / SQLITE_FILE, temp)
        for suffix in ("-wal", "-shm", "-journal"):
            name.with_name(name.name + suffix).unlink(missing_ok=True)
        os.replace(temp, name)
    else:
        db = installation.database
        error = _pg(
            "pg_restore", "--clean", "--if-exists", "--no-owner", "--exit-on-error",
            "--dbname", str(db["NAME"]), str(directory / PG_FILE), database=db,
        )  # fmt: skip
        if error:
            raise BackupError([f"pg_restore failed: {error}"])
    root = installation.storage_root
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(directory / "storage", root, dirs_exist_ok=True)
    return manifest
