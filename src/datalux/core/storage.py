"""Files under the storage root (``DATALUX_STORAGE``), found safely from a stored relative path;
and the umask of the long-running processes."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings


def stored_file(relative: str) -> Path | None:
    """The file at ``relative`` under the storage root; None if it is missing or lies outside."""
    root = Path(settings.DATALUX_STORAGE).resolve()
    path = (root / relative).resolve()
    return path if path.is_relative_to(root) and path.is_file() else None


PRIVATE_UMASK = 0o077


def restrict_new_files() -> int:
    """Files and folders the process creates from now on are its owner's only (umask 077);
    returns the previous umask. Set by the web server's entry point (``datalux.wsgi``) and by
    ``datalux serve`` for its worker and scheduler: data files, extracts, keys and the SQLite
    database are created owner-only even where no explicit mode is given. One-off commands
    keep the user's umask (``datalux catalogue export`` writes public files on purpose)."""
    return os.umask(PRIVATE_UMASK)
