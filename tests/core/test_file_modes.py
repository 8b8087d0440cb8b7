"""Issue 10, item 12: the files datalux writes are its own - data files 0600 in folders 0700
whatever the umask, the SQLite database (and its WAL) 0600, and the web server's processes
create everything owner-only (umask 077)."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from datalux.catalogue.uploads import dataset_folder, upload_version
from datalux.core.database import create_sqlite_file
from datalux.dataplane.storage import atomic_output, private_folder, write_parquet_atomic
from tests.catalogue.upload_fixtures import csv_text, make_dataset

ROOT = Path(__file__).resolve().parents[2]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def _permissive_umask() -> Iterator[None]:
    """The usual umask of a shell (022): what is private must be so by datalux's own doing."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_atomic_writes_are_owner_only(tmp_path: Path) -> None:
    written = write_parquet_atomic(pa.table({"a": [1, 2]}), tmp_path / "t.parquet")
    assert mode(written) == 0o600
    with atomic_output(tmp_path / "parts") as tmp:  # a writer that makes a folder of files
        tmp.mkdir()
        (tmp / "part-0.parquet").write_bytes(b"x")
    assert mode(tmp_path / "parts") == 0o700
    assert mode(tmp_path / "parts" / "part-0.parquet") == 0o600


def test_private_folders_are_created_0700_with_their_parents(tmp_path: Path) -> None:
    (tmp_path / "kept").mkdir(mode=0o755)
    folder = private_folder(tmp_path / "kept" / "a" / "b")
    assert mode(folder) == 0o700 and mode(folder.parent) == 0o700
    assert mode(tmp_path / "kept") == 0o755  # a folder that was there keeps its mode


@pytest.mark.django_db
def test_an_uploaded_version_is_owner_only(make_member: Any, tmp_path: Path, settings: Any) -> None:
    settings.DATALUX_STORAGE = tmp_path / "new-storage"  # created by the upload
    dataset = make_dataset()
    steward = make_member("steward", organisation=dataset.publisher)
    source = tmp_path / "stays.csv"
    source.write_text(csv_text(3), encoding="utf-8")
    version = upload_version(dataset=dataset, source=source, filename="stays.csv", by=steward)
    stored = Path(version.data_file.path)
    assert mode(stored) == 0o600
    folder = dataset_folder(dataset)
    for level in (folder, folder.parent, folder.parent.parent, settings.DATALUX_STORAGE):
        assert mode(level) == 0o700, level


def test_the_sqlite_database_and_its_wal_are_owner_only(tmp_path: Path) -> None:
    name = tmp_path / "var" / "datalux.sqlite3"
    create_sqlite_file(str(name))
    assert mode(name) == 0o600 and mode(name.parent) == 0o700
    with sqlite3.connect(name) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE t (x)")
        db.execute("INSERT INTO t VALUES (1)")
        assert mode(name.with_name("datalux.sqlite3-wal")) == 0o600
    db.close()


def test_an_existing_database_file_is_made_owner_only(tmp_path: Path) -> None:
    name = tmp_path / "datalux.sqlite3"
    name.touch(mode=0o644)
    create_sqlite_file(str(name))
    assert mode(name) == 0o600
    create_sqlite_file(":memory:")  # nothing to do


def test_the_web_server_entry_point_sets_an_owner_only_umask(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATALUX_", "DATABASE_"))}
    env["DATALUX_VAR"] = str(tmp_path / "var")
    code = "import os, datalux.wsgi; print(oct(os.umask(0)))"
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0o77"


def test_a_command_creates_the_sqlite_database_owner_only(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATALUX_", "DATABASE_"))}
    env["DATALUX_VAR"] = str(tmp_path / "var")
    code = "from datalux.cli.runtime import setup_django; setup_django()"
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    # var/ itself is made by the settings (for the static files); the database is private
    assert mode(tmp_path / "var" / "datalux.sqlite3") == 0o600
