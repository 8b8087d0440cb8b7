"""``datalux catalogue export|harvest``: the DCAT-AP catalogue on the command line."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from datalux.cli.runtime import setup_django

FORMATS = ("turtle", "xml", "json-ld")
HELD_EXIT_STATUS = 3  # a harvest run held for an operator's decision (nothing changed)


@click.group()
def catalogue() -> None:
    """Export the catalogue in DCAT-AP, harvest remote catalogues."""


@catalogue.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="turtle",
    show_default=True,
    help="RDF serialisation",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="write to this file (replaced whole, never half-written) instead of stdout",
)
def export(fmt: str, output: Path | None) -> None:
    """Print the whole public catalogue (every published dataset) in DCAT-AP 3.0.1."""
    setup_django()
    from datalux.catalogue.dcat import write_catalogue

    if output is None:
        write_catalogue(sys.stdout.buffer, fmt)
        sys.stdout.buffer.flush()
        return
    folder = output.resolve().parent
    if not folder.is_dir():
        raise click.ClickException(f"the folder {folder} does not exist: create it first")
    handle, temporary = tempfile.mkstemp(prefix=f".{output.name}.", dir=folder)
    try:
        with os.fdopen(handle, "wb") as out:
            write_catalogue(out, fmt)
        umask = os.umask(0o022)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes it private; this is public data
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    click.echo(f"wrote {output} ({output.stat().st_size} bytes, {fmt})", err=True)


@catalogue.command()
@click.argument("source_name_or_url")
def harvest(source_name_or_url: str) -> None:
    """Harvest a registered source (by name or URL) now, and print the counts.

    Exit status 1, with the reason, when the source cannot be read or parsed; exit status 3
    when the run is held because it would withdraw more of the source's records than
    DATALUX_HARVEST_WITHDRAW_LIMIT_PERCENT (an operator confirms or discards it). Nothing is
    changed in either case.
    """
    setup_django()
    from datalux.catalogue.harvest import HarvestError, HarvestHeld, find_source, run_harvest

    try:
        source = find_source(source_name_or_url)
        report = run_harvest(source=source)
    except HarvestHeld as exc:
        click.echo(f"Held: {exc}", err=True)
        click.echo(
            f"  confirm: datalux catalogue run confirm {exc.run.pk}    "
            f"discard: datalux catalogue run discard {exc.run.pk}",
            err=True,
        )
        sys.exit(HELD_EXIT_STATUS)
    except HarvestError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(report.summary())
    for problem in report.problems[:20]:
        click.echo(f"  note: {problem}")


@catalogue.group()
def run() -> None:
    """Decide on a held harvest run (one that would have withdrawn too many records)."""


@run.command("confirm")
@click.argument("run_id", type=int)
def run_confirm(run_id: int) -> None:
    """Apply held run RUN_ID: the source is read again and applied, withdrawals included, if
    it still serves exactly what the held run read."""
    setup_django()
    from datalux.catalogue.harvest import HarvestError
    from datalux.catalogue.harvest_runs import RunDecisionRefused, confirm_run

    try:
        report = confirm_run(run=_held_run(run_id))
    except (RunDecisionRefused, HarvestError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(report.summary())


@run.command("discard")
@click.argument("run_id", type=int)
def run_discard(run_id: int) -> None:
    """Close held run RUN_ID without applying it (nothing changes)."""
    setup_django()
    from datalux.catalogue.harvest_runs import RunDecisionRefused, discard_run

    try:
        discarded = discard_run(run=_held_run(run_id))
    except RunDecisionRefused as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"run {discarded.pk} of {discarded.source.name} discarded; nothing was changed")


def _held_run(run_id: int) -> Any:
    from datalux.catalogue.models import HarvestRun

    found = HarvestRun.objects.select_related("source").filter(pk=run_id).first()
    if found is None:
        raise click.ClickException(f"no harvest run {run_id}: see the source's run history")
    return found
