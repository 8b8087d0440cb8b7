"""What the values real catalogues write mean in our vocabularies (for the harvester).

Remote catalogues name the same thing in many ways: the EU authority tables over ``http`` or
``https`` (or their old ``/mdr/`` address), SPDX identifiers, Creative Commons deeds, the
Licence Ouverte of Etalab, the dcat-ap.de licence list, ISO 639 codes as text or as lexvo
and Library of Congress IRIs, Dublin Core frequency terms... Each function here maps one such
value onto our code for it, or says it has none (the caller then keeps the value itself).
Nothing here invents an identifier: a value without a known equivalent is not mapped.
"""

from __future__ import annotations

import re
from typing import Any

from rdflib import Literal, URIRef

from datalux.catalogue import vocabularies as vocab

EU = vocab.EU_AUTHORITY + "/"  # http://publications.europa.eu/resource/authority/
_EU_FORMS = (
    "https://publications.europa.eu/resource/authority/",
    "http://publications.europa.eu/mdr/authority/",
    "https://publications.europa.eu/mdr/authority/",
)


def eu_iri(value: Any) -> str:
    """The canonical form of an EU authority-table IRI (``http``, ``/resource/``, no trailing
    slash); any other value as text, stripped."""
    text = str(value or "").strip()
    for form in _EU_FORMS:
        if text.startswith(form):
            text = EU + text[len(form) :]
            break
    return text.rstrip("/") if text.startswith(EU) else text


def eu_code(value: Any, table: str, allowed: set[str] | list[str]) -> str:
    """The code of an EU ``table`` entry (``data-theme``, ``frequency``...) written as its IRI
    (any of its forms) or as the bare code; "" when it is not one of ``allowed``."""
    text = eu_iri(value)
    prefix = f"{EU}{table}/"
    code = text[len(prefix) :] if text.startswith(prefix) else text
    code = code.upper()
    return code if code in allowed else ""


# -- licences --------------------------------------------------------------------------------
# EU licence-table codes of the licences we have a key for (vocabularies.LICENCES).
_EU_LICENCES = {
    "CC_BY_4_0": "CC-BY-4.0",
    "CC_BYSA_4_0": "CC-BY-SA-4.0",
    "CC_BYNC_4_0": "CC-BY-NC-4.0",
    "CC_BY_3_0": "CC-BY-3.0",
    "CC_BYNCND_3_0": "CC-BY-NC-ND-3.0",
    "CC0": "CC0-1.0",
    "ODBL": "ODbL-1.0",
    "ODC_BY": "ODC-By-1.0",
    "ODC_PDDL": "PDDL-1.0",
    "OGL_3_0": "OGL-UK-3.0",
}
_SPDX_KEYS = {key.lower(): key for key in [*vocab.LICENCES, *vocab.OTHER_LICENCES]}
_CC_KINDS = {
    "by": "CC-BY",
    "by-sa": "CC-BY-SA",
    "by-nc": "CC-BY-NC",
    "by-nd": "CC-BY-ND",
    "by-nc-sa": "CC-BY-NC-SA",
    "by-nc-nd": "CC-BY-NC-ND",
}
# creativecommons.org deeds, unported only (a ported licence, /3.0/de/, is not mapped)
_CC_DEED = re.compile(
    r"(?:https?://)?(?:www\.)?creativecommons\.org/licenses/([a-z-]+)/(\d\.\d)"
    r"(?:/(?:deed\.[a-z_-]+|legalcode(?:\.[a-z_-]+)?))?/?\Z"
)
_CC_ZERO = re.compile(
    r"(?:https?://)?(?:www\.)?creativecommons\.org/publicdomain/zero/1\.0(?:/.*)?\Z"
)
_SPDX_IRI = re.compile(r"(?:https?://)?spdx\.org/licenses/([A-Za-z0-9.+-]+?)(?:\.html|\.json)?\Z")
# dcat-ap.de (http://dcat-ap.de/def/licenses/...), the list GovData and German portals use
_DCAT_AP_DE = {
    "cc-zero": "CC0-1.0",
    "odbl": "ODbL-1.0",
    "odby": "ODC-By-1.0",
    "odcpddl": "PDDL-1.0",
    "dl-by-de/2.0": "DL-DE-BY-2.0",
    "dl-zero-de/2.0": "DL-DE-ZERO-2.0",
}
_DCAT_AP_DE_CC = re.compile(r"(by|by-sa|by-nc|by-nd|by-nc-sa|by-nc-nd)/(\d\.\d)\Z")
# Etalab's Licence Ouverte / Open Licence 2.0 (French public sector), by address and by name
_ETALAB_2 = (
    "https://www.etalab.gouv.fr/licence-ouverte-open-licence",
    "https://www.etalab.gouv.fr/wp-content/uploads/2017/04/etalab-licence-ouverte-v2.0.pdf",
    "https://github.com/etalab/licence-ouverte/blob/master/lo.md",
    "lov2",
    "licence ouverte version 2.0",
    "licence ouverte / open licence version 2.0",
    "licence ouverte v2.0",
    "open licence 2.0",
    "etalab-2.0",
)
# CKAN and opendefinition.org identifiers (unversioned: the current version)
_CKAN_IDS = {
    "cc-by": "CC-BY-4.0",
    "cc-by-sa": "CC-BY-SA-4.0",
    "cc-zero": "CC0-1.0",
    "cc0": "CC0-1.0",
    "cc-nc": "CC-BY-NC-4.0",
    "odc-odbl": "ODbL-1.0",
    "odc-by": "ODC-By-1.0",
    "odc-pddl": "PDDL-1.0",
    "uk-ogl": "OGL-UK-3.0",
    "odbl": "ODbL-1.0",
}
_OPENDEFINITION = re.compile(r"(?:https?://)?(?:www\.)?opendefinition\.org/licenses/([a-z0-9-]+)\Z")
_OPENDATACOMMONS = {
    "opendatacommons.org/licenses/odbl": "ODbL-1.0",
    "opendatacommons.org/licenses/odbl/1.0": "ODbL-1.0",
    "opendatacommons.org/licenses/by": "ODC-By-1.0",
    "opendatacommons.org/licenses/by/1.0": "ODC-By-1.0",
    "opendatacommons.org/licenses/pddl": "PDDL-1.0",
    "opendatacommons.org/licenses/pddl/1.0": "PDDL-1.0",
}


def _known(key: str | None) -> str:
    return key if key and vocab.licence_iri(key) else ""


def licence_key(value: Any) -> str:
    """Our key (``vocabularies.LICENCES``) for a licence IRI or name, or ""."""
    text = str(value or "").strip()
    if not text:
        return ""
    eu = eu_iri(text)
    if eu.startswith(f"{EU}licence/"):
        return _known(_EU_LICENCES.get(eu.rsplit("/", 1)[-1].upper()))
    lowered = text.lower().rstrip("/")
    bare = re.sub(r"^https?://(www\.)?", "", lowered)
    if match := _CC_DEED.match(lowered + "/"):
        kind = _CC_KINDS.get(match.group(1))
        return _known(f"{kind}-{match.group(2)}" if kind else None)
    if _CC_ZERO.match(lowered):
        return _known("CC0-1.0")
    if match := _SPDX_IRI.match(text):
        return _known(_SPDX_KEYS.get(match.group(1).lower()))
    if bare.startswith("dcat-ap.de/def/licenses/"):
        rest = bare.removeprefix("dcat-ap.de/def/licenses/")
        if rest in _DCAT_AP_DE:
            return _known(_DCAT_AP_DE[rest])
        if match := _DCAT_AP_DE_CC.match(rest.replace("cc-", "", 1)):
            kind = _CC_KINDS.get(match.group(1))
            return _known(f"{kind}-{match.group(2)}" if kind else None)
        return ""
    if lowered in _ETALAB_2 or bare in {e.removeprefix("https://www.") for e in _ETALAB_2}:
        return _known("etalab-2.0")
    if match := _OPENDEFINITION.match(lowered):
        return _known(_CKAN_IDS.get(match.group(1)))
    if bare in _OPENDATACOMMONS:
        return _known(_OPENDATACOMMONS[bare])
    if lowered in _CKAN_IDS:
        return _known(_CKAN_IDS[lowered])
    return _known(_SPDX_KEYS.get(lowered))


# -- languages -------------------------------------------------------------------------------
# ISO 639-1 -> the EU language table's code (ISO 639-3 / 639-2/T), for the languages of the
# EU, its neighbours and its regions; ISO 639-2/B codes (bibliographic) -> the same.
_ISO_639_1 = {
    "bg": "BUL", "cs": "CES", "da": "DAN", "de": "DEU", "el": "ELL", "en": "ENG", "es": "SPA",
    "et": "EST", "fi": "FIN", "fr": "FRA", "ga": "GLE", "hr": "HRV", "hu": "HUN", "it": "ITA",
    "lt": "LIT", "lv": "LAV", "mt": "MLT", "nl": "NLD", "pl": "POL", "pt": "POR", "ro": "RON",
    "sk": "SLK", "sl": "SLV", "sv": "SWE", "lb": "LTZ", "ca": "CAT", "eu": "EUS", "gl": "GLG",
    "is": "ISL", "no": "NOR", "nb": "NOB", "nn": "NNO", "ru": "RUS", "uk": "UKR", "tr": "TUR",
    "ar": "ARA", "zh": "ZHO", "ja": "JPN", "sq": "SQI", "sr": "SRP", "mk": "MKD", "bs": "BOS",
    "cy": "CYM", "gd": "GLA", "br": "BRE", "co": "COS", "oc": "OCI", "rm": "ROH", "fy": "FRY",
    "se": "SME", "be": "BEL", "ka": "KAT", "hy": "HYE", "az": "AZE", "he": "HEB", "fa": "FAS",
}  # fmt: skip
_ISO_639_2B = {
    "ger": "DEU", "fre": "FRA", "dut": "NLD", "gre": "ELL", "cze": "CES", "slo": "SLK",
    "rum": "RON", "alb": "SQI", "baq": "EUS", "ice": "ISL", "mac": "MKD", "chi": "ZHO",
    "wel": "CYM", "per": "FAS", "arm": "HYE", "geo": "KAT",
}  # fmt: skip
_TO_TWO_LETTERS = {three.lower(): two for two, three in _ISO_639_1.items()} | {
    b: next(two for two, three in _ISO_639_1.items() if three == t)
    for b, t in _ISO_639_2B.items()
    if t in _ISO_639_1.values()
}
_LANGUAGE_IRIS = (
    re.compile(r"https?://lexvo\.org/id/iso639-[13]/([a-z]{2,3})\Z"),
    re.compile(r"https?://id\.loc\.gov/vocabulary/iso639-[12]/([a-z]{2,3})\Z"),
)
_EU_LANGUAGE = re.compile(rf"{re.escape(EU)}language/([A-Z]{{3}}|[A-Z]{{3}}_[A-Z]+)\Z")


def _from_iso(code: str) -> str:
    code = code.lower()
    if len(code) == 2:
        return _ISO_639_1.get(code, "")
    if len(code) == 3:
        return _ISO_639_2B.get(code, code.upper())
    return ""


def language_code(value: Any) -> str:
    """The EU language-table code of a ``dct:language`` value (``LTZ`` for ``lb``, ``ltz``,
    ``lb-LU``, lexvo's or the EU table's Luxembourgish); "" when it cannot be told."""
    if isinstance(value, URIRef) or str(value).startswith(("http://", "https://")):
        text = eu_iri(value)
        if match := _EU_LANGUAGE.match(text):
            return match.group(1)
        for pattern in _LANGUAGE_IRIS:
            if match := pattern.match(str(value).strip().rstrip("/")):
                return _from_iso(match.group(1))
        return ""
    text = str(value or "").strip()
    primary = text.replace("_", "-").split("-", 1)[0]
    return _from_iso(primary) if primary.isalpha() else ""


def two_letter(code: str) -> str:
    """The ISO 639-1 code of an EU language-table code (``LTZ`` is ``lb``), or ""."""
    return _TO_TWO_LETTERS.get(code.lower(), "") if len(code) == 3 else ""


def text_language(primary: str) -> str:
    """The key a text is stored under for a tag's primary subtag: the ISO 639-1 code when
    the tag used a three-letter one we know (``ltz`` is ``lb``, ``fra`` and ``fre`` are
    ``fr``), else the subtag as it is."""
    return _TO_TWO_LETTERS.get(primary.lower(), primary)


# -- frequencies and access rights -------------------------------------------------------------
# Dublin Core Collection Description frequencies (purl.org/cld/freq/) and ISO 19115
# maintenance frequencies (GeoNetwork writes them as text) within our subset of the EU table.
_FREQUENCY_WORDS = {
    "continuous": "CONT",
    "continual": "CONT",
    "daily": "DAILY",
    "weekly": "WEEKLY",
    "monthly": "MONTHLY",
    "quarterly": "QUARTERLY",
    "annual": "ANNUAL",
    "annually": "ANNUAL",
    "irregular": "IRREG",
    "notplanned": "NEVER",
    "unknown": "UNKNOWN",
}


def frequency_code(value: Any) -> str:
    code = eu_code(value, "frequency", vocab.Frequency.values)
    if code:
        return code
    text = str(value or "").strip().rstrip("/")
    word = text.rsplit("/", 1)[-1] if text.startswith(("http://", "https://")) else text
    if text.startswith(("http://", "https://")) and "purl.org/cld/freq/" not in text:
        return ""
    return _FREQUENCY_WORDS.get(word.lower().replace(" ", "").replace("_", ""), "")


PUBLIC = "PUBLIC"  # vocabularies.AccessRights.PUBLIC
_INSPIRE_NO_LIMITATIONS = (
    "inspire.ec.europa.eu/metadata-codelist/LimitationsOnPublicAccess/noLimitations"
)


def access_rights_code(value: Any) -> str:
    """PUBLIC, RESTRICTED or NON_PUBLIC for the EU table (any form) or INSPIRE's "no
    limitations on public access"; "" when the value does not say."""
    code = eu_code(value, "access-right", vocab.AccessRights.values)
    if code:
        return code
    text = str(value or "").strip().rstrip("/")
    if text.split("://", 1)[-1] == _INSPIRE_NO_LIMITATIONS:
        return PUBLIC
    if isinstance(value, Literal) and text.lower() == "public":
        return PUBLIC
    return ""
