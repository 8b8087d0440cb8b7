"""``datalux catalogue export|harvest|run|source``: the DCAT-AP catalogue on the command line
(export it, harvest a source now, decide on a held run, manage the harvested sources)."""

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


@catalogue.group()
def source() -> None:
    """Register, list, schedule and remove the remote catalogues harvested."""


@source.command("add")
@click.argument("name")
@click.argument("url")
@click.option(
    "--publisher",
    required=True,
    help="slug of the organisation every harvested record of the source belongs to",
)
@click.option(
    "--every",
    "every_hours",
    type=int,
    help="harvest it every so many hours (e.g. 24); without it, by hand only",
)
def source_add(name: str, url: str, publisher: str, every_hours: int | None) -> None:
    """Register the DCAT-AP catalogue at URL (an http(s) URL, or a file in the harvest
    folder) as source NAME."""
    setup_django()
    from django.core.exceptions import ValidationError

    from datalux.accounts.models import Organisation
    from datalux.catalogue.harvest import register_source

    organisation = Organisation.objects.filter(slug=publisher).first()
    if organisation is None:
        known = ", ".join(Organisation.objects.order_by("slug").values_list("slug", flat=True))
        raise click.ClickException(
            f"no organisation {publisher!r}: give the slug of one ({known or 'none yet'})"
        )
    try:
        added = register_source(
            name=name, url=url.strip(), publisher=organisation, every_hours=every_hours
        )
    except ValidationError as exc:
        raise click.ClickException(_validation_message(exc)) from None
    click.echo(f"registered {added.name} ({added.url}): {_schedule(added)}")


@source.command("list")
def source_list() -> None:
    """Every source: address, organisation, schedule, last run and records."""
    setup_django()
    from django.db.models import Count

    from datalux.catalogue.models import HarvestSource

    sources = (
        HarvestSource.objects.select_related("publisher")
        .annotate(records=Count("datasets"))
        .order_by("name")
    )
    if not sources:
        click.echo("no harvest source is registered yet: datalux catalogue source add ...")
        return
    for found in sources:
        last = found.last_run_at.strftime("%Y-%m-%d %H:%M") if found.last_run_at else "never"
        click.echo(
            f"{found.name}\t{found.url}\t{found.publisher.slug}\t{_schedule(found)}\t"
            f"last run {last} ({found.last_status or '-'})\t{found.records} records"
        )


@source.command("schedule")
@click.argument("name_or_url")
@click.option("--every", "every_hours", type=int, help="harvest it every so many hours")
@click.option("--manual", is_flag=True, help="no schedule: harvest it by hand only")
@click.option("--pause/--resume", "pause", default=None, help="pause or resume the source")
def source_schedule(
    name_or_url: str, every_hours: int | None, manual: bool, pause: bool | None
) -> None:
    """Set when source NAME_OR_URL is harvested, or pause and resume it."""
    setup_django()
    from django.core.exceptions import ValidationError

    from datalux.catalogue.harvest import HarvestError, find_source
    from datalux.catalogue.harvest_sources import set_schedule

    if manual and every_hours is not None:
        raise click.UsageError("give --every HOURS or --manual, not both")
    try:
        found = find_source(name_or_url)
        hours = None if manual else (every_hours or found.harvest_every_hours)
        changed = set_schedule(
            source=found, every_hours=hours, active=None if pause is None else not pause
        )
    except HarvestError as exc:
        raise click.ClickException(str(exc)) from None
    except ValidationError as exc:
        raise click.ClickException(_validation_message(exc)) from None
    click.echo(f"{changed.name}: {_schedule(changed)}")


@source.command("remove")
@click.argument("name_or_url")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def source_remove(name_or_url: str, yes: bool) -> None:
    """Remove a source with its catalogue, its harvested records and its runs."""
    setup_django()
    from datalux.catalogue.harvest import HarvestError, find_source
    from datalux.catalogue.harvest_sources import remove_source

    try:
        found = find_source(name_or_url)
        records = found.datasets.count()
        if not yes:
            click.confirm(f"remove {found.name} and its {records} harvested records?", abort=True)
        counts = remove_source(source=found)
    except HarvestError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"removed {found.name}: {counts['datasets']} records, {counts['services']} data "
        f"services, {counts['series']} dataset series, {counts['runs']} runs"
    )


def _schedule(found: Any) -> str:
    if not found.active:
        return "paused"
    hours = found.harvest_every_hours
    return f"every {hours} hours" if hours else "by hand only"


def _validation_message(exc: Any) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return " ".join(exc.messages)
