"""``datalux demo seed|up``: the demonstration platform."""

from __future__ import annotations

import os

import click

from datalux.cli.runtime import setup_django


def served_base_uri(host: str, port: int) -> str:
    """``http://HOST:PORT`` of the demo server (loopback when it listens on every address)."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - naming the wildcard, not binding to it
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


@click.group()
def demo() -> None:
    """Seed and serve the demonstration platform."""


@demo.command()
@click.option("--persons", type=int, default=None, help="size of the population [default: 5000]")
@click.option("--seed", "seed_value", type=int, default=None, help="random seed [default: 2030]")
def seed(persons: int | None, seed_value: int | None) -> None:
    """Create the demo organisations, users and holder data (reuses existing demo data)."""
    if persons is not None and persons <= 0:
        raise click.BadParameter(f"{persons} persons: ask for at least 1", param_hint="--persons")
    setup_django()
    from datalux.demo.seed import DemoError, print_logins, seed_demo

    try:
        outcome = seed_demo(persons=persons, seed=seed_value, echo=click.echo)
    except DemoError as exc:
        raise click.ClickException(str(exc)) from exc
    print_logins(outcome, echo=click.echo)


@demo.command()
@click.option("--persons", type=int, default=None, help="size of the population [default: 5000]")
@click.option("--seed", "seed_value", type=int, default=None, help="random seed [default: 2030]")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
def up(persons: int | None, seed_value: int | None, host: str, port: int) -> None:
    """Migrate, seed (once), then serve web + worker + scheduler until Ctrl-C."""
    if persons is not None and persons <= 0:
        raise click.BadParameter(f"{persons} persons: ask for at least 1", param_hint="--persons")
    # Links, identifiers and e-mails name the port actually served (children inherit it).
    if not os.environ.get("DATALUX_BASE_URI", "").strip():
        os.environ["DATALUX_BASE_URI"] = served_base_uri(host, port)
    setup_django()
    from django.core.management import call_command

    from datalux.demo.seed import DemoError, print_logins, seed_demo
    from datalux.demo.serve import serve

    call_command("migrate", interactive=False, verbosity=0)
    try:
        outcome = seed_demo(persons=persons, seed=seed_value, echo=click.echo)
    except DemoError as exc:
        raise click.ClickException(str(exc)) from exc
    print_logins(outcome, echo=click.echo)
    raise SystemExit(serve(host=host, port=port, echo=click.echo))
