"""Persistent identifiers for datasets (ADR 0007).

A PID is ``DLX-`` + 8 Crockford base-32 characters + 1 check character (ISO 7064 mod 37-2
style over the base-32 alphabet), e.g. ``DLX-3KQ8Z1TW-R``. It is random (reveals nothing),
never reused and never changes: renaming a dataset or publishing a new version keeps it. The
stable URI is ``{DATALUX_BASE_URI}/id/dataset/{PID}``, resolved by the platform to the current
landing page (HTML) or metadata (RDF) by content negotiation.
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base 32 (no I, L, O, U)
CHECK_ALPHABET = ALPHABET + "*~$=U"  # 37 symbols for the mod-37 check character
PREFIX = "DLX-"


def check_character(body: str) -> str:
    total = 0
    for char in body:
        total = (total * 32 + ALPHABET.index(char)) % 37
    return CHECK_ALPHABET[total]


def new_pid() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"{PREFIX}{body}-{check_character(body)}"


def is_valid_pid(value: str) -> bool:
    if not value.startswith(PREFIX) or len(value) != len(PREFIX) + 10 or value[-2] != "-":
        return False
    body, check = value[len(PREFIX) : -2], value[-1]
    if any(c not in ALPHABET for c in body):
        return False
    return check_character(body) == check
