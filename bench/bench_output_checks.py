"""Automatic output checks of a release request: datalux vs ACRO on the same 20 tables.

Synthetic microdata (1M rows; 200k with ``--quick``) with seven skewed categorical columns
and two measures. Twenty tables group them by two or three columns (up to 5,000 cells each):
ten frequency tables, five sums of income and five means of length of stay. Rows:

1. the release request: ``check_files`` on the 20 tables written by ``write_table`` (each
   with its evidence), differenced against an earlier release of the same 20 tables (from
   90% of the rows) - the issue's target is at most 2 s; against ACRO 1.0.2 (SACRO) building
   the same 20 cross-tabulations from the microdata with its checks (threshold,
   (n,k)-dominance, p%), the only way ACRO checks a table;
2. like for like from the microdata: ``write_table`` for the 20 tables + ``check_files``
   against the same ACRO run.

Correctness: on every frequency table both must flag the same cells for the threshold
(ACRO's grid has every combination, so its empty cells, flagged because zeros are
disclosive, are left out: ``write_table`` writes only non-empty cells); the (n,k) and p%
cells of the magnitude tables are compared too and reported. The comparison is not of equal
work: datalux also checks identifiers, differencing against the earlier release (ACRO has no
such check), class disclosure, zeros and the evidence's SHA-256, while ACRO also builds each
table from the microdata (row 2 adds datalux's own building to compare that).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from bench import Row
from datalux.privacy.output_checks import Rules, check_files, write_table

LEVELS = {"commune": 100, "age": 18, "sex": 2, "sector": 25, "diagnosis": 50, "year": 5,
          "nationality": 10}  # fmt: skip
GROUPINGS = [
    ("commune", "age"),
    ("commune", "diagnosis"),
    ("commune", "sector", "sex"),
    ("age", "diagnosis", "sex"),
    ("commune", "year", "nationality"),
    ("sector", "age", "year"),
    ("diagnosis", "year", "nationality"),
    ("commune", "sex", "age"),
    ("sector", "diagnosis"),
    ("commune", "nationality", "sex"),
]
# (by, value, statistic): ten frequency tables, five sums of income, five means of stay
Spec = tuple[tuple[str, ...], str | None, str]
SPECS: list[Spec] = [
    *((g, None, "count") for g in GROUPINGS),
    *((GROUPINGS[i], "income", "sum") for i in (0, 2, 4, 5, 9)),
    *((GROUPINGS[i], "stay", "mean") for i in (1, 3, 6, 7, 8)),
]
_SMALL = re.compile(r"^(\d+) count cell\(s\) under")
_RULE = re.compile(r" in (\d+) cell\(s\) of ")


def _data(n: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {}
    for name, k in LEVELS.items():
        p = 1.0 / np.arange(1, k + 1) ** 0.9
        codes = rng.choice(k, size=n, p=p / p.sum())
        labels = np.array([f"{name[0].upper()}{i:03d}" for i in range(k)], dtype=object)
        columns[name] = labels[codes]
    columns["income"] = rng.lognormal(10.0, 1.2, n)
    columns["stay"] = rng.geometric(0.2, n).astype(np.int64)
    return pa.table(columns)


def _name(i: int, spec: Spec) -> str:
    by, value, statistic = spec
    return f"t{i:02d}_{statistic}_{value or 'n'}_by_{'_'.join(by)}.csv"


def _write_all(table: pa.Table, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [
        write_table(table, by, folder / _name(i, (by, value, stat)), value=value, statistic=stat)
        for i, (by, value, stat) in enumerate(SPECS)
    ]


def _acro_tables(df: pd.DataFrame) -> tuple[float, list[dict[str, Any]]]:
    """ACRO's crosstab of every spec (the last grouping column across), silenced, in a
    temporary folder; per table its flagged cells by check, as keys."""
    from acro import ACRO

    results: list[dict[str, Any]] = []
    cwd = os.getcwd()
    sink = io.StringIO()
    with tempfile.TemporaryDirectory(prefix="datalux-acro-") as folder:
        os.chdir(folder)
        logging.disable(logging.CRITICAL)
        try:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink), \
                    warnings.catch_warnings():  # fmt: skip
                warnings.simplefilter("ignore")
                started = time.perf_counter()
                acro = ACRO(suppress=False)
                for by, value, statistic in SPECS:
                    index = [df[c] for c in by[:-1]]
                    columns = df[by[-1]]
                    if value is None:
                        acro.crosstab(index, columns)
                    else:
                        acro.crosstab(index, columns, values=df[value], aggfunc=statistic)
                elapsed = time.perf_counter() - started
                for i in range(len(SPECS)):
                    output = acro.results.results[f"output_{i}"]
                    grid = output.output[0]
                    flagged: dict[str, set[tuple[str, ...]]] = {}
                    for check, cells in output.sdc["cells"].items():
                        keys = set()
                        for r, c in cells:
                            row = grid.index[r]
                            row = row if isinstance(row, tuple) else (row,)
                            keys.add(tuple(str(v) for v in (*row, grid.columns[c])))
                        flagged[check] = keys
                    counts = {}
                    if SPECS[i][1] is None:
                        for row, series in grid.iterrows():
                            row = row if isinstance(row, tuple) else (row,)
                            for column, count in series.items():
                                counts[tuple(str(v) for v in (*row, column))] = int(count)
                    results.append({"flagged": flagged, "counts": counts})
        finally:
            logging.disable(logging.NOTSET)
            os.chdir(cwd)
    return elapsed, results


def _timed(fn, repeat: int):  # type: ignore[no-untyped-def]
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _compare(paths: list[Path], verdicts: list[Any], acro: list[dict[str, Any]]) -> dict[str, Any]:
    """Threshold cells on the frequency tables (must agree), (n,k) and p% counts on the
    magnitude tables (reported)."""
    threshold_tables = 0
    nk_same = p_same = magnitude = 0
    for i, (path, verdict) in enumerate(zip(paths, verdicts, strict=True)):
        checks = {c.name: c for c in verdict.checks}
        flagged = acro[i]["flagged"]
        if SPECS[i][1] is None:
            frame = pd.read_csv(path, dtype=str)
            key_columns = list(SPECS[i][0])
            count = frame["count"].astype(int)
            ours = {tuple(k) for k in frame.loc[(count > 0) & (count < 10), key_columns].values}
            theirs = {k for k in flagged.get("MinimumThresholdCheck", set())
                      if acro[i]["counts"].get(k, 0) > 0}  # fmt: skip
            match = _SMALL.match(checks["min_count"].detail)
            reported = int(match.group(1)) if match else 0
            named = {tuple(frame.loc[c["row"] - 1, key_columns]) for c in checks["min_count"].cells}
            assert ours == theirs, f"{path.name}: threshold cells differ from ACRO's"
            assert reported == len(ours) and named <= theirs, f"{path.name}: check disagrees"
            threshold_tables += 1
        else:
            magnitude += 1
            for name, acro_name in (("nk_dominance", "NKCheck"), ("p_percent", "PPercentCheck")):
                match = _RULE.search(checks[name].detail)
                ours_n = int(match.group(1)) if match else 0
                same = ours_n == len(flagged.get(acro_name, set()))
                if name == "nk_dominance":
                    nk_same += same
                else:
                    p_same += same
    return {"threshold_tables": threshold_tables, "nk_same": nk_same, "p_same": p_same,
            "magnitude": magnitude}  # fmt: skip


def run(quick: bool) -> list[Row]:
    n = 200_000 if quick else 1_000_000
    repeat = 2 if quick else 3
    microdata = _data(n)
    earlier_data = microdata.slice(0, int(n * 0.9))
    rules = Rules()
    with tempfile.TemporaryDirectory(prefix="datalux-bench-outputs-") as folder:
        root = Path(folder)
        earlier = _write_all(earlier_data, root / "earlier")
        t_write, paths = _timed(lambda: _write_all(microdata, root / "request"), 1)
        t_check, verdicts = _timed(lambda: check_files(paths, rules, earlier=earlier), repeat)
        rows_per_table = [sum(1 for _ in p.open()) - 1 for p in paths]
        statuses = {s: sum(v.status == s for v in verdicts) for s in ("pass", "review", "fail")}
        differenced = sum(
            any(c.name == "differencing" for c in v.checks) and bool(v.earlier) for v in verdicts
        )
        t_acro, acro = _acro_tables(microdata.to_pandas())
        agreement = _compare(paths, verdicts, acro)
    label = f"{len(SPECS)} tables, {min(rows_per_table)}-{max(rows_per_table)} rows"
    met = "target met (<= 2 s)" if t_check <= 2.0 else "TARGET MISSED (> 2 s)"
    return [
        Row(
            f"release request: check_files, {label}, vs {len(earlier)} earlier",
            f"{t_check:.2f} s",
            f"{t_acro:.2f} s (ACRO crosstab+checks)",
            t_acro / t_check,
            f"{met}; {differenced} tables differenced; verdicts {statuses}; threshold cells "
            f"= ACRO's on {agreement['threshold_tables']}/{len(GROUPINGS)} frequency tables; "
            f"(n,k) count = ACRO's on {agreement['nk_same']}/{agreement['magnitude']}, p% on "
            f"{agreement['p_same']}/{agreement['magnitude']} magnitude tables",
        ),
        Row(
            f"from microdata ({n / 1e6:g}M rows): write_table + check_files",
            f"{t_write + t_check:.2f} s",
            f"{t_acro:.2f} s (ACRO crosstab+checks)",
            t_acro / (t_write + t_check),
            f"write_table {t_write:.2f} s for 20 tables and their evidence",
        ),
    ]
