"""``datalux spe prepare|show``: a permit's extract in the secure processing environment."""

from __future__ import annotations

import json
from pathlib import Path

import click

from datalux.cli.runtime import setup_django


@click.group()
def spe() -> None:
    """Prepare and show the extracts of permits (the trusted third party's operator)."""


def _permit(number: str) -> object:
    from datalux.access.models import Permit

    permit = Permit.objects.filter(number=number.strip()).first()
    if permit is None:
        raise click.ClickException(f"no permit {number}: give a number such as DLX-P-2026-00001")
    return permit


@spe.command()
@click.argument("number")
@click.option(
    "--engine", type=click.Choice(["duckdb", "spark"]), default="duckdb", show_default=True
)
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="the trusted third party's master key file [default: $DATALUX_TTP_KEY_FILE when it "
    "exists, else $DATALUX_TTP_MASTER_KEY]",
)
def prepare(number: str, engine: str, key_file: Path | None) -> None:
    """Prepare the extract of permit NUMBER: only its datasets, variables, period and rows,
    opt-outs left out, identifiers replaced by the project's pseudonyms. Prints each step,
    then the manifest."""
    setup_django()
    from datalux.core.errors import Conflict
    from datalux.dataplane.extract import ExtractError
    from datalux.spe.jobs import request_preparation, run_preparation
    from datalux.spe.keys import configured_master_key
    from datalux.spe.models import PreparationState

    permit = _permit(number)
    try:
        master = configured_master_key(key_file)
        preparation = request_preparation(permit, engine=engine, enqueue=False)  # type: ignore[arg-type]
    except (ExtractError, Conflict) as exc:
        raise click.ClickException(str(exc)) from None
    already = preparation.state == PreparationState.READY

    def echo(step: str, table: str) -> None:
        click.echo(f"{step}{': ' + table if table else ''}", err=True)

    preparation = run_preparation(preparation.pk, master_key=master, progress=echo)
    if preparation.state != PreparationState.READY:
        raise click.ClickException(f"{preparation.message} [{preparation.code}]")
    click.echo(f"{'already prepared' if already else 'ready'}: {extract_path(permit)}", err=True)
    click.echo(json.dumps(preparation.manifest, indent=2, ensure_ascii=False))


def extract_path(permit: object) -> Path:
    from datalux.spe.prepare import extract_folder

    return extract_folder(permit)


@spe.command()
@click.argument("number")
def show(number: str) -> None:
    """Print the manifest of permit NUMBER's extract (its current version) as JSON."""
    setup_django()
    from datalux.spe.prepare import prepared_manifest

    permit = _permit(number)
    manifest = prepared_manifest(permit)
    if manifest is None:
        raise click.ClickException(
            f"permit {number} (version {permit.version}) has no extract yet: run "  # type: ignore[attr-defined]
            f"'datalux spe prepare {number}'"
        )
    click.echo(json.dumps(manifest.as_data(), indent=2, ensure_ascii=False))
