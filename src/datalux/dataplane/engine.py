"""The engine interface: one small abstract class, one adapter per engine.

Every preparation step is an Ibis expression over tables registered from Parquet, so the
same code runs on the embedded engine (DuckDB, :class:`~datalux.dataplane.duckdb_backend.
DuckDBBackend`) and, past one machine, on Apache Spark (:class:`~datalux.dataplane.
spark_backend.SparkBackend`). An adapter implements five methods:

- :meth:`Backend.register_parquet` - make a Parquet file (or folder) a named table;
- :meth:`Backend.table` - the Ibis table of a registered name;
- :meth:`Backend.sql` - run a SQL query of the code's own (never a user's string) as a table;
- :meth:`Backend.to_arrow` - read an expression's result into Arrow;
- :meth:`Backend.write_parquet` - write an expression's result to Parquet, atomically.

Compiled SQL and query plans can hold key material (the HMAC pads of
:mod:`datalux.dataplane.hashing`): adapters never log them, and their errors never show them.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType
from typing import Literal

import ibis.expr.types as ir
import pyarrow as pa

__all__ = ["Backend", "EngineName", "connect"]

EngineName = Literal["duckdb", "spark"]


class Backend(ABC):
    """A data engine seen through Ibis. Use as a context manager, or call :meth:`close`."""

    name: str
    # whether a query without joins or ORDER BY returns rows in the order of its source
    # (DuckDB's preserve_insertion_order), so that a rerun writes the same bytes unsorted
    preserves_order: bool = False

    @abstractmethod
    def register_parquet(self, name: str, path: str | os.PathLike[str]) -> ir.Table:
        """Register the Parquet file or folder at ``path`` as table ``name``; return it."""

    @abstractmethod
    def table(self, name: str) -> ir.Table:
        """The table registered as ``name``."""

    @abstractmethod
    def sql(self, query: str) -> ir.Table:
        """A table from a SQL query written in code (identifiers quoted, no user strings)."""

    @abstractmethod
    def to_arrow(self, expr: ir.Table) -> pa.Table:
        """Execute ``expr`` and read the result into an Arrow table."""

    @abstractmethod
    def write_parquet(self, expr: ir.Table, path: str | os.PathLike[str]) -> Path:
        """Execute ``expr`` and write it to ``path`` as Parquet; the result appears whole or
        not at all. DuckDB writes one file, Spark a folder of part files."""

    def with_pseudonym(self, table: ir.Table, column: str, key: bytes, name: str) -> ir.Table:
        """``table`` with ``column`` replaced by ``name``, its lowercase hex HMAC-SHA256 under
        ``key`` (the one-way pseudonym), as the first column. By default an expression built
        from the engine's own SHA-256 (:mod:`datalux.dataplane.hashing`); an engine may
        compute it another way, with the same result."""
        from datalux.dataplane.hashing import hmac_sha256_hex

        rest = [c for c in table.columns if c != column]
        value = table[column] if table[column].type().is_string() else table[column].cast("string")
        return table.select(**{name: hmac_sha256_hex(value, key)}, **{c: table[c] for c in rest})

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the engine's resources."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


def connect(engine: EngineName = "duckdb", **options: object) -> Backend:
    """A backend by name: ``"duckdb"`` (default, embedded) or ``"spark"`` (local mode unless
    a ``session`` is given; needs the ``spark`` extra and Java 17)."""
    if engine == "duckdb":
        from datalux.dataplane.duckdb_backend import DuckDBBackend

        return DuckDBBackend(**options)  # type: ignore[arg-type]
    if engine == "spark":
        from datalux.dataplane.spark_backend import SparkBackend

        return SparkBackend(**options)  # type: ignore[arg-type]
    from datalux.dataplane.errors import EngineError

    raise EngineError(f"unknown engine {engine!r}: choose 'duckdb' or 'spark'")
