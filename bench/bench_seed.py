"""Synthetic population: generation speed, determinism, and the national-number mask.

Rows:
- generation: ``datalux.demo.population.generate`` for 1M persons (quick: 50k), all tables,
  against a naive pure-Python generator (``random`` + ``csv``, one person at a time) of the
  register table alone, measured in the same run on a smaller N; rows/s of each.
- validation: ``valid_national_id_mask`` (numpy over digit columns) against a Python loop
  over ``is_valid_national_id``.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import random
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import Row
from datalux.demo import population
from datalux.demo.population.reference import load_reference
from datalux.privacy import is_valid_national_id, make_national_ids, valid_national_id_mask
from datalux.privacy.national_id import make_national_id

TARGET_SECONDS_1M = 60.0


def _naive_register(path: Path, persons: int, seed: int) -> int:
    """One person at a time with the random module, written with csv: the register only."""
    rnd = random.Random(seed)
    ref = population.reference_table("communes")
    communes = ref["commune"].to_pylist()
    weights = [int(w) for w in ref["population"].to_pylist()]
    ranges = list(
        zip(
            [int(v) for v in ref["postcode_from"].to_pylist()],
            [int(v) for v in ref["postcode_to"].to_pylist()],
            strict=True,
        )
    )
    given = population.reference_table("given_names")["name"].to_pylist()
    surnames = population.reference_table("surnames")["name"].to_pylist()
    streets = population.reference_table("streets")["street"].to_pylist()
    nationalities = population.reference_table("nationalities")
    codes = nationalities["code"].to_pylist()
    nat_weights = [float(w) for w in nationalities["weight"].to_pylist()]
    used: dict[dt.date, set[int]] = {}
    extraction = dt.date(2024, 12, 31)
    rows = 0
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        header = "national_id given_name surname sex birth_date nationality commune postcode"
        out.writerow([*header.split(), "street_address"])
        for _ in range(persons):
            born = extraction - dt.timedelta(days=rnd.randrange(0, 100 * 365))
            taken = used.setdefault(born, set())
            seq = rnd.randrange(1000)
            while seq in taken:
                seq = rnd.randrange(1000)
            taken.add(seq)
            i = rnd.choices(range(len(communes)), weights)[0]
            lo, hi = ranges[i]
            out.writerow(
                [
                    make_national_id(born, seq),
                    rnd.choice(given),
                    rnd.choice(surnames),
                    rnd.choice("MF"),
                    born.isoformat(),
                    rnd.choices(codes, nat_weights)[0],
                    communes[i],
                    f"L-{rnd.randint(lo, hi)}",
                    f"{rnd.randint(1, 150)}, {rnd.choice(streets)}",
                ]
            )
            rows += 1
    return rows


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(folder).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def _generation_row(quick: bool) -> Row:
    persons = 50_000 if quick else 1_000_000
    naive_persons = 5_000 if quick else 50_000
    load_reference()  # reference lists load once per process; not part of the timing
    with tempfile.TemporaryDirectory(prefix="datalux-bench-seed-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        cpu_started = time.process_time()
        result = population.generate(root / "big", persons=persons, seed=1)
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2

        started = time.perf_counter()
        naive_rows = _naive_register(root / "naive.csv", naive_persons, seed=1)
        naive_seconds = time.perf_counter() - started

        small = 3_000
        population.generate(root / "a", persons=small, seed=9, chunk_size=1_000)
        population.generate(root / "b", persons=small, seed=9, chunk_size=1_000)
        deterministic = _digest(root / "a") == _digest(root / "b")

    rows_per_s = result.total_rows / seconds
    naive_rows_per_s = naive_rows / naive_seconds
    target = ""
    if not quick:
        met = "met" if seconds < TARGET_SECONDS_1M else "NOT met"
        target = f"; 1M in {seconds:.1f} s, target < {TARGET_SECONDS_1M:.0f} s {met}"
    return Row(
        task=f"synthetic population, {persons:,} persons, all tables",
        datalux=(
            f"{persons / seconds / 1e3:.0f}k persons/s, {rows_per_s / 1e6:.2f}M rows/s "
            f"({seconds:.1f} s wall, {cpu:.1f} s CPU)"
        ),
        baseline=f"{naive_rows_per_s / 1e3:.1f}k rows/s (random+csv loop, register only)",
        ratio=rows_per_s / naive_rows_per_s,
        quality=(
            f"{result.total_rows:,} rows in {len(result.tables)} tables; "
            f"deterministic: {'yes' if deterministic else 'NO'}; "
            f"peak RSS {peak_gb:.2f} GB{target}"
        ),
    )


def _validation_row(quick: bool) -> Row:
    n = 1_000_000 if quick else 10_000_000
    loop_n = 100_000 if quick else 300_000
    rng = np.random.default_rng(3)
    days = rng.integers(-25_000, 20_000, n).astype("datetime64[D]")
    ids = make_national_ids(days, rng.integers(0, 1000, n))
    started = time.perf_counter()
    mask = valid_national_id_mask(ids)
    seconds = time.perf_counter() - started
    values = ids.slice(0, loop_n).to_pylist()
    started = time.perf_counter()
    loop_valid = sum(is_valid_national_id(v) for v in values)
    loop_seconds = time.perf_counter() - started
    rate, loop_rate = n / seconds, loop_n / loop_seconds
    agree = mask.true_count == n and loop_valid == loop_n
    return Row(
        task=f"validate {n / 1e6:.0f}M national numbers (Luhn + Verhoeff + date)",
        datalux=f"{rate / 1e6:.1f}M ids/s (numpy mask)",
        baseline=f"{loop_rate / 1e6:.2f}M ids/s (Python loop)",
        ratio=rate / loop_rate,
        quality=f"all valid: {'yes' if agree else 'NO'}",
    )


def run(quick: bool) -> list[Row]:
    return [_generation_row(quick), _validation_row(quick)]
