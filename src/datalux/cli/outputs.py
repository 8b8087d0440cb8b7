"""``datalux outputs check FILE...``: the automatic disclosure checks of output files."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.group()
def outputs() -> None:
    """Check output files before they are proposed for release (output checking)."""


@outputs.command()
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--rules",
    "rules_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="a JSON object of output rules: min_count, max_rows, max_bytes, zeros_safe, "
    "count_columns, magnitude_columns, nk ([n, k] or null), p (a fraction or null), min_dof "
    "[default: the authority's defaults]",
)
@click.option(
    "--earlier",
    "earlier",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="an earlier release of the same project, to check differencing against (repeatable)",
)
def check(files: tuple[Path, ...], rules_file: Path | None, earlier: tuple[Path, ...]) -> None:
    """Print one JSON verdict per file (pass / review / fail, each check with the cells or
    columns at fault, never their values). Exits 0 only when every file passes. A table
    written with write_table is checked against its evidence (FILE.evidence.json beside it)."""
    from datalux.privacy.output_checks import PASS, Rules, check_files, verdicts_json

    rules = Rules()
    if rules_file is not None:
        try:
            rules = Rules.from_data(json.loads(rules_file.read_text(encoding="utf-8")))
        except (ValueError, TypeError) as exc:
            raise click.ClickException(f"{rules_file}: {exc}") from None
    verdicts = check_files(files, rules, earlier=earlier)
    click.echo(verdicts_json(verdicts))
    if any(v.status != PASS for v in verdicts):
        raise SystemExit(1)
