"""Controlled vocabularies used by the catalogue (EU Publications Office authority tables).

Only the codes are stored on records; URIs are built here so exports always use the official
IRIs. Labels are English (the EU tables carry the other languages).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

EU_AUTHORITY = "http://publications.europa.eu/resource/authority"

LANGUAGES = ("en", "fr", "de", "lb")  # catalogue text languages (Luxembourgish included)
LANGUAGE_URIS = {
    "en": f"{EU_AUTHORITY}/language/ENG",
    "fr": f"{EU_AUTHORITY}/language/FRA",
    "de": f"{EU_AUTHORITY}/language/DEU",
    "lb": f"{EU_AUTHORITY}/language/LTZ",
}


class Theme(models.TextChoices):
    """EU data-theme vocabulary (data-theme authority table)."""

    AGRI = "AGRI", _("Agriculture, fisheries, forestry and food")
    ECON = "ECON", _("Economy and finance")
    EDUC = "EDUC", _("Education, culture and sport")
    ENER = "ENER", _("Energy")
    ENVI = "ENVI", _("Environment")
    GOVE = "GOVE", _("Government and public sector")
    HEAL = "HEAL", _("Health")
    INTR = "INTR", _("International issues")
    JUST = "JUST", _("Justice, legal system and public safety")
    REGI = "REGI", _("Regions and cities")
    SOCI = "SOCI", _("Population and society")
    TECH = "TECH", _("Science and technology")
    TRAN = "TRAN", _("Transport")


def theme_uri(code: str) -> str:
    return f"{EU_AUTHORITY}/data-theme/{code}"


class AccessRights(models.TextChoices):
    """EU access-right vocabulary."""

    PUBLIC = "PUBLIC", _("Public")
    RESTRICTED = "RESTRICTED", _("Restricted")
    NON_PUBLIC = "NON_PUBLIC", _("Non-public")


def access_rights_uri(code: str) -> str:
    return f"{EU_AUTHORITY}/access-right/{code}"


class Frequency(models.TextChoices):
    """EU frequency vocabulary (subset in use)."""

    CONT = "CONT", _("Continuous")
    DAILY = "DAILY", _("Daily")
    WEEKLY = "WEEKLY", _("Weekly")
    MONTHLY = "MONTHLY", _("Monthly")
    QUARTERLY = "QUARTERLY", _("Quarterly")
    ANNUAL = "ANNUAL", _("Annual")
    IRREG = "IRREG", _("Irregular")
    NEVER = "NEVER", _("Never")
    UNKNOWN = "UNKNOWN", _("Unknown")


def frequency_uri(code: str) -> str:
    return f"{EU_AUTHORITY}/frequency/{code}"


class FileType(models.TextChoices):
    PARQUET = "PARQUET", "Parquet"
    CSV = "CSV", "CSV"
    JSON = "JSON", "JSON"
    XLSX = "XLSX", "XLSX"
    RDF_TURTLE = "RDF_TURTLE", "Turtle"


def file_type_uri(code: str) -> str:
    return f"{EU_AUTHORITY}/file-type/{code}"


# EU file-type codes the data.europa.eu MQA counts as machine-readable and as non-proprietary
# (its published format lists, restricted to codes of the EU file-type table). XLSX is
# machine-readable but a vendor's format, so it is not non-proprietary.
MACHINE_READABLE_FORMATS = frozenset(
    {"CSV", "JSON", "JSON_LD", "XML", "RDF_XML", "RDF_TURTLE", "PARQUET", "XLSX", "ODS", "GEOJSON"}
)
NON_PROPRIETARY_FORMATS = frozenset(
    {"CSV", "JSON", "JSON_LD", "XML", "RDF_XML", "RDF_TURTLE", "PARQUET", "ODS", "GEOJSON", "TXT"}
)


MEDIA_TYPES = {
    "PARQUET": "application/vnd.apache.parquet",
    "CSV": "text/csv",
    "JSON": "application/json",
    "XLSX": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "RDF_TURTLE": "text/turtle",
}

LICENCES = {
    "CC-BY-4.0": f"{EU_AUTHORITY}/licence/CC_BY_4_0",
    "CC0-1.0": f"{EU_AUTHORITY}/licence/CC0",
    "CC-BY-SA-4.0": f"{EU_AUTHORITY}/licence/CC_BYSA_4_0",
    "ODbL-1.0": f"{EU_AUTHORITY}/licence/ODBL",
}


def _other_licences() -> dict[str, str]:
    """Licences harvested records carry beyond those offered to stewards (SPDX identifier ->
    IRI): the EU licence table's IRI where it has the licence, else the licence's own."""
    eu = {
        "CC-BY-NC-4.0": "CC_BYNC_4_0",
        "CC-BY-3.0": "CC_BY_3_0",
        "CC-BY-NC-ND-3.0": "CC_BYNCND_3_0",
        "ODC-By-1.0": "ODC_BY",
        "PDDL-1.0": "ODC_PDDL",
        "OGL-UK-3.0": "OGL_3_0",
    }
    licences = {key: f"{EU_AUTHORITY}/licence/{code}" for key, code in eu.items()}
    kinds = {"BY": "by", "BY-SA": "by-sa", "BY-NC": "by-nc", "BY-ND": "by-nd"}
    kinds |= {"BY-NC-SA": "by-nc-sa", "BY-NC-ND": "by-nc-nd"}
    for version in ("1.0", "2.0", "2.5", "3.0", "4.0"):
        for kind, path in kinds.items():
            key = f"CC-{kind}-{version}"
            if key not in LICENCES and key not in licences:
                licences[key] = f"https://creativecommons.org/licenses/{path}/{version}/"
    for key in ("etalab-2.0", "DL-DE-BY-2.0", "DL-DE-ZERO-2.0"):
        licences[key] = f"http://spdx.org/licenses/{key}"
    return licences


OTHER_LICENCES = _other_licences()


def licence_iri(key: str) -> str | None:
    """The IRI of a licence key (offered or harvested), None for an unknown key."""
    return LICENCES.get(key) or OTHER_LICENCES.get(key)


LUXEMBOURG_URI = f"{EU_AUTHORITY}/country/LUX"
# Where dct:spatial values come from (DCAT-AP: EU country/place/ATU tables, or GeoNames).
PLACE_VOCABULARIES = (
    f"{EU_AUTHORITY}/country/",
    f"{EU_AUTHORITY}/place/",
    f"{EU_AUTHORITY}/atu/",
    "http://sws.geonames.org/",
    "https://sws.geonames.org/",
)


def is_place_uri(uri: str) -> bool:
    return isinstance(uri, str) and uri.startswith(PLACE_VOCABULARIES) and " " not in uri


class PrivacyRole(models.TextChoices):
    """How the privacy services treat a variable."""

    DIRECT_IDENTIFIER = "direct_identifier", _("Direct identifier")
    QUASI_IDENTIFIER = "quasi_identifier", _("Quasi-identifier")
    SENSITIVE = "sensitive", _("Sensitive")
    OTHER = "other", _("Other")


class LinkageKind(models.TextChoices):
    """What a variable tells the trusted third party about *who* a record is, for linking a
    table that has no national number to one that has (the same kinds pair up)."""

    RECORD_ID = "record_id", _("Record identifier (unique per row)")
    GIVEN_NAME = "given_name", _("Given name")
    SURNAME = "surname", _("Surname")
    FULL_NAME = "full_name", _("Full name")
    BIRTH_DATE = "birth_date", _("Date of birth")
    SEX = "sex", _("Sex")
    STREET_ADDRESS = "street_address", _("Street address")
    POSTCODE = "postcode", _("Postcode")
    COMMUNE = "commune", _("Commune or city")


CODE_LISTS = {
    "icd10": "ICD-10 (WHO International Classification of Diseases, 10th revision)",
    "atc": "ATC (Anatomical Therapeutic Chemical classification)",
    "nace2": "NACE Rev. 2 (statistical classification of economic activities)",
    "isco08": "ISCO-08 (International Standard Classification of Occupations)",
    "communes-lu": "Communes of Luxembourg",
    "iso3166": "ISO 3166-1 alpha-2 country codes",
    "sex": "Sex as registered (M, F)",
    "national-id": "Luxembourg national identification number (check digits)",
}
