"""Equivalence-class sizes and the k of k-anonymity through the engine, on every engine."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datalux.dataplane import (
    Backend,
    EngineError,
    equivalence_class_sizes,
    group_count,
    min_class_size,
)


@pytest.fixture
def people(tmp_path: Path) -> tuple[Path, list[dict[str, object]]]:
    rng = random.Random(3)
    rows = [
        {
            "age_band": rng.choice(["0-17", "18-39", "40-64", "65+"]),
            "sex": rng.choice(["F", "M", None]),
            "canton": rng.choice(["Esch", "Luxembourg", "Wiltz", "Vianden"]),
            "income": rng.randint(0, 100_000),
        }
        for _ in range(2000)
    ]
    rows.append({"age_band": "100+", "sex": "F", "canton": "Vianden", "income": 1})  # unique
    path = tmp_path / "people.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path, rows


QI = ["age_band", "sex", "canton"]


def test_class_sizes_match_a_python_count(
    backend: Backend, people: tuple[Path, list[dict[str, object]]]
) -> None:
    path, rows = people
    backend.register_parquet("people", path)
    sizes = equivalence_class_sizes(backend, "people", QI)
    got = {(r["age_band"], r["sex"], r["canton"]): r["n"] for r in sizes.to_pylist()}
    expected = Counter((r["age_band"], r["sex"], r["canton"]) for r in rows)
    assert got == dict(expected)
    counts = sizes.column("n").to_pylist()
    assert counts == sorted(counts)  # smallest classes first
    assert counts[0] == 1


def test_min_class_size_is_k(
    backend: Backend, people: tuple[Path, list[dict[str, object]]]
) -> None:
    path, rows = people
    backend.register_parquet("people", path)
    assert min_class_size(backend, "people", QI) == 1
    by_band = Counter(r["age_band"] for r in rows)
    assert min_class_size(backend, "people", ["age_band"]) == min(by_band.values())
    t = backend.table("people")
    no_outlier = backend.sql("SELECT * FROM people WHERE age_band <> '100+'")
    assert backend.to_arrow(group_count(t, ["canton"])).num_rows == 4
    expected = min(Counter((r["age_band"], r["sex"], r["canton"]) for r in rows[:-1]).values())
    assert backend.to_arrow(group_count(no_outlier, QI).aggregate(k=lambda x: x.n.min())).column(
        "k"
    ).to_pylist() == [expected]


def test_empty_table_has_k_zero(backend: Backend, tmp_path: Path) -> None:
    path = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"a": pa.array([], pa.string())}), path)
    backend.register_parquet("empty", path)
    assert min_class_size(backend, "empty", ["a"]) == 0


def test_bad_columns(backend: Backend, people: tuple[Path, list[dict[str, object]]]) -> None:
    backend.register_parquet("people", people[0])
    with pytest.raises(EngineError, match="not in the table: zip"):
        min_class_size(backend, "people", ["zip"])
    with pytest.raises(EngineError, match="at least one column"):
        min_class_size(backend, "people", [])
