"""Mapping a harvested DCAT-AP graph onto record fields, keeping what the source says.

Real catalogues write DCAT in dialects: URLs as literals (``xsd:anyURI`` or plain strings:
CKAN, datos.gob.es, GeoNetwork, udata), the EU tables over ``https``, licences from SPDX,
Creative Commons, Etalab or dcat-ap.de, languages as ISO 639 text, formats as ``dct:IMT``
nodes, byte sizes as decimals. :mod:`datalux.catalogue.harvest_vocab` reads each value;
what has no code of ours is kept as given (an unknown licence as its IRI, a theme outside
the EU table beside the EU themes, geometries as their literals).

Every choice among several values is made in a fixed order (by IRI, by literal, and blank
nodes by what they say, never by their parser-given labels), so that the same source read
twice maps to the same fields: a second harvest of an unchanged source changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.utils import timezone
from rdflib import RDF, BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDFS, SKOS

from datalux.catalogue import vocabularies as vocab
from datalux.catalogue.dcat import DCAT, DCATAP, FOAF, VCARD
from datalux.catalogue.harvest_vocab import (
    access_rights_code,
    eu_code,
    eu_iri,
    frequency_code,
    language_code,
    licence_key,
    text_language,
    two_letter,
)
from datalux.catalogue.langtags import primary_language

LOCN = "http://www.w3.org/ns/locn#"
SCHEMA = "http://schema.org/"
IANA = (
    "https://www.iana.org/assignments/media-types/",
    "http://www.iana.org/assignments/media-types/",
)
_URL_OK = URLValidator(schemes=["http", "https", "ftp"])
_EMAIL_OK = EmailValidator()
_GEOMETRY_PROPERTIES = {
    URIRef(LOCN + "geometry"): "geometry",
    DCAT.bbox: "bbox",
    DCAT.centroid: "centroid",
}
MAX_GEOMETRY = 100_000  # characters of one geometry literal kept
MAX_LIST = 100  # values kept of one list field (themes, languages, contacts...)


# -- reading values in a stable order -----------------------------------------------------
def stable_key(graph: Graph, node: Any, depth: int = 0) -> tuple[Any, ...]:
    """A sort key for a term that does not depend on the parser: IRIs and literals by their
    text, blank nodes by their statements (two levels deep)."""
    if isinstance(node, URIRef):
        return (0, str(node))
    if isinstance(node, Literal):
        return (1, str(node), node.language or "", str(node.datatype or ""))
    if depth >= 2:
        return (2,)
    return (
        2,
        tuple(
            sorted(
                (str(p), stable_key(graph, o, depth + 1)) for p, o in graph.predicate_objects(node)
            )
        ),
    )


def values(graph: Graph, node: Any, *predicates: URIRef) -> list[Any]:
    """The objects of ``node`` for the predicates, each predicate's in a stable order."""
    found: list[Any] = []
    for predicate in predicates:
        found.extend(sorted(graph.objects(node, predicate), key=lambda o: stable_key(graph, o)))
    return found


def first(graph: Graph, node: Any, *predicates: URIRef) -> Any:
    found = values(graph, node, *predicates)
    return found[0] if found else None


def texts(graph: Graph, node: Any, predicate: URIRef, untagged: str = "en") -> dict[str, str]:
    """Texts by language: the primary subtag of each literal's tag (``fr-LU`` is ``fr``,
    ``ltz`` is ``lb``); ``untagged`` (the one language the dataset declares, else English)
    when it has none; a literal whose tag is not BCP 47 is left out."""
    found: dict[str, str] = {}
    for value in values(graph, node, predicate):
        if isinstance(value, Literal) and str(value).strip():
            language = primary_language(value.language) if value.language else untagged
            if language is not None:
                found.setdefault(text_language(language), str(value).strip())
    return found


def _label(graph: Graph, node: Any, *predicates: URIRef) -> str:
    """One name of a node: in English if given, else the first in language order."""
    for predicate in predicates:
        candidates = [v for v in values(graph, node, predicate) if isinstance(v, Literal)]
        candidates = [v for v in candidates if str(v).strip()]
        if candidates:
            english = [v for v in candidates if (v.language or "en").startswith("en")]
            return str((english or candidates)[0]).strip()
    return ""


def url(value: Any) -> str:
    """A URL from an IRI or a literal (``xsd:anyURI``, ``xsd:string`` or plain), or ""."""
    if not isinstance(value, URIRef | Literal):
        return ""
    text = str(value).strip()
    if not text or len(text) > 500:
        return ""
    try:
        _URL_OK(text)
    except ValidationError:
        return ""
    return text


def email(value: Any) -> str:
    text = str(value or "").strip().removeprefix("mailto:")
    try:
        _EMAIL_OK(text)
    except ValidationError:
        return ""
    return text


def when(value: Any) -> datetime | None:
    if not isinstance(value, Literal):
        return None
    python = value.toPython()
    if isinstance(python, datetime):
        return python if timezone.is_aware(python) else python.replace(tzinfo=UTC)
    if isinstance(python, date):
        return datetime.combine(python, time(0), tzinfo=UTC)
    return None


MAX_DATE = 64  # characters of a dct:issued or dct:modified literal kept


def as_given(graph: Graph, node: Any, predicate: URIRef) -> dict[str, str]:
    """The literal a source gives for a date, as it wrote it (lexical form, datatype,
    language), to be exported unchanged; {} when it gives none (or one too long to be one)."""
    for value in values(graph, node, predicate):
        if isinstance(value, Literal) and str(value).strip() and len(str(value)) <= MAX_DATE:
            return {
                "value": str(value),
                "datatype": str(value.datatype or ""),
                "language": value.language or "",
            }
    return {}


def remote_dates(graph: Graph, node: Any) -> dict[str, dict[str, str]]:
    """The source's ``dct:issued`` and ``dct:modified`` of a dataset or a distribution."""
    found = {
        "issued": as_given(graph, node, DCTERMS.issued),
        "modified": as_given(graph, node, DCTERMS.modified),
    }
    return {name: literal for name, literal in found.items() if literal}


def day(value: Any) -> date | None:
    moment = when(value)
    return moment.date() if moment else None


def _whole(value: Any) -> int | None:
    """A byte size: a whole number, also written as a decimal (``43008.0``)."""
    if value is None:
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not number.is_finite() or number < 0 or number != number.to_integral_value():
        return None
    return int(number)


# -- parts of a dataset ---------------------------------------------------------------------
_NAMES = (
    FOAF.name,
    SKOS.prefLabel,
    VCARD.fn,
    VCARD["organization-name"],
    URIRef(SCHEMA + "name"),
    RDFS.label,
    DCTERMS.title,
)


def agent(graph: Graph, node: Any) -> dict[str, str]:
    """The publisher a remote names: its IRI (when it has one) and its name."""
    if node is None:
        return {}
    found = {
        "uri": url(node) if isinstance(node, URIRef) else "",
        "name": _label(graph, node, *_NAMES)[:300],
    }
    return found if found["uri"] or found["name"] else {}


def licence(graph: Graph, nodes: list[Any]) -> tuple[str, str]:
    """(our licence key, the licence's IRI when we have no key for it): the first licence
    named by the nodes in turn (the dataset, then its distributions)."""
    unknown = ""
    for node in nodes:
        for value in values(graph, node, DCTERMS.license):
            candidates = [value]
            if isinstance(value, BNode):  # a LicenseDocument described in place
                candidates = values(
                    graph, value, DCTERMS.identifier, OWL.sameAs, RDFS.label, DCTERMS.title
                )
            for candidate in candidates:
                key = licence_key(candidate)
                if key:
                    return key, ""
                if not unknown and (address := url(candidate)):  # http(s) or ftp only
                    unknown = eu_iri(address)
    return "", unknown[:500]


def languages(graph: Graph, node: Any) -> list[str]:
    """The EU language codes of ``dct:language`` (an IRI we cannot read is kept as it is)."""
    found: set[str] = set()
    for value in values(graph, node, DCTERMS.language):
        if isinstance(value, BNode):  # a LinguisticSystem described in place
            value = first(graph, value, DCTERMS.identifier, RDF.value, SKOS.notation)
        code = language_code(value) if value is not None else ""
        if code:
            found.add(code)
        elif isinstance(value, URIRef) and url(value):
            found.add(str(value))
    return sorted(found)[:MAX_LIST]


def themes(graph: Graph, node: Any) -> tuple[list[str], list[str], list[str]]:
    """(EU data-theme codes, other theme IRIs, themes written as text)."""
    eu: set[str] = set()
    other: set[str] = set()
    words: set[str] = set()
    for value in values(graph, node, DCAT.theme):
        if code := eu_code(value, "data-theme", vocab.Theme.values):
            eu.add(code)
        elif isinstance(value, URIRef) and url(value):
            other.add(eu_iri(value))
        elif isinstance(value, Literal) and str(value).strip():
            words.add(str(value).strip()[:100])
        elif isinstance(value, BNode) and (
            name := _label(graph, value, SKOS.prefLabel, RDFS.label)
        ):
            words.add(name[:100])
    return sorted(eu), sorted(other)[:MAX_LIST], sorted(words)[:MAX_LIST]


def places(graph: Graph, node: Any) -> tuple[list[str], list[dict[str, str]]]:
    """(place IRIs, geometries) of ``dct:spatial``: a Location given by IRI, and the
    ``locn:geometry``, ``dcat:bbox`` and ``dcat:centroid`` literals of each Location."""
    iris: set[str] = set()
    shapes: list[dict[str, str]] = []
    for value in values(graph, node, DCTERMS.spatial):
        if isinstance(value, URIRef) and url(value):
            iris.add(eu_iri(value))
        for predicate, name in _GEOMETRY_PROPERTIES.items():
            for shape in values(graph, value, predicate):
                if isinstance(shape, Literal) and 0 < len(str(shape)) <= MAX_GEOMETRY:
                    entry = {
                        "property": name,
                        "value": str(shape).strip(),
                        "datatype": str(shape.datatype or ""),
                    }
                    if entry not in shapes:
                        shapes.append(entry)
    shapes.sort(key=lambda s: (s["property"], s["datatype"], s["value"]))
    return sorted(iris)[:MAX_LIST], shapes[:MAX_LIST]


def contacts(graph: Graph, node: Any) -> list[dict[str, str]]:
    """Every contact point: its name, e-mail address and page, in a stable order."""
    found: list[dict[str, str]] = []
    for contact in values(graph, node, DCAT.contactPoint):
        address = first(graph, contact, VCARD.hasEmail, VCARD.email)
        if isinstance(address, BNode):
            address = first(graph, address, VCARD.value)
        entry = {
            "name": _label(graph, contact, VCARD.fn, VCARD["organization-name"], FOAF.name)[:200],
            "email": email(address),
            "url": url(first(graph, contact, VCARD.hasURL, FOAF.homepage)),
        }
        if any(entry.values()) and entry not in found:
            found.append(entry)
    found.sort(key=lambda c: (c["name"], c["email"], c["url"]))
    return found[:MAX_LIST]


def legislation(graph: Graph, nodes: list[Any]) -> list[str]:
    """The IRIs of ``dcatap:applicableLegislation`` (on the dataset or its distributions)."""
    found = {
        str(value)
        for node in nodes
        for value in values(graph, node, DCATAP.applicableLegislation)
        if isinstance(value, URIRef) and url(value)
    }
    return sorted(found)[:MAX_LIST]


# -- distributions ----------------------------------------------------------------------------
DISTRIBUTION_FIELDS = (
    "title",
    "description",
    "access_url",
    "download_url",
    "file_format",
    "media_type",
    "byte_size",
    "licence",
    "licence_uri",
    "access_service",
    "remote_dates",
)


def _media_type(value: Any) -> str:
    text = str(value or "").strip()
    for prefix in IANA:
        text = text.removeprefix(prefix)
    return text[:100] if "/" in text and " " not in text and "://" not in text else ""


def _format_code(value: Any) -> str:
    text = eu_iri(value)
    if text.startswith(f"{vocab.EU_AUTHORITY}/file-type/"):
        code = text.rsplit("/", 1)[-1].upper()
    elif isinstance(value, Literal):
        code = text.upper().replace(" ", "_")
    else:
        return ""
    return code if 0 < len(code) <= 16 and code.replace("_", "").replace("-", "").isalnum() else ""


def _described_format(graph: Graph, node: Any) -> tuple[str, str]:
    """A format node of the source's own (``dct:IMT``): its label and its media type."""
    label = first(graph, node, RDFS.label, SKOS.prefLabel)
    code = _format_code(Literal(str(label))) if label is not None else ""
    return code, _media_type(first(graph, node, RDF.value))


def _format(graph: Graph, node: Any) -> tuple[str, str]:
    """(file-type code, media type) from ``dct:format`` and ``dcat:mediaType``: EU file-type
    IRIs, IANA IRIs, text, and format nodes of the source's own (``dct:IMT``)."""
    code = media = ""
    file_types = f"{vocab.EU_AUTHORITY}/file-type/"
    for value in values(graph, node, DCTERMS.format):
        text = str(value).strip()
        if isinstance(value, BNode) or (
            isinstance(value, URIRef)
            and not text.startswith(IANA)
            and not eu_iri(value).startswith(file_types)
        ):
            found_code, found_media = _described_format(graph, value)
            code, media = code or found_code, media or found_media
        elif text.startswith(IANA) or (isinstance(value, Literal) and "/" in text):
            media = media or _media_type(value)
        else:
            code = code or _format_code(value)
    for value in values(graph, node, DCAT.mediaType):
        media = media or _media_type(value)
    return code, media


def distribution(graph: Graph, node: Any, untagged: str = "en") -> dict[str, Any]:
    file_format, media_type = _format(graph, node)
    key, other = licence(graph, [node])
    service = first(graph, node, DCAT.accessService)
    return {
        "title": texts(graph, node, DCTERMS.title, untagged),
        "description": texts(graph, node, DCTERMS.description, untagged),
        "access_url": url(first(graph, node, DCAT.accessURL)),
        "download_url": url(first(graph, node, DCAT.downloadURL)),
        "file_format": file_format,
        "media_type": media_type,
        "byte_size": _whole(first(graph, node, DCAT.byteSize)),
        "licence": key,
        "licence_uri": other,
        "access_service": service_id(graph, service) if service is not None else "",
        "remote_dates": remote_dates(graph, node),
    }


def _distribution_order(values: dict[str, Any]) -> tuple[str, ...]:
    return (
        values["access_url"],
        values["download_url"],
        str(sorted(values["title"].items())),
        values["file_format"],
        values["media_type"],
        str(values["byte_size"]),
    )


# -- datasets ---------------------------------------------------------------------------------
@dataclass
class Mapped:
    """The fields of one remote dataset, ready to compare with (or create) a record.

    ``series`` (the remote id of its dataset series) and each distribution's
    ``access_service`` (the remote id of its data service) are resolved to records when
    they are applied.
    """

    remote_id: str
    fields: dict[str, Any]
    distributions: list[dict[str, Any]]
    series: str = ""
    services: list[str] = field(default_factory=list)  # data services serving it


def map_dataset(graph: Graph, node: Any) -> Mapped | str:
    """The record fields of one ``dcat:Dataset``, or the reason it cannot be imported."""
    identifier = first(graph, node, DCTERMS.identifier)
    if isinstance(node, URIRef):
        remote_id = str(node)
    elif identifier is not None and str(identifier).strip():
        remote_id = str(identifier).strip()
    else:
        return "a dataset with neither an IRI nor a dct:identifier cannot be tracked: skipped"
    if len(remote_id) > 500:
        return f"a dataset id is longer than 500 characters: skipped ({remote_id[:60]}...)"
    declared = languages(graph, node)
    # Untagged texts are in the dataset's language when it declares only one.
    untagged = (two_letter(declared[0]) if len(declared) == 1 else "") or "en"
    title = texts(graph, node, DCTERMS.title, untagged)
    if not title:
        return f"{remote_id} has no dct:title: skipped"
    stated = first(graph, node, DCTERMS.accessRights)
    if stated is not None and access_rights_code(stated) != vocab.AccessRights.PUBLIC:
        # Access to data held here is granted here only: a record restricted (or with rights
        # we cannot read) at its source would look like one of ours to request.
        return (
            f"{remote_id} is not open data at its source (its dct:accessRights is not "
            "PUBLIC): only open records are harvested, skipped"
        )
    distribution_nodes = values(graph, node, DCAT.distribution)
    period = first(graph, node, DCTERMS.temporal)
    eu_themes, other_themes, theme_words = themes(graph, node)
    keywords = {str(k).strip()[:100] for k in values(graph, node, DCAT.keyword) if str(k).strip()}
    start = end = None
    if period is not None:
        start = day(first(graph, period, DCAT.startDate, URIRef(SCHEMA + "startDate")))
        end = day(first(graph, period, DCAT.endDate, URIRef(SCHEMA + "endDate")))
        if start and end and start > end:
            start, end = end, start
    version = first(graph, node, DCAT.version, OWL.versionInfo)
    key, other_licence = licence(graph, [node, *distribution_nodes])
    contact_points = contacts(graph, node)
    contact = contact_points[0] if contact_points else {"name": "", "email": ""}
    spatial, geometries = places(graph, node)
    frequency = frequency_code(first(graph, node, DCTERMS.accrualPeriodicity))
    fields: dict[str, Any] = {
        "title": title,
        "description": texts(graph, node, DCTERMS.description, untagged),
        "keywords": sorted(keywords | set(theme_words)),
        "themes": eu_themes,
        "other_themes": other_themes,
        "access_rights": vocab.AccessRights.PUBLIC,  # open-data portals often omit it
        "legal_basis": "",  # never a legal basis or conditions of ours
        "conditions_for_reuse": "",
        "licence": key,
        "licence_uri": other_licence,
        "contact_name": contact["name"],
        "contact_email": contact["email"],
        "contact_points": contact_points,
        "temporal_start": start,
        "temporal_end": end,
        "spatial": spatial,
        "geometries": geometries,
        "languages": declared,
        "applicable_legislation": legislation(graph, [node, *distribution_nodes]),
        "remote_publisher": agent(graph, first(graph, node, DCTERMS.publisher)),
        "accrual_periodicity": frequency or vocab.Frequency.UNKNOWN,
        "version": str(version or "")[:32],
        "issued": when(first(graph, node, DCTERMS.issued)),
        "remote_dates": remote_dates(graph, node),
        "remote_landing_page": url(first(graph, node, DCAT.landingPage)),
    }
    distributions = [distribution(graph, d, untagged) for d in distribution_nodes]
    distributions.sort(key=_distribution_order)
    series = first(graph, node, DCAT.inSeries)
    return Mapped(
        remote_id,
        fields,
        distributions,
        series=series_id(graph, series) if series is not None else "",
    )


# -- data services and dataset series ---------------------------------------------------------
def service_id(graph: Graph, node: Any) -> str:
    """A data service's remote id: its IRI, else its endpoint URL."""
    if isinstance(node, URIRef):
        return str(node)[:500]
    return url(first(graph, node, DCAT.endpointURL))


def series_id(graph: Graph, node: Any) -> str:
    if isinstance(node, URIRef):
        return str(node)[:500]
    identifier = first(graph, node, DCTERMS.identifier)
    return str(identifier).strip()[:500] if identifier is not None else ""


@dataclass
class MappedService:
    remote_id: str
    fields: dict[str, Any]
    serves: list[Any]  # the dataset nodes it says it serves


def service_nodes(graph: Graph) -> list[Any]:
    nodes = set(graph.subjects(RDF.type, DCAT.DataService))
    nodes.update(graph.objects(None, DCAT.accessService))
    nodes.update(graph.objects(None, DCAT.service))
    return sorted(nodes, key=lambda n: stable_key(graph, n))


def map_service(graph: Graph, node: Any) -> MappedService | str:
    remote_id = service_id(graph, node)
    endpoint = url(first(graph, node, DCAT.endpointURL))
    if not remote_id or not endpoint:
        return f"a data service ({remote_id or 'a blank node'}) has no dcat:endpointURL: skipped"
    key, _ = licence(graph, [node])
    rights = first(graph, node, DCTERMS.accessRights)
    return MappedService(
        remote_id,
        {
            # DCAT-AP requires a title; a service described only by its endpoint is named so.
            "title": texts(graph, node, DCTERMS.title) or {"en": endpoint},
            "description": texts(graph, node, DCTERMS.description),
            "endpoint_url": endpoint,
            "endpoint_description": url(first(graph, node, DCAT.endpointDescription)),
            "licence": key,
            "access_rights": (access_rights_code(rights) if rights is not None else "")
            or vocab.AccessRights.PUBLIC,
        },
        values(graph, node, DCAT.servesDataset),
    )


def series_nodes(graph: Graph) -> list[Any]:
    nodes = set(graph.subjects(RDF.type, DCAT.DatasetSeries))
    nodes.update(graph.objects(None, DCAT.inSeries))
    return sorted(nodes, key=lambda n: stable_key(graph, n))


def map_series(graph: Graph, node: Any) -> tuple[str, dict[str, Any]] | str:
    remote_id = series_id(graph, node)
    title = texts(graph, node, DCTERMS.title)
    if not remote_id:
        return "a dataset series with neither an IRI nor a dct:identifier: skipped"
    if not title:
        return f"the dataset series {remote_id} has no dct:title in the source: not kept"
    return remote_id, {"title": title, "description": texts(graph, node, DCTERMS.description)}
