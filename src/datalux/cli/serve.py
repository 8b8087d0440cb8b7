"""``datalux serve``: production serving (gunicorn + worker + scheduler) until SIGTERM."""

from __future__ import annotations

import click

from datalux.cli.runtime import setup_django


@click.command()
@click.option(
    "--bind",
    default="127.0.0.1:8000",
    show_default=True,
    help="HOST:PORT or unix:/path.sock for the web server (put a TLS reverse proxy in front)",
)
@click.option(
    "--workers", type=click.IntRange(min=1), default=None, help="[default: DATALUX_WEB_WORKERS]"
)
@click.option(
    "--threads", type=click.IntRange(min=1), default=None, help="[default: DATALUX_WEB_THREADS]"
)
@click.option(
    "--forwarded-allow-ips",
    default="127.0.0.1,::1",
    show_default=True,
    help="proxies whose X-Forwarded-* headers gunicorn trusts",
)
@click.option("--worker/--no-worker", default=True, help="run the background worker here")
@click.option("--scheduler/--no-scheduler", default=True, help="run the scheduler here")
def serve(
    bind: str,
    workers: int | None,
    threads: int | None,
    forwarded_allow_ips: str,
    worker: bool,
    scheduler: bool,
) -> None:
    """Serve the platform: gunicorn web server, background worker and scheduler.

    Refuses to start when the database does not answer or needs migrations. Stops all
    processes on SIGTERM/Ctrl-C; exits non-zero when one of them fails.
    """
    from datalux.core import serving

    try:
        serving.check_bind(bind)
    except serving.ServeError as exc:
        raise click.ClickException(str(exc)) from exc
    setup_django()
    from django.conf import settings

    from datalux.core.processes import supervise

    try:
        serving.check_migrations()
        if settings.CONFIG.production:
            serving.collect_static()
    except serving.ServeError as exc:
        raise click.ClickException(str(exc)) from exc
    if not settings.CONFIG.production:
        click.echo("development mode: set DATALUX_MODE=production (docs/deploy.md) for real use")
    from datalux.spe.checks import sandbox_runs_here

    for warning in sandbox_runs_here():  # said at start, before a job fails on it
        click.echo(f"warning: {warning.msg}; {warning.hint}", err=True)
    from datalux.core.storage import restrict_new_files

    restrict_new_files()  # after collectstatic: the worker's and scheduler's files are private
    children = serving.children(
        bind=bind,
        workers=workers or settings.CONFIG.web_workers,
        threads=threads or settings.CONFIG.web_threads,
        forwarded_allow_ips=forwarded_allow_ips,
        worker=worker,
        scheduler=scheduler,
    )
    where = bind if bind.startswith("unix:") else f"http://{bind}/"
    raise SystemExit(
        supervise(
            children,
            echo=click.echo,
            banner=lambda pids: (
                f"datalux is serving at {where} ("
                + ", ".join(f"{name} pid {pid}" for name, pid in pids.items())
                + ")"
            ),
        )
    )
