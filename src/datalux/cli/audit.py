"""``datalux audit verify|head``: check the hash chain of the audit log."""

from __future__ import annotations

import re

import click

from datalux.cli.runtime import setup_django


@click.group()
def audit() -> None:
    """Inspect and verify the append-only audit chain."""


def _parse_anchor(value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    match = re.fullmatch(r"(\d+):([0-9a-f]{64})", value.strip())
    if not match:
        raise click.BadParameter("expected SEQ:HASH as printed by `datalux audit head`")
    return int(match.group(1)), match.group(2)


@audit.command()
@click.option(
    "--anchor",
    metavar="SEQ:HASH",
    help="a head recorded earlier (`datalux audit head`), to detect removed newest events",
)
@click.option("--quiet", is_flag=True, help="print nothing when the chain is intact")
def verify(anchor: str | None, quiet: bool) -> None:
    """Recompute every hash and link; exit 1 at the first broken or missing event."""
    anchor_value = _parse_anchor(anchor)
    setup_django()
    from datalux.audit.actions import run_verification

    result = run_verification(anchor=anchor_value)
    if not result.ok:
        click.echo(result.summary(), err=True)
        raise SystemExit(1)
    if not quiet:
        click.echo(result.summary())


@audit.command()
def head() -> None:
    """Print the newest event as SEQ:HASH, to keep outside the database as an anchor."""
    setup_django()
    from datalux.audit.log import head as chain_head

    seq, digest = chain_head()
    click.echo(f"{seq}:{digest}")
