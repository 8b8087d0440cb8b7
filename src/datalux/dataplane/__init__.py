"""datalux.dataplane: Parquet under a storage root, processed by a pluggable engine (no Django).

The public facade: import from here, not from the modules beneath.
"""

from __future__ import annotations

from datalux.dataplane.errors import DataplaneError, EngineError, StorageError
from datalux.dataplane.storage import (
    BatchWriter,
    StorageRoot,
    atomic_output,
    file_format,
    open_batches,
    write_parquet_atomic,
)

__all__ = [
    "BatchWriter",
    "DataplaneError",
    "EngineError",
    "StorageError",
    "StorageRoot",
    "atomic_output",
    "file_format",
    "open_batches",
    "write_parquet_atomic",
]
