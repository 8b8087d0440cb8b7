"""Storage root, atomic writes, CSV/Parquet batches."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datalux.dataplane import (
    BatchWriter,
    StorageError,
    StorageRoot,
    atomic_output,
    file_format,
    open_batches,
    write_parquet_atomic,
)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_storage_root_refuses_paths_that_escape(tmp_path: Path) -> None:
    root = StorageRoot(tmp_path / "root")
    (tmp_path / "root").mkdir()
    assert root.dataset("a/b") == (tmp_path / "root" / "a" / "b.parquet").resolve()
    for bad in ("../x", "/etc/passwd", "a/../../x"):
        with pytest.raises(StorageError, match="escapes"):
            root.path(bad)
    (tmp_path / "root" / "link").symlink_to(tmp_path)
    with pytest.raises(StorageError, match="escapes"):
        root.path("link/x")


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("a.csv", "csv"), ("a.CSV", "csv"), ("a.parquet", "parquet"), ("a.pq", "parquet")],
)
def test_file_format_by_extension(name: str, fmt: str) -> None:
    assert file_format(name) == fmt


def test_unknown_extension() -> None:
    with pytest.raises(StorageError, match=r"\*\.csv or \*\.parquet"):
        file_format("a.xlsx")


def test_atomic_output_leaves_nothing_on_error(tmp_path: Path) -> None:
    target = tmp_path / "out.parquet"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert leftovers(tmp_path) == []
    with atomic_output(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"
    assert leftovers(tmp_path) == []


def test_atomic_output_needs_an_existing_folder(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="does not exist"), atomic_output(tmp_path / "no" / "x"):
        pass


def test_write_parquet_atomic(tmp_path: Path) -> None:
    table = pa.table({"a": [1, 2]})
    out = write_parquet_atomic(table, tmp_path / "t.parquet")
    assert pq.read_table(out).equals(table)


def test_csv_is_read_as_text_with_empty_fields_null(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("id,n\n007,1\n,2\n")
    schema, batches = open_batches(src)
    assert schema.types == [pa.string(), pa.string()]
    table = pa.Table.from_batches(list(batches), schema=schema)
    assert table.column("id").to_pylist() == ["007", None]
    assert table.column("n").to_pylist() == ["1", "2"]


def test_parquet_batches_are_bounded(tmp_path: Path) -> None:
    src = tmp_path / "in.parquet"
    pq.write_table(pa.table({"a": list(range(2500))}), src)
    _, batches = open_batches(src, batch_rows=1000)
    assert [b.num_rows for b in batches] == [1000, 1000, 500]


def test_batch_writer_csv_and_parquet(tmp_path: Path) -> None:
    schema = pa.schema([("a", pa.int64())])
    for name in ("o.csv", "o.parquet"):
        with BatchWriter(tmp_path / name, schema) as w:
            w.write(pa.record_batch([pa.array([1, 2])], schema=schema))
            w.write(pa.record_batch([pa.array([3])], schema=schema))
        assert w.rows == 3
    assert pq.read_table(tmp_path / "o.parquet").column("a").to_pylist() == [1, 2, 3]
    assert (tmp_path / "o.csv").read_text().splitlines() == ['"a"', "1", "2", "3"]


def test_batch_writer_leaves_nothing_on_error(tmp_path: Path) -> None:
    schema = pa.schema([("a", pa.int64())])
    with pytest.raises(RuntimeError), BatchWriter(tmp_path / "o.parquet", schema) as w:
        w.write(pa.record_batch([pa.array([1])], schema=schema))
        raise RuntimeError("boom")
    assert not (tmp_path / "o.parquet").exists()
    assert leftovers(tmp_path) == []
