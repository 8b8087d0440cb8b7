"""Benchmarks: ``python -m bench [NAME ...] [--quick]``.

Each module ``bench/bench_<name>.py`` exposes ``run(quick: bool) -> list[Row]``. Every row
compares datalux with a baseline measured in the same run (never a number typed in), and
the runner prints one table: task, datalux, baseline, ratio, quality.
"""

from __future__ import annotations

from dataclasses import dataclass


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
