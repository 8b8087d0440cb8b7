"""``datalux backup create|verify|restore DIR``: back up and restore one installation."""

from __future__ import annotations

from pathlib import Path

import click

from datalux.cli.runtime import setup_django


def _installation() -> object:
    from django.conf import settings

    from datalux.core.backup import Installation

    return Installation(
        database=settings.DATABASES["default"], storage_root=Path(settings.DATALUX_STORAGE)
    )


def _fail(exc: Exception) -> None:
    for line in getattr(exc, "problems", [str(exc)]):
        click.echo(line, err=True)
    raise SystemExit(1)


@click.group()
def backup() -> None:
    """Back up the database, the storage root and the audit anchor; verify; restore."""


@backup.command()
@click.argument("directory", type=click.Path(path_type=Path))
def create(directory: Path) -> None:
    """Write a backup into DIRECTORY (absent or empty)."""
    setup_django()
    from datalux.audit.log import head
    from datalux.core.backup import BackupError
    from datalux.core.backup import create as create_backup

    def anchor_now() -> str:
        seq, digest = head()
        return f"{seq}:{digest}" if seq else ""

    try:
        manifest = create_backup(directory, _installation(), anchor_now=anchor_now)  # type: ignore[arg-type]
    except BackupError as exc:
        _fail(exc)
    size = sum(f["size"] for f in manifest["files"])
    click.echo(f"backup written to {directory}: {len(manifest['files'])} files, {size} bytes")
    click.echo(f"audit anchor {manifest['audit_anchor']} (keep it outside this machine)")


@backup.command()
@click.argument("directory", type=click.Path(path_type=Path))
def verify(directory: Path) -> None:
    """Check every file of DIRECTORY against its manifest and the database copy."""
    from datalux.core.backup import BackupError
    from datalux.core.backup import verify as verify_backup

    try:
        manifest = verify_backup(directory)
    except BackupError as exc:
        _fail(exc)
    click.echo(
        f"backup intact: {len(manifest['files'])} files, {manifest['engine']} database, "
        f"audit anchor {manifest['audit_anchor']}"
    )


@backup.command()
@click.argument("directory", type=click.Path(path_type=Path))
def restore(directory: Path) -> None:
    """Restore DIRECTORY into this (empty) installation, then apply migrations."""
    setup_django(check_database=False)
    from django.core.management import call_command

    from datalux.core.backup import BackupError
    from datalux.core.backup import restore as restore_backup

    try:
        manifest = restore_backup(directory, _installation())  # type: ignore[arg-type]
    except BackupError as exc:
        _fail(exc)
    call_command("migrate", interactive=False, verbosity=0)
    anchor = manifest["audit_anchor"]
    click.echo(f"restored from {directory}; check it with:  datalux audit verify --anchor {anchor}")
