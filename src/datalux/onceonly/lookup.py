"""Person lookups in an authentic source's current data (Parquet under the storage root).

The current version's file is read once per process into an Arrow table with a dictionary
from national number to row, kept while that version stays current (a new upload is a new
file, so a new index): a lookup is then a dictionary access and a few ``as_py`` calls, well
inside the exchange's latency budget. Memory: the table plus about 100 bytes per person.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

logger = logging.getLogger("datalux.onceonly")

MAX_CACHED = 8  # source versions kept in memory per process


class SourceUnavailable(Exception):
    """The source's current data cannot serve this lookup (message: what, never a value)."""


@dataclass(frozen=True)
class SourceIndex:
    version: int
    table: pa.Table
    rows: dict[str, int]

    def record(self, national_number: str, items: list[str]) -> dict[str, Any] | None:
        row = self.rows.get(national_number)
        if row is None:
            return None
        return {name: _plain(self.table.column(name)[row].as_py()) for name in items}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


_lock = threading.Lock()
_cache: OrderedDict[tuple[str, str, str], SourceIndex] = OrderedDict()


def current_version(dataset_id: int) -> tuple[int, str, str] | None:
    """(number, file path under the storage root, SHA-256) of the dataset's newest version."""
    from datalux.catalogue.models import DatasetVersion

    return (
        DatasetVersion.objects.filter(dataset_id=dataset_id)
        .order_by("-number")
        .values_list("number", "data_file__relative_path", "data_file__sha256")
        .first()
    )


def index(dataset_id: int, key_item: str) -> SourceIndex:
    """The lookup index of the dataset's current version (built on first use)."""
    from django.conf import settings

    version = current_version(dataset_id)
    if version is None:
        raise SourceUnavailable("the authentic source has no data uploaded yet")
    number, relative_path, sha256 = version
    path = Path(settings.DATALUX_STORAGE) / relative_path
    # the file's place and checksum: a new version (or another installation's file) misses
    cache_key = (str(path), sha256, key_item)
    with _lock:
        found = _cache.get(cache_key)
        if found is not None:
            _cache.move_to_end(cache_key)
            return found
    built = _build(number, path, key_item)
    with _lock:
        _cache[cache_key] = built
        _cache.move_to_end(cache_key)
        while len(_cache) > MAX_CACHED:
            _cache.popitem(last=False)
    return built


def _build(number: int, path: Path, key_item: str) -> SourceIndex:
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as exc:
        logger.error("authentic source file %s unreadable: %s", path, exc)
        raise SourceUnavailable("the authentic source's current data cannot be read") from None
    if key_item not in table.column_names:
        raise SourceUnavailable(
            f"the authentic source's current data have no column {key_item!r} to find persons by"
        )
    rows: dict[str, int] = {}
    duplicates = 0
    for position, value in enumerate(table.column(key_item).to_pylist()):
        if value is None:
            continue
        if value in rows:
            duplicates += 1
            continue
        rows[str(value)] = position
    if duplicates:
        logger.warning(
            "authentic source file %s: %d repeated national numbers (the first row answers)",
            path,
            duplicates,
        )
    return SourceIndex(number, table, rows)


def missing_columns(source_index: SourceIndex, items: list[str]) -> list[str]:
    return [name for name in items if name not in source_index.table.column_names]


def clear() -> None:
    with _lock:
        _cache.clear()
