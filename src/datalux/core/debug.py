"""What Django's debug page and error reports may show (``DEFAULT_EXCEPTION_REPORTER_FILTER``).

Django's own filter hides settings and request variables whose names look secret (``KEY``,
``SECRET``, ``PASS``...). Three things slip past it here:

- ``CONFIG``, the dataclass every setting is built from: it holds the secret key and the
  database entry with its password, under a name that looks harmless;
- ``DATABASE_URL`` (and any other URL with ``user:password@``): the development server copies
  the process environment into every request's ``META``, so the debug page would list it;
- any other value that is a URL with credentials in it.

This filter hides ``CONFIG``, ``DATABASE_URL`` and ``*DSN`` names whole, and blanks the password
of every ``scheme://user:password@host`` it meets in a setting, a request variable or a local
variable of the traceback.

:class:`SafeExceptionReporter` (``DEFAULT_EXCEPTION_REPORTER``) sweeps the page once more: the
secret key (and its fallbacks) and the database passwords never appear in it, whatever
variable held them.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.utils.html import escape
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

# The names Django hides, plus CONFIG and connection strings.
HIDDEN = re.compile(
    r"API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|^CONFIG$|^DATABASE_URL$|DSN",
    flags=re.IGNORECASE,
)
_CREDENTIALS = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]*(?=@)", re.I)


def redact_credentials(text: str) -> str:
    """``postgresql://u:secret@db/x`` -> ``postgresql://u:********************@db/x``."""
    return _CREDENTIALS.sub(
        lambda m: m.group("head") + SafeExceptionReporterFilter.cleansed_substitute, text
    )


class SafeReporterFilter(SafeExceptionReporterFilter):
    hidden_settings = HIDDEN

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        cleansed = super().cleanse_setting(key, value)
        if type(cleansed) is str:  # not a lazy object that passes for one
            return redact_credentials(cleansed)
        return cleansed

    def cleanse_special_types(self, request: Any, value: Any) -> Any:
        cleansed = super().cleanse_special_types(request, value)
        if type(cleansed) is str:  # not a lazy object that passes for one
            return redact_credentials(cleansed)
        return cleansed


def known_secrets() -> list[str]:
    """The secret key, its fallbacks and the database passwords (the short ones are left to the
    filter: blanking every "p" of a page would say more than it hides)."""
    values = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    values += [db.get("PASSWORD") for db in settings.DATABASES.values()]
    return [v for v in values if isinstance(v, str) and len(v) >= 8]


def scrub(text: str, *, html: bool) -> str:
    substitute = SafeExceptionReporterFilter.cleansed_substitute
    for secret in known_secrets():
        text = text.replace(secret, substitute)
        if html:
            text = text.replace(escape(secret), substitute)
    return redact_credentials(text)


class SafeExceptionReporter(ExceptionReporter):
    def get_traceback_html(self) -> str:
        return scrub(super().get_traceback_html(), html=True)

    def get_traceback_text(self) -> str:
        return scrub(super().get_traceback_text(), html=False)
