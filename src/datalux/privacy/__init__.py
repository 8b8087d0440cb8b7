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
from datalux.privacy.national_id import (
    InvalidNationalId,
    NationalIdProblem,
    is_valid_national_id,
    luhn_digit,
    make_national_id,
    valid_national_id_mask,
    validate_national_id,
    verhoeff_digit,
)

__all__ = [
    "DomainError",
    "InputError",
    "InvalidNationalId",
    "KeyMaterialError",
    "NationalIdProblem",
    "PrivacyError",
    "ReidentificationError",
    "is_valid_national_id",
    "luhn_digit",
    "make_national_id",
    "valid_national_id_mask",
    "validate_national_id",
    "verhoeff_digit",
]
