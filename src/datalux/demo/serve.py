"""Serve the web application, the background worker and the scheduler together; stop all three
on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable


def _spawn(args: list[str]) -> subprocess.Popen[bytes]:
    # Own process group, so Ctrl-C in the terminal reaches us and we stop children in order.
    return subprocess.Popen([sys.executable, "-m", "datalux", *args], start_new_session=True)  # noqa: S603


def _stop(proc: subprocess.Popen[bytes], name: str, echo: Callable[[str], None]) -> None:
    if proc.poll() is not None:
        return
    echo(f"stopping {name} ...")
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


def serve(*, host: str, port: int, echo: Callable[[str], None]) -> int:
    """Run ``runserver``, ``db_worker`` and ``scheduler`` until Ctrl-C or until one exits."""
    web = _spawn(["manage", "runserver", "--noreload", f"{host}:{port}"])
    worker = _spawn(
        ["manage", "db_worker", "--queue-name", "default", "--interval", "1", "--no-reload"]
    )
    scheduler = _spawn(["scheduler"])
    processes = ((web, "web server"), (worker, "worker"), (scheduler, "scheduler"))
    echo(
        f"datalux is serving at http://{host}:{port}/ (web pid {web.pid}, worker pid "
        f"{worker.pid}, scheduler pid {scheduler.pid})"
    )
    echo("press Ctrl-C to stop")
    interrupted = False

    def _interrupt(signum: int, frame: object) -> None:
        nonlocal interrupted
        interrupted = True

    previous_int = signal.signal(signal.SIGINT, _interrupt)
    previous_term = signal.signal(signal.SIGTERM, _interrupt)
    code = 0
    try:
        while not interrupted:
            for proc, name in processes:
                if proc.poll() is not None:
                    echo(f"the {name} stopped (exit code {proc.returncode}); stopping the rest")
                    code = proc.returncode or 1
                    interrupted = True
            time.sleep(0.3)
    finally:
        for proc, name in processes:
            _stop(proc, name, echo)
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous_term)
    echo("stopped")
    return code
