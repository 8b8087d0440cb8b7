"""``datalux backup``: create → verify → restore into an empty installation, on the suite's engine.

Each installation is its own DATALUX_VAR/DATALUX_STORAGE (and, under PostgreSQL, its own
database), driven through the command line so settings load fresh.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

DATALUX = [sys.executable, "-m", "datalux"]
SUITE_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = SUITE_URL.startswith(("postgres://", "postgresql://"))

Make = Callable[[str], dict[str, str]]


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [*DATALUX, *args], env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def installations(tmp_path: Path) -> Iterator[Make]:
    """Make installations of their own on the engine the suite runs on."""
    made: list[str] = []

    def make(label: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATALUX_", "DJANGO_"))}
        env.pop("DATABASE_URL", None)
        env |= {
            "DATALUX_VAR": str(tmp_path / label / "var"),
            "DATALUX_STORAGE": str(tmp_path / label / "storage"),
            "DATALUX_LOG_LEVEL": "WARNING",
        }
        if ON_POSTGRES:
            import psycopg

            name = f"datalux_backup_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(SUITE_URL, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            made.append(name)
            env["DATABASE_URL"] = SUITE_URL.rsplit("/", 1)[0] + "/" + name
        return env

    yield make
    if made:
        import psycopg

        with psycopg.connect(SUITE_URL, autocommit=True) as conn:
            for name in made:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def seeded(installations: Make, tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A small seeded demo and a backup of it."""
    env = installations("source")
    for args in (("migrate",), ("demo", "seed", "--persons", "120")):
        done = _run(env, *args)
        assert done.returncode == 0, done.stderr
    target = tmp_path / "backup"
    done = _run(env, "backup", "create", str(target))
    assert done.returncode == 0, done.stderr
    return env, target


def _snapshot(env: dict[str, str]) -> tuple[dict[str, bytes], str]:
    """The storage files and the audit head (SQLite's -wal/-shm files come and go by design)."""
    root = Path(env["DATALUX_STORAGE"])
    files = (
        {str(p): p.read_bytes() for p in root.rglob("*") if p.is_file()} if root.exists() else {}
    )
    database = Path(env["DATALUX_VAR"]) / "datalux.sqlite3"
    head = _run(env, "audit", "head").stdout if ON_POSTGRES or database.exists() else "absent"
    return files, head


def test_restore_of_a_demo_passes_audit_verify_with_the_anchor(
    seeded: tuple[dict[str, str], Path], installations: Make
) -> None:
    env, backup = seeded
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["engine"] == ("postgresql" if ON_POSTGRES else "sqlite")
    seq, _, digest = manifest["audit_anchor"].partition(":")
    assert int(seq) > 0 and len(digest) == 64
    assert any(f["path"].startswith("storage/") for f in manifest["files"])
    assert _run(env, "backup", "verify", str(backup)).returncode == 0

    empty = installations("restored")
    done = _run(empty, "backup", "restore", str(backup))
    assert done.returncode == 0, done.stderr
    assert manifest["audit_anchor"] in done.stdout
    checked = _run(empty, "audit", "verify", "--anchor", manifest["audit_anchor"])
    assert checked.returncode == 0, checked.stderr
    source_files = sorted(
        p.relative_to(env["DATALUX_STORAGE"]).as_posix()
        for p in Path(env["DATALUX_STORAGE"]).rglob("*")
        if p.is_file()
    )
    restored_files = sorted(
        p.relative_to(empty["DATALUX_STORAGE"]).as_posix()
        for p in Path(empty["DATALUX_STORAGE"]).rglob("*")
        if p.is_file()
    )
    assert restored_files == source_files


def _change_a_checksum(backup: Path) -> str:
    victim = next(p for p in sorted((backup / "storage").rglob("*")) if p.is_file())
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    return "has checksum"


def _remove_a_file(backup: Path) -> str:
    next(p for p in sorted((backup / "storage").rglob("*")) if p.is_file()).unlink()
    return "is missing"


def _add_a_file(backup: Path) -> str:
    (backup / "storage" / "stray.parquet").write_bytes(b"x")
    return "stray.parquet is not in the manifest"


def _truncate_the_manifest(backup: Path) -> str:
    path = backup / "manifest.json"
    path.write_text(path.read_text()[:40])
    return "manifest.json is not valid JSON"


@pytest.mark.parametrize(
    "damage", [_change_a_checksum, _remove_a_file, _add_a_file, _truncate_the_manifest]
)
def test_a_damaged_backup_fails_verify_and_restore_changes_nothing(
    seeded: tuple[dict[str, str], Path], installations: Make, damage: Callable[[Path], str]
) -> None:
    env, backup = seeded
    expected = damage(backup)
    done = _run(env, "backup", "verify", str(backup))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and "fix: use another backup" in lines[0]

    empty = installations("target")
    before = _snapshot(empty)
    refused = _run(empty, "backup", "restore", str(backup))
    assert refused.returncode == 1
    assert expected in refused.stderr
    assert _snapshot(empty) == before


def test_restore_over_a_non_empty_installation_is_refused(
    seeded: tuple[dict[str, str], Path],
) -> None:
    env, backup = seeded
    before = _snapshot(env)
    done = _run(env, "backup", "restore", str(backup))
    assert done.returncode == 1
    assert done.stderr.startswith("restore needs an empty installation:")
    assert "audit_auditevent" in done.stderr and "holds files" in done.stderr
    assert _snapshot(env) == before


def test_create_refuses_a_non_empty_directory(seeded: tuple[dict[str, str], Path]) -> None:
    env, backup = seeded
    before = (backup / "manifest.json").read_bytes()
    done = _run(env, "backup", "create", str(backup))
    assert done.returncode == 1
    assert "is not empty; fix: name a new directory" in done.stderr
    assert (backup / "manifest.json").read_bytes() == before
    assert not list(backup.parent.glob(".backup.partial-*"))
