"""``datalux scheduler [--once]``: put the periodic jobs in the task queue when they are due."""

from __future__ import annotations

import signal

import click

from datalux.cli.runtime import setup_django


@click.command()
@click.option("--once", is_flag=True, help="run one round and exit (e.g. from a system cron)")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    help="seconds between rounds",
)
def scheduler(once: bool, interval: float) -> None:
    """Enqueue each periodic job once per period (several schedulers may run at once).

    The jobs (expire permits, deadline and publication reminders hourly, audit-chain
    verification nightly) run in the worker: `datalux manage db_worker`. Stops cleanly on
    Ctrl-C or SIGTERM.
    """
    setup_django()
    from datalux.core.scheduler import JOBS, run

    stop = False

    def _stop(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    if not once:
        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        for job in JOBS:
            click.echo(f"scheduler: {job.name} every {job.every} ({job.description})")
    run(interval=interval, once=once, stopping=lambda: stop, echo=click.echo)
    if not once:
        click.echo("scheduler: stopped")
