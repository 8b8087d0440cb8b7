"""datalux.dataplane: Parquet under a storage root, processed by a pluggable engine (no Django).

The public facade: import from here, not from the modules beneath. The engine names
(``connect``, ``Backend``, the group counts, ``hmac_sha256_hex``) load Ibis on first use
only, so importing the package for its storage helpers stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from datalux.dataplane.errors import DataplaneError, EngineError, StorageError
from datalux.dataplane.storage import (
    BatchWriter,
    StorageRoot,
    atomic_output,
    file_format,
    open_batches,
    write_parquet_atomic,
)

if TYPE_CHECKING:
    from datalux.dataplane.engine import Backend, EngineName, connect
    from datalux.dataplane.groups import (
        COUNT_COLUMN,
        equivalence_class_sizes,
        group_count,
        min_class_size,
    )
    from datalux.dataplane.hashing import hmac_sha256_hex

_LAZY = {
    "Backend": "engine",
    "EngineName": "engine",
    "connect": "engine",
    "COUNT_COLUMN": "groups",
    "equivalence_class_sizes": "groups",
    "group_count": "groups",
    "min_class_size": "groups",
    "hmac_sha256_hex": "hashing",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'datalux.dataplane' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"datalux.dataplane.{module}"), name)
    globals()[name] = value
    return value


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
