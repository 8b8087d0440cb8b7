"""DCAT-AP 3.0.1 graphs of the catalogue (rdflib), built triple by triple from prefetched rows.

Every linked object carries its ``rdf:type`` (and the properties its DCAT-AP shape makes
mandatory: ``foaf:name`` of agents, ``skos:prefLabel`` of concepts, ``dct:title`` of concept
schemes) so the export passes the official class-range shapes, not only the cardinalities.

URIs (all under ``DATALUX_BASE_URI``):

* dataset ``/id/dataset/{PID}`` (never changes: the PID survives renames and new versions),
  its contact point ``#contact``, identifier ``#identifier``, coverage ``#temporal``,
  legal basis ``#legal-basis`` and conditions for reuse ``#conditions``;
* distribution ``/id/dataset/{PID}/distribution/{pk}``;
  data dictionary ``/id/dataset/{PID}/schema``;
* catalogue ``/id/catalogue/{slug}``, organisation ``/id/organisation/{slug}``,
  data service ``/id/service/{pk}``, dataset series ``/id/series/{pk}``.

Protected datasets (access rights other than PUBLIC) never export a download URL: the access
URL of a file stored here is the access-request page (an application for that dataset).

Nothing is invented for a harvested record: its ``dct:issued``, ``dct:modified`` (and its
distributions') and ``dcat:landingPage`` are what its source gave, and our page of the copy
is its ``foaf:page`` (:meth:`Builder._dates`, :meth:`Builder._pages`); format and media-type
IRIs come only from the EU file-type table and the IANA registry
(:mod:`datalux.catalogue.filetypes`), any other format is exported as its text.

Everything the data.europa.eu MQA reads is exported (see :mod:`datalux.catalogue.mqa`, which
scores these very triples): keywords, themes, spatial and temporal coverage, formats from the
EU file-type table and IANA media types, byte size, issued/modified, licence and rights on
each distribution, access rights from the EU access-right table.

Building a page of the catalogue costs a fixed number of queries whatever its size: the
datasets, their distributions, the ids of those with a data dictionary, publishers, series and
services are each read once.

One broken record never breaks the catalogue: a dataset whose stored metadata cannot be
exported (a text under a key that is not a BCP 47 language tag, or any failure while it is
described) is left out, logged and counted in an ``rdfs:comment`` of the root catalogue
(:func:`build_catalogue` returns the PIDs left out). Elsewhere (a catalogue's or a service's
title, one dataset's own description) a text under a malformed language key is dropped and
logged.
"""

from __future__ import annotations

import functools
import gc
import io
import json
import logging
import re
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, BinaryIO, Protocol

from django.db.models import Max
from django.urls import NoReverseMatch, reverse
from rdflib import BNode, Graph, Literal, URIRef

from datalux.catalogue import filetypes
from datalux.catalogue import vocabularies as vocab
from datalux.catalogue.jsonld_contexts import resolve_contexts
from datalux.catalogue.langtags import is_well_formed
from datalux.catalogue.turtle import TurtleWriter
from datalux.core.absolute import base_url

logger = logging.getLogger("datalux.catalogue.dcat")


class Terms:
    """The terms of one vocabulary, as attributes (``DCAT.Dataset``), each made once.

    rdflib's namespace objects build a new term on every attribute access (about 1.5 µs, a
    tenth of an export's time); its closed DCAT namespace also predates DCAT 3
    (``dcat:DatasetSeries``, ``dcat:version``), and its open ``Namespace`` is a ``str`` whose
    methods hide terms such as ``dct:title`` and ``dct:format``.
    """

    def __init__(self, base: str) -> None:
        self._base = base

    def __getattr__(self, name: str) -> URIRef:
        if name.startswith("__"):
            raise AttributeError(name)
        term = URIRef(self._base + name)
        setattr(self, name, term)
        return term

    def __getitem__(self, name: str) -> URIRef:
        return getattr(self, name)

    def __str__(self) -> str:
        return self._base


PREFIXES = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "adms": "http://www.w3.org/ns/adms#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcatap": "http://data.europa.eu/r5r/",
    "eli": "http://data.europa.eu/eli/ontology#",
    "hydra": "http://www.w3.org/ns/hydra/core#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
}
DCAT = Terms(PREFIXES["dcat"])
DCT = Terms(PREFIXES["dct"])
FOAF = Terms(PREFIXES["foaf"])
VCARD = Terms(PREFIXES["vcard"])
ADMS = Terms(PREFIXES["adms"])
SKOS = Terms(PREFIXES["skos"])
DCATAP = Terms(PREFIXES["dcatap"])
ELI = Terms(PREFIXES["eli"])
HYDRA = Terms(PREFIXES["hydra"])
XSD = Terms(PREFIXES["xsd"])
RDFS = Terms(PREFIXES["rdfs"])
RDF = Terms("http://www.w3.org/1999/02/22-rdf-syntax-ns#")

IANA_MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"
_URL = re.compile(r"https?://[^\s<>\"'{}|\\^`]+")
_EU_CODE = re.compile(r"[A-Z]{3}(?:_[A-Z]+)?\Z")  # an EU authority-table code, e.g. LTZ
_PLACEHOLDER_PID = "DLX-00000000-0"
_PLACEHOLDER_PK = "987654321"

# Serialisation formats: rdflib name -> (media type, file extension).
FORMATS: dict[str, tuple[str, str]] = {
    "turtle": ("text/turtle", "ttl"),
    "xml": ("application/rdf+xml", "rdf"),
    "json-ld": ("application/ld+json", "jsonld"),
}


def new_graph() -> Graph:
    graph = Graph()
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace, override=True)
    return graph


def dataset_uri(pid: str) -> str:
    return f"{base_url()}/id/dataset/{pid}"


def catalogue_uri(slug: str) -> str:
    return f"{base_url()}/id/catalogue/{slug}"


def landing_page_path(pid: str) -> str:
    """The path of the dataset page (the pages helper's ``catalogue:dataset`` when it exists)."""
    try:
        template = reverse("catalogue:dataset", args=[_PLACEHOLDER_PID])
    except NoReverseMatch:
        template = f"/catalogue/datasets/{_PLACEHOLDER_PID}/"
    return template.replace(_PLACEHOLDER_PID, pid)


def access_request_path(pid: str) -> str:
    """The access-request page for a protected dataset (its dataset page if access is absent)."""
    try:
        return f"{reverse('access:application_new')}?dataset={pid}"
    except NoReverseMatch:
        return landing_page_path(pid)


def download_path_template() -> str:
    """The download path of a stored file, with placeholders for the PID and the pk."""
    try:
        return reverse("catalogue:distribution_download", args=[_PLACEHOLDER_PID, _PLACEHOLDER_PK])
    except NoReverseMatch:
        return f"/catalogue/datasets/{_PLACEHOLDER_PID}/distributions/{_PLACEHOLDER_PK}/download"


@functools.lru_cache(maxsize=256)
def _language_ok(key: str) -> bool:
    return key == "" or is_well_formed(key)


def _texts(graph: Sink, subject: URIRef, predicate: URIRef, text: Any) -> None:
    """Add a multilingual text ({"en": ..., "fr": ...}) as language-tagged literals.

    A text under a key that is not a language tag is dropped (and logged): rdflib cannot
    write it. :func:`record_problems` finds those keys in a dataset before it is described.
    """
    if isinstance(text, dict):
        for language, value in text.items():
            if not (value and str(value).strip()):
                continue
            if not _language_ok(str(language)):
                logger.warning("%s: a text under an invalid language tag was left out", subject)
                continue
            graph.add((subject, predicate, Literal(str(value), lang=str(language) or None)))
    elif text and str(text).strip():
        graph.add((subject, predicate, Literal(str(text))))


def _bad_language_keys(text: Any) -> bool:
    return isinstance(text, dict) and not all(_language_ok(str(k)) for k in text)


def record_problems(rows: DatasetRows) -> list[str]:
    """Why a dataset cannot be exported as stored (empty when it can): texts under keys that
    are not BCP 47 language tags, in the record or one of its distributions."""
    problems = [
        f"its {name} has a key that is not a language tag"
        for name in ("title", "description")
        if _bad_language_keys(getattr(rows.dataset, name, None))
    ]
    for dist in rows.distributions:
        problems.extend(
            f"the {name} of its distribution {dist.pk} has a key that is not a language tag"
            for name in ("title", "description")
            if _bad_language_keys(getattr(dist, name, None))
        )
    return problems


def _as_given(literal: dict[str, str]) -> Literal:
    """A literal as a source wrote it (see ``harvest_map.as_given``): the same lexical form,
    datatype and language, whether or not rdflib can read the value."""
    language = literal.get("language") or None
    datatype = None if language else (literal.get("datatype") or None)
    return Literal(str(literal["value"]), lang=language, datatype=datatype)


def _datetime(value: datetime | date) -> Literal:
    """xsd:dateTime (to the second) or xsd:date; built from the value (half the cost of text)."""
    if isinstance(value, datetime):
        return Literal(value.replace(microsecond=0) if value.microsecond else value)
    return Literal(value)


Triple = tuple[Any, Any, Any]


class Sink(Protocol):
    """Where a builder puts its triples: an rdflib Graph, or a :class:`TripleList`."""

    def add(self, triple: Triple, /) -> Any: ...


class TripleList(list[Triple]):
    """A plain list of triples (much cheaper than a Graph's indexed store) for streaming."""

    def add(self, triple: Triple, /) -> None:
        self.append(triple)


@dataclass
class DatasetRows:
    """A dataset and the related rows its description needs, fetched beforehand."""

    dataset: Any
    distributions: Sequence[Any] = ()
    has_dictionary: bool = False
    # what each registered DatasetExtension fetched for this dataset (its name -> value)
    extensions: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetExtension:
    """Statements another app adds to dataset descriptions (registered from its AppConfig).

    ``fetch(dataset_ids)`` reads what ``describe`` needs for many datasets at once (a fixed
    number of queries, whatever the catalogue's size) and returns it by dataset id;
    ``describe(builder, dataset_node, value)`` adds one dataset's triples, under the dataset's
    own URI (``#fragment``), so that a record left out is left out whole.
    """

    name: str
    fetch: Callable[[Sequence[int]], dict[int, Any]]
    describe: Callable[[Builder, URIRef, Any], None]


DATASET_EXTENSIONS: dict[str, DatasetExtension] = {}


def register_dataset_extension(extension: DatasetExtension) -> None:
    DATASET_EXTENSIONS[extension.name] = extension


def _fetch_extensions(rows: Sequence[DatasetRows]) -> None:
    ids = [row.dataset.pk for row in rows if row.dataset.pk is not None]
    if not ids:
        return
    for extension in DATASET_EXTENSIONS.values():
        found = extension.fetch(ids)
        for row in rows:
            if row.dataset.pk in found:
                row.extensions[extension.name] = found[row.dataset.pk]


class Builder:
    """Adds DCAT-AP descriptions to one graph; shared objects (agents, concepts) are added once."""

    def __init__(self, graph: Sink | None = None) -> None:
        self.graph: Sink = graph if graph is not None else new_graph()
        self.base = base_url()
        self._landing_template = landing_page_path(_PLACEHOLDER_PID)
        self._download_template = download_path_template()
        self._request_template = access_request_path(_PLACEHOLDER_PID)
        self._agents: dict[int, URIRef] = {}
        self._typed: set[tuple[str, URIRef]] = set()
        self._series: dict[int, URIRef] = {}
        self._themes = dict(zip(vocab.Theme.values, map(str, vocab.Theme.labels), strict=True))
        self._public = str(vocab.AccessRights.PUBLIC)
        self.skipped: list[str] = []  # PIDs of the records left out (see checked_dataset)

    # -- shared objects -------------------------------------------------------------------
    def _typed_once(self, uri: str, rdf_type: URIRef, label: str = "") -> URIRef:
        node = URIRef(uri)
        if (uri, rdf_type) not in self._typed:
            self._typed.add((uri, rdf_type))
            self.graph.add((node, RDF.type, rdf_type))
            if label and rdf_type == SKOS.Concept:
                self.graph.add((node, SKOS.prefLabel, Literal(label, lang="en")))
            elif label:
                self.graph.add((node, RDFS.label, Literal(label, lang="en")))
        return node

    def agent(self, organisation: Any) -> URIRef:
        """An organisation as a typed foaf:Agent with its name."""
        node = self._agents.get(organisation.pk)
        if node is None:
            node = URIRef(f"{self.base}/id/organisation/{organisation.slug}")
            self._agents[organisation.pk] = node
            g = self.graph
            g.add((node, RDF.type, FOAF.Agent))
            g.add((node, RDF.type, FOAF.Organization))
            g.add((node, FOAF.name, Literal(organisation.name)))
            if organisation.homepage:
                g.add((node, FOAF.homepage, URIRef(organisation.homepage)))
        return node

    def _licence(self, code: str, other: str = "") -> URIRef | None:
        """The licence of a key (offered or harvested), else a harvested licence's own IRI."""
        uri = vocab.licence_iri(code) if code else None
        uri = uri or other
        return self._typed_once(uri, DCT.LicenseDocument) if uri else None

    def _remote_agent(self, remote: Any) -> URIRef | None:
        """The publisher a harvested record's source names (with an IRI and a name)."""
        if not isinstance(remote, dict) or not remote.get("uri") or not remote.get("name"):
            return None
        node = URIRef(str(remote["uri"]))
        if (str(node), FOAF.Agent) not in self._typed:
            self._typed_once(str(node), FOAF.Agent)
            self.graph.add((node, FOAF.name, Literal(str(remote["name"]))))
        return node

    def landing_page(self, pid: str) -> str:
        return self.base + self._landing_template.replace(_PLACEHOLDER_PID, pid)

    def access_request_page(self, pid: str) -> str:
        return self.base + self._request_template.replace(_PLACEHOLDER_PID, pid)

    # -- catalogue ------------------------------------------------------------------------
    def catalogue(
        self,
        catalogue: Any,
        dataset_uris: Iterable[URIRef] = (),
        *,
        services: Iterable[URIRef] = (),
        sub_catalogues: Iterable[URIRef] = (),
        modified: datetime | None = None,
    ) -> URIRef:
        g = self.graph
        node = URIRef(catalogue_uri(catalogue.slug))
        g.add((node, RDF.type, DCAT.Catalog))
        _texts(g, node, DCT.title, catalogue.title or {"en": catalogue.slug})
        _texts(g, node, DCT.description, catalogue.description or catalogue.title)
        g.add((node, DCT.publisher, self.agent(catalogue.publisher)))
        if catalogue.homepage:
            homepage = self._typed_once(catalogue.homepage, FOAF.Document)
            g.add((node, FOAF.homepage, homepage))
        licence = self._licence(catalogue.licence)
        if licence is not None:
            g.add((node, DCT.license, licence))
        g.add((node, DCT.issued, _datetime(catalogue.issued)))
        if modified is not None:
            g.add((node, DCT.modified, _datetime(modified)))
        for language in vocab.LANGUAGES:
            uri = self._typed_once(vocab.LANGUAGE_URIS[language], DCT.LinguisticSystem)
            g.add((node, DCT.language, uri))
        scheme = URIRef(f"{vocab.EU_AUTHORITY}/data-theme")
        if ("scheme", scheme) not in self._typed:
            self._typed.add(("scheme", scheme))
            g.add((scheme, RDF.type, SKOS.ConceptScheme))
            g.add((scheme, DCT.title, Literal("Data theme", lang="en")))
        g.add((node, DCAT.themeTaxonomy, scheme))
        if catalogue.is_local:
            g.add((node, DCT.spatial, self._typed_once(vocab.LUXEMBOURG_URI, DCT.Location)))
        for uri in dataset_uris:
            g.add((node, DCAT.dataset, uri))
        for uri in services:
            g.add((node, DCAT.service, uri))
        for uri in sub_catalogues:
            g.add((node, DCAT.catalog, uri))
        return node

    # -- dataset --------------------------------------------------------------------------
    def checked_dataset(self, rows: DatasetRows) -> URIRef | None:
        """The dataset's description, or None when its stored metadata cannot be exported:
        the record is then left out whole (logged, its PID in ``skipped``), never half."""
        ds = rows.dataset
        problems = record_problems(rows)
        if problems:
            self._skip(ds.pid, "; ".join(problems))
            return None
        sink, buffer = self.graph, TripleList()
        self.graph = buffer
        try:
            node = self.dataset(rows)
        except Exception:  # any stored value the writers cannot take: leave this record out
            logger.exception("dataset %s could not be described", ds.pid)
            self.graph = sink
            own = f"{self.base}/id/dataset/{ds.pid}"
            for triple in buffer:  # shared objects (agents, concepts) are marked as written
                subject = str(triple[0])
                if isinstance(triple[0], BNode):
                    continue  # a blank node is the record's own (a format given as text)
                if not (subject == own or subject.startswith((own + "#", own + "/"))):
                    sink.add(triple)
            self._skip(ds.pid, "its description failed (see the log)")
            return None
        finally:
            self.graph = sink
        if isinstance(sink, TripleList):
            sink.extend(buffer)
        else:
            for triple in buffer:
                sink.add(triple)
        return node

    def _skip(self, pid: str, reason: str) -> None:
        self.skipped.append(pid)
        logger.warning("dataset %s left out of the DCAT-AP export: %s", pid, reason)

    def dataset(self, rows: DatasetRows) -> URIRef:
        ds = rows.dataset
        g = self.graph
        add = g.add
        uri = f"{self.base}/id/dataset/{ds.pid}"
        node = URIRef(uri)
        add((node, RDF.type, DCAT.Dataset))
        _texts(g, node, DCT.title, ds.title)
        _texts(g, node, DCT.description, ds.description)
        add((node, DCT.identifier, Literal(ds.pid)))
        identifier = URIRef(f"{uri}#identifier")
        add((node, ADMS.identifier, identifier))
        add((identifier, RDF.type, ADMS.Identifier))
        add((identifier, SKOS.notation, Literal(ds.pid)))
        add((identifier, DCT.creator, self.agent(ds.publisher)))
        if ds.remote_id:
            remote = URIRef(f"{uri}#remote-identifier")
            add((node, ADMS.identifier, remote))
            add((remote, RDF.type, ADMS.Identifier))
            add((remote, SKOS.notation, Literal(ds.remote_id)))
        for keyword in ds.keywords or []:
            if str(keyword).strip():
                add((node, DCAT.keyword, Literal(str(keyword))))
        for code in ds.themes or []:
            label = self._themes.get(code, code)
            add(
                (
                    node,
                    DCAT.theme,
                    self._typed_once(vocab.theme_uri(code), SKOS.Concept, str(label)),
                )
            )
        # A harvested record's publisher is the one its source names (ours is the harvester).
        named = self._remote_agent(getattr(ds, "remote_publisher", None))
        add((node, DCT.publisher, named or self.agent(ds.publisher)))
        for language in getattr(ds, "languages", None) or []:
            code = str(language)
            iri = f"{vocab.EU_AUTHORITY}/language/{code}" if _EU_CODE.match(code) else code
            add((node, DCT.language, self._typed_once(iri, DCT.LinguisticSystem)))
        if ds.contact_name or ds.contact_email:
            contact = URIRef(f"{uri}#contact")
            add((node, DCAT.contactPoint, contact))
            add((contact, RDF.type, VCARD.Kind))
            add((contact, RDF.type, VCARD.Organization))
            add((contact, VCARD.fn, Literal(ds.contact_name or ds.publisher.name)))
            if ds.contact_email:
                add((contact, VCARD.hasEmail, URIRef(f"mailto:{ds.contact_email}")))
        if ds.temporal_start or ds.temporal_end:
            period = URIRef(f"{uri}#temporal")
            add((node, DCT.temporal, period))
            add((period, RDF.type, DCT.PeriodOfTime))
            if ds.temporal_start:
                add((period, DCAT.startDate, _datetime(ds.temporal_start)))
            if ds.temporal_end:
                add((period, DCAT.endDate, _datetime(ds.temporal_end)))
        for place in ds.spatial or []:
            add((node, DCT.spatial, self._typed_once(str(place), DCT.Location)))
        self._dates(node, ds)
        if ds.accrual_periodicity:
            frequency = vocab.frequency_uri(ds.accrual_periodicity)
            add((node, DCT.accrualPeriodicity, self._typed_once(frequency, DCT.Frequency)))
        if ds.access_rights:
            rights = vocab.access_rights_uri(ds.access_rights)
            add((node, DCT.accessRights, self._typed_once(rights, DCT.RightsStatement)))
        conditions = self._rights(uri, "conditions", ds.conditions_for_reuse)
        legal = self._rights(uri, "legal-basis", ds.legal_basis)
        for statement in (legal, conditions):
            if statement is not None:
                add((node, DCT.rights, statement))
        laws = [
            *_URL.findall(ds.legal_basis or ""),
            *(getattr(ds, "applicable_legislation", None) or []),
        ]
        for url in dict.fromkeys(laws):
            add((node, DCATAP.applicableLegislation, self._typed_once(url, ELI.LegalResource)))
        if ds.version:
            add((node, DCAT.version, Literal(ds.version)))
        self._pages(node, ds)
        if rows.has_dictionary:
            schema = self._typed_once(f"{uri}/schema", DCT.Standard)
            add((node, DCT.conformsTo, schema))
        if ds.in_series_id:
            series = self._series.get(ds.in_series_id)
            if series is None:
                series = self.series(ds.in_series)
            add((node, DCAT.inSeries, series))
        licence = self._licence(ds.licence, getattr(ds, "licence_uri", ""))
        for dist in rows.distributions:
            add((node, DCAT.distribution, self.distribution(ds, dist, licence, conditions)))
        for name, value in rows.extensions.items():
            DATASET_EXTENSIONS[name].describe(self, node, value)
        return node

    def _dates(self, node: URIRef | BNode, record: Any, dataset: Any = None) -> None:
        """``dct:issued`` and ``dct:modified``: ours for a local record; for a harvested one
        (or a distribution of one: ``dataset``) the literals its source wrote, exactly as they
        came (lexical form and datatype), and none where the source gave none. The times
        of our own copy (when it was harvested or changed here) are not the source's."""
        harvested = (dataset if dataset is not None else record).harvest_source_id is not None
        if not harvested:
            if record.issued:
                self.graph.add((node, DCT.issued, _datetime(record.issued)))
            if record.modified:
                self.graph.add((node, DCT.modified, _datetime(record.modified)))
            return
        given = getattr(record, "remote_dates", None) or {}
        for name, predicate in (("issued", DCT.issued), ("modified", DCT.modified)):
            literal = given.get(name)
            if isinstance(literal, dict) and literal.get("value"):
                self.graph.add((node, predicate, _as_given(literal)))

    def _pages(self, node: URIRef, ds: Any) -> None:
        """The record's pages. A local record's ``dcat:landingPage`` is its page here. A
        harvested record's ``dcat:landingPage`` is the one its source gives (none if it gives
        none), and its page here goes in ``foaf:page`` (DCAT-AP 3.0.1 *documentation*, "a
        page or document about this Dataset"): the 3.0.1 shapes accept it on a dataset
        (``sh:class foaf:Document``, ``sh:nodeKind sh:BlankNodeOrIRI``, no maximum), while
        ``dcat:landingPage`` is the page "that provides access to the Dataset", which for a
        harvested record is the source's; a second ``dcat:landingPage`` would make ours look
        like the publisher's."""
        own = self._typed_once(self.landing_page(ds.pid), FOAF.Document)
        if ds.harvest_source_id is None:
            self.graph.add((node, DCAT.landingPage, own))
            return
        remote = getattr(ds, "remote_landing_page", "")
        if remote:
            self.graph.add((node, DCAT.landingPage, self._typed_once(remote, FOAF.Document)))
        self.graph.add((node, FOAF.page, own))

    def _format(self, node: URIRef, dist: Any) -> None:
        """``dct:format`` and ``dcat:mediaType``, IRIs minted only from the EU file-type table
        and the IANA registry (:mod:`datalux.catalogue.filetypes`). A format outside them (a
        harvested ``WMS``, ``RDF+XML``, or a media type IANA does not register) is exported
        as its text: a ``dct:MediaTypeOrExtent`` blank node with an ``rdfs:label`` (the 3.0.1
        shapes ask ``dct:format`` for that class only, at most one); ``dcat:mediaType``, whose
        range is the IANA register, is then left out."""
        add = self.graph.add
        code = (dist.file_format or "").strip()
        media_type = (dist.media_type or vocab.MEDIA_TYPES.get(code, "")).strip()
        file_type = filetypes.file_type_iri(code)
        iana = filetypes.media_type_iri(media_type)
        if file_type:
            add((node, DCT.format, self._typed_once(file_type, DCT.MediaTypeOrExtent)))
        elif code or (media_type and not iana):
            described = BNode()
            add((node, DCT.format, described))
            add((described, RDF.type, DCT.MediaTypeOrExtent))
            add((described, RDFS.label, Literal(code or media_type)))
        if iana:
            add((node, DCAT.mediaType, self._typed_once(iana, DCT.MediaType)))

    def _rights(self, uri: str, fragment: str, text: str) -> URIRef | None:
        if not (text or "").strip():
            return None
        statement = URIRef(f"{uri}#{fragment}")
        self.graph.add((statement, RDF.type, DCT.RightsStatement))
        self.graph.add((statement, RDFS.label, Literal(text)))
        return statement

    def distribution(
        self, ds: Any, dist: Any, licence: URIRef | None, conditions: URIRef | None
    ) -> URIRef:
        add = self.graph.add
        node = URIRef(f"{self.base}/id/dataset/{ds.pid}/distribution/{dist.pk}")
        add((node, RDF.type, DCAT.Distribution))
        _texts(self.graph, node, DCT.title, dist.title)
        _texts(self.graph, node, DCT.description, dist.description)
        landing = self.landing_page(ds.pid)
        protected = ds.access_rights != self._public
        # A file stored here is reached through its dataset's page (open data: downloaded
        # from the platform's own address); a remote distribution keeps its addresses.
        access = landing if dist.data_file_id else (dist.access_url or landing)
        if protected and (dist.data_file_id or dist.access_url == dist.download_url):
            # a protected file's own address is never published: access starts with a request
            access = self.access_request_page(ds.pid)
        add((node, DCAT.accessURL, URIRef(access)))
        download = dist.download_url
        if dist.data_file_id:
            download = self.base + self._download_template.replace(
                _PLACEHOLDER_PID, ds.pid
            ).replace(_PLACEHOLDER_PK, str(dist.pk))
        if not protected and download:
            add((node, DCAT.downloadURL, URIRef(download)))
        self._format(node, dist)
        if dist.byte_size is not None:  # the size is shown on the dataset page too
            add((node, DCAT.byteSize, Literal(dist.byte_size, datatype=XSD.nonNegativeInteger)))
        other = getattr(dist, "licence_uri", "")
        dist_licence = self._licence(dist.licence, other) if dist.licence or other else licence
        if dist_licence is not None:
            add((node, DCT.license, dist_licence))
        if conditions is not None:
            add((node, DCT.rights, conditions))
        self._dates(node, dist, ds)
        return node

    # -- services and series --------------------------------------------------------------
    def service(self, service: Any, served: Iterable[URIRef]) -> URIRef:
        g = self.graph
        node = URIRef(f"{self.base}/id/service/{service.pk}")
        g.add((node, RDF.type, DCAT.DataService))
        _texts(g, node, DCT.title, service.title)
        _texts(g, node, DCT.description, service.description)
        g.add((node, DCT.publisher, self.agent(service.publisher)))
        g.add((node, DCAT.endpointURL, self._typed_once(service.endpoint_url, RDFS.Resource)))
        if service.endpoint_description:
            description = self._typed_once(service.endpoint_description, RDFS.Resource)
            g.add((node, DCAT.endpointDescription, description))
        rights = vocab.access_rights_uri(service.access_rights)
        g.add((node, DCT.accessRights, self._typed_once(rights, DCT.RightsStatement)))
        licence = self._licence(service.licence)
        if licence is not None:
            g.add((node, DCT.license, licence))
        for uri in served:
            g.add((node, DCAT.servesDataset, uri))
        return node

    def series(self, series: Any) -> URIRef:
        node = self._series.get(series.pk)
        if node is not None:
            return node
        g = self.graph
        node = URIRef(f"{self.base}/id/series/{series.pk}")
        self._series[series.pk] = node
        g.add((node, RDF.type, DCAT.DatasetSeries))
        _texts(g, node, DCT.title, series.title)
        _texts(g, node, DCT.description, series.description or series.title)
        g.add((node, DCT.publisher, self.agent(series.publisher)))
        return node


# -- queries --------------------------------------------------------------------------------
def prefetch(datasets: Sequence[Any]) -> list[DatasetRows]:
    """Distributions and dictionary flags of many datasets, in two queries."""
    from datalux.catalogue.models import Distribution, Variable

    ids = [d.pk for d in datasets]
    by_dataset: dict[int, list[Any]] = defaultdict(list)
    with_dictionary: set[int] = set()
    for chunk_start in range(0, len(ids), 900):  # SQLite's bound-parameter limit
        chunk = ids[chunk_start : chunk_start + 900]
        for dist in Distribution.objects.filter(dataset_id__in=chunk).order_by("pk"):
            by_dataset[dist.dataset_id].append(dist)
        with_dictionary.update(
            Variable.objects.filter(dataset_id__in=chunk).values_list("dataset_id", flat=True)
        )
    rows = [DatasetRows(d, by_dataset.get(d.pk, []), d.pk in with_dictionary) for d in datasets]
    _fetch_extensions(rows)
    return rows


def published_datasets() -> Any:
    """The datasets the public catalogue shows, in a stable order (for paging)."""
    from datalux.catalogue.models import Dataset, DatasetStatus

    return (
        Dataset.objects.filter(status=DatasetStatus.PUBLISHED)
        .select_related("publisher", "in_series", "in_series__publisher")
        .order_by("pk")
    )


@dataclass(frozen=True)
class Page:
    """Which slice of the catalogue a graph holds (Hydra paging)."""

    number: int
    size: int
    total: int
    url: str  # the collection URL without paging parameters, e.g. .../catalogue/dcat

    @property
    def last(self) -> int:
        return max(1, -(-self.total // self.size))

    def link(self, number: int) -> str:
        sep = "&" if "?" in self.url else "?"
        return f"{self.url}{sep}page={number}&page_size={self.size}"


def build_catalogue(sink: Sink, page: Page | None = None) -> list[str]:
    """Add the whole public catalogue (or one page of it) to ``sink``; return the PIDs of the
    records left out because their stored metadata cannot be exported (logged, and counted
    in an ``rdfs:comment`` of the root catalogue).

    The root is the local catalogue; harvested catalogues are ``dcat:catalog`` parts of it,
    each listing its own datasets. Data services and the results of reuse
    (:mod:`datalux.catalogue.dcat_products`) are described on the first page (or in the
    unpaged export); dataset series wherever one of their datasets is.
    """
    from datalux.catalogue.models import Catalogue, DataService

    builder = Builder(sink)
    queryset = published_datasets()
    if page is not None:
        start = (page.number - 1) * page.size
        datasets = list(queryset[start : start + page.size])
    else:
        datasets = list(queryset)
    rows = prefetch(datasets)
    by_catalogue: dict[int, list[URIRef]] = defaultdict(list)
    for row in rows:
        node = builder.checked_dataset(row)
        if node is not None:
            by_catalogue[row.dataset.catalogue_id].append(node)
    latest = dict(  # the same on every page: the newest change of each catalogue's records
        published_datasets()
        .order_by()
        .values_list("catalogue_id")
        .annotate(latest=Max("modified"))
        .values_list("catalogue_id", "latest")
    )
    catalogues = list(Catalogue.objects.select_related("publisher").order_by("-is_local", "pk"))
    local = [c for c in catalogues if c.is_local]
    root = local[0] if local else None
    services: list[URIRef] = []
    if page is None or page.number == 1:
        service_rows = list(DataService.objects.select_related("publisher").order_by("pk"))
        served: dict[int, list[URIRef]] = defaultdict(list)
        through = DataService.serves_datasets.through
        pairs = through.objects.filter(
            dataservice_id__in=[s.pk for s in service_rows],
            dataset__status="published",
        ).values_list("dataservice_id", "dataset__pid")
        for service_id, pid in pairs:
            served[service_id].append(URIRef(f"{builder.base}/id/dataset/{pid}"))
        for service in service_rows:
            services.append(builder.service(service, served.get(service.pk, [])))
        if root is not None:  # results of reuse (data products) in the platform's catalogue
            from datalux.catalogue.dcat_products import add_results

            described = {str(uri) for uris in by_catalogue.values() for uri in uris}
            by_catalogue[root.pk].extend(add_results(builder, described))
    harvested: list[URIRef] = []
    for catalogue in catalogues:
        if catalogue is root:
            continue
        if not by_catalogue.get(catalogue.pk) and page is not None and page.number > 1:
            continue
        harvested.append(
            builder.catalogue(
                catalogue,
                by_catalogue.get(catalogue.pk, []),
                modified=latest.get(catalogue.pk),
            )
        )
    if root is not None:
        root_node = builder.catalogue(
            root,
            by_catalogue.get(root.pk, []),
            services=services,
            sub_catalogues=harvested,
            modified=max(latest.values(), default=None),
        )
        if page is not None:
            _hydra(sink, root_node, page)
        if builder.skipped:
            note = (
                f"{len(builder.skipped)} dataset(s) left out of this export: their stored "
                f"metadata cannot be exported ({', '.join(builder.skipped[:20])})"
            )
            sink.add((root_node, RDFS.comment, Literal(note, lang="en")))
    return builder.skipped


def catalogue_graph(page: Page | None = None) -> Graph:
    """The whole public catalogue (or one page of it) as an rdflib graph."""
    graph = new_graph()
    build_catalogue(graph, page)
    return graph


def write_catalogue(out: BinaryIO, fmt: str, page: Page | None = None) -> list[str]:
    """Write the catalogue (or a page) as Turtle, RDF/XML or JSON-LD (UTF-8) to ``out``;
    return the PIDs of the records left out (see :func:`build_catalogue`).

    Turtle streams from a plain list of triples through :class:`TurtleWriter` (fast for
    10,000+ datasets); the other formats go through an rdflib graph.
    """
    _check_format(fmt)
    with _collector_paused():
        if fmt == "turtle":
            triples = TripleList()
            skipped = build_catalogue(triples, page)
            text = io.TextIOWrapper(out, encoding="utf-8", newline="\n")
            TurtleWriter(PREFIXES).write(triples, text)
            text.flush()
            text.detach()
            return skipped
        graph = new_graph()
        skipped = build_catalogue(graph, page)
        out.write(serialize(graph, fmt))
        return skipped


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while an export allocates its million objects.

    The export makes no reference cycles (reference counting frees everything), but the
    collector's full passes over a growing heap cost 30-50 % of a 10,000-dataset export
    (measured in ``bench/bench_dcat_export.py``).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def export_catalogue(fmt: str, page: Page | None = None) -> bytes:
    return export_catalogue_with_report(fmt, page)[0]


def export_catalogue_with_report(fmt: str, page: Page | None = None) -> tuple[bytes, list[str]]:
    """The catalogue (or a page) as bytes, and the PIDs of the records left out."""
    buffer = io.BytesIO()
    skipped = write_catalogue(buffer, fmt, page)
    return buffer.getvalue(), skipped


def _hydra(graph: Sink, root: URIRef, page: Page) -> None:
    """hydra:PartialCollectionView links (first, previous, next, last) for one page."""
    view = URIRef(page.link(page.number))
    graph.add((root, HYDRA.totalItems, Literal(page.total, datatype=XSD.nonNegativeInteger)))
    graph.add((root, HYDRA.view, view))
    graph.add((view, RDF.type, HYDRA.PartialCollectionView))
    graph.add((view, HYDRA.first, URIRef(page.link(1))))
    graph.add((view, HYDRA.last, URIRef(page.link(page.last))))
    if page.number > 1:
        graph.add((view, HYDRA.previous, URIRef(page.link(page.number - 1))))
    if page.number < page.last:
        graph.add((view, HYDRA.next, URIRef(page.link(page.number + 1))))
    graph.add((view, HYDRA.itemsPerPage, Literal(page.size, datatype=XSD.nonNegativeInteger)))


def dataset_graph(dataset: Any, *, with_catalogue: bool = False) -> Graph:
    """One dataset's description (with its distributions and linked objects).

    Works for unsaved or draft records too (used to validate a record before publication).
    """
    from datalux.catalogue.models import Variable

    graph = new_graph()
    builder = Builder(graph)
    distributions: list[Any] = []
    has_dictionary = False
    if dataset.pk is not None:
        distributions = list(dataset.distributions.order_by("pk"))
        has_dictionary = Variable.objects.filter(dataset_id=dataset.pk).exists()
    rows = DatasetRows(dataset, distributions, has_dictionary)
    _fetch_extensions([rows])
    node = builder.dataset(rows)
    if with_catalogue and dataset.catalogue_id:
        builder.catalogue(dataset.catalogue, [node])
    return graph


def parse(
    data: bytes | str, fmt: str, graph: Graph | None = None, *, base: str | None = None
) -> Graph:
    """Parse RDF into a graph (rdflib's JSON-LD parser warns about its own internals: muted).

    Relative IRIs resolve against ``base`` (the document's own address). Nothing is ever
    fetched: a JSON-LD ``@context`` given as an address comes from the packaged cache
    (:mod:`datalux.catalogue.jsonld_contexts`, which refuses any other), RDF/XML external
    entities are not expanded (the standard library's default, tested), and rdflib follows
    no ``owl:imports``.
    """
    graph = graph if graph is not None else Graph()
    if fmt == "json-ld":
        data = json.dumps(resolve_contexts(json.loads(data), base))
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="ConjunctiveGraph is deprecated", category=DeprecationWarning
        )
        graph.parse(data=data, format=fmt, publicID=base)
    return graph


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")


def serialize(graph: Graph, fmt: str) -> bytes:
    """Turtle, RDF/XML or JSON-LD bytes (UTF-8) of a graph."""
    _check_format(fmt)
    if fmt == "turtle":
        text = io.StringIO()
        TurtleWriter(PREFIXES).write(graph, text)
        return text.getvalue().encode("utf-8")
    if fmt == "json-ld":
        context = {prefix: str(ns) for prefix, ns in PREFIXES.items()}
        data = graph.serialize(format="json-ld", context=context, auto_compact=True)
        return data.encode("utf-8")
    return graph.serialize(format=fmt, encoding="utf-8")
