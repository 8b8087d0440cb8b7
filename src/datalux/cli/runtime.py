"""Start Django for CLI commands, turning configuration and database failures into hints."""

from __future__ import annotations

import os

import click


def setup_django(*, check_database: bool = True) -> None:
    """Load settings and apps; optionally check the database answers.

    Raises :class:`click.ClickException` (exit 1, message on stderr) with the fix to apply.
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "datalux.settings")
    from datalux.core.env import SettingsError

    try:
        import django

        django.setup()
    except SettingsError as exc:
        raise click.ClickException(f"configuration error: {exc}") from exc
    if check_database:
        from datalux.core.database import DatabaseUnavailable, ensure_database

        try:
            ensure_database()
        except DatabaseUnavailable as exc:
            raise click.ClickException(str(exc)) from exc
