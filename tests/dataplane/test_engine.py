"""The Backend interface, the same tests on every engine."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datalux.dataplane import Backend, EngineError, StorageError, connect

PEOPLE = pa.table(
    {
        "id": pa.array([1, 2, 3, 4, 5], pa.int64()),
        "town": ["Esch", "Wiltz", "Esch", None, "Esch"],
        "age": pa.array([34, 7, 51, 19, 34], pa.int64()),
    }
)


@pytest.fixture
def people(tmp_path: Path) -> Path:
    path = tmp_path / "people.parquet"
    pq.write_table(PEOPLE, path)
    return path


def test_register_read_and_filter(backend: Backend, people: Path) -> None:
    t = backend.register_parquet("people", people)
    assert backend.table("people").columns == ("id", "town", "age")
    adults = backend.to_arrow(t.filter(t.age >= 18).select("id", "age").order_by("id"))
    assert adults.column("id").to_pylist() == [1, 3, 4, 5]
    assert adults.column("age").to_pylist() == [34, 51, 19, 34]


def test_sql_on_a_registered_table(backend: Backend, people: Path) -> None:
    backend.register_parquet("people", people)
    result = backend.to_arrow(backend.sql("SELECT COUNT(*) AS n FROM people WHERE age > 30"))
    assert result.column("n").to_pylist() == [3]


def test_write_parquet_round_trips_through_the_same_engine(
    backend: Backend, people: Path, tmp_path: Path
) -> None:
    t = backend.register_parquet("people", people)
    out = backend.write_parquet(t.mutate(age2=t.age * 2), tmp_path / "out.parquet")
    back = pq.read_table(out).sort_by("id")
    assert back.column("age2").to_pylist() == [68, 14, 102, 38, 68]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    # the written dataset registers again (DuckDB: a file; Spark: a folder of parts)
    again = backend.register_parquet("again", out)
    assert backend.to_arrow(again.count().as_table()).column(0).to_pylist() == [5]


def test_write_parquet_replaces_an_older_output(
    backend: Backend, people: Path, tmp_path: Path
) -> None:
    t = backend.register_parquet("people", people)
    out = tmp_path / "out.parquet"
    backend.write_parquet(t, out)
    backend.write_parquet(t.filter(t.id == 1), out)
    assert pq.read_table(out).num_rows == 1


def test_failed_write_leaves_nothing(backend: Backend, people: Path, tmp_path: Path) -> None:
    t = backend.register_parquet("people", people)
    people.unlink()  # the engine finds out while writing
    out = tmp_path / "out.parquet"
    with pytest.raises(Exception):  # noqa: B017 - the engines raise different errors
        backend.write_parquet(t, out)
    assert not [p.name for p in tmp_path.iterdir() if p.name != "storage"]


def test_unknown_table_and_missing_file(backend: Backend, tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="register_parquet"):
        backend.table("nope")
    with pytest.raises(StorageError, match="does not exist"):
        backend.register_parquet("x", tmp_path / "missing.parquet")


def test_unknown_engine() -> None:
    with pytest.raises(EngineError, match="duckdb"):
        connect("oracle")  # type: ignore[arg-type]
