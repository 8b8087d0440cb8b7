"""Exceptions of :mod:`datalux.privacy`.

Every error the library raises on bad input derives from :class:`PrivacyError`, so callers
(the CLI, the web app) can catch one class. Messages name the problem and the fix; they never
contain key material or protected values (identifiers, names).
"""

from __future__ import annotations


class PrivacyError(Exception):
    """Base class of every error raised by :mod:`datalux.privacy` on bad input or configuration."""


class InputError(PrivacyError):
    """A bad input file or column: missing file, unknown format, unknown column, empty file."""


class KeyMaterialError(PrivacyError):
    """A missing, malformed or too-short key (key file or environment variable)."""


class DomainError(PrivacyError):
    """A malformed pseudonym-domain name, or an operation across domains that is not allowed."""


class ReidentificationError(PrivacyError):
    """A reversible pseudonym that cannot be decrypted (wrong domain, wrong key, altered token)."""
