"""``datalux onceonly verify-receipt|verify-log|keygen``: check Once Only exchanges."""

from __future__ import annotations

from pathlib import Path

import click

import datalux
from datalux.cli.runtime import setup_django

PROJECT_DIR = Path(datalux.__file__).resolve().parent.parent.parent


@click.group()
def onceonly() -> None:
    """Check the receipts and the signed, hash-chained log of Once Only exchanges."""


def _read_receipt(path: Path) -> dict:
    from datalux.onceonly.receipts import ReceiptError, parse

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise click.ClickException(f"cannot read the receipt {path} ({reason})") from None
    try:
        return parse(text, str(path))
    except ReceiptError as exc:
        raise click.ClickException(str(exc)) from None


def _keys_from(public_key: Path | None, keys_dir: Path | None) -> dict:
    """Public keys by id from a PEM file or a folder of PEM files (no Django, no database)."""
    from datalux.audit.signing import key_id
    from datalux.onceonly.keys import ExchangeKeyError, load_public_pem

    files = [public_key] if public_key is not None else sorted((keys_dir or Path()).glob("*.pem"))
    found = {}
    for path in files:
        try:
            public = load_public_pem(path.read_bytes(), str(path))
        except OSError as exc:
            raise click.ClickException(f"cannot read the public key {path} ({exc})") from None
        except ExchangeKeyError as exc:
            raise click.ClickException(str(exc)) from None
        found[key_id(public)] = public
    if not found:
        raise click.ClickException(f"no public key (*.pem) in {keys_dir}")
    return found


@onceonly.command("verify-receipt")
@click.argument("receipt_file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--public-key",
    type=click.Path(path_type=Path, dir_okay=False),
    help="the platform's public key (PEM, from GET /api/v1/onceonly/keys): checks offline",
)
@click.option(
    "--keys-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="a folder of published public keys (KEYID.pem); the receipt's key id picks one",
)
def verify_receipt(receipt_file: Path, public_key: Path | None, keys_dir: Path | None) -> None:
    """Check a receipt's hash and Ed25519 signature (no database, no network); exit 1 when it
    is not valid. Without --public-key or --keys-dir, the configured key's published keys."""
    from datalux.onceonly.receipts import check

    if public_key is not None and keys_dir is not None:
        raise click.UsageError("give --public-key or --keys-dir, not both")
    document = _read_receipt(receipt_file)
    if public_key is not None or keys_dir is not None:
        keys = _keys_from(public_key, keys_dir)
    else:
        setup_django(check_database=False)
        from datalux.onceonly.keys import trusted_keys

        keys = trusted_keys()
    result = check(document, keys)
    if not result.ok:
        click.echo(result.summary(), err=True)
        raise SystemExit(1)
    click.echo(result.summary())


@onceonly.command("verify-log")
@click.option(
    "--receipt",
    "receipt_files",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="a receipt a consumer kept (repeatable): its entry must be in the log with its hash, "
    "which catches removed newest entries",
)
@click.option("--quiet", is_flag=True, help="print nothing when the log is intact")
def verify_log(receipt_files: tuple[Path, ...], quiet: bool) -> None:
    """Recompute every hash and link of the exchange log and check every signature; exit 1 at
    the first broken, missing or unsigned entry, or a receipt the log does not hold."""
    setup_django()
    from datalux.onceonly.actions import run_log_verification
    from datalux.onceonly.keys import trusted_keys
    from datalux.onceonly.receipts import check

    keys = trusted_keys()
    anchors = []
    for path in receipt_files:
        result = check(_read_receipt(path), keys)
        if not result.ok or result.seq is None:
            click.echo(f"{path}: {result.summary()}", err=True)
            raise SystemExit(1)
        anchors.append((result.seq, result.hash))
    verification = run_log_verification(anchors=anchors)
    if not verification.ok:
        click.echo(verification.summary(), err=True)
        raise SystemExit(1)
    if not quiet:
        click.echo(verification.summary())


@onceonly.command()
def keygen() -> None:
    """Make the exchange log's signing key and pseudonym key where the settings say (mode
    0600; the public key beside the signing key as .pub and in keys/). Keeps existing keys."""
    from datalux.core.env import Env, SettingsError
    from datalux.onceonly.keys import ExchangeKeyError, generate_pseudonym_key, generate_signing_key

    env = Env()
    try:
        var_dir = env.path("DATALUX_VAR", PROJECT_DIR / "var")
        signing = env.path("DATALUX_ONCEONLY_SIGNING_KEY", var_dir / "onceonly" / "signing.key")
        pseudonym = env.path(
            "DATALUX_ONCEONLY_PSEUDONYM_KEY", var_dir / "onceonly" / "pseudonym.key"
        )
    except SettingsError as exc:
        raise click.ClickException(f"configuration error: {exc}") from None
    for path, make, what in (
        (signing, generate_signing_key, "signing key"),
        (pseudonym, generate_pseudonym_key, "pseudonym key"),
    ):
        if path.exists():
            click.echo(f"kept the existing {what}: {path}")
            continue
        try:
            make(path)
        except ExchangeKeyError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"made the {what}: {path} (mode 0600)")
