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
from datalux.privacy.keys import (
    MASTER_KEY_ENV_VAR,
    DomainKeys,
    MasterKey,
    load_master_key,
    write_key_file,
)
from datalux.privacy.national_id import (
    InvalidNationalId,
    NationalIdProblem,
    is_valid_national_id,
    luhn_digit,
    make_national_id,
    make_national_ids,
    valid_national_id_mask,
    validate_national_id,
    verhoeff_digit,
)
from datalux.privacy.pseudonyms import (
    PseudonymisationReport,
    pseudonym,
    pseudonymise_array,
    pseudonymise_dataset,
    pseudonymise_file,
    pseudonymise_table,
)
from datalux.privacy.reversible import (
    decrypt_token,
    encrypt_value,
    reidentify_array,
    reversible_array,
    translate,
)

__all__ = [
    "MASTER_KEY_ENV_VAR",
    "DomainError",
    "DomainKeys",
    "InputError",
    "InvalidNationalId",
    "KeyMaterialError",
    "MasterKey",
    "NationalIdProblem",
    "PrivacyError",
    "PseudonymisationReport",
    "ReidentificationError",
    "decrypt_token",
    "encrypt_value",
    "is_valid_national_id",
    "load_master_key",
    "luhn_digit",
    "make_national_id",
    "make_national_ids",
    "pseudonym",
    "pseudonymise_array",
    "pseudonymise_dataset",
    "pseudonymise_file",
    "pseudonymise_table",
    "reidentify_array",
    "reversible_array",
    "translate",
    "valid_national_id_mask",
    "validate_national_id",
    "verhoeff_digit",
    "write_key_file",
]
