"""Serve the demo: Django's development server, the background worker and the scheduler together;
stop all three on Ctrl-C. Production uses ``datalux serve`` (gunicorn) instead."""

from __future__ import annotations

from datalux.core.processes import (
    SCHEDULER_ARGS,
    WORKER_ARGS,
    Child,
    Echo,
    datalux_command,
    supervise,
)


def serve(*, host: str, port: int, echo: Echo) -> int:
    """Run ``runserver``, ``db_worker`` and ``scheduler`` until Ctrl-C or until one exits."""
    children = [
        Child("web server", datalux_command("manage", "runserver", "--noreload", f"{host}:{port}")),
        Child("worker", datalux_command(*WORKER_ARGS)),
        Child("scheduler", datalux_command(*SCHEDULER_ARGS)),
    ]
    return supervise(
        children,
        echo=echo,
        banner=lambda pids: (
            f"datalux is serving at http://{host}:{port}/ (web pid {pids['web server']}, "
            f"worker pid {pids['worker']}, scheduler pid {pids['scheduler']})"
        ),
    )
