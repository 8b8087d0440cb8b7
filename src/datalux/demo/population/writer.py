"""Write several Parquet files so that either all of them appear or none changes.

Each file is streamed to a temporary name in its final folder; only when every file is
complete are they moved into place with ``os.replace``. On any error the temporary files
(and folders this run created) are removed and earlier files stay as they were.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["AtomicOutputs", "ParquetSink"]

PARQUET_OPTIONS: dict[str, Any] = {"compression": "zstd", "compression_level": 1}


class ParquetSink:
    """One Parquet file being streamed to its temporary name."""

    def __init__(self, final: Path, temp: Path, schema: pa.Schema, options: dict[str, Any]) -> None:
        self.final = final
        self.temp = temp
        self.schema = schema
        self.rows = 0
        self._writer: pq.ParquetWriter | None = pq.ParquetWriter(
            temp, schema, **{**PARQUET_OPTIONS, **options}
        )

    def write(self, table: pa.Table) -> None:
        if self._writer is None:
            raise RuntimeError(f"{self.final.name} is already closed")
        if table.num_rows:
            self._writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.close()


class AtomicOutputs:
    """Context manager collecting sinks; commits them all on success, removes them on error."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._token = secrets.token_hex(4)
        self._sinks: list[ParquetSink] = []
        self._json: list[tuple[Path, Path]] = []
        self._made_dirs: list[Path] = []

    def _folder(self, relative: str) -> Path:
        path = self.root / relative
        missing = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
        path.parent.mkdir(parents=True, exist_ok=True)
        self._made_dirs.extend(missing)
        return path

    def _temp(self, final: Path) -> Path:
        return final.with_name(f".{final.name}.{os.getpid()}-{self._token}.tmp")

    def parquet(self, relative: str, schema: pa.Schema, **options: Any) -> ParquetSink:
        """A sink for ``root/relative``; ``options`` go to ``pyarrow.parquet.ParquetWriter``."""
        final = self._folder(relative)
        sink = ParquetSink(final, self._temp(final), schema, options)
        self._sinks.append(sink)
        return sink

    def json(self, relative: str, content: Any) -> Path:
        final = self._folder(relative)
        temp = self._temp(final)
        text = json.dumps(content, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
        temp.write_text(text, encoding="utf-8")
        self._json.append((final, temp))
        return final

    def __enter__(self) -> AtomicOutputs:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            try:
                self._commit()
                return
            except BaseException:
                self._abort()
                raise
        self._abort()

    def _commit(self) -> None:
        for sink in self._sinks:
            sink.close()
        for sink in self._sinks:
            os.replace(sink.temp, sink.final)
        for final, temp in self._json:
            os.replace(temp, final)

    def _abort(self) -> None:
        for sink in self._sinks:
            try:
                sink.close()
            except Exception:  # noqa: S110 - already failing; the temp file goes next
                pass
            sink.temp.unlink(missing_ok=True)
        for _, temp in self._json:
            temp.unlink(missing_ok=True)
        for folder in sorted(set(self._made_dirs), key=lambda p: len(p.parts), reverse=True):
            try:
                folder.rmdir()
            except OSError:
                pass
