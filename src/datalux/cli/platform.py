"""Platform commands: migrate the metadata database, run any Django management command."""

from __future__ import annotations

import click

from datalux.cli.runtime import setup_django


@click.command()
def migrate() -> None:
    """Create or update the metadata database tables."""
    setup_django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1)


@click.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def manage(args: tuple[str, ...]) -> None:
    """Run a Django management command (``datalux manage check``)."""
    setup_django(check_database=False)
    from django.core.management import execute_from_command_line

    execute_from_command_line(["datalux manage", *args])
