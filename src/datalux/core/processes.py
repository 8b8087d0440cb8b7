"""Run several datalux processes side by side (web, worker, scheduler) and stop them together.

Used by ``datalux demo up`` (development server) and ``datalux serve`` (gunicorn). Each child
runs in its own process group, so Ctrl-C in the terminal reaches this supervisor only and the
children are stopped in order: SIGTERM, then SIGKILL after a grace period. When one child
exits, the others are stopped too and its exit code is returned, so a service manager
(systemd, a container runtime) sees the failure and restarts the whole unit.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Echo = Callable[[str], None]

WORKER_ARGS = ["manage", "db_worker", "--queue-name", "default", "--interval", "1", "--no-reload"]
SCHEDULER_ARGS = ["scheduler"]


@dataclass(frozen=True)
class Child:
    name: str  # "web server", "worker", "scheduler": said in messages
    argv: Sequence[str]  # full command line


def datalux_command(*args: str) -> list[str]:
    """The command line of ``datalux ARGS`` with the running interpreter."""
    return [sys.executable, "-m", "datalux", *args]


def _stop(proc: subprocess.Popen[bytes], name: str, echo: Echo, grace: float) -> None:
    if proc.poll() is not None:
        return
    echo(f"stopping {name} ...")
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


def supervise(
    children: Sequence[Child],
    *,
    echo: Echo,
    banner: Callable[[dict[str, int]], str],
    grace: float = 15.0,
) -> int:
    """Start every child, run until SIGINT/SIGTERM or until one exits, then stop them all.

    ``banner`` gets the pids by name and returns the line printed once all have started.
    Returns 0 after a requested stop, else the exit code of the child that stopped first.
    """
    started: list[tuple[subprocess.Popen[bytes], str]] = []
    stop_requested = False

    def _interrupt(signum: int, frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    previous_int = signal.signal(signal.SIGINT, _interrupt)
    previous_term = signal.signal(signal.SIGTERM, _interrupt)
    code = 0
    try:
        for child in children:
            proc = subprocess.Popen(list(child.argv), start_new_session=True)  # noqa: S603
            started.append((proc, child.name))
        echo(banner({name: proc.pid for proc, name in started}))
        echo("press Ctrl-C to stop")
        while not stop_requested:
            for proc, name in started:
                if proc.poll() is not None:
                    echo(f"the {name} stopped (exit code {proc.returncode}); stopping the rest")
                    code = proc.returncode or 1
                    stop_requested = True
                    break
            time.sleep(0.3)
    finally:
        for proc, name in started:
            _stop(proc, name, echo, grace)
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous_term)
    echo("stopped")
    return code
