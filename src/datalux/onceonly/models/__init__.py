"""The Once Only models, one module per concept."""

from datalux.onceonly.models.exchanges import ExchangeLogEntry, Outcome, Visibility
from datalux.onceonly.models.protocols import ExchangeFrequency, Protocol
from datalux.onceonly.models.sources import AuthenticSource
from datalux.onceonly.models.tracker import TrackerRecord

__all__ = [
    "AuthenticSource",
    "ExchangeFrequency",
    "ExchangeLogEntry",
    "Outcome",
    "Protocol",
    "TrackerRecord",
    "Visibility",
]
