"""Atomic output files for the privacy services (no partial file is ever left behind)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from datalux.dataplane.storage import atomic_output
from datalux.privacy.errors import InputError


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; move it onto ``dest`` only if the block succeeds.

    The data plane's :func:`atomic_output`, with a missing folder reported as the privacy
    library's :class:`InputError` (what the CLIs turn into a clear message).
    """
    folder = Path(dest).parent
    if not folder.is_dir():
        raise InputError(f"output folder does not exist: {folder}; create it first")
    with atomic_output(dest) as tmp:
        yield tmp
