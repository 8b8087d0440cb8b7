"""``scripts/system-deps``: installs nothing when all is there, stops with one line otherwise."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "system-deps"


def _bin(tmp_path: Path, **tools: str) -> Path:
    """A PATH folder holding only the named stub commands (name -> shell body)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for name, body in tools.items():
        stub = folder / name
        stub.write_text(f"#!/bin/sh\n{body}\n")
        stub.chmod(0o755)
    return folder


def _run(path: Path, *needs: str) -> subprocess.CompletedProcess[str]:
    sh = shutil.which("sh")
    assert sh is not None
    env = {"PATH": str(path), "HOME": str(path)}
    return subprocess.run(  # noqa: S603
        [sh, str(SCRIPT), *needs], env=env, capture_output=True, text=True, timeout=30
    )


def test_nothing_missing_installs_nothing(tmp_path: Path) -> None:
    folder = _bin(tmp_path, chromium="exit 0", java="exit 0", bwrap="exit 0", msgfmt="exit 0")
    done = _run(folder, "browser", "java", "sandbox", "gettext")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""


def test_missing_package_without_root_or_sudo_names_the_command(tmp_path: Path) -> None:
    folder = _bin(tmp_path, id="echo 1000", java="exit 0")
    done = _run(folder, "browser", "java", "sandbox")
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines == [
        "missing Debian packages: chromium bubblewrap; fix: run  "
        "sudo apt-get install -y chromium bubblewrap  (then run make again)"
    ]


def test_sudo_that_asks_for_a_password_is_not_waited_for(tmp_path: Path) -> None:
    # `sudo -n true` fails when a password would be needed: the script must stop, not prompt.
    folder = _bin(tmp_path, id="echo 1000", sudo="exit 1")
    done = _run(folder, "sandbox")
    assert done.returncode == 1
    assert "sudo apt-get install -y bubblewrap" in done.stderr


def test_chromium_from_the_environment_counts(tmp_path: Path) -> None:
    folder = _bin(tmp_path, id="echo 1000")
    env = {"PATH": str(folder), "DATALUX_CHROMIUM": "/opt/chromium"}
    sh = shutil.which("sh")
    assert sh is not None
    done = subprocess.run(  # noqa: S603
        [sh, str(SCRIPT), "browser"], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr


def test_unknown_need_is_refused(tmp_path: Path) -> None:
    done = _run(_bin(tmp_path), "spaceship")
    assert done.returncode == 2
    assert "unknown need 'spaceship'" in done.stderr


def test_make_and_ci_call_the_script() -> None:
    root = SCRIPT.parents[1]
    makefile = (root / "Makefile").read_text()
    assert "scripts/system-deps" in makefile.split("\ntest: install", 1)[1].split("\n\n", 1)[0]
    assert "scripts/system-deps" in makefile.split("\ndemo: install", 1)[1].split("\n\n", 1)[0]
    ci = (root / ".ci" / "run").read_text()
    assert "scripts/system-deps" in ci and "apt-get" not in ci
    assert os.access(SCRIPT, os.X_OK)
