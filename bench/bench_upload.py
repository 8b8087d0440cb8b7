"""Upload pipeline: validate a CSV against its data dictionary, store it as Parquet, profile it.

The file is generated here: 1M rows x 12 columns (100k with ``--quick``) shaped like the
demo's employment spells - integer ids, valid national numbers, dates with gaps, NACE and
ISCO codes, communes, countries, wages with a missing-value code.

datalux: :func:`datalux.dataplane.ingest.ingest` (DuckDB: strict types, code lists,
missing-value codes, national-number check digits, typed Parquet written atomically) then
:func:`datalux.dataplane.profile.profile_parquet`.

Baseline, measured in the same run: pandas ``read_csv`` (all text) with the same checks done
column by column (regexes, ``isin`` on the code lists, the same vectorised national-number
validator), ``to_parquet``, then a pandas profile (non-null share, distinct values, min/max,
duplicate rows). Target (the issue): < 20 s for 1M rows on 2 cores.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from bench import Row
from datalux.dataplane.codelists import code_list
from datalux.dataplane.ingest import FieldRule, ingest
from datalux.dataplane.profile import profile_parquet
from datalux.privacy.national_id import make_national_ids, valid_national_id_mask

TARGET_S = 20.0

RULES = [
    FieldRule("spell_id", "integer", required=True),
    FieldRule(
        "national_id", "string", required=True, national_id=True, privacy_role="direct_identifier"
    ),
    FieldRule("sex", "string", code_list="sex"),
    FieldRule("commune", "string", code_list="communes-lu"),
    FieldRule("nace_section", "string", required=True, code_list="nace2"),
    FieldRule("nace_division", "string", required=True, code_list="nace2"),
    FieldRule("isco_code", "string", code_list="isco08"),
    FieldRule("start_date", "date", required=True),
    FieldRule("end_date", "date"),
    FieldRule("monthly_wage", "number", missing_values=("", "-99")),
    FieldRule(
        "working_time_pct", "integer", required=True, allowed_values=(20, 25, 50, 75, 80, 100)
    ),
    FieldRule("country_of_residence", "string", code_list="iso3166"),
]


def make_csv(path: Path, n: int, seed: int = 7) -> None:
    """A realistic, valid CSV of ``n`` rows for :data:`RULES`."""
    rng = np.random.default_rng(seed)
    births = np.datetime64("1950-01-01") + rng.integers(0, 20_000, n).astype("timedelta64[D]")
    ids = make_national_ids(births, rng.integers(0, 1000, n))
    communes = sorted(code_list("communes-lu").values)
    divisions = sorted(v for v in code_list("nace2").values if v.isdigit())
    start = np.datetime64("2010-01-01") + rng.integers(0, 5000, n).astype("timedelta64[D]")
    end = start + rng.integers(30, 3000, n).astype("timedelta64[D]")
    wage = np.round(rng.lognormal(8.2, 0.4, n), 2).astype(str)
    wage[rng.random(n) < 0.03] = "-99"

    def pick(values: list[str]) -> pa.Array:
        return pa.array(np.asarray(values, dtype=object)[rng.integers(0, len(values), n)])

    table = pa.table(
        {
            "spell_id": pa.array(np.arange(1, n + 1)),
            "national_id": ids,
            "sex": pick(["M", "F"]),
            "commune": pick(communes),
            "nace_section": pick(list("ABCFGHJKMNOPQ")),
            "nace_division": pick(divisions),
            "isco_code": pick(["1120", "2221", "2512", "3313", "4110", "5223", "7126", "8322", ""]),
            "start_date": pa.array(start.astype("datetime64[D]").astype(object), pa.date32()),
            "end_date": pc.if_else(
                pa.array(rng.random(n) < 0.3),
                pa.nulls(n, pa.date32()),
                pa.array(end.astype("datetime64[D]").astype(object), pa.date32()),
            ),
            "monthly_wage": pa.array(wage),
            "working_time_pct": pick(["100", "100", "100", "80", "50", "75"]),
            "country_of_residence": pick(["LU", "LU", "FR", "BE", "DE", "PT"]),
        }
    )
    pacsv.write_csv(table, path)


def baseline(csv_path: Path, out: Path) -> tuple[int, int]:
    """pandas doing the same checks column by column; returns (rows, problems)."""
    import pandas as pd

    df = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    problems = 0
    out_cols: dict[str, object] = {}
    for rule in RULES:
        raw = df[rule.name]
        missing = raw.isin(list(rule.missing_values))
        present = raw[~missing]
        if rule.type == "integer":
            ok = present.str.fullmatch(r"[+-]?[0-9]+")
            typed = pd.to_numeric(raw.where(~missing), errors="coerce").astype("Int64")
        elif rule.type == "number":
            typed = pd.to_numeric(raw.where(~missing), errors="coerce")
            ok = typed[~missing].notna()
        elif rule.type == "date":
            typed = pd.to_datetime(raw.where(~missing), format="%Y-%m-%d", errors="coerce")
            ok = typed[~missing].notna()
        else:
            typed = raw.where(~missing)
            ok = pd.Series(True, index=present.index)
        problems += int((~ok).sum())
        if rule.required:
            problems += int(missing.sum())
        if rule.allowed_values:
            problems += int((~typed[~missing].isin(list(rule.allowed_values))).sum())
        if rule.code_list:
            codes = code_list(rule.code_list)
            if codes.values and not codes.pattern:
                valid = present.isin(list(codes.values))
            else:
                valid = present.isin(list(codes.values)) | present.str.fullmatch(codes.pattern)
                if codes.prefix_values:
                    valid &= present.isin(list(codes.values)) | present.str[
                        : codes.prefix_length
                    ].isin(list(codes.prefix_values))
            problems += int((~valid).sum())
        if rule.national_id:
            mask = valid_national_id_mask(pa.array(present.to_numpy(dtype=object), pa.string()))
            problems += int(len(present) - pc.sum(mask).as_py())
        out_cols[rule.name] = typed
    frame = pd.DataFrame(out_cols)
    frame.to_parquet(out, compression="zstd", index=False)
    # the profile: completeness, distinct values, min/max, duplicate rows
    stored = pd.read_parquet(out)
    for name in stored.columns:
        col = stored[name]
        col.notna().mean()
        col.nunique()
        if col.dtype.kind in "iufM":
            col.min()
            col.max()
    stored.duplicated().sum()
    return len(df), problems


def run(quick: bool) -> list[Row]:
    n = 100_000 if quick else 1_000_000
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp:
        folder = Path(tmp)
        src = folder / "spells.csv"
        make_csv(src, n)
        size_mb = src.stat().st_size / 1e6

        started, cpu = time.perf_counter(), time.process_time()
        report = ingest(src, RULES, output=folder / "v1.parquet")
        validated = time.perf_counter() - started
        profile = profile_parquet(folder / "v1.parquet", RULES, uploaded_at=dt.datetime.now(dt.UTC))
        ours, ours_cpu = time.perf_counter() - started, time.process_time() - cpu

        started, cpu = time.perf_counter(), time.process_time()
        base_rows, base_problems = baseline(src, folder / "pandas.parquet")
        theirs, theirs_cpu = time.perf_counter() - started, time.process_time() - cpu
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")

        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        met = "met" if ours < TARGET_S * n / 1_000_000 else "NOT met"
        target = "< 20 s" if not quick else f"< {TARGET_S * n / 1_000_000:.0f} s (scaled)"
        rows.append(
            Row(
                task=f"upload+validate+profile CSV {n // 1000}k x 12 "
                f"({size_mb:.0f} MB, {cores} cores)",
                datalux=f"{ours:.2f} s (validate+store {validated:.2f} s; cpu {ours_cpu:.1f} s)",
                baseline=f"{theirs:.2f} s (pandas checks + to_parquet + profile; "
                f"cpu {theirs_cpu:.1f} s)",
                ratio=theirs / ours if ours else None,
                quality=(
                    f"target {target}: {met}; ok={report.ok}, {report.total_errors} problems "
                    f"(pandas {base_problems}); rows {profile['rows']}/{base_rows}; "
                    f"completeness {profile['kpis']['completeness']:.3f}; load avg {load:.1f}"
                ),
            )
        )
    return rows
