"""The Apache Spark adapter (PySpark through Ibis): local mode here, a cluster in production.

Needs the ``spark`` extra (``uv sync --extra spark``) and Java 17. One Spark session serves
the whole process (starting the JVM costs 20-50 s); :meth:`SparkBackend.close` drops this
backend's views, not the shared session.
"""

from __future__ import annotations

import contextlib
import gc
import os
import secrets
import shutil
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from datalux.dataplane.engine import Backend
from datalux.dataplane.errors import EngineError, StorageError

__all__ = ["SparkBackend", "local_session"]

_LOCK = threading.Lock()
_SESSION: Any = None


def local_session(cores: int = 2, driver_memory: str = "2g") -> Any:
    """The process's local-mode Spark session, started on first use (quiet, no web UI)."""
    global _SESSION
    with _LOCK:
        if _SESSION is not None:
            return _SESSION
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise EngineError(
                "Spark is not installed: install the 'spark' extra "
                "(uv sync --extra spark), and Java 17"
            ) from None
        # Local mode talks to itself only: bind to loopback (and skip the hostname warning).
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        try:
            session = (
                SparkSession.builder.master(f"local[{cores}]")
                .appName("datalux")
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.sql.shuffle.partitions", str(max(2, cores)))
                .config("spark.driver.memory", driver_memory)
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.sql.ansi.enabled", "false")
                .getOrCreate()
            )
        except Exception as exc:  # py4j/JVM start-up failures have many shapes
            raise EngineError(
                f"cannot start Spark ({type(exc).__name__}): is Java 17 installed and "
                "JAVA_HOME set?"
            ) from None
        session.sparkContext.setLogLevel("ERROR")
        _SESSION = session
        return session


@contextlib.contextmanager
def _quiet_sockets() -> Iterator[None]:
    """PySpark 4.0 leaves the local socket of every result transfer to the garbage collector,
    which then warns ``ResourceWarning: unclosed socket``. Collect it here, warning muted, so
    the warning (an error under ``-W error``) does not surface later in unrelated code."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            yield
        finally:
            gc.collect()


class SparkBackend(Backend):
    """Spark through Ibis. ``session``: an existing SparkSession (default: local mode)."""

    name = "spark"

    def __init__(self, session: Any = None) -> None:
        self.session = local_session() if session is None else session
        self.con = ibis.pyspark.connect(self.session)
        self._views: set[str] = set()

    def register_parquet(self, name: str, path: str | os.PathLike[str]) -> ir.Table:
        src = Path(path)
        if not src.exists():
            raise StorageError(f"Parquet input {src} does not exist")
        with _quiet_sockets():
            table = self.con.read_parquet(str(src.resolve()), table_name=name)
        self._views.add(name)
        return table

    def table(self, name: str) -> ir.Table:
        with _quiet_sockets():
            if name not in self.con.list_tables():
                raise EngineError(f"no table {name!r} is registered: call register_parquet first")
            return self.con.table(name)

    def sql(self, query: str) -> ir.Table:
        with _quiet_sockets():
            return self.con.sql(query, dialect="spark")

    def to_arrow(self, expr: ir.Table) -> pa.Table:
        with _quiet_sockets():
            return self.con.to_pyarrow(expr)

    def write_parquet(self, expr: ir.Table, path: str | os.PathLike[str]) -> Path:
        """Write a folder of Parquet part files at ``path``, replacing any folder there."""
        target = Path(path).resolve()
        if not target.parent.is_dir():
            raise StorageError(f"output folder {target.parent} does not exist: create it first")
        if target.exists() and not target.is_dir():
            raise StorageError(f"{target} is a file: Spark writes a folder of part files")
        tag = secrets.token_hex(6)
        tmp = target.parent / f".{target.name}.{tag}.tmp"
        old = target.parent / f".{target.name}.{tag}.old"
        try:
            with _quiet_sockets():
                self.con.to_parquet(expr, tmp, compression="zstd")
            if target.exists():
                os.replace(target, old)
            os.replace(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(old, ignore_errors=True)
        return target

    def close(self) -> None:
        for name in self._views:
            self.session.catalog.dropTempView(name)
        self._views.clear()
