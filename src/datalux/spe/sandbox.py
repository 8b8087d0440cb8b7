"""The sandbox of the secure processing environment: one function, :func:`run` (no Django).

A job runs under bubblewrap (Debian package ``bubblewrap``) with:

- no network: new network namespace, not even loopback to the platform;
- new user (uid/gid 65534, no capability, no nested user namespace), PID, IPC, UTS and cgroup
  namespaces; the job sees only its own processes;
- a read-only filesystem of ``/usr`` and the runtime's own folders, a private ``/tmp`` and
  ``/dev/shm`` (tmpfs, size-capped), ``/proc`` and a minimal ``/dev``, and the binds of the
  spec: the data
  and the code read-only, the job's output folder the only writable place. No database, no
  key file, no home folder, no other project: what is not bound does not exist inside;
- a seccomp filter: tracing, mounts, namespaces, the keyring, eBPF, perf, userfaultfd,
  io_uring, modules... fail with EPERM; another ABI's system calls kill the job;
- limits: memory (a memory cgroup where the host lets us make one, else ``RLIMIT_AS``), CPU
  seconds (``RLIMIT_CPU`` per process: SIGXCPU, then SIGKILL; all processes together from a
  ``cpuacct`` cgroup), size of any file written (``RLIMIT_FSIZE``) and of the output folder in
  all, with its number of files (watched while it runs), open files, wall time (killed), and
  the number of processes: a ``pids`` cgroup where the host allows one (cgroup v1 only, yet).
  ``RLIMIT_NPROC`` does not hold here (the job's uid maps to the worker's, root in a
  container), so without a cgroup a fork bomb is held only by the wall-time kill and the PID
  namespace: :attr:`SandboxResult.limits_enforced` says which limits held for each job.

``probe()`` says plainly whether bubblewrap can run here (it cannot inside some containers).
See docs/adr/0015-spe-sandbox.md.
"""

from __future__ import annotations

import functools
import os
import platform
import secrets
import select
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

BWRAP = "bwrap"
SANDBOX_UID = 65534
MAX_LOG_BYTES = 10 * 1024 * 1024
TMP_BYTES = 512 * 1024 * 1024
POLL_SECONDS = 0.1
CPU_GRACE_SECONDS = 5  # between SIGXCPU and SIGKILL
_PATH = "/usr/local/bin:/usr/bin:/bin"
SANDBOX_SHM = "/dev/shm"  # noqa: S108 (also private to the sandbox)
SANDBOX_TMP = "/tmp"  # noqa: S108 (the sandbox's own private tmpfs, not the host's /tmp)
_OOM_MARKERS = (b"MemoryError", b"Cannot allocate memory", b"std::bad_alloc", b"Out of Memory")


class Status(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # a nonzero exit of the job's own code
    OUT_OF_MEMORY = "out_of_memory"
    TIMED_OUT = "timed_out"  # wall time or CPU time
    OUTPUT_TOO_LARGE = "output_too_large"
    CANCELLED = "cancelled"
    SANDBOX_UNAVAILABLE = "sandbox_unavailable"
    INTERNAL_ERROR = "internal_error"


@dataclass(frozen=True)
class Runtime:
    """An allowed runtime: the command that runs a script (``command`` + script + args) and
    the host folders it needs, bound read-only at the same paths."""

    name: str
    command: tuple[str, ...]
    paths: tuple[Path, ...] = ()
    description: str = ""

    @classmethod
    def current_python(cls, name: str = "python") -> Runtime:
        """This interpreter and its environment (the platform's own virtual environment), with
        the folder holding the ``datalux`` package when it lies outside it (an editable install:
        ``src/``), so that a job can import the platform's helpers such as
        ``datalux.privacy.output_checks.write_table``; bound read-only like the rest."""
        import datalux

        prefixes = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(),
                    Path(sys.exec_prefix).resolve()}  # fmt: skip
        package_root = Path(datalux.__file__).resolve().parents[1]
        if not any(_under(package_root, p) for p in prefixes):
            prefixes.add(package_root)
        paths = tuple(sorted(p for p in prefixes if not _under(p, Path("/usr"))))
        return cls(name, (sys.executable,), paths, f"Python {sys.version.split()[0]}")


@dataclass(frozen=True)
class Limits:
    cpu_seconds: int = 3600
    memory_bytes: int = 4 * 1024**3
    wall_seconds: int = 7200
    max_processes: int = 64
    output_bytes: int = 1024**3
    output_files: int = 10_000  # files and folders under the output folder (inodes)

    def as_data(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class SandboxSpec:
    argv: tuple[str, ...]
    runtime: Runtime
    binds: tuple[tuple[Path, str, bool], ...]  # (host path, path inside, read-only)
    output_dir: Path  # watched for its size; must be among the writable binds
    log_path: Path  # stdout and stderr, outside the sandbox, capped at MAX_LOG_BYTES
    cwd: str = "/"
    env: Mapping[str, str] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    cancelled: Callable[[], bool] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class SandboxResult:
    status: Status
    exit_code: int | None = None
    wall_seconds: float = 0.0
    limits_enforced: tuple[str, ...] = ()
    detail: str = ""  # for operators' logs; never shown to the researcher as an error
    cpu_seconds: float | None = None  # all the job's processes (where a cgroup counts them)


@dataclass(frozen=True)
class Probe:
    ok: bool
    reason: str = ""


def _under(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _base_args(tmp_bytes: int = TMP_BYTES) -> list[str]:
    args = [
        BWRAP,
        "--unshare-all", "--unshare-user", "--disable-userns",
        "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
        "--cap-drop", "ALL", "--die-with-parent", "--new-session",
        "--ro-bind", "/usr", "/usr",
    ]  # fmt: skip
    for name in ("bin", "lib", "lib64", "sbin", "lib32", "libx32"):
        top = Path("/") / name
        if top.is_symlink():
            args += ["--symlink", os.readlink(top), str(top)]
        elif top.is_dir():
            args += ["--ro-bind", str(top), str(top)]
    for etc in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives",
                "/etc/fonts",
                "/etc/localtime"):  # fmt: skip
        if Path(etc).exists():
            args += ["--ro-bind", etc, etc]
    args += ["--proc", "/proc", "--dev", "/dev", "--size", str(tmp_bytes), "--tmpfs", SANDBOX_TMP,
             "--size", str(tmp_bytes // 4), "--tmpfs", SANDBOX_SHM]  # fmt: skip
    return args


# Kernel interfaces a job has no use for, refused with EPERM by a seccomp filter (as Flatpak
# does) on top of the dropped capabilities: tracing (a job that stopped the sandbox's own init
# with ptrace hung until its wall time), mounts and namespaces, the kernel keyring, eBPF, perf,
# userfaultfd and io_uring (kernel attack surface), modules, kexec, swap, reboot, host names,
# handle-based opens. Numbers from the kernel's unistd tables.
_DENIED = ("ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2", "pivot_root",
           "chroot", "unshare", "setns", "fsopen", "fsconfig", "fsmount", "fspick", "move_mount",
           "open_tree", "mount_setattr", "keyctl", "add_key", "request_key", "bpf",
           "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
           "io_uring_register", "init_module", "finit_module", "delete_module", "kexec_load",
           "kexec_file_load", "swapon", "swapoff", "reboot", "sethostname", "setdomainname",
           "acct", "quotactl", "lookup_dcookie", "open_by_handle_at",
           "name_to_handle_at")  # fmt: skip
_SHARED = {"fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "move_mount": 429,
           "open_tree": 428, "mount_setattr": 442, "io_uring_setup": 425,
           "io_uring_enter": 426, "io_uring_register": 427}  # fmt: skip
_SYSCALLS = {  # machine: (AUDIT_ARCH_*, numbers)
    "x86_64": (0xC000003E, {**_SHARED, "ptrace": 101, "process_vm_readv": 310,
        "process_vm_writev": 311, "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161,
        "unshare": 272, "setns": 308, "keyctl": 250, "add_key": 248, "request_key": 249,
        "bpf": 321, "perf_event_open": 298, "userfaultfd": 323, "init_module": 175,
        "finit_module": 313, "delete_module": 176, "kexec_load": 246, "kexec_file_load": 320,
        "swapon": 167, "swapoff": 168, "reboot": 169, "sethostname": 170, "setdomainname": 171,
        "acct": 163, "quotactl": 179, "lookup_dcookie": 212, "open_by_handle_at": 304,
        "name_to_handle_at": 303}),
    "aarch64": (0xC00000B7, {**_SHARED, "ptrace": 117, "process_vm_readv": 270,
        "process_vm_writev": 271, "mount": 40, "umount2": 39, "pivot_root": 41, "chroot": 51,
        "unshare": 97, "setns": 268, "keyctl": 219, "add_key": 217, "request_key": 218,
        "bpf": 280, "perf_event_open": 241, "userfaultfd": 282, "init_module": 105,
        "finit_module": 273, "delete_module": 106, "kexec_load": 104, "kexec_file_load": 294,
        "swapon": 224, "swapoff": 225, "reboot": 142, "sethostname": 161, "setdomainname": 162,
        "acct": 89, "quotactl": 60, "lookup_dcookie": 18, "open_by_handle_at": 265,
        "name_to_handle_at": 264}),
}  # fmt: skip


def _seccomp_filter(machine: str | None = None) -> bytes | None:
    """The classic-BPF program for bubblewrap's ``--seccomp``: another architecture's system
    calls (a 32-bit entry, x32) kill the process, the :data:`_DENIED` calls fail with EPERM,
    every other call is allowed. None on a machine whose numbers are not listed here."""
    found = _SYSCALLS.get(machine or platform.machine())
    if found is None:
        return None
    arch, numbers = found
    denied = sorted({numbers[name] for name in _DENIED})
    n = len(denied)

    def op(code: int, jt: int, jf: int, k: int) -> bytes:
        return struct.pack("=HBBI", code, jt, jf, k)

    load, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ|K, JGE, BPF_RET
    program = [op(load, 0, 0, 4), op(jeq, 1, 0, arch), op(ret, 0, 0, 0x80000000), op(load, 0, 0, 0)]
    if arch == 0xC000003E:  # the x32 ABI: numbers with bit 30 set
        program.append(op(jge, n + 1, 0, 0x40000000))
    program += [op(jeq, n - i, 0, nr) for i, nr in enumerate(denied)]
    program += [op(ret, 0, 0, 0x7FFF0000), op(ret, 0, 0, 0x00050000 | 1)]  # ALLOW, ERRNO(EPERM)
    return b"".join(program)


def _seccomp_args(pass_fds: list[int]) -> list[str]:
    """``--seccomp FD`` with the filter in a pipe (read by bubblewrap, closed before the job
    starts); nothing where the architecture is not listed."""
    program = _seccomp_filter()
    if program is None:
        return []
    read, write = os.pipe()
    os.write(write, program)  # a few hundred bytes: fits in the pipe
    os.close(write)
    pass_fds.append(read)
    return ["--seccomp", str(read)]


@functools.cache
def probe() -> Probe:
    """Whether bubblewrap runs here with the sandbox's namespaces (cached per process)."""
    if shutil.which(BWRAP) is None:
        return Probe(False, "bubblewrap is not installed: install the Debian package bubblewrap "
                            "(scripts/system-deps sandbox)")  # fmt: skip
    fds: list[int] = []
    try:
        done = subprocess.run(  # noqa: S603 (fixed arguments)
            [*_base_args(), *_seccomp_args(fds), "--", "/usr/bin/true"],
            capture_output=True, timeout=20, check=False, pass_fds=fds,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Probe(False, f"bubblewrap could not start: {exc}")
    finally:
        for fd in fds:
            os.close(fd)
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        return Probe(
            False,
            "bubblewrap cannot create the sandbox's namespaces here (inside a container "
            "without user namespaces?): " + (message[-1] if message else f"exit {done.returncode}"),
        )
    return Probe(True)


class _Cgroup:
    """A per-job cgroup (v1 controllers) for the ``pids`` and ``memory`` limits and the job's
    total CPU time (``cpuacct``); nothing where the host gives us no writable one. Not yet
    cgroup v2 (a delegated unified hierarchy): there a job runs on the rlimit fallback."""

    def __init__(self, limits: Limits) -> None:
        self.dirs: list[Path] = []
        self.enforced: list[str] = []
        self.cpuacct: Path | None = None
        self.folders: dict[str, Path] = {}
        name = f"datalux-job-{os.getpid()}-{secrets.token_hex(4)}"
        v1 = _v1_paths()
        for controller, files in (
            ("pids", {"pids.max": str(limits.max_processes)}),
            ("memory", {"memory.limit_in_bytes": str(limits.memory_bytes),
                        "memory.memsw.limit_in_bytes": str(limits.memory_bytes)}),
            ("cpuacct", {}),  # no limit to write: the total CPU time is read while it runs
        ):  # fmt: skip
            base = v1.get(controller)
            if base is None:
                continue
            folder = base / name
            try:
                folder.mkdir()
            except OSError:
                continue
            self.dirs.append(folder)
            self.folders[controller] = folder
            for file, value in files.items():
                try:
                    (folder / file).write_text(value)
                except OSError:
                    if file == next(iter(files)):
                        break
            else:
                self.enforced.append(f"cgroup:{controller}")
                if controller == "cpuacct":
                    self.cpuacct = folder

    def add(self, pid: int) -> None:
        """Move ``pid`` in; a controller that refuses it is no longer claimed as enforced."""
        for controller, folder in self.folders.items():
            try:
                (folder / "cgroup.procs").write_text(str(pid))
            except OSError:
                self.enforced = [e for e in self.enforced if e != f"cgroup:{controller}"]
                if folder == self.cpuacct:
                    self.cpuacct = None

    def cpu_seconds(self) -> float | None:
        """CPU time of every process the job made so far (``cpuacct.usage``, nanoseconds)."""
        if self.cpuacct is None:
            return None
        try:
            return int((self.cpuacct / "cpuacct.usage").read_text()) / 1e9
        except (OSError, ValueError):
            return None

    def oom_killed(self) -> bool:
        for folder in self.dirs:
            control = folder / "memory.oom_control"
            if control.exists():
                for line in control.read_text().splitlines():
                    if line.startswith("oom_kill ") and int(line.split()[1]) > 0:
                        return True
            failcnt = folder / "memory.failcnt"
            if failcnt.exists() and int(failcnt.read_text().strip() or 0) > 0:
                return True
        return False

    def close(self) -> None:
        for folder in self.dirs:
            for _attempt in range(50):
                procs = (folder / "cgroup.procs").read_text().split() if folder.exists() else []
                for pid in procs:
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
                try:
                    folder.rmdir()
                    break
                except OSError:
                    time.sleep(0.05)


def _v1_paths() -> dict[str, Path]:
    """Writable cgroup v1 folders of this process, by controller."""
    found: dict[str, Path] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        _id, controllers, path = line.split(":", 2)
        for controller in controllers.split(","):
            folder = Path("/sys/fs/cgroup") / controller / path.lstrip("/")
            if (
                controller in ("pids", "memory", "cpuacct")
                and folder.is_dir()
                and os.access(folder, os.W_OK)
            ):
                found[controller] = folder
    return found


def _bind_args(binds: Sequence[tuple[Path, str, bool]]) -> list[str]:
    args: list[str] = []
    for host, inside, read_only in sorted(binds, key=lambda b: b[1].count("/")):
        args += ["--ro-bind" if read_only else "--bind", str(host), inside]
    return args


def _output_usage(folder: Path, max_entries: int) -> tuple[int, int]:
    """Bytes of the files and number of entries (files, folders, links) under ``folder``;
    counting stops past ``max_entries`` when it is positive (a job making millions of empty
    files must not make every check slower)."""
    total = entries = 0
    for root, dirs, files in os.walk(folder):
        entries += len(dirs) + len(files)
        if 0 < max_entries < entries:
            break
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total, entries


def _over(folder: Path, limits: Limits) -> bool:
    size, entries = _output_usage(folder, limits.output_files)
    return size > limits.output_bytes or entries > limits.output_files


def _copy_log(stream: IO[bytes], path: Path, tail: bytearray) -> None:
    written = 0
    with path.open("ab") as log:
        for chunk in iter(lambda: stream.read(65536), b""):
            tail.extend(chunk)
            del tail[:-65536]
            if written < MAX_LOG_BYTES:
                piece = chunk[: MAX_LOG_BYTES - written]
                log.write(piece)
                written += len(piece)
                if written >= MAX_LOG_BYTES:
                    log.write(b"\n[datalux: the log is cut here, at 10 MiB]\n")
                log.flush()


def run(spec: SandboxSpec) -> SandboxResult:
    """Run ``spec.argv`` in the sandbox and wait for it; never raises for the job's own
    failures (the status says what happened)."""
    checked = probe()
    if not checked.ok:
        return SandboxResult(Status.SANDBOX_UNAVAILABLE, detail=checked.reason)
    limits = spec.limits
    soft_cpu = max(1, limits.cpu_seconds)
    spec.log_path.parent.mkdir(parents=True, exist_ok=True)
    cgroup = _Cgroup(limits)
    # RLIMIT_AS counts reserved address space, not memory: pandas and DuckDB reserve about
    # 1 GiB before they use 150 MiB, and crashed (SIGSEGV) under a 1 GiB permit. So it is the
    # memory limit only where no memory cgroup holds the real one.
    memory_cgroup = "cgroup:memory" in cgroup.enforced
    inner = [
        "/usr/bin/prlimit",
        *([] if memory_cgroup else [f"--as={limits.memory_bytes}"]),
        f"--cpu={soft_cpu}:{soft_cpu + CPU_GRACE_SECONDS}",
        f"--fsize={limits.output_bytes}",
        "--nofile=1024",
        "--core=0",
        "--",
        *spec.argv,
    ]
    env = {"PATH": _PATH, "HOME": SANDBOX_TMP, "TMPDIR": SANDBOX_TMP, "LANG": "C.UTF-8",
           "USER": "nobody", "LOGNAME": "nobody", **spec.env}  # fmt: skip
    args = [*_base_args(min(TMP_BYTES, limits.memory_bytes)), "--clearenv"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    for path in spec.runtime.paths:
        args += ["--ro-bind", str(path), str(path)]
    # the root itself (bubblewrap's own tmpfs, holding the mount points) is made read-only last
    pass_fds: list[int] = []
    args += [*_bind_args(spec.binds), "--remount-ro", "/", "--chdir", spec.cwd,
             *_seccomp_args(pass_fds), "--", *inner]  # fmt: skip
    enforced = ["network", "filesystem", *(["seccomp"] if pass_fds else []),
                *([] if memory_cgroup else ["rlimit:as"]), "rlimit:cpu", "rlimit:fsize",
                "wall-time", "output-size", *cgroup.enforced]  # fmt: skip
    started = time.monotonic()
    tail = bytearray()
    try:
        process = subprocess.Popen(  # noqa: S603 (argument list, no shell)
            ["/bin/sh", "-c", 'read _; exec "$@" </dev/null', "sh", *args],
            stdin=subprocess.PIPE,  # the gate: closed once the process is in its cgroup
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={"PATH": _PATH},
            pass_fds=pass_fds,
        )
    except OSError as exc:
        cgroup.close()
        return SandboxResult(Status.INTERNAL_ERROR, detail=f"could not start bubblewrap: {exc}")
    finally:
        for fd in pass_fds:
            os.close(fd)
    cgroup.add(process.pid)  # before the job starts: every process it makes is counted
    enforced = [e for e in enforced if not e.startswith("cgroup:") or e in cgroup.enforced]
    assert process.stdin is not None
    process.stdin.close()  # open the gate: the shell reads end-of-file and execs bubblewrap
    assert process.stdout is not None
    reader = threading.Thread(
        target=_copy_log, args=(process.stdout, spec.log_path, tail), daemon=True
    )
    reader.start()
    stopped: Status | None = None
    pidfd = _pidfd(process.pid)
    try:
        while True:
            if _ended(process, pidfd):
                break
            elapsed = time.monotonic() - started
            cpu = cgroup.cpu_seconds()  # every process together (RLIMIT_CPU is per process)
            if elapsed > limits.wall_seconds or (cpu is not None and cpu > limits.cpu_seconds):
                stopped = Status.TIMED_OUT
            elif _over(spec.output_dir, limits):
                stopped = Status.OUTPUT_TOO_LARGE
            elif spec.cancelled is not None and spec.cancelled():
                stopped = Status.CANCELLED
            if stopped is not None:
                _kill(process)
                break
        code = process.wait()
    finally:
        if pidfd is not None:
            os.close(pidfd)
        reader.join(timeout=5)
        process.stdout.close()
        oom = cgroup.oom_killed()
        cpu = cgroup.cpu_seconds()
        cgroup.close()
    wall = round(time.monotonic() - started, 3)
    result = functools.partial(
        SandboxResult,
        exit_code=code,
        wall_seconds=wall,
        limits_enforced=tuple(enforced),
        cpu_seconds=None if cpu is None else round(cpu, 3),
    )
    if stopped is not None:
        return result(stopped)
    if code == 0:
        if _over(spec.output_dir, limits):
            return result(Status.OUTPUT_TOO_LARGE)
        return result(Status.SUCCEEDED)
    if code == 1 and bytes(tail).startswith(b"bwrap: "):  # its own set-up failed, not the job
        return result(Status.INTERNAL_ERROR, detail=bytes(tail[:500]).decode(errors="replace"))
    if oom or any(marker in bytes(tail) for marker in _OOM_MARKERS):
        return result(Status.OUT_OF_MEMORY)
    if code in (128 + signal.SIGXCPU, 128 + signal.SIGKILL) and _cpu_spent(wall, limits):
        return result(Status.TIMED_OUT)
    if code == 128 + signal.SIGXFSZ or b"File too large" in bytes(tail):
        return result(Status.OUTPUT_TOO_LARGE)
    return result(Status.FAILED)


def _pidfd(pid: int) -> int | None:
    """A descriptor that becomes readable when the process ends (Linux 5.3+), else None."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _ended(process: subprocess.Popen[bytes], pidfd: int | None) -> bool:
    """Wait up to POLL_SECONDS for the end of the job. ``Popen.wait(timeout)`` polls with
    sleeps that double up to 50 ms, so a 15 ms job was seen about 16 ms late; a pidfd wakes
    at once."""
    if pidfd is not None:
        return bool(select.select([pidfd], [], [], POLL_SECONDS)[0])
    try:
        process.wait(timeout=POLL_SECONDS)
    except subprocess.TimeoutExpired:
        return False
    return True


def _cpu_spent(wall: float, limits: Limits) -> bool:
    """A kill by SIGXCPU/SIGKILL after at least the CPU allowance (CPU time is at most wall
    time times the cores, so a job shorter than that was not killed for CPU)."""
    return wall * (os.cpu_count() or 1) >= limits.cpu_seconds


def _kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL bubblewrap's session: --die-with-parent then takes every job process down."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()


def describe(result: SandboxResult) -> dict[str, Any]:
    return {**asdict(result), "status": result.status.value}
