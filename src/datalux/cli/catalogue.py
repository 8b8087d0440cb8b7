"""``datalux catalogue export|harvest``: the DCAT-AP catalogue on the command line."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click

from datalux.cli.runtime import setup_django

FORMATS = ("turtle", "xml", "json-ld")


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

    Exit status 1, with the reason, when the source cannot be read or parsed (nothing is
    changed then).
    """
    setup_django()
    from datalux.catalogue.harvest import HarvestError, find_source, run_harvest

    try:
        source = find_source(source_name_or_url)
        report = run_harvest(source=source)
    except HarvestError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(report.summary())
    for problem in report.problems[:20]:
        click.echo(f"  note: {problem}")
