"""``datalux audit verify|head|checkpoint|keygen``: check and anchor the audit chain."""

from __future__ import annotations

import re
from pathlib import Path

import click

import datalux
from datalux.cli.runtime import setup_django

# The checkout, as datalux.settings.PROJECT_DIR (src/datalux -> the repository root).
PROJECT_DIR = Path(datalux.__file__).resolve().parent.parent.parent


@click.group()
def audit() -> None:
    """Inspect, verify and anchor the append-only audit chain."""


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
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="a signed checkpoint file kept outside (NNNNNNNN.json, or the `checkpoint` of "
    "GET /api/v1/audit/checkpoint) [default: the latest checkpoint of the table and the "
    "checkpoint folder]",
)
@click.option(
    "--public-key",
    "public_key_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="the public key (PEM) to check the checkpoint's signature with [default: the "
    "configured signing key's and those published in the checkpoint folder's keys/]",
)
@click.option("--quiet", is_flag=True, help="print nothing when the chain is intact")
def verify(
    anchor: str | None, checkpoint_file: Path | None, public_key_file: Path | None, quiet: bool
) -> None:
    """Recompute every hash and link and check a signed checkpoint; exit 1 at the first
    broken or missing event or on a checkpoint that is not validly signed."""
    anchor_value = _parse_anchor(anchor)
    if anchor_value is not None and (checkpoint_file or public_key_file):
        raise click.UsageError("give --anchor or --checkpoint/--public-key, not both")
    public_key = None
    if public_key_file is not None:
        from datalux.audit.signing import SigningKeyError, load_public

        try:
            public_key = load_public(public_key_file)
        except SigningKeyError as exc:
            raise click.ClickException(str(exc)) from None
    setup_django()
    from datalux.audit.actions import run_verification
    from datalux.audit.checkpoints import CheckpointError, read_file

    checkpoint = None
    if checkpoint_file is not None:
        try:
            checkpoint = read_file(checkpoint_file)
        except CheckpointError as exc:
            raise click.ClickException(str(exc)) from None
    result = run_verification(
        anchor=anchor_value,
        checkpoint=checkpoint,
        latest_checkpoint=anchor_value is None,
        public_key=public_key,
    )
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


@audit.command()
def checkpoint() -> None:
    """Sign a checkpoint of the chain's head now (the worker does it hourly) and print its
    file; exit 1 when the chain does not extend the latest checkpoint."""
    setup_django()
    from datalux.audit.actions import CheckpointRefused, write_checkpoint
    from datalux.audit.checkpoints import CheckpointError, folder
    from datalux.audit.signing import SigningKeyError

    try:
        signed, new = write_checkpoint()
    except CheckpointRefused as exc:
        click.echo(f"no checkpoint signed: {exc}", err=True)
        raise SystemExit(1) from None
    except (CheckpointError, SigningKeyError) as exc:
        raise click.ClickException(str(exc)) from None
    if signed is None:
        click.echo("the audit log is empty: nothing to sign")
        return
    path = folder() / signed.file_name
    if new:
        click.echo(f"signed checkpoint #{signed.seq} (key {signed.key_id}): {path}")
    else:
        click.echo(f"no new events since checkpoint #{signed.seq}: {path}")


@audit.command()
@click.option(
    "--out",
    "output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="the new key file (must not exist) [default: $DATALUX_AUDIT_SIGNING_KEY, else "
    "$DATALUX_VAR/audit/signing.key]",
)
def keygen(output: Path | None) -> None:
    """Make the Ed25519 key that signs audit checkpoints (mode 0600), with its public key
    beside it (.pub). Runs without the database: production needs the key to start."""
    from datalux.audit.signing import SigningKeyError, generate, key_id, public_key_file
    from datalux.core.config import audit_signing_key_file
    from datalux.core.env import Env, SettingsError

    try:
        path = (
            output.expanduser().resolve() if output else audit_signing_key_file(Env(), PROJECT_DIR)
        )
    except SettingsError as exc:
        raise click.ClickException(f"configuration error: {exc}") from None
    try:
        private = generate(path)
    except SigningKeyError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc.strerror or exc}") from None
    click.echo(f"wrote the audit signing key {path} (mode 0600): keep it off the database")
    click.echo(
        f"public key {public_key_file(path)} (key id {key_id(private.public_key())}): give it "
        "to the auditors, who check a checkpoint with "
        "`datalux audit verify --checkpoint FILE --public-key KEY.pem`"
    )
