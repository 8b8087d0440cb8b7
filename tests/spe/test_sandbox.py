"""The sandbox's limits and protections beyond the escape suite (tests/spe/test_sandbox_escape.py):
the seccomp filter, memory that a real runtime can use, the job's total CPU time, the output
folder's number of files. Runs the real bubblewrap; fails with the probe's reason where it
cannot run (``make test`` installs the Debian package)."""

from __future__ import annotations

import os
import platform
import struct
import subprocess
import time
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from datalux.spe import sandbox
from datalux.spe.sandbox import Limits, Runtime, SandboxResult, SandboxSpec, Status, probe, run

LIMITS = {"cpu_seconds": 10, "wall_seconds": 15, "memory_bytes": 512 * 2**20,
          "max_processes": 32, "output_bytes": 5 * 2**20}  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def _bubblewrap() -> None:
    checked = probe()
    assert checked.ok, checked.reason


def _run(tmp_path: Path, code: str, **limits: Any) -> tuple[SandboxResult, str]:
    runtime = Runtime.current_python()
    (tmp_path / "code").mkdir(exist_ok=True)
    (tmp_path / "output").mkdir(exist_ok=True)
    (tmp_path / "code" / "job.py").write_text(dedent(code))
    log = tmp_path / "log.txt"
    result = run(
        SandboxSpec(
            argv=(*runtime.command, "/code/job.py"),
            runtime=runtime,
            binds=((tmp_path / "code", "/code", True), (tmp_path / "output", "/output", False)),
            output_dir=tmp_path / "output",
            log_path=log,
            cwd="/code",
            limits=Limits(**{**LIMITS, **limits}),
        )
    )
    return result, log.read_text(errors="replace") if log.exists() else ""


def _cgroup(controller: str) -> bool:
    """Whether this host gives the worker a writable cgroup v1 controller."""
    return controller in sandbox._v1_paths()


def test_tracing_mounts_namespaces_and_the_keyring_fail_with_eperm(tmp_path: Path) -> None:
    """ptrace on the sandbox's own init used to succeed and stop it: the job then hung until
    its wall time. The seccomp filter refuses it, and the other calls, with EPERM."""
    result, log = _run(
        tmp_path,
        """
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        calls = {
            "ptrace-init": lambda: libc.ptrace(16, 1, 0, 0),  # PTRACE_ATTACH to pid 1
            "mount": lambda: libc.mount(b"none", b"/tmp", b"tmpfs", 0, None),
            "unshare-user": lambda: libc.unshare(0x10000000),
            "unshare-mount": lambda: libc.unshare(0x00020000),
            "keyctl": lambda: libc.syscall(250 if os.uname().machine == "x86_64" else 219, 0),
        }
        for name, call in calls.items():
            print(name, call(), ctypes.get_errno())
        """,
        wall_seconds=10,
    )
    assert result.status is Status.SUCCEEDED, (result, log)
    assert "seccomp" in result.limits_enforced
    for name in ("ptrace-init", "mount", "unshare-user", "unshare-mount", "keyctl"):
        assert f"{name} -1 1\n" in log, log  # -1, errno 1 = EPERM


def test_the_seccomp_program_is_well_formed() -> None:
    program = sandbox._seccomp_filter("x86_64")
    assert program is not None and len(program) % 8 == 0
    ops = [struct.unpack("=HBBI", program[i : i + 8]) for i in range(0, len(program), 8)]
    assert ops[0] == (0x20, 0, 0, 4) and ops[1][3] == 0xC000003E  # the architecture first
    assert ops[-2] == (0x06, 0, 0, 0x7FFF0000) and ops[-1] == (0x06, 0, 0, 0x00050001)
    deny = len(ops) - 1
    for index, (code, jt, _jf, _k) in enumerate(ops):
        if code in (0x15, 0x35) and index > 1:  # every syscall test jumps to the EPERM return
            assert index + 1 + jt == deny
    assert {k for code, _jt, _jf, k in ops if code == 0x15} >= {101, 165, 272}  # ptrace...
    assert sandbox._seccomp_filter("sparc") is None


def test_no_descriptor_of_the_worker_reaches_the_job(tmp_path: Path) -> None:
    result, log = _run(
        tmp_path, "import os\nprint('fds', sorted(int(f) for f in os.listdir('/proc/self/fd')))\n"
    )
    assert result.status is Status.SUCCEEDED, log
    assert "fds [0, 1, 2, 3]\n" in log  # 3 is listdir's own


def test_a_32_bit_system_call_kills_the_job(tmp_path: Path) -> None:
    """int 0x80 enters the i386 table, where the numbers differ: never allowed (SIGSYS)."""
    assert platform.machine() == "x86_64", "the machine code below is x86_64"
    result, log = _run(
        tmp_path,
        """
        import ctypes, mmap
        code = bytes([0xB8, 0x14, 0, 0, 0, 0xCD, 0x80, 0xC3])  # mov eax, 20 (getpid); int 0x80
        page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        page.write(code)
        address = ctypes.addressof(ctypes.c_char.from_buffer(page))
        print("returned", ctypes.CFUNCTYPE(ctypes.c_int)(address)())
        """,
    )
    assert result.status is Status.FAILED and result.exit_code == 128 + 31, (result, log)
    assert "returned" not in log


def test_pandas_and_duckdb_run_within_a_1_gib_permit(tmp_path: Path) -> None:
    """RLIMIT_AS counts reserved address space: at 1 GiB, pandas and DuckDB crashed with
    SIGSEGV before using 150 MiB. Where a memory cgroup holds, it is the memory limit."""
    assert _cgroup("memory"), "this test needs the host's memory cgroup"
    result, log = _run(
        tmp_path,
        """
        import duckdb, pandas
        frame = pandas.DataFrame({"x": range(100_000)})
        print(duckdb.connect().sql("select count(*), sum(x) from frame").fetchall())
        """,
        memory_bytes=2**30,
    )
    assert result.status is Status.SUCCEEDED, (result, log[-800:])
    assert "[(100000, 4999950000)]" in log
    assert "cgroup:memory" in result.limits_enforced and "rlimit:as" not in result.limits_enforced


def test_without_a_memory_cgroup_the_address_space_is_limited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox, "_v1_paths", lambda: {})  # a host without writable cgroups
    result, log = _run(tmp_path, "x = bytearray(800 * 2**20)\n", memory_bytes=256 * 2**20)
    assert result.status is Status.OUT_OF_MEMORY, (result, log[-300:])
    assert "rlimit:as" in result.limits_enforced
    assert not any(e.startswith("cgroup:") for e in result.limits_enforced)
    assert result.cpu_seconds is None


def test_cpu_time_counts_every_process_of_the_job(tmp_path: Path) -> None:
    """RLIMIT_CPU is per process: three busy children under a sleeping parent used to spend
    three times the allowance and succeed. The cgroup's total stops them."""
    assert _cgroup("cpuacct"), "this test needs the host's cpuacct cgroup"
    result, log = _run(
        tmp_path,
        """
        import os, time
        for _ in range(3):
            if os.fork() == 0:
                while True:
                    pass
        time.sleep(8)
        """,
        cpu_seconds=2,
        wall_seconds=12,
    )
    assert result.status is Status.TIMED_OUT, (result, log[-300:])
    assert result.wall_seconds < 6
    assert result.cpu_seconds is not None and 2 <= result.cpu_seconds < 4


def test_cpu_seconds_are_reported(tmp_path: Path) -> None:
    result, _log = _run(tmp_path, "sum(i * i for i in range(3_000_000))\n")
    assert result.status is Status.SUCCEEDED
    assert result.cpu_seconds is not None and 0.05 < result.cpu_seconds < 10


def test_too_many_output_files_are_stopped(tmp_path: Path) -> None:
    """The byte count alone let a job fill the workspace's disk with empty files (inodes)."""
    result, log = _run(
        tmp_path,
        """
        import time
        for i in range(300):
            open(f"/output/f{i}", "w").close()
        time.sleep(5)
        """,
        output_files=100,
    )
    assert result.status is Status.OUTPUT_TOO_LARGE, (result, log[-300:])
    assert result.wall_seconds < 4  # stopped while running, not at the end
    small, _log = _run(tmp_path, "open('/output/one', 'w').write('x')\n", output_files=400)
    assert small.status is Status.SUCCEEDED


def test_the_end_of_a_job_is_seen_at_once() -> None:
    """A pidfd wakes the worker when the job ends: ``Popen.wait(timeout)`` slept in doubling
    steps and saw a 15 ms job about 16 ms late (half the start overhead in ``make bench``)."""
    running = subprocess.Popen(["/usr/bin/sleep", "5"])
    pidfd = sandbox._pidfd(running.pid)
    assert pidfd is not None, "this kernel has no pidfd_open (Linux 5.3+)"
    try:
        assert sandbox._ended(running, pidfd) is False  # still running after POLL_SECONDS
        running.kill()
        started = time.monotonic()
        assert sandbox._ended(running, pidfd) is True
        assert time.monotonic() - started < sandbox.POLL_SECONDS / 2
    finally:
        os.close(pidfd)
        running.kill()
        running.wait()
