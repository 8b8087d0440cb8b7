"""Language tags (BCP 47) of multilingual texts: the well-formedness of RFC 5646, section 2.1.

Titles and descriptions are stored as ``{"en": ..., "fr": ...}``; each key becomes the
language tag of an RDF literal in the DCAT-AP export, where a malformed one (``"en us"``,
``"e_n"``) cannot be written at all. Keys are checked where texts come in (model validation,
so the API and every action; the harvester) and once more where the export reads them.

Only the grammar is checked, case-insensitively, with no registry look-up: ``en``, ``fr-LU``,
``zh-Hant-TW``, ``de-CH-1996``, ``x-private`` and the grandfathered tags are well-formed;
``en_US``, ``en us``, ``e``, ``fr-`` and ``""`` are not.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MAX_LENGTH = 64

_ALNUM = "[a-z0-9]"
_LANGTAG = (
    r"(?:[a-z]{2,3}(?:-[a-z]{3}){0,3}|[a-z]{4}|[a-z]{5,8})"  # language [-extlang]
    r"(?:-[a-z]{4})?"  # script
    r"(?:-(?:[a-z]{2}|[0-9]{3}))?"  # region
    rf"(?:-(?:{_ALNUM}{{5,8}}|[0-9]{_ALNUM}{{3}}))*"  # variants
    rf"(?:-[0-9a-wyz](?:-{_ALNUM}{{2,8}})+)*"  # extensions
    rf"(?:-x(?:-{_ALNUM}{{1,8}})+)?"  # private use
)
_PRIVATE_USE = rf"x(?:-{_ALNUM}{{1,8}})+"
_GRANDFATHERED = (
    "en-gb-oed|i-ami|i-bnn|i-default|i-enochian|i-hak|i-klingon|i-lux|i-mingo|i-navajo|"
    "i-pwn|i-tao|i-tay|i-tsu|sgn-be-fr|sgn-be-nl|sgn-ch-de|art-lojban|cel-gaulish|no-bok|"
    "no-nyn|zh-guoyu|zh-hakka|zh-min|zh-min-nan|zh-xiang"
)
_WELL_FORMED = re.compile(rf"(?:{_LANGTAG}|{_PRIVATE_USE}|{_GRANDFATHERED})\Z", re.IGNORECASE)


def is_well_formed(tag: Any) -> bool:
    """True when ``tag`` is a well-formed BCP 47 language tag (RFC 5646 grammar)."""
    return (
        isinstance(tag, str)
        and 0 < len(tag) <= MAX_LENGTH
        and tag.isascii()
        and _WELL_FORMED.match(tag) is not None
    )


def primary_language(tag: str) -> str | None:
    """The key a catalogue text is stored under for a tag read from elsewhere (a harvested
    literal): its primary language subtag in lower case (``fr-LU`` is ``fr``), or the whole
    tag in lower case when it has no two- or three-letter one (``x-local``); None when the tag
    is not well-formed."""
    if not is_well_formed(tag):
        return None
    primary = tag.split("-", 1)[0].lower()
    return primary if 2 <= len(primary) <= 3 else tag.lower()


def language_map_problems(value: Any) -> list[str]:
    """What is wrong with a multilingual text ``{"en": ..., "fr": ...}`` (empty when nothing)."""
    if value is None:
        return []
    if not isinstance(value, dict):
        return [_('give the texts by language, e.g. {"en": "Hospital stays"}')]
    problems = []
    for key, text in value.items():
        if not is_well_formed(key):
            shown = repr(key)[:40]
            problems.append(
                _(
                    "%(key)s is not a language tag: use a BCP 47 tag such as en, fr, de or lb "
                    "(letters, digits and hyphens, e.g. fr-LU)"
                )
                % {"key": shown}
            )
        elif not isinstance(text, str):
            problems.append(_("the %(key)s text is not a string") % {"key": key})
    return problems


def validate_language_map(value: Any) -> None:
    """Django validator of a multilingual JSON field."""
    problems = language_map_problems(value)
    if problems:
        raise ValidationError(problems)
