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
    help="the trusted third party's master key file [default: $DATALUX_TTP_MASTER_KEY]",
)
def prepare(number: str, engine: str, key_file: Path | None) -> None:
    """Prepare the extract of permit NUMBER: only its datasets, variables, period and rows,
    opt-outs left out, identifiers replaced by the project's pseudonyms."""
    setup_django()
    from datalux.dataplane.extract import ExtractError
    from datalux.privacy.errors import KeyMaterialError
    from datalux.privacy.keys import load_master_key
    from datalux.spe.prepare import prepare_permit

    permit = _permit(number)
    try:
        master = load_master_key(key_file)
        prepared = prepare_permit(permit, master_key=master, engine=engine)  # type: ignore[arg-type]
    except (ExtractError, KeyMaterialError) as exc:
        raise click.ClickException(str(exc)) from None
    verb = "prepared" if prepared.new else "already prepared"
    for table in prepared.manifest.tables:
        click.echo(f"{table.name}: {table.rows} rows, {len(table.columns)} columns")
    click.echo(f"{verb}: {prepared.folder}")


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
