"""``datalux citizens exclusions rebuild``: the trusted third party's lists of persons."""

from __future__ import annotations

import click

from datalux.cli.runtime import setup_django


@click.group()
def citizens() -> None:
    """The citizens' choices as the trusted third party keeps them."""


@citizens.group()
def exclusions() -> None:
    """The exclusion list (opt-outs from secondary use) applied to every new preparation."""


@exclusions.command()
def rebuild() -> None:
    """Rewrite the exclusion list (DATALUX_STORAGE/ttp/opt_outs.parquet) from the database:
    every person whose newest choice is an objection. Prints how many persons it holds (never
    a number). Safe to repeat; run it after a restore or if a choice's update was lost."""
    setup_django()
    from django.db import transaction

    from datalux.audit.kinds import EventKind
    from datalux.audit.log import record
    from datalux.citizens.ttp_lists import opt_out_path, rebuild_opt_outs

    count = rebuild_opt_outs()
    with transaction.atomic():
        record(EventKind.CITIZEN_EXCLUSIONS_REBUILT, details={"persons": count})
    click.echo(f"{count} person(s) on the exclusion list {opt_out_path()}")
