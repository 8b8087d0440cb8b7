"""Pseudonymisation speed: datalux's HMAC kernel and file pipeline against same-run baselines.

Targets (issue): pseudonymise 10M identifiers at >= 2.5M ids/s per core and >= 7x a plain
Python ``hmac`` loop. "Per core" is measured as identifiers per CPU-second of this process
(``time.process_time``), which stays meaningful on a shared, busy machine where wall-clock
rates depend on the neighbours; wall-clock rates are shown beside it.

Rows:
1. the kernel (:func:`datalux.privacy.pseudonymise_array`, the Numba kernel) vs a plain
   ``hmac.new(...).hexdigest()`` loop, per CPU-second, with a bit-for-bit check;
2. the kernel on two threads (wall clock) vs the plain loop (wall clock);
3. the other options evaluated: a hashlib loop with precomputed pad states; the
   engine-side HMAC (Ibis-compiled SQL on DuckDB, 2 threads);
4. the whole file pipeline (Parquet in, national-number validation, Parquet out, record
   batches) vs the plain loop.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import hmac
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bench import Row
from datalux.dataplane import connect, hmac_sha256_hex
from datalux.privacy import MasterKey, make_national_id, pseudonymise_array, pseudonymise_file

TARGET_PER_CORE = 2.5e6
TARGET_RATIO = 7.0


def _ids(n: int) -> pa.Array:
    """n distinct 13-digit identifiers as an Arrow string column."""
    base = np.arange(n, dtype=np.int64) * 7919 + 1_000_000_000_000
    return pa.array(base).cast(pa.string())


def _timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def _m(rate: float) -> str:
    return f"{rate / 1e6:.2f}M"


def _plain_loop(values: list[str], key: bytes) -> list[str]:
    return [hmac.new(key, v.encode(), "sha256").hexdigest() for v in values]


def _pad_state_loop(values: list[str], key: bytes) -> list[str]:
    block = key.ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
    out = []
    for v in values:
        i = inner.copy()
        i.update(v.encode())
        o = outer.copy()
        o.update(i.digest())
        out.append(o.hexdigest())
    return out


def _best(
    fn: Callable[[], Any], repeats: int, *, by_wall: bool = False
) -> tuple[float, float, Any]:
    """Fastest of ``repeats`` runs by CPU time (or wall time), with the other time of that
    run: the machine is shared, and the minimum is the least disturbed measurement."""
    best: tuple[float, float, Any] | None = None
    for _ in range(repeats):
        wall, cpu, result = _timed(fn)
        if best is None or (wall < best[0] if by_wall else cpu < best[1]):
            best = (wall, cpu, result)
        del result
    assert best is not None
    return best


def run(quick: bool) -> list[Row]:
    n = 1_000_000 if quick else 10_000_000
    n_base = 100_000 if quick else 1_000_000  # the plain loop is timed on a prefix
    repeats = 3
    keys = MasterKey(bytes(range(32))).domain_keys("project:bench")
    key = keys.hmac_key
    ids = _ids(n)
    prefix = ids.slice(0, n_base).to_pylist()
    rows: list[Row] = []

    # baseline: plain hmac loop (one core, pure Python), and 1. the kernel, per CPU-second
    pseudonymise_array(ids.slice(0, 1000), keys)  # compile (or load) the kernel outside the timing
    b_wall, b_cpu, expected = _best(lambda: _plain_loop(prefix, key), repeats)
    b_wall = min(b_wall, b_cpu)  # the loop runs on one core: wall >= CPU time unless disturbed
    _, k_cpu, got = _best(lambda: pseudonymise_array(ids, keys, workers=1), repeats)
    base_cpu_rate, base_wall_rate = n_base / b_cpu, n_base / b_wall
    identical = got.slice(0, n_base).to_pylist() == expected
    per_core = n / k_cpu
    ratio = per_core / base_cpu_rate
    rows.append(
        Row(
            task=f"pseudonymise {n / 1e6:g}M ids, per core (ids per CPU-s)",
            datalux=f"{_m(per_core)} ids/s/core (Numba HMAC kernel)",
            baseline=f"{_m(base_cpu_rate)} ids/s/core (plain hmac loop)",
            ratio=ratio,
            quality=(
                f"bit-identical to hmac.new on {n_base:,} ids: {'yes' if identical else 'NO'}; "
                f">= 2.5M/s/core: {'met' if per_core >= TARGET_PER_CORE else 'NOT met'}; "
                f">= 7x per core: {'met' if ratio >= TARGET_RATIO else 'NOT met'}"
            ),
        )
    )
    del got

    # 2. the library's default: slices hashed on 2 threads, wall clock
    t_wall, t_cpu, _ = _best(lambda: pseudonymise_array(ids, keys), repeats, by_wall=True)
    total_ratio = (n / t_wall) / base_wall_rate
    rows.append(
        Row(
            task=f"pseudonymise {n / 1e6:g}M ids, 2 cores (wall clock)",
            datalux=f"{_m(n / t_wall)} ids/s ({t_wall:.2f} s, {t_cpu / t_wall:.1f} cores busy)",
            baseline=f"{_m(base_wall_rate)} ids/s (plain hmac loop, 1 core)",
            ratio=total_ratio,
            quality=(
                f">= 7x the plain loop on the 2-core machine: "
                f"{'met' if total_ratio >= TARGET_RATIO else 'NOT met'}; wall rates vary with load"
            ),
        )
    )

    # 3a. option evaluated: precomputed pad states in a Python loop
    _, p_cpu, pad_out = _best(lambda: _pad_state_loop(prefix, key), repeats)
    rows.append(
        Row(
            task="option: hashlib loop with precomputed pads",
            datalux=f"{_m(per_core)} ids/s/core (kernel)",
            baseline=f"{_m(n_base / p_cpu)} ids/s/core (pad-state loop)",
            ratio=per_core / (n_base / p_cpu),
            quality=f"pad loop bit-identical: {'yes' if pad_out == expected else 'NO'}",
        )
    )
    del pad_out

    # 3b. option evaluated: the engine-side HMAC (sha256 + key pads) in DuckDB SQL
    n_sql = 200_000 if quick else 1_000_000
    rows.append(_engine_row(ids.slice(0, n_sql), key, expected, per_core))

    # 4. whole file pipeline with validation
    rows.append(_file_row(quick, keys, base_cpu_rate))
    return rows


def _engine_row(ids: pa.Array, key: bytes, expected: list[str], per_core: float) -> Row:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ids.parquet"
        pq.write_table(pa.table({"v": ids}), path)
        with connect("duckdb", threads=2) as engine:
            t = engine.register_parquet("ids", path)
            expr = t.select(h=hmac_sha256_hex(t.v, key))
            e_wall, e_cpu, out = _timed(lambda: engine.to_arrow(expr))
    head = out.column("h").slice(0, len(expected)).to_pylist()
    n = len(ids)
    return Row(
        task=f"option: engine HMAC in DuckDB SQL ({n / 1e6:g}M ids)",
        datalux=f"{_m(per_core)} ids/s/core (kernel)",
        baseline=f"{_m(n / e_cpu)} ids/s/core, {_m(n / e_wall)} ids/s wall (DuckDB, 2 threads)",
        ratio=per_core / (n / e_cpu),
        quality=f"engine HMAC bit-identical: {'yes' if head == expected[: len(head)] else 'NO'}"
        " (portable to Spark; used for pipelines that run on an engine)",
    )


def _file_row(quick: bool, keys: Any, base_cpu_rate: float) -> Row:
    n = 1_000_000 if quick else 10_000_000
    distinct = [
        make_national_id(dt.date(1940, 1, 1) + dt.timedelta(days=i % 25_000), i % 1000)
        for i in range(20_000)
    ]
    pool = pa.array(distinct)
    rng = np.random.default_rng(1)
    nins = pool.take(pa.array(rng.integers(0, len(distinct), n)))
    # 0.1 % corrupted (cut to 12 digits), through Arrow to keep memory bounded
    bad_at = rng.choice(n, size=n // 1000, replace=False)
    mask = np.zeros(n, dtype=bool)
    mask[bad_at] = True
    short = pc.utf8_slice_codeunits(nins, 0, 12)
    nins = pc.if_else(pa.array(mask), short, nins)
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "in.parquet", Path(tmp) / "out.parquet"
        pq.write_table(pa.table({"row": np.arange(n), "nin": nins}), src)
        f_wall, f_cpu, report = _timed(
            lambda: pseudonymise_file(
                src, out, columns=["nin"], keys=keys, validate={"nin": "national-id"}
            )
        )
    ok = report.rejected_rows == n // 1000 and report.rows_out == n - n // 1000
    return Row(
        task=f"pseudonymise_file {n / 1e6:g}M rows Parquet->Parquet, validated",
        datalux=f"{_m(n / f_cpu)} rows/s/core, {_m(n / f_wall)} rows/s wall",
        baseline=f"{_m(base_cpu_rate)} ids/s/core (plain hmac loop, no I/O)",
        ratio=(n / f_cpu) / base_cpu_rate,
        quality=f"rejects counted exactly: {'yes' if ok else 'NO'} ({report.rejected_rows:,})",
    )
