"""The runtimes a project's actions may use: a list the operator manages.

``DATALUX_SPE_RUNTIMES_FILE`` names a JSON file, a list of runtimes::

    [{"name": "python", "command": ["/opt/datalux/runtimes/python-2026.1/bin/python"],
      "paths": ["/opt/datalux/runtimes/python-2026.1"],
      "description": "Python 3.11 with pandas, DuckDB, statsmodels, scikit-learn"}]

``command`` runs the action's script (``command`` + script + arguments); ``paths`` are the
host folders it needs besides ``/usr``, bound read-only at the same place. Without the file,
one runtime is allowed: ``python``, the platform's own interpreter and environment, pinned by
the project's lock file (``uv.lock``): pandas, DuckDB, PyArrow, NumPy, statsmodels,
scikit-learn, matplotlib. ``datalux spe run-local`` uses the same default on the researcher's
machine, so a project that runs at home runs inside.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from datalux.spe.sandbox import Runtime


class RuntimeListError(ValueError):
    """The operator's runtime list cannot be read (names what to fix)."""


def local_runtimes() -> dict[str, Runtime]:
    return {"python": Runtime.current_python()}


def read_list(path: Path) -> dict[str, Runtime]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RuntimeListError(f"{path}: not a readable JSON list of runtimes ({exc})") from exc
    if not isinstance(data, list) or not data:
        raise RuntimeListError(f"{path}: must be a non-empty JSON list of runtimes")
    runtimes: dict[str, Runtime] = {}
    for index, entry in enumerate(data):
        runtime = _runtime(path, index, entry)
        if runtime.name in runtimes:
            raise RuntimeListError(f"{path}: runtime {runtime.name!r} is listed twice")
        runtimes[runtime.name] = runtime
    return runtimes


def _runtime(path: Path, index: int, entry: Any) -> Runtime:
    where = f"{path}: runtime {index + 1}"
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise RuntimeListError(f"{where}: needs a 'name'")
    command = entry.get("command")
    if not isinstance(command, list) or not command or not all(isinstance(c, str) for c in command):
        raise RuntimeListError(f"{where}: 'command' must be a list such as [\"/path/to/python\"]")
    if not Path(command[0]).is_absolute():
        raise RuntimeListError(f"{where}: the command must be an absolute path")
    paths = entry.get("paths", [])
    if not isinstance(paths, list) or not all(
        isinstance(p, str) and p.startswith("/") for p in paths
    ):
        raise RuntimeListError(f"{where}: 'paths' must be a list of absolute folders")
    return Runtime(
        name=entry["name"],
        command=tuple(command),
        paths=tuple(Path(p) for p in paths),
        description=str(entry.get("description", "")),
    )


def allowed() -> dict[str, Runtime]:
    """The operator's list (``DATALUX_SPE_RUNTIMES_FILE``), else the platform's Python."""
    from django.conf import settings

    listed = getattr(settings, "DATALUX_SPE_RUNTIMES_FILE", None)
    return read_list(Path(listed)) if listed else local_runtimes()
