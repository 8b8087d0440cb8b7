"""Format and media-type IRIs, from the real lists only (nothing invented on export).

``data/file-types.json`` is the EU file-type authority table and ``data/media-types.json``
the IANA media-type registry (sources, versions and licences in ``data/file-types.md``).
:func:`file_type_iri` and :func:`media_type_iri` give the official IRI of a code or a name
those lists hold, and None for anything else: a harvested ``WMS`` (the EU table says
``WMS_SRVC``) or ``RDF+XML`` never becomes ``.../file-type/WMS`` or ``.../file-type/RDF+XML``.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from datalux.catalogue.vocabularies import EU_AUTHORITY

DATA = Path(__file__).parent / "data"
FILE_TYPES = f"{EU_AUTHORITY}/file-type/"
MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"


@functools.cache
def file_type_codes() -> dict[str, str]:
    """Every code of the EU file-type table and its English label."""
    data = json.loads((DATA / "file-types.json").read_text(encoding="utf-8"))
    return {**data["codes"], **data["later_codes"]}


@functools.cache
def media_type_names() -> dict[str, str]:
    """Every registered IANA media type, by its lower-case form (media types ignore case)."""
    data = json.loads((DATA / "media-types.json").read_text(encoding="utf-8"))
    return {name.lower(): name for name in data["names"]}


def file_type_iri(code: str) -> str | None:
    """The EU file-type IRI of a code of the table, else None."""
    code = (code or "").strip()
    return FILE_TYPES + code if code in file_type_codes() else None


def media_type_name(media_type: str) -> str | None:
    """A media type as the IANA registry writes it (parameters such as ``; charset=`` left
    out), or None when the registry does not have it."""
    essence = (media_type or "").split(";", 1)[0].strip().lower()
    return media_type_names().get(essence)


def media_type_iri(media_type: str) -> str | None:
    """The IANA IRI of a registered media type, else None."""
    name = media_type_name(media_type)
    return MEDIA_TYPES + name if name else None
