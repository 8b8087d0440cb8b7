"""k-anonymity on Adult (8 quasi-identifiers, k = 5) and on 1M rows: datalux vs anjana.

Baseline: ``anjana`` 1.2.3 (CSIC's greedy full-domain generalisation over pandas/pycanon),
measured side by side in the same run. anjana and pycanon pin ``numpy==2.0.2`` and
``pandas==2.3.3`` exactly, which would downgrade the project's numpy (and pydantic, scipy):
so they live in a throw-away virtual environment (``var/bench/anjana``, made here with uv on
first use) and run in a subprocess. That subprocess also checks datalux's releases with
pycanon (``pycanon.anonymity.k_anonymity``), the independent checker.

Timings are in-process compute, without reading the CSV or starting the interpreter: for
datalux the whole ``anonymise()`` (encode, search, release, metrics, verification; median of
three warm runs), for anjana its ``k_anonymity()`` call (one run). Loss is Iyengar's loss metric
as ARX computes it (suppressed records count 1), recomputed here for both from the released
text. Targets: loss no worse than ARX's optimum (0.661 / 0.404 / 0.280 at 0 / 1 / 5 %),
each under 1 s, at least 5x faster than anjana; 1M rows under 30 s.

The 1M-row table is Adult resampled with replacement, each quasi-identifier cell replaced
with probability 0.05 by another value of its column (so the rows are not only Adult's
18,109 distinct combinations repeated: about 0.5M are distinct).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from bench import Row
from datalux.privacy.anonymisation import Hierarchy, KAnonymity, anonymise, read_hierarchy_csv

ROOT = Path(__file__).resolve().parents[1]
ADULT = ROOT / "tests" / "data" / "adult"
QIS = [
    "sex",
    "age",
    "race",
    "marital-status",
    "education",
    "native-country",
    "workclass",
    "occupation",
]
ARX_LOSS = {0.0: 0.661, 0.01: 0.404, 0.05: 0.280}
ANJANA_VERSION = "1.2.3"
VENV = ROOT / "var" / "bench" / "anjana"
K = 5

_SCRIPT = r"""
import json, sys, time
import pandas as pd
job = json.loads(sys.argv[1])
out = {}
if job.get("anjana"):
    from anjana.anonymity import k_anonymity
    df = pd.read_csv(job["data"], sep=";", dtype=str, keep_default_na=False)
    hierarchies = {
        q: dict(pd.read_csv(p, sep=";", header=None, dtype=str, keep_default_na=False))
        for q, p in job["hierarchies"].items()
    }
    start = time.perf_counter()
    released = k_anonymity(df, [], job["qis"], job["k"], job["supp_percent"], hierarchies)
    out["seconds"] = time.perf_counter() - start
    released[job["qis"]].to_csv(job["out"], sep=";", index=False)
if job.get("check"):
    import pycanon.anonymity
    out["pycanon_k"] = []
    for path in job["check"]:
        df = pd.read_csv(path, sep=";", dtype=str, keep_default_na=False)
        out["pycanon_k"].append(int(pycanon.anonymity.k_anonymity(df, job["qis"])))
print("RESULT " + json.dumps(out))
"""


def _uv() -> str:
    uv = Path(sys.executable).with_name("uv")
    return str(uv) if uv.exists() else "uv"


def _baseline_python() -> tuple[Path | None, str]:
    """The throw-away venv's python (made on first use), or None and why not."""
    python = VENV / "bin" / "python"
    if python.exists():
        return python, ""
    try:
        VENV.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(  # noqa: S603 - fixed arguments
            [_uv(), "venv", "-q", str(VENV), "--python", sys.executable],
            check=True,
            capture_output=True,
            timeout=300,
        )
        subprocess.run(  # noqa: S603 - fixed arguments
            [_uv(), "pip", "install", "-q", "--python", str(python), f"anjana=={ANJANA_VERSION}"],
            check=True,
            capture_output=True,
            timeout=600,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"anjana venv could not be made ({type(exc).__name__})"
    return python, ""


def _run_baseline(python: Path, job: dict[str, Any], timeout: float) -> dict[str, Any] | None:
    try:
        done = subprocess.run(  # noqa: S603 - our own script, JSON argument
            [str(python), "-c", _SCRIPT, json.dumps(job)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
    except subprocess.TimeoutExpired:
        return None
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return result
    raise RuntimeError(f"baseline failed: {done.stderr.strip()[-500:]}")


def _read(path: Path) -> pa.Table:
    return pacsv.read_csv(
        path,
        parse_options=pacsv.ParseOptions(delimiter=";"),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys([*QIS, "salary-class"], pa.string()),
            strings_can_be_null=False,
        ),
    )


def _write(table: pa.Table, path: Path) -> None:
    pacsv.write_csv(table, path, write_options=pacsv.WriteOptions(delimiter=";"))


def release_loss(released: pa.Table, hierarchies: dict[str, Hierarchy], records: int) -> float:
    """ARX loss of a release (dropped records count 1), from its text alone: each column's
    level is the lowest whose labels contain every released value."""
    d = len(QIS)
    total = float((records - released.num_rows) * d)
    for q in QIS:
        h = hierarchies[q]
        counts = Counter(released.column(q).to_pylist())
        for level in range(h.height):
            leaves = Counter(r[level] for r in h.rows)
            if all(v in leaves for v in counts):
                break
        else:
            raise ValueError(f"column {q} holds values outside its hierarchy")
        total += sum(c * (leaves[v] - 1) / max(len(h.rows) - 1, 1) for v, c in counts.items())
    return total / (records * d)


def _median_time(fn: Any, repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def _synthetic(adult: pa.Table, n: int, seed: int = 1) -> pa.Table:
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, adult.num_rows, n)
    columns = {}
    for q in QIS:
        values = np.array(adult.column(q).to_pylist(), dtype=object)
        picked = values[rows]
        swap = rng.random(n) < 0.05
        domain = np.array(sorted(set(values)), dtype=object)
        picked[swap] = domain[rng.integers(0, len(domain), int(swap.sum()))]
        columns[q] = pa.array(picked.tolist(), pa.string())
    columns["salary-class"] = adult.column("salary-class").take(pa.array(rows))
    return pa.table(columns)


def run(quick: bool) -> list[Row]:
    """Quick mode (< 30 s): the first 3,000 Adult records (ARX's figures do not apply to
    them) and 100k rows with anjana capped at 5 s."""
    adult = _read(ADULT / "adult.csv")
    source = ADULT / "adult.csv"
    if quick:
        adult = adult.slice(0, 3000)
    hierarchies = {q: read_hierarchy_csv(ADULT / f"adult_hierarchy_{q}.csv") for q in QIS}
    files = {q: str(ADULT / f"adult_hierarchy_{q}.csv") for q in QIS}
    python, why = _baseline_python()
    rows: list[Row] = []
    # warm-up (imports, first-call kernels), as ARX's figures are for a warm JVM
    anonymise(
        adult.slice(0, 2000), quasi_identifiers=QIS, hierarchies=hierarchies, models=[KAnonymity(K)]
    )
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if quick:
            source = tmp / "adult-3000.csv"
            _write(adult, source)
        releases: list[Path] = []
        for share in (0.0, 0.01, 0.05):
            seconds, result = _median_time(
                lambda s=share: anonymise(
                    adult,
                    quasi_identifiers=QIS,
                    hierarchies=hierarchies,
                    models=[KAnonymity(K)],
                    max_suppression=s,
                ),
                1 if quick else 3,
            )
            loss = release_loss(result.table, hierarchies, adult.num_rows)
            path = tmp / f"datalux-{share}.csv"
            _write(result.table, path)
            releases.append(path)
            base = None
            if python is not None:
                base = _run_baseline(
                    python,
                    {
                        "anjana": True,
                        "data": str(source),
                        "hierarchies": files,
                        "qis": QIS,
                        "k": K,
                        "supp_percent": share * 100,
                        "out": str(tmp / f"anjana-{share}.csv"),
                        "check": [str(path)],
                    },
                    timeout=600,
                )
            met = [
                f"loss {loss:.3f} vs ARX {ARX_LOSS[share]:.3f}: "
                + ("met" if loss <= ARX_LOSS[share] + 5e-4 else "NOT met")
                if not quick
                else "quick: 3,000-record subset, no ARX figure",
                f"<1 s: {'met' if seconds < 1 else 'NOT met'}",
            ]
            if base is None:
                baseline, ratio = why or "anjana timed out", None
            else:
                base_loss = release_loss(
                    _read_qis(tmp / f"anjana-{share}.csv"), hierarchies, adult.num_rows
                )
                ratio = base["seconds"] / seconds
                baseline = (
                    f"{base['seconds']:.2f} s, loss {base_loss:.3f} (anjana {ANJANA_VERSION})"
                )
                met.append(f">=5x anjana: {'met' if ratio >= 5 else 'NOT met'}")
                met.append(f"pycanon k={base['pycanon_k'][0]}")
            rows.append(
                Row(
                    task=f"Adult{' 3k' if quick else ''} k={K}, {share:.0%} suppression",
                    datalux=f"{seconds:.3f} s, loss {loss:.3f}, {result.records_suppressed} supp.",
                    baseline=baseline,
                    ratio=ratio,
                    quality="; ".join(met),
                )
            )
        rows.append(_large(adult, hierarchies, files, python, why, tmp, quick))
    return rows


def _read_qis(path: Path) -> pa.Table:
    return pacsv.read_csv(
        path,
        parse_options=pacsv.ParseOptions(delimiter=";"),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(QIS, pa.string()), strings_can_be_null=False
        ),
    )


def _large(
    adult: pa.Table,
    hierarchies: dict[str, Hierarchy],
    files: dict[str, str],
    python: Path | None,
    why: str,
    tmp: Path,
    quick: bool,
) -> Row:
    n = 100_000 if quick else 1_000_000
    cap = 5.0 if quick else 240.0
    table = _synthetic(adult, n)
    start = time.perf_counter()
    result = anonymise(
        table,
        quasi_identifiers=QIS,
        hierarchies=hierarchies,
        models=[KAnonymity(K)],
        max_suppression=0.01,
    )
    seconds = time.perf_counter() - start
    data = tmp / "large.csv"
    _write(table, data)
    release = tmp / "large-datalux.csv"
    _write(result.table.select(QIS), release)
    baseline, ratio = why or "", None
    quality = [
        f"{'optimal' if result.search.optimal else 'heuristic'} search, "
        f"loss {result.utility.loss:.3f}, {result.search.evaluations} nodes",
        f"<30 s: {'met' if seconds < 30 else 'NOT met'}",
    ]
    if python is not None:
        check = _run_baseline(python, {"check": [str(release)], "qis": QIS}, timeout=600)
        if check is not None:
            quality.append(f"pycanon k={check['pycanon_k'][0]}")
        job = {
            "anjana": True,
            "data": str(data),
            "hierarchies": files,
            "qis": QIS,
            "k": K,
            "supp_percent": 1.0,
            "out": str(tmp / "large-anjana.csv"),
        }
        base = _run_baseline(python, job, timeout=cap)
        if base is None:
            baseline = f"> {cap:.0f} s (anjana stopped at the cap)"
            ratio = cap / seconds
            quality.append("ratio is a lower bound")
        else:
            base_loss = release_loss(_read_qis(tmp / "large-anjana.csv"), hierarchies, n)
            baseline = f"{base['seconds']:.2f} s, loss {base_loss:.3f} (anjana {ANJANA_VERSION})"
            ratio = base["seconds"] / seconds
    return Row(
        task=f"{n // 1000}k rows x 8 QIs, k={K}, 1% supp.",
        datalux=f"{seconds:.2f} s, {result.records_suppressed} supp.",
        baseline=baseline,
        ratio=ratio,
        quality="; ".join(quality),
    )
