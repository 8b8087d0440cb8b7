"""The DuckDB adapter: the embedded engine, in process, one file per written table.

Ibis is used here as a compiler only: expressions are built on unbound tables carrying the
engine's schema, compiled with ``ibis.to_sql(expr, dialect="duckdb")`` and run with DuckDB's
own Python API. (Ibis 12's DuckDB runtime still calls cursor methods that DuckDB 2 removed;
the compiler has no such dependency.)
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import duckdb
import ibis
import ibis.expr.types as ir
import pyarrow as pa

from datalux.dataplane.engine import Backend
from datalux.dataplane.errors import EngineError, StorageError
from datalux.dataplane.storage import atomic_output

__all__ = ["DuckDBBackend", "quote_identifier"]


def quote_identifier(name: str) -> str:
    """A DuckDB identifier in double quotes, inner quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


class DuckDBBackend(Backend):
    """DuckDB. ``database`` defaults to in-memory; ``threads`` and ``memory_limit``
    (e.g. ``"4GB"``) bound what one process takes on a shared machine."""

    name = "duckdb"

    def __init__(
        self,
        database: str | os.PathLike[str] = ":memory:",
        *,
        threads: int | None = None,
        memory_limit: str | None = None,
    ) -> None:
        config: dict[str, str | bool | int | float | list[str]] = {}
        if threads is not None:
            config["threads"] = threads
        if memory_limit is not None:
            config["memory_limit"] = memory_limit
        self.con = duckdb.connect(os.fspath(database), config=config)
        self._tables: dict[str, ir.Table] = {}

    def _bind(self, name: str) -> ir.Table:
        schema = self.con.table(quote_identifier(name)).limit(0).to_arrow_table()
        table = ibis.table(ibis.Schema.from_pyarrow(schema.schema), name=name)
        self._tables[name] = table
        return table

    def register_parquet(self, name: str, path: str | os.PathLike[str]) -> ir.Table:
        src = Path(path)
        if not src.exists():
            raise StorageError(f"Parquet input {src} does not exist")
        # A folder (as Spark writes) is read as all the Parquet files beneath it.
        target = str(src / "**" / "*.parquet") if src.is_dir() else str(src)
        self.con.read_parquet(target).to_view(name, replace=True)
        return self._bind(name)

    def table(self, name: str) -> ir.Table:
        try:
            return self._tables[name]
        except KeyError:
            raise EngineError(
                f"no table {name!r} is registered: call register_parquet first"
            ) from None

    def sql(self, query: str) -> ir.Table:
        name = f"_datalux_q_{secrets.token_hex(6)}"
        self.con.sql(query).to_view(name, replace=True)
        return self._bind(name)

    def compile(self, expr: ir.Table) -> str:
        """The DuckDB SQL of ``expr``. It may hold key material: never log it."""
        return str(ibis.to_sql(expr, dialect="duckdb"))

    def to_arrow(self, expr: ir.Table) -> pa.Table:
        return self.con.sql(self.compile(expr)).to_arrow_table()

    def write_parquet(self, expr: ir.Table, path: str | os.PathLike[str]) -> Path:
        with atomic_output(path) as tmp:
            self.con.sql(self.compile(expr)).to_parquet(str(tmp), compression="zstd")
        return Path(path)

    def close(self) -> None:
        self.con.close()
