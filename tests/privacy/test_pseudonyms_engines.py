"""Pseudonymisation through the engine interface equals the vectorised kernel and hmac.new,
on DuckDB and (``-m spark``) on Spark."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datalux.dataplane import Backend, connect, min_class_size
from datalux.privacy import InputError, MasterKey, pseudonymise_array, pseudonymise_dataset

KEYS = MasterKey(bytes(range(7, 47))).domain_keys("project:2026-017")


@pytest.fixture(params=["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def engine(request: pytest.FixtureRequest) -> Iterator[Backend]:
    with connect(request.param) as backend:
        yield backend


def read_dataset(path: Path) -> pa.Table:
    return pq.read_table(path).sort_by("row")


def test_dataset_pseudonyms_equal_the_kernel_and_hmac(engine: Backend, tmp_path: Path) -> None:
    ids = [f"19{i:011d}" for i in range(500)] + ["é中", "", None]
    src = tmp_path / "in.parquet"
    towns = ["Esch", "Wiltz"] * (len(ids) // 2) + ["Esch"]
    pq.write_table(pa.table({"row": list(range(len(ids))), "nin": ids, "town": towns}), src)
    out = pseudonymise_dataset(engine, src, tmp_path / "out.parquet", columns=["nin"], keys=KEYS)
    table = read_dataset(out)
    assert table.column_names == ["row", "nin", "town"]
    got = table.column("nin").to_pylist()
    assert got == pseudonymise_array(ids, KEYS).to_pylist()
    assert got[:-1] == [hmac.new(KEYS.hmac_key, v.encode(), "sha256").hexdigest() for v in ids[:-1]]
    assert table.column("town").to_pylist() == towns
    # the k-anonymity check runs through the same engine on the result
    engine.register_parquet("out", out)
    assert min_class_size(engine, "out", ["town"]) == len(ids) // 2


def test_unknown_column_on_an_engine(engine: Backend, tmp_path: Path) -> None:
    src = tmp_path / "in.parquet"
    pq.write_table(pa.table({"a": ["x"]}), src)
    with pytest.raises(InputError, match="not in the table: b"):
        pseudonymise_dataset(engine, src, tmp_path / "o.parquet", columns=["b"], keys=KEYS)
    assert not (tmp_path / "o.parquet").exists()
