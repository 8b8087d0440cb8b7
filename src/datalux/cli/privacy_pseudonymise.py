"""``datalux privacy pseudonymise`` and ``datalux privacy keygen`` (trusted third party)."""

from __future__ import annotations

from pathlib import Path

import click

from datalux.privacy import (
    MASTER_KEY_ENV_VAR,
    PrivacyError,
    load_master_key,
    pseudonymise_file,
    write_key_file,
)
from datalux.privacy.pseudonyms import VALIDATION_KINDS


def _parse_validate(specs: tuple[str, ...], columns: tuple[str, ...]) -> dict[str, str]:
    """``KIND`` applies to every --column; ``COL=KIND`` to one column."""
    out: dict[str, str] = {}
    for spec in specs:
        col, sep, kind = spec.rpartition("=")
        targets = [col] if sep else list(columns)
        for target in targets:
            out[target] = kind
    return out


@click.command("pseudonymise")
@click.argument("source", metavar="INPUT", type=click.Path(path_type=Path))
@click.option(
    "--column",
    "columns",
    multiple=True,
    required=True,
    metavar="COL",
    help="Column to replace by its pseudonym (repeat for several).",
)
@click.option("--domain", required=True, help="Pseudonym domain, e.g. holder:ccss.")
@click.option(
    "--key-file",
    type=click.Path(path_type=Path),
    default=None,
    help=f"TTP master key file (base64, mode 0600); default: ${MASTER_KEY_ENV_VAR}.",
)
@click.option(
    "--out",
    "output",
    required=True,
    type=click.Path(path_type=Path),
    help="Output file, *.parquet or *.csv.",
)
@click.option(
    "--validate",
    "validate",
    multiple=True,
    metavar="[COL=]KIND",
    help=(
        "Validate before pseudonymising; invalid rows go to the rejects file. "
        f"KIND: {', '.join(VALIDATION_KINDS)}. Without COL= it applies to every --column."
    ),
)
@click.option(
    "--rejects",
    type=click.Path(path_type=Path),
    default=None,
    help="Rejects file (CSV: row, column, reason); default OUTPUT stem + .rejects.csv.",
)
@click.option("--batch-rows", type=click.IntRange(min=1), default=500_000, show_default=True)
def pseudonymise(
    source: Path,
    columns: tuple[str, ...],
    domain: str,
    key_file: Path | None,
    output: Path,
    validate: tuple[str, ...],
    rejects: Path | None,
    batch_rows: int,
) -> None:
    """Replace identifier columns of INPUT (CSV or Parquet) by one-way pseudonyms.

    The pseudonym is the lowercase hex of HMAC-SHA256(domain key, UTF-8 value); the domain
    key is derived from the master key with HKDF. Rows whose values fail --validate are not
    written to the output but listed (row number, column, reason; never the value) in the
    rejects file. Nulls are kept and counted.
    """
    try:
        keys = load_master_key(key_file).domain_keys(domain)
        report = pseudonymise_file(
            source,
            output,
            columns=columns,
            keys=keys,
            validate=_parse_validate(validate, columns),
            rejects=rejects,
            batch_rows=batch_rows,
        )
    except PrivacyError as exc:
        raise click.ClickException(str(exc)) from None
    for line in report.summary_lines():
        click.echo(line)


@click.command("keygen")
@click.option(
    "--out",
    "output",
    required=True,
    type=click.Path(path_type=Path),
    help="New key file (must not exist); written with mode 0600.",
)
def keygen(output: Path) -> None:
    """Make a new random TTP master key (32 bytes) in a key file readable only by you."""
    try:
        write_key_file(output)
    except PrivacyError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote a new master key to {output} (mode 0600): keep it secret, back it up")
