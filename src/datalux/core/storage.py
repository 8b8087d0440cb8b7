"""Files under the storage root (``DATALUX_STORAGE``), found safely from a stored relative path."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings


def stored_file(relative: str) -> Path | None:
    """The file at ``relative`` under the storage root; None if it is missing or lies outside."""
    root = Path(settings.DATALUX_STORAGE).resolve()
    path = (root / relative).resolve()
    return path if path.is_relative_to(root) and path.is_file() else None
