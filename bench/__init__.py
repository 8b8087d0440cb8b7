"""Benchmarks: ``python -m bench [NAME ...] [--quick]``.

Each module ``bench/bench_<name>.py`` exposes ``run(quick: bool) -> list[Row]``. Every row
compares datalux with a baseline measured in the same run (never a number typed in), and
the runner prints one table: task, datalux, baseline, ratio, quality.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Row:
    task: str
    datalux: str  # measured figure for datalux, with its unit, e.g. "2.71M ids/s"
    baseline: str  # the same figure for the baseline, e.g. "0.36M ids/s (hmac loop)"
    ratio: float | None  # datalux / baseline, oriented so that > 1 is better
    quality: str = ""  # accuracy, loss, F1... and whether a target is met


def format_table(rows: list[Row]) -> str:
    header = ("task", "datalux", "baseline", "ratio", "quality")
    cells = [
        (r.task, r.datalux, r.baseline, "" if r.ratio is None else f"{r.ratio:.2f}x", r.quality)
        for r in rows
    ]
    widths = [
        max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(header)
    ]
    lines = [" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("-+-".join("-" * w for w in widths))
    lines += [" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


def run_in_throwaway_django(module: str, *, quick: bool, what: str) -> dict[str, Any]:
    """Run ``python -m <module> --worker [--quick]`` against a fresh SQLite database.

    The worker sets up Django itself (``DATALUX_VAR`` points at a temporary folder, so it never
    touches var/ or a PostgreSQL ``DATABASE_URL``) and prints one JSON object on its last line,
    which is returned.
    """
    with tempfile.TemporaryDirectory(prefix="datalux-bench-") as var:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env.update(DJANGO_SETTINGS_MODULE="datalux.settings", DATALUX_VAR=var)
        completed = subprocess.run(  # noqa: S603 - our own module, fixed arguments
            [sys.executable, "-m", module, "--worker", *(["--quick"] if quick else [])],
            env=env,
            cwd=Path(__file__).resolve().parents[1],
            capture_output=True,
            text=True,
            check=False,
        )
    if completed.returncode != 0:
        raise RuntimeError(f"the {what} benchmark failed:\n{completed.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result
