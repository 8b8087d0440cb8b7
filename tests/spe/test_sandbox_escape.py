"""The escape suite (issue 12): each case is a job that must fail or be contained, with its
status, while the platform keeps serving. Runs the real bubblewrap: when it cannot run here
the tests fail with the probe's reason (``make test`` installs the Debian package)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from datalux.spe.sandbox import Limits, Runtime, SandboxResult, SandboxSpec, Status, probe, run

SECRET = "datalux-secret-marker-7f3a"
DEFAULT_LIMITS = {"cpu_seconds": 10, "wall_seconds": 15, "memory_bytes": 512 * 2**20,
                  "max_processes": 32, "output_bytes": 5 * 2**20}  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def _bubblewrap() -> None:
    checked = probe()
    assert checked.ok, checked.reason


@pytest.fixture
def box(tmp_path: Path) -> dict[str, Path]:
    """A workspace-like layout, with secrets beside it that the job must never reach."""
    folders = {name: tmp_path / name for name in ("data", "code", "output", "logs", "other")}
    for folder in folders.values():
        folder.mkdir()
    (folders["code"] / "output").mkdir()  # the mount point of the output folder
    (folders["data"] / "extract.csv").write_text("a,b\n1,2\n")
    (folders["other"] / "extract.parquet").write_text(SECRET)  # another project's extract
    (tmp_path / "db.sqlite3").write_text(SECRET)  # the metadata database
    (tmp_path / "ttp.key").write_text(SECRET)  # the trusted third party's key
    return {**folders, "root": tmp_path}


def _run(box: dict[str, Path], code: str, **limits: Any) -> tuple[SandboxResult, str]:
    runtime = Runtime.current_python()
    for old in box["output"].iterdir():  # each job starts with an empty output folder
        old.unlink()
    (box["code"] / "job.py").write_text(code)
    log = box["logs"] / f"log-{len(list(box['logs'].iterdir()))}.txt"
    result = run(
        SandboxSpec(
            argv=(*runtime.command, "/project/job.py"),
            runtime=runtime,
            binds=(
                (box["code"], "/project", True),
                (box["output"], "/project/output", False),
                (box["data"], "/data", True),
            ),
            output_dir=box["output"],
            log_path=log,
            cwd="/project",
            env={"PATHS": f"{box['root']}|{box['other']}"},
            limits=Limits(**{**DEFAULT_LIMITS, **limits}),
        )
    )
    text = log.read_text(errors="replace") if log.exists() else ""
    assert SECRET not in text
    return result, text


def _platform_serves() -> None:
    """The host still starts processes and accepts connections."""
    done = subprocess.run([sys.executable, "-c", "print('alive')"], capture_output=True, check=True)
    assert done.stdout.strip() == b"alive"
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=2):
            pass


def test_a_plain_job_runs_and_writes_its_output(box: dict[str, Path]) -> None:
    result, log = _run(
        box,
        "import os\nprint(open('/data/extract.csv').read())\n"
        "open('output/result.txt', 'w').write('ok')\nprint(os.getuid(), os.environ['HOME'])\n",
    )
    assert result.status is Status.SUCCEEDED, log
    assert (box["output"] / "result.txt").read_text() == "ok"
    assert "65534 /tmp" in log and "a,b" in log


def test_no_connection_to_the_platform_nor_outside(box: dict[str, Path]) -> None:
    accepted: list[Any] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    port = server.getsockname()[1]

    def accept() -> None:
        for _ in range(40):
            try:
                accepted.append(server.accept())
            except TimeoutError:
                continue

    watcher = threading.Thread(target=accept)
    watcher.start()
    result, log = _run(
        box,
        dedent(f"""
            import socket
            for host in [('127.0.0.1', {port}), ('1.1.1.1', 443), ('::1', {port})]:
                try:
                    socket.create_connection(host, timeout=2)
                    print('CONNECTED', host)
                except OSError as exc:
                    print('refused', host, exc.errno)
        """),
    )
    watcher.join()
    server.close()
    assert result.status is Status.SUCCEEDED, log
    assert "CONNECTED" not in log and log.count("refused") == 3
    assert accepted == []


@pytest.mark.parametrize("secret", ["db.sqlite3", "ttp.key", "other/extract.parquet"])
def test_files_outside_the_binds_do_not_exist(box: dict[str, Path], secret: str) -> None:
    path = box["root"] / secret
    result, log = _run(box, f"print(open({str(path)!r}).read())\n")
    assert result.status is Status.FAILED and "FileNotFoundError" in log


def test_the_host_environment_home_and_tree_are_hidden(
    box: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATALUX_SECRET_KEY", SECRET)
    result, log = _run(
        box,
        "import os\nprint('env1', open('/proc/1/environ', 'rb').read())\n"
        "print('env', sorted(os.environ))\n"
        "print('home', os.path.exists('/home'), os.path.exists('/var'))\n"
        "for top in ('/root', '/work', '/etc'):\n"
        "    for folder, dirs, files in os.walk(top):\n"
        "        if files:\n"
        "            print('file', folder, files)\n"
        "        dirs[:] = [d for d in dirs if d not in ('.venv', 'versions')]\n"
        "print('top', sorted(os.listdir('/')))\n"
        "print('pids', sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))\n",
    )
    assert result.status is Status.SUCCEEDED, log
    assert "DATALUX_SECRET_KEY" not in log
    assert "home False False" in log
    # /root and /work hold only the mount points of the runtime's folders (and, with an
    # editable install, the platform's own source, bound read-only so jobs can import its
    # helpers); /etc only the linker's files: no host file (history, keys, configuration)
    import datalux

    source = Path(datalux.__file__).resolve().parent
    files = [row for row in log.splitlines() if row.startswith("file ")]
    assert all(row.startswith(("file /etc", f"file {source}")) for row in files), files
    assert not any("/.git" in row or "/var/" in row for row in files), files
    assert not any("passwd" in row or "shadow" in row for row in files), files
    assert "pids [1, 2]" in log or "pids [1, 2, 3]" in log  # only the sandbox's own processes


def test_nothing_outside_the_output_folder_is_writable(box: dict[str, Path]) -> None:
    result, log = _run(
        box,
        "for path in ['/project/evil.py', '/data/evil.csv', '/usr/evil', '/evil', '/etc/evil',"
        " '/proc/evil', '/root/evil']:\n"
        "    try:\n        open(path, 'w').write('x')\n        print('WROTE', path)\n"
        "    except OSError as exc:\n        print('refused', path, exc.errno)\n",
    )
    assert result.status is Status.SUCCEEDED, log
    assert "WROTE" not in log
    assert not (box["code"] / "evil.py").exists() and not (box["data"] / "evil.csv").exists()


def test_mount_ptrace_and_unshare_are_refused(box: dict[str, Path]) -> None:
    result, log = _run(
        box,
        dedent(f"""
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            r = libc.mount(b'none', b'/tmp', b'tmpfs', 0, None)
            print('mount', r, ctypes.get_errno())
            r = libc.ptrace(16, {os.getpid()}, 0, 0)  # attach to the host's test process
            print('ptrace-host', r, ctypes.get_errno())
            r = libc.unshare(0x10000000)  # CLONE_NEWUSER
            print('unshare-user', r, ctypes.get_errno())
            r = libc.unshare(0x40000000)  # CLONE_NEWNET
            print('unshare-net', r, ctypes.get_errno())
        """),
    )
    assert result.status is Status.SUCCEEDED, log
    for call in ("mount", "ptrace-host", "unshare-user", "unshare-net"):
        line = next(row for row in log.splitlines() if row.startswith(call + " "))
        assert line.split()[1] == "-1", line  # every call failed


def test_a_fork_bomb_is_contained(box: dict[str, Path]) -> None:
    result, log = _run(
        box, "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n"
        "        pass\n", wall_seconds=4,
    )  # fmt: skip
    assert result.status in (Status.TIMED_OUT, Status.FAILED), (result, log[-500:])
    _platform_serves()


def test_a_memory_bomb_is_out_of_memory(box: dict[str, Path]) -> None:
    result, log = _run(box, "blocks = []\nwhile True:\n    blocks.append(bytearray(50 * 2**20))\n")
    assert result.status is Status.OUT_OF_MEMORY, (result, log[-500:])
    _platform_serves()


def test_an_endless_loop_times_out(box: dict[str, Path]) -> None:
    result, _log = _run(box, "while True:\n    pass\n", cpu_seconds=2, wall_seconds=10)
    assert result.status is Status.TIMED_OUT and result.wall_seconds < 9
    result, _log = _run(box, "import time\ntime.sleep(60)\n", wall_seconds=2)
    assert result.status is Status.TIMED_OUT and result.wall_seconds < 5
    _platform_serves()


def test_a_disk_fill_is_stopped(box: dict[str, Path]) -> None:
    result, log = _run(box, "with open('output/big', 'wb') as f:\n    while True:\n"
                            "        f.write(b'0' * 2**20)\n")  # fmt: skip
    assert result.status is Status.OUTPUT_TOO_LARGE, (result, log[-500:])
    many, log = _run(
        box,
        "import time\nfor i in range(100):\n    open(f'output/f{i}', 'wb').write(b'0' * 2**19)\n"
        "time.sleep(3)\n",
    )
    assert many.status is Status.OUTPUT_TOO_LARGE, (many, log[-500:])
    tmp, log = _run(box, "i = 0\nwhile True:\n    open(f'/tmp/f{i}', 'wb').write(b'0' * 2**22)\n"
                         "    i += 1\n", memory_bytes=256 * 2**20)  # fmt: skip
    assert tmp.status in (Status.FAILED, Status.OUT_OF_MEMORY), (tmp, log[-300:])
    assert tmp.status is Status.OUT_OF_MEMORY or "No space left" in log
    _platform_serves()
