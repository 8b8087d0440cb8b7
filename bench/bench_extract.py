"""SPE extract preparation (issue 11): a 10M-row permitted extract, against baselines.

Rows:
1. single table: 10M stays, select 2 variables, a row filter and the permitted period, the
   national number pseudonymised into the project domain, written with its manifest and read
   back (``prepare_extract`` on DuckDB) vs the same pipeline written by hand in pandas
   (``hashlib`` HMAC per row, the obvious code); target <= 3 s;
2. with the linkage: the second 10M-row table (employment, same persons) prepared in the
   same project domain, so the same person has the same ``person_id`` in both (exact linkage
   on the keyed national number); target <= 15 s; the linked persons are counted;
3. the same single-table preparation on Spark local (the scale-out check; JVM start not
   counted), when Java is there.
Each output's checksum (an order-independent sum of row hashes, computed by DuckDB on the
written files) must be the same for datalux, pandas and Spark.
"""

from __future__ import annotations

import hmac
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bench import Row
from datalux.dataplane.engine import connect
from datalux.dataplane.extract import ExtractPlan, Filter, TablePlan, prepare_extract

KEY = b"0123456789abcdef" * 4  # the project key's form: 64 hex digits as ASCII
START, END = date(2020, 1, 1), date(2024, 12, 31)
SINGLE_TARGET_S, LINKED_TARGET_S = 3.0, 15.0


def _write_sources(folder: Path, n: int) -> tuple[Path, Path]:
    rng = np.random.default_rng(7)
    persons = n // 2
    ids = (np.arange(persons, dtype=np.int64) * 7919 + 1_000_000_000_000).astype(str)
    who = rng.integers(0, persons, n)
    days = rng.integers((date(2016, 1, 1) - date(1970, 1, 1)).days,
                        (date(2026, 1, 1) - date(1970, 1, 1)).days, n)  # fmt: skip
    stays = pa.table({
        "national_id": pa.array(ids[who]),
        "age": pa.array(rng.integers(0, 100, n).astype(np.int16)),
        "diagnosis": pa.array(np.array(["I50.0", "S72.0", "J18.9", "C34.1", "E11.9"])[
            rng.integers(0, 5, n)]),
        "commune": pa.array(np.array(["Esch", "Luxembourg", "Ettelbruck"])[rng.integers(0, 3, n)]),
        "admission_date": pa.array(days.astype("datetime64[D]")),
    })  # fmt: skip
    jobs = pa.table({
        "national_id": pa.array(ids[rng.integers(0, persons, n)]),
        "wage": pa.array(rng.normal(4500, 1500, n).round(2)),
        "start_date": pa.array(days.astype("datetime64[D]")),
    })  # fmt: skip
    pq.write_table(stays, folder / "stays.parquet", row_group_size=1_000_000)
    pq.write_table(jobs, folder / "jobs.parquet", row_group_size=1_000_000)
    return folder / "stays.parquet", folder / "jobs.parquet"


def _stays_plan(source: Path) -> TablePlan:
    return TablePlan(
        name="stays", source=source, variables=("age", "diagnosis"),
        filters=(Filter("age", ">=", 18),), period_column="admission_date",
        period_start=START, period_end=END, national_id="national_id",
    )  # fmt: skip


def _jobs_plan(source: Path) -> TablePlan:
    return TablePlan(
        name="jobs", source=source, variables=("wage",), period_column="start_date",
        period_start=START, period_end=END, national_id="national_id",
    )  # fmt: skip


def checksum(path: Path) -> tuple[int, int]:
    """(rows, order-independent sum of row hashes) of a written table, by DuckDB."""
    files = [path] if path.is_file() else sorted(path.glob("*.parquet"))
    listing = ", ".join(f"'{f}'" for f in files)
    row = duckdb.sql(
        f"SELECT count(*), sum(hash(person_id, age, diagnosis)::HUGEINT) "  # noqa: S608
        f"FROM read_parquet([{listing}])"
    ).fetchall()[0]
    return int(row[0]), int(row[1])


def _pandas(source: Path, out: Path) -> None:
    """The same pipeline by hand, in pandas."""
    frame = pd.read_parquet(source)
    day = pd.to_datetime(frame["admission_date"])
    frame = frame[(frame["age"] >= 18) & (day >= pd.Timestamp(START)) & (day <= pd.Timestamp(END))]
    person = [hmac.new(KEY, v.encode(), "sha256").hexdigest() for v in frame["national_id"]]
    result = pd.DataFrame({"person_id": person, "age": frame["age"].to_numpy(),
                           "diagnosis": frame["diagnosis"].to_numpy()})  # fmt: skip
    result.to_parquet(out, index=False)


def _timed_prepare(engine: str, plan: ExtractPlan, out: Path, **options: object) -> float:
    with connect(engine, **options) as backend:  # type: ignore[arg-type]
        started = time.perf_counter()
        prepare_extract(backend, plan, out, hmac_key=KEY)
        return time.perf_counter() - started


def _spark_available() -> bool:
    return shutil.which("java") is not None


def run(quick: bool) -> list[Row]:
    n = 1_000_000 if quick else 10_000_000
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="datalux-bench-extract-") as tmp:
        folder = Path(tmp)
        stays, jobs = _write_sources(folder, n)
        single = ExtractPlan(tables=(_stays_plan(stays),), domain="project:bench")
        linked = ExtractPlan(tables=(_stays_plan(stays), _jobs_plan(jobs)), domain="project:bench")

        t_single = min(_timed_prepare("duckdb", single, folder / f"single-{i}") for i in range(2))
        started = time.perf_counter()
        _pandas(stays, folder / "pandas.parquet")
        t_pandas = time.perf_counter() - started
        ours = checksum(folder / "single-0" / "stays.parquet")
        theirs = checksum(folder / "pandas.parquet")
        rows.append(Row(
            task=f"prepare {n / 1e6:g}M-row stays (filter, period, pseudonym, verify)",
            datalux=f"{t_single:.2f} s (DuckDB, {ours[0]:,} rows out)",
            baseline=f"{t_pandas:.2f} s (pandas by hand)",
            ratio=t_pandas / t_single,
            quality=(f"same checksum as pandas: {'yes' if ours == theirs else 'NO'}; "
                     f"<= {SINGLE_TARGET_S:g} s: "
                     f"{'met' if t_single <= SINGLE_TARGET_S else 'NOT met'}"),
        ))  # fmt: skip

        t_linked = _timed_prepare("duckdb", linked, folder / "linked")
        both = duckdb.sql(
            f"SELECT count(DISTINCT s.person_id) FROM read_parquet('{folder}/linked/stays.parquet')"  # noqa: S608
            f" s JOIN read_parquet('{folder}/linked/jobs.parquet') j USING (person_id)"
        ).fetchall()[0]
        rows.append(Row(
            task=f"prepare stays + {n / 1e6:g}M-row employment, linked in one domain",
            datalux=f"{t_linked:.2f} s (DuckDB)",
            baseline=f"{t_pandas * 2:.2f} s (pandas by hand, x2 tables, estimated from row 1)",
            ratio=t_pandas * 2 / t_linked,
            quality=(f"{both[0]:,} persons in both tables; "
                     f"<= {LINKED_TARGET_S:g} s: "
                     f"{'met' if t_linked <= LINKED_TARGET_S else 'NOT met'}"),
        ))  # fmt: skip

        if _spark_available():
            with connect("spark") as spark:  # the JVM starts here, outside the timing
                started = time.perf_counter()
                prepare_extract(spark, single, folder / "spark", hmac_key=KEY)
                t_spark = time.perf_counter() - started
            on_spark = checksum(folder / "spark" / "stays.parquet")
            rows.append(Row(
                task=f"prepare {n / 1e6:g}M-row stays on Spark local (scale-out check)",
                datalux=f"{t_spark:.2f} s (Spark local, JVM warm)",
                baseline=f"{t_single:.2f} s (DuckDB, row 1)",
                ratio=t_single / t_spark,
                quality=f"same checksum as DuckDB: {'yes' if on_spark == ours else 'NO'}",
            ))  # fmt: skip
        else:
            rows.append(Row(task="prepare on Spark local", datalux="not run: no java on PATH",
                            baseline="", ratio=None,
                            quality="run `make test` once to install it"))  # fmt: skip
    return rows
