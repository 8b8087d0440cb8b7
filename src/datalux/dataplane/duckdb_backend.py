"""The DuckDB adapter: the embedded engine, in process, one file per written table."""

from __future__ import annotations

import os
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from datalux.dataplane.engine import Backend
from datalux.dataplane.errors import EngineError, StorageError
from datalux.dataplane.storage import atomic_output

__all__ = ["DuckDBBackend"]


class DuckDBBackend(Backend):
    """DuckDB through Ibis. ``database`` defaults to in-memory; ``threads`` and
    ``memory_limit`` (e.g. ``"4GB"``) bound what one process takes on a shared machine."""

    name = "duckdb"

    def __init__(
        self,
        database: str | os.PathLike[str] = ":memory:",
        *,
        threads: int | None = None,
        memory_limit: str | None = None,
    ) -> None:
        config: dict[str, object] = {}
        if threads is not None:
            config["threads"] = threads
        if memory_limit is not None:
            config["memory_limit"] = memory_limit
        self.con = ibis.duckdb.connect(database, **config)

    def register_parquet(self, name: str, path: str | os.PathLike[str]) -> ir.Table:
        src = Path(path)
        if not src.exists():
            raise StorageError(f"Parquet input {src} does not exist")
        # A folder (as Spark writes) is read as all the Parquet files beneath it.
        target = str(src / "**" / "*.parquet") if src.is_dir() else str(src)
        return self.con.read_parquet(target, table_name=name)

    def table(self, name: str) -> ir.Table:
        if name not in self.con.list_tables():
            raise EngineError(f"no table {name!r} is registered: call register_parquet first")
        return self.con.table(name)

    def sql(self, query: str) -> ir.Table:
        return self.con.sql(query, dialect="duckdb")

    def to_arrow(self, expr: ir.Table) -> pa.Table:
        return self.con.to_pyarrow(expr)

    def write_parquet(self, expr: ir.Table, path: str | os.PathLike[str]) -> Path:
        with atomic_output(path) as tmp:
            self.con.to_parquet(expr, tmp, compression="zstd")
        return Path(path)

    def close(self) -> None:
        self.con.disconnect()
