"""datalux.privacy: trusted-third-party services on data files (no Django).

The public facade: import from here, not from the modules beneath.
"""

from __future__ import annotations

from datalux.privacy.errors import (
    DomainError,
    InputError,
    KeyMaterialError,
    PrivacyError,
    ReidentificationError,
)

__all__ = [
    "DomainError",
    "InputError",
    "KeyMaterialError",
    "PrivacyError",
    "ReidentificationError",
]
