"""A citizen's national number: checked, pseudonymised for look-ups, sealed for storage.

* :func:`subject_for` is the person's keyed pseudonym under the exchange log's pseudonym key
  (:mod:`datalux.onceonly.keys`): the same value as a data-tracker record's ``subject`` and a
  :class:`~datalux.citizens.models.PersonUse`'s, so "who used my data" is one indexed look-up.
* The number itself is stored only **sealed** (AES-256-SIV, :mod:`datalux.privacy.reversible`)
  under the trusted third party's master key in the domain ``citizens:identity``; it is opened
  in memory to find the person's own rows in an authentic source, never shown to anyone else,
  never logged.
"""

from __future__ import annotations

from typing import Any

from datalux.onceonly import keys as exchange_keys
from datalux.privacy import (
    decrypt_token,
    encrypt_value,
    pseudonym,
    validate_national_id,
)

IDENTITY_DOMAIN = "citizens:identity"


def _identity_keys() -> Any:
    from datalux.spe.keys import configured_master_key

    return configured_master_key().domain_keys(IDENTITY_DOMAIN)


def checked(national_number: str) -> str:
    """The number in its canonical form; :class:`datalux.privacy.InvalidNationalId` (its
    reason says what to fix) when it is not a valid national number."""
    number = str(national_number).strip()
    validate_national_id(number)
    return number


def subject_for(national_number: str) -> str:
    """The person's keyed pseudonym (the data tracker's and the person-use index's)."""
    return pseudonym(checked(national_number), exchange_keys.pseudonym_keys())


def seal(national_number: str) -> str:
    return encrypt_value(checked(national_number), _identity_keys())


def unseal(token: str) -> str:
    return decrypt_token(token, _identity_keys())


__all__ = ["IDENTITY_DOMAIN", "checked", "seal", "subject_for", "unseal"]
