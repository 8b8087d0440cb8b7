"""Exceptions of :mod:`datalux.dataplane`. Messages name the problem and the fix, never data."""

from __future__ import annotations


class DataplaneError(Exception):
    """Base class of the errors :mod:`datalux.dataplane` raises on bad input or configuration."""


class StorageError(DataplaneError):
    """A missing or unreadable file, an unknown file format, a path outside the storage root."""


class EngineError(DataplaneError):
    """An engine that cannot run here (Spark not installed, no Java) or an unknown table."""
