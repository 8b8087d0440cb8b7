"""datalux.dataplane: Parquet under a storage root, processed by a pluggable engine (no Django).

The public facade: import from here, not from the modules beneath.
"""

from __future__ import annotations

from datalux.dataplane.engine import Backend, EngineName, connect
from datalux.dataplane.errors import DataplaneError, EngineError, StorageError
from datalux.dataplane.groups import (
    COUNT_COLUMN,
    equivalence_class_sizes,
    group_count,
    min_class_size,
)
from datalux.dataplane.hashing import hmac_sha256_hex
from datalux.dataplane.storage import (
    BatchWriter,
    StorageRoot,
    atomic_output,
    file_format,
    open_batches,
    write_parquet_atomic,
)

__all__ = [
    "COUNT_COLUMN",
    "Backend",
    "BatchWriter",
    "DataplaneError",
    "EngineError",
    "EngineName",
    "StorageError",
    "StorageRoot",
    "atomic_output",
    "connect",
    "equivalence_class_sizes",
    "file_format",
    "group_count",
    "hmac_sha256_hex",
    "min_class_size",
    "open_batches",
    "write_parquet_atomic",
]
