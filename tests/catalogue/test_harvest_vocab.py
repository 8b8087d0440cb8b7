"""What the values real catalogues write mean in our vocabularies (harvest_vocab), and a
Luxembourgish record that stays Luxembourgish."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rdflib import Literal, URIRef

from datalux.catalogue import vocabularies as vocab
from datalux.catalogue.harvest import run_harvest
from datalux.catalogue.harvest_vocab import (
    access_rights_code,
    eu_code,
    frequency_code,
    language_code,
    licence_key,
    text_language,
)
from datalux.catalogue.models import Dataset
from tests.catalogue.test_harvest import PREFIXES, _harvest_settings, holder, make_source

__all__ = ["_harvest_settings", "holder"]

EU = "http://publications.europa.eu/resource/authority"


@pytest.mark.parametrize(
    ("value", "key"),
    [
        # the EU licence vocabulary, over http and https, with or without a trailing slash
        (URIRef(f"{EU}/licence/CC_BY_4_0"), "CC-BY-4.0"),
        (URIRef("https://publications.europa.eu/resource/authority/licence/CC0/"), "CC0-1.0"),
        (URIRef(f"{EU}/licence/CC_BYNCND_3_0"), "CC-BY-NC-ND-3.0"),
        (URIRef(f"{EU}/licence/ODC_BY"), "ODC-By-1.0"),
        # SPDX: its IRIs and its identifiers
        (URIRef("http://spdx.org/licenses/CC-BY-SA-4.0"), "CC-BY-SA-4.0"),
        (URIRef("https://spdx.org/licenses/ODbL-1.0.html"), "ODbL-1.0"),
        (Literal("CC-BY-4.0"), "CC-BY-4.0"),
        (Literal("etalab-2.0"), "etalab-2.0"),
        # Creative Commons deeds
        (URIRef("https://creativecommons.org/licenses/by/4.0/"), "CC-BY-4.0"),
        (URIRef("http://creativecommons.org/licenses/by-nc/3.0/"), "CC-BY-NC-3.0"),
        (URIRef("https://creativecommons.org/licenses/by-sa/4.0/deed.fr"), "CC-BY-SA-4.0"),
        (URIRef("https://creativecommons.org/licenses/by-nd/2.0/legalcode"), "CC-BY-ND-2.0"),
        (URIRef("http://creativecommons.org/publicdomain/zero/1.0/"), "CC0-1.0"),
        # Licence Ouverte / Etalab
        (URIRef("https://www.etalab.gouv.fr/licence-ouverte-open-licence/"), "etalab-2.0"),
        (Literal("Licence Ouverte Version 2.0"), "etalab-2.0"),
        (Literal("lov2"), "etalab-2.0"),
        # dcat-ap.de
        (URIRef("http://dcat-ap.de/def/licenses/cc-zero"), "CC0-1.0"),
        (URIRef("http://dcat-ap.de/def/licenses/dl-by-de/2.0"), "DL-DE-BY-2.0"),
        (URIRef("http://dcat-ap.de/def/licenses/dl-zero-de/2.0"), "DL-DE-ZERO-2.0"),
        (URIRef("http://dcat-ap.de/def/licenses/cc-by/4.0"), "CC-BY-4.0"),
        (URIRef("http://dcat-ap.de/def/licenses/cc-by-nc/4.0"), "CC-BY-NC-4.0"),
        # CKAN / opendefinition identifiers
        (URIRef("http://www.opendefinition.org/licenses/cc-zero"), "CC0-1.0"),
        (URIRef("http://opendatacommons.org/licenses/odbl/1.0/"), "ODbL-1.0"),
        # not known: no key (the harvester keeps the IRI itself)
        (URIRef("https://creativecommons.org/licenses/by/3.0/de/"), ""),  # a ported licence
        (URIRef("http://dcat-ap.de/def/licenses/geoNutz/20130319"), ""),
        (URIRef("https://data.example.lu/our-own-licence"), ""),
        (Literal("Licence Ouverte Version 1.0"), ""),
        (Literal("copyright"), ""),
    ],
)
def test_licences_from_every_vocabulary(value: Any, key: str) -> None:
    assert licence_key(value) == key
    if key:
        assert vocab.licence_iri(key)  # every key has an IRI to export


def test_every_licence_iri_is_from_the_eu_table_or_the_licence_itself() -> None:
    for key, iri in {**vocab.LICENCES, **vocab.OTHER_LICENCES}.items():
        assert iri.startswith(
            (f"{EU}/licence/", "https://creativecommons.org/licenses/", "http://spdx.org/")
        ), key
        assert licence_key(URIRef(iri)) == key


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (URIRef(f"{EU}/language/LTZ"), "LTZ"),
        (URIRef("https://publications.europa.eu/resource/authority/language/LTZ"), "LTZ"),
        (URIRef("http://publications.europa.eu/mdr/authority/language/FRA"), "FRA"),
        (URIRef("http://lexvo.org/id/iso639-3/ltz"), "LTZ"),
        (URIRef("http://id.loc.gov/vocabulary/iso639-1/lb"), "LTZ"),
        (URIRef("http://id.loc.gov/vocabulary/iso639-2/ger"), "DEU"),
        (Literal("lb"), "LTZ"),
        (Literal("ltz"), "LTZ"),
        (Literal("lb-LU"), "LTZ"),
        (Literal("fr"), "FRA"),
        (Literal("eng"), "ENG"),
        (Literal("es"), "SPA"),
        (Literal("not a language"), ""),
        (URIRef("https://example.lu/languages/luxembourgish"), ""),
    ],
)
def test_languages(value: Any, code: str) -> None:
    assert language_code(value) == code


@pytest.mark.parametrize(
    ("tag", "key"), [("ltz", "lb"), ("lb", "lb"), ("fra", "fr"), ("fre", "fr"), ("en", "en")]
)
def test_text_languages_keep_luxembourgish(tag: str, key: str) -> None:
    assert text_language(tag) == key


def test_eu_vocabularies_over_https_and_other_tables() -> None:
    https = "https://publications.europa.eu/resource/authority"
    assert eu_code(URIRef(f"{https}/data-theme/HEAL"), "data-theme", vocab.Theme.values) == "HEAL"
    assert eu_code(Literal("TRAN"), "data-theme", vocab.Theme.values) == "TRAN"
    assert eu_code(URIRef("http://example.org/HEAL"), "data-theme", vocab.Theme.values) == ""
    assert frequency_code(URIRef(f"{https}/frequency/ANNUAL")) == "ANNUAL"
    assert frequency_code(URIRef("http://purl.org/cld/freq/daily")) == "DAILY"
    assert frequency_code(Literal("continual")) == "CONT"
    assert frequency_code(URIRef("http://example.org/freq/daily")) == ""
    assert access_rights_code(URIRef(f"{https}/access-right/PUBLIC")) == "PUBLIC"
    assert access_rights_code(URIRef(f"{EU}/access-right/NON_PUBLIC")) == "NON_PUBLIC"
    no_limits = "http://inspire.ec.europa.eu/metadata-codelist/LimitationsOnPublicAccess/"
    assert access_rights_code(URIRef(no_limits + "noLimitations")) == "PUBLIC"
    assert access_rights_code(URIRef(no_limits + "INSPIRE_Directive_Article13_1e")) == ""


LUXEMBOURGISH = (
    PREFIXES
    + """
<https://data.example.lu/dataset/wanderweeer> a dcat:Dataset ;
    dct:title "Wanderweeër"@ltz, "Chemins de randonnée"@fr-LU ;
    dct:description "All d'Wanderweeër vum Land."@lb ;
    dct:language <https://publications.europa.eu/resource/authority/language/LTZ>,
        <http://lexvo.org/id/iso639-3/fra>, "lb" ;
    dcat:theme <https://publications.europa.eu/resource/authority/data-theme/TRAN>,
        <https://data.example.lu/themes/mobiliteit> ;
    dct:accessRights <https://publications.europa.eu/resource/authority/access-right/PUBLIC> .
"""
)


@pytest.mark.django_db
def test_a_luxembourgish_record_stays_luxembourgish(tmp_path: Path, holder: Any) -> None:
    """ltz and lb texts are stored as Luxembourgish (lb), the languages as the EU table's
    LTZ, whichever form of the EU vocabularies' IRIs the source writes (synthetic record:
    none of the published examples is in Luxembourgish)."""
    path = tmp_path / "lu.ttl"
    path.write_text(LUXEMBOURGISH, encoding="utf-8")
    run_harvest(source=make_source(str(path), holder))
    record = Dataset.objects.get(remote_id="https://data.example.lu/dataset/wanderweeer")
    assert record.title == {"lb": "Wanderweeër", "fr": "Chemins de randonnée"}
    assert record.description == {"lb": "All d'Wanderweeër vum Land."}
    assert record.languages == ["FRA", "LTZ"]
    assert record.themes == ["TRAN"]
    assert record.other_themes == ["https://data.example.lu/themes/mobiliteit"]
