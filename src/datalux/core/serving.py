"""What ``datalux serve`` checks and runs: gunicorn for the web, plus the worker and scheduler.

The checks happen before anything listens, each with one line saying what to fix: the database
answers (``setup_django``), no migration is pending (an upgrade is ``datalux migrate`` first,
never implicit on start), the bind address is well-formed. Production then collects the static
files (hashed and compressed, served by WhiteNoise from the web processes).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence

from datalux.core.processes import SCHEDULER_ARGS, WORKER_ARGS, Child, datalux_command

_BIND = re.compile(r"^(unix:/\S+|(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5})$")


class ServeError(Exception):
    """Serving cannot start; the message says what to fix."""


def check_bind(bind: str) -> str:
    if not _BIND.match(bind) or (
        not bind.startswith("unix:") and int(bind.rsplit(":", 1)[1]) > 65535
    ):
        raise ServeError(
            f"--bind {bind!r} is not an address; fix: use HOST:PORT (127.0.0.1:8000) "
            "or unix:/run/datalux/web.sock"
        )
    return bind


def pending_migrations() -> list[str]:
    """Migrations not applied to the configured database, as ``app.name`` labels."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


def check_migrations() -> None:
    pending = pending_migrations()
    if pending:
        shown = ", ".join(pending[:3]) + (" ..." if len(pending) > 3 else "")
        raise ServeError(
            f"the database needs {len(pending)} migration(s) ({shown}); fix: run "
            "`datalux migrate` (after `datalux backup create DIR` on an installation with data)"
        )


def collect_static() -> None:
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)


def gunicorn_args(*, bind: str, workers: int, threads: int, forwarded_allow_ips: str) -> list[str]:
    """The gunicorn command line: threaded workers, logs on stdout/stderr for the journal."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "datalux.wsgi:application",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread",
        "--timeout",
        "120",
        "--graceful-timeout",
        "30",
        "--max-requests",
        "2000",
        "--max-requests-jitter",
        "200",
        "--forwarded-allow-ips",
        forwarded_allow_ips,
        "--no-control-socket",  # gunicorn 27 would open one under ~/.gunicorn
        "--access-logfile",
        "-",
        "--error-logfile",
        "-",
        "--access-logformat",
        '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"',
    ]


def children(
    *,
    bind: str,
    workers: int,
    threads: int,
    forwarded_allow_ips: str,
    worker: bool,
    scheduler: bool,
) -> Sequence[Child]:
    web = Child(
        "web server",
        gunicorn_args(
            bind=bind, workers=workers, threads=threads, forwarded_allow_ips=forwarded_allow_ips
        ),
    )
    result = [web]
    if worker:
        result.append(Child("worker", datalux_command(*WORKER_ARGS)))
    if scheduler:
        result.append(Child("scheduler", datalux_command(*SCHEDULER_ARGS)))
    return result
