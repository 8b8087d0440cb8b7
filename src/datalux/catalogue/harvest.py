"""Harvesting remote DCAT-AP catalogues (udata, CKAN, piveau...) into the platform's catalogue.

A run, for one :class:`~datalux.catalogue.models.HarvestSource`:

1. fetch the document (size limit and timeouts), following Hydra ``next`` pages as udata
   and CKAN publish them, each page once. Only ``http(s)://`` URLs on public addresses
   (checked at every connection and redirect by :mod:`datalux.catalogue.fetch`; an operator
   may list internal hosts in ``DATALUX_HARVEST_ALLOWED_HOSTS``), or a file inside the one
   folder an operator names in ``DATALUX_HARVEST_FILE_DIR``;
2. parse it (Turtle, RDF/XML or JSON-LD, by content type, then extension, then first
   character) without fetching anything (JSON-LD contexts from the packaged cache only); a
   parse error stops the run with the line and column at fault, never quoting the document;
3. map every ``dcat:Dataset`` to a Dataset record of the source's own catalogue, keyed by its
   remote id (the dataset IRI, or its ``dct:identifier`` when it is a blank node); records
   that are this platform's own (our URIs or PIDs, e.g. a remote re-publishing our catalogue)
   are skipped, so two catalogues harvesting each other never loop. A harvested record
   belongs to the source's organisation whatever publisher it names (one of ours, say), is
   open data (a record restricted at its source is skipped: access to data held here is
   granted here only), carries no legal basis or conditions of ours, and its pages show it as
   harvested with its addresses as external links;
4. in one transaction: create new records, update changed ones, withdraw those no longer in
   the source, validate them all against the DCAT-AP shapes (conforming records are
   published, the others stay drafts with their findings), delete the records withdrawn longer
   ago than the grace period (``DATALUX_HARVEST_GRACE_DAYS``), store the run
   (:class:`~datalux.catalogue.models.HarvestRun`: counts and per-record problems) and write
   the ``HARVEST_RUN`` audit event. A failed run changes no record; the failure itself is
   recorded as a run and in the audit log.

No mass withdrawal by accident: a run that would withdraw more than
``DATALUX_HARVEST_WITHDRAW_LIMIT_PERCENT`` of the source's records (an empty reply, one cut
short, a page missing) changes nothing and is *held*: an operator confirms it (the source is
read again and applied if it still says the same) or discards it
(:mod:`datalux.catalogue.harvest_runs`). A withdrawn record stays, out of the public search,
during the grace period, and comes back (same PID) if a later run sees it again.

Safe to repeat: a second run over an unchanged source changes nothing but ``last_harvested``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import os
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from xml.sax import SAXParseException

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django_tasks import task
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, SKOS

from datalux.accounts.models import Organisation
from datalux.accounts.permissions import has_permission
from datalux.accounts.roles import Permission
from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.catalogue import vocabularies as vocab
from datalux.catalogue.dcat import ADMS, DCAT, HYDRA, VCARD, parse
from datalux.catalogue.fetch import AllowList, FetchError, address_problem, fetch_url
from datalux.catalogue.jsonld_contexts import RemoteContextRefused
from datalux.catalogue.langtags import primary_language
from datalux.catalogue.models import (
    Catalogue,
    Dataset,
    DatasetStatus,
    Distribution,
    HarvestRun,
    HarvestRunStatus,
    HarvestSource,
)
from datalux.catalogue.pids import is_valid_pid
from datalux.core.absolute import base_url

logger = logging.getLogger("datalux.catalogue.harvest")

MAX_DOCUMENT_BYTES = 64 * 1024 * 1024  # per page
MAX_TOTAL_BYTES = 512 * 1024 * 1024  # per run
MAX_PAGES = 2000
TIMEOUT_SECONDS = 60  # per network operation
DOCUMENT_SECONDS = 600  # per document, however slowly it comes
USER_AGENT = "datalux-harvester/1"
ACCEPT = "text/turtle, application/rdf+xml;q=0.9, application/ld+json;q=0.8, */*;q=0.1"

FORMAT_NAMES = {"turtle": "Turtle", "xml": "RDF/XML", "json-ld": "JSON-LD"}
_CONTENT_TYPES = {
    "text/turtle": "turtle",
    "application/x-turtle": "turtle",
    "text/n3": "turtle",
    "application/rdf+xml": "xml",
    "application/xml": "xml",
    "text/xml": "xml",
    "application/ld+json": "json-ld",
    "application/json": "json-ld",
}
_EXTENSIONS = {
    ".ttl": "turtle",
    ".turtle": "turtle",
    ".rdf": "xml",
    ".xml": "xml",
    ".owl": "xml",
    ".jsonld": "json-ld",
    ".json": "json-ld",
}
_CC = "http://creativecommons.org/"
_LICENCE_ALIASES = {
    f"{_CC}licenses/by/4.0": "CC-BY-4.0",
    f"{_CC}publicdomain/zero/1.0": "CC0-1.0",
    f"{_CC}licenses/by-sa/4.0": "CC-BY-SA-4.0",
    "http://opendatacommons.org/licenses/odbl": "ODbL-1.0",
    "http://opendatacommons.org/licenses/odbl/1.0": "ODbL-1.0",
    "cc-by": "CC-BY-4.0",
    "cc-by-4.0": "CC-BY-4.0",
    "cc0": "CC0-1.0",
    "cc-zero": "CC0-1.0",
    "cc0-1.0": "CC0-1.0",
    "cc-by-sa": "CC-BY-SA-4.0",
    "cc-by-sa-4.0": "CC-BY-SA-4.0",
    "odc-odbl": "ODbL-1.0",
    "odbl": "ODbL-1.0",
    **{uri: key for key, uri in vocab.LICENCES.items()},
}
_URL_OK = URLValidator(schemes=["http", "https", "ftp"])
_EMAIL_OK = EmailValidator()


class HarvestError(Exception):
    """A run or a registration that cannot go on; the message says what is wrong and the fix."""


class HarvestHeld(HarvestError):
    """The run would have withdrawn more of the source's records than the limit allows:
    nothing changed, and the run waits for an operator to confirm or discard it."""

    def __init__(self, message: str, run: HarvestRun) -> None:
        super().__init__(message)
        self.run = run


class _TooManyWithdrawals(Exception):
    """Raised inside the run's transaction so that nothing of it is kept."""

    def __init__(self, gone: list[str], of: int) -> None:
        super().__init__(f"{len(gone)} of {of}")
        self.gone = gone
        self.of = of


@dataclass
class Document:
    data: bytes
    content_type: str
    location: str  # what messages call it: the address the operator gave, or "page N of" it
    base: str = ""  # where relative IRIs resolve (the final URL after redirects, or the path)

    def __post_init__(self) -> None:
        self.base = self.base or self.location


@dataclass
class HarvestReport:
    source: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    withdrawn: int = 0
    not_conforming: int = 0  # imported as drafts: DCAT-AP violations
    skipped_own: int = 0  # our own records, re-published by the remote
    skipped_invalid: int = 0
    deleted: int = 0  # withdrawn records past their grace period
    pages: int = 0
    digest: str = ""  # SHA-256 of the pages read, in order
    problems: list[str] = field(default_factory=list)

    @property
    def seen(self) -> int:
        return self.created + self.updated + self.unchanged

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "withdrawn": self.withdrawn,
            "not_conforming": self.not_conforming,
            "skipped_own": self.skipped_own,
            "skipped_invalid": self.skipped_invalid,
            "deleted": self.deleted,
            "pages": self.pages,
            "problems": self.problems[:50],
        }

    def summary(self) -> str:
        return (
            f"{self.source}: {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.withdrawn} withdrawn, "
            f"{self.not_conforming} kept as drafts (DCAT-AP violations), "
            f"{self.skipped_own} of our own skipped, {self.skipped_invalid} invalid skipped"
            + (f", {self.deleted} deleted after the grace period" if self.deleted else "")
        )


# -- fetching -------------------------------------------------------------------------------
def _is_own(url: str) -> bool:
    """True when ``url`` points at this platform (its catalogue export would loop): at its
    configured (or default) base URI, or at the address of the request being served."""
    theirs = urllib.parse.urlsplit(url)
    if theirs.scheme not in ("http", "https"):
        return False
    default = {"http": 80, "https": 443}
    try:
        their_port = theirs.port or default[theirs.scheme]
    except ValueError:
        return False
    for base in {base_url(), str(settings.DATALUX_BASE_URI)}:
        ours = urllib.parse.urlsplit(base)
        our_port = ours.port or default.get(ours.scheme, 0)
        if (theirs.hostname or "").lower() == (ours.hostname or "").lower() and (
            their_port == our_port
        ):
            return True
    return False


def _allow_list() -> AllowList:
    return AllowList.parse(getattr(settings, "DATALUX_HARVEST_ALLOWED_HOSTS", ()) or ())


def _check_host(location: str) -> None:
    """Refuse at once an address given literally (or ``localhost``) that is not public; host
    names are checked when the harvester connects (every address, at every redirect)."""
    host = (urllib.parse.urlsplit(location).hostname or "").lower()
    if not host:
        raise HarvestError(f"{location} names no host: give the catalogue's full URL")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host != "localhost" and not host.endswith(".localhost"):
            return
        address = ipaddress.ip_address("127.0.0.1")
    problem = address_problem(address)
    if problem and not _allow_list().allows(host, address):
        raise HarvestError(
            f"{location} is {problem}: the harvester only reaches public addresses; an "
            "operator may list an internal catalogue in DATALUX_HARVEST_ALLOWED_HOSTS"
        )


def check_location(location: str) -> None:
    """Refuse locations the harvester cannot or must not read (with the reason and the fix)."""
    if not location or not location.strip():
        raise HarvestError("give the URL of a DCAT-AP document")
    scheme = urllib.parse.urlsplit(location).scheme.lower()
    if scheme in ("http", "https"):
        if _is_own(location):
            raise HarvestError(
                f"{location} is this platform's own address ({base_url()}): harvesting our own "
                "catalogue would loop; register the remote catalogue's address instead"
            )
        _check_host(location)
        return
    if scheme in ("", "file") or len(scheme) == 1:  # a path (a Windows drive letter too)
        _checked_local_path(location, must_exist=False)
        return
    raise HarvestError(f"cannot harvest a {scheme}: address; use an http(s):// URL")


def _local_path(location: str) -> Path:
    if location.startswith("file://"):
        return Path(urllib.parse.unquote(urllib.parse.urlsplit(location).path))
    return Path(location)


def _file_dir() -> Path | None:
    folder = getattr(settings, "DATALUX_HARVEST_FILE_DIR", None)
    return Path(folder).resolve() if folder else None


def _checked_local_path(location: str, *, must_exist: bool = True) -> Path:
    """The file a local location names, inside the operator's harvest folder only (symbolic
    links resolved first); nothing is said about files elsewhere, existing or not."""
    folder = _file_dir()
    if folder is None:
        raise HarvestError(
            "local files are not harvested here: give the http(s):// URL of the catalogue "
            "(an operator may name a folder of DCAT-AP files in DATALUX_HARVEST_FILE_DIR)"
        )
    path = _local_path(location)
    if not path.is_absolute():
        path = folder / path
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):  # a loop of symbolic links
        raise HarvestError(f"{path} is not a readable file: check the path") from None
    if not resolved.is_relative_to(folder):
        raise HarvestError(
            f"{path} is outside the folder local files are harvested from ({folder}): put the "
            "catalogue there, or give its http(s):// URL"
        )
    if must_exist and not resolved.is_file():
        raise HarvestError(f"{path} is not a readable file: check the path")
    return resolved


def _read_local(path: Path, max_bytes: int, label: str) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        raise HarvestError(f"{label} is not a readable file: check the path") from None
    with os.fdopen(fd, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > max_bytes:
            raise HarvestError(
                f"{label} is {size} bytes, over the limit of {max_bytes}: split the catalogue"
            )
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise HarvestError(f"{label} is over the limit of {max_bytes} bytes: split the catalogue")
    return data


def _not_own(url: str) -> None:
    if _is_own(url):
        raise FetchError(
            "the address redirects to this platform: harvesting our own catalogue would loop"
        )


def fetch(
    location: str,
    *,
    max_bytes: int = MAX_DOCUMENT_BYTES,
    timeout: float = TIMEOUT_SECONDS,
    label: str = "",
) -> Document:
    """Read one document from an http(s) URL or a file in the harvest folder, refusing more
    than ``max_bytes``; messages call it ``label`` (default: ``location``)."""
    label = label or location
    check_location(location)
    scheme = urllib.parse.urlsplit(location).scheme.lower()
    if scheme not in ("http", "https"):
        path = _checked_local_path(location)
        return Document(_read_local(path, max_bytes, label), "", label, str(path))
    try:
        fetched = fetch_url(
            location,
            headers={"Accept": ACCEPT, "User-Agent": USER_AGENT},
            max_bytes=max_bytes,
            timeout=timeout,
            total_timeout=DOCUMENT_SECONDS,
            allowed_hosts=getattr(settings, "DATALUX_HARVEST_ALLOWED_HOSTS", ()) or (),
            check=_not_own,
            label=label,
        )
    except FetchError as exc:
        raise HarvestError(str(exc)) from None
    return Document(fetched.data, fetched.content_type, label, fetched.url)


def detect_format(document: Document) -> str:
    """``turtle``, ``xml`` or ``json-ld``: by content type, then extension, then content."""
    by_type = _CONTENT_TYPES.get(document.content_type.split(";")[0].strip().lower())
    if by_type:
        return by_type
    suffix = Path(urllib.parse.urlsplit(document.base).path).suffix.lower()
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    start = document.data.lstrip()[:1]
    if start == b"<" and not document.data.lstrip().startswith(b"<http"):
        return "xml"
    if start in (b"{", b"["):
        return "json-ld"
    return "turtle"


def _where(exc: Exception, data: bytes) -> str:
    """'line L, column C' of a parse error, when the parser says."""
    if isinstance(exc, SAXParseException):
        return f"line {exc.getLineNumber()}, column {(exc.getColumnNumber() or 0) + 1}"
    if isinstance(exc, json.JSONDecodeError):
        return f"line {exc.lineno}, column {exc.colno}"
    if hasattr(exc, "lines") and hasattr(exc, "_i"):  # rdflib notation3 BadSyntax
        text: bytes = getattr(exc, "_str", data) or data
        offset: int = exc._i
        column = offset - (text.rfind(b"\n", 0, offset) + 1) + 1
        return f"line {exc.lines + 1}, column {column}"
    located = _RDFXML_PLACE.search(str(exc)) if type(exc).__name__ == "ParserError" else None
    if located:  # rdflib RDF/XML: "SYSTEM-ID:LINE:COLUMN: message" (only the numbers are kept)
        return f"line {located.group(1)}, column {int(located.group(2)) + 1}"
    return ""


_RDFXML_PLACE = re.compile(r":(\d+):(\d+): ")


# A quoted token in a parser's message is text of the document unless it is punctuation.
_QUOTED = re.compile(r"\"([^\"]*)\"|'([^']*)'")


def _unquoted(message: str) -> str:
    def keep(match: re.Match[str]) -> str:
        token = match.group(1) if match.group(1) is not None else match.group(2)
        safe = len(token) <= 3 and not any(c.isalnum() for c in token)
        return match.group(0) if safe else "…"

    return _QUOTED.sub(keep, message)[:200]


def _reason(exc: Exception) -> str:
    """What the parser found wrong, in its own fixed words: never text of the document."""
    if hasattr(exc, "_why"):  # rdflib Turtle: fixed messages, some quoting a token
        return _unquoted(str(exc._why))
    if isinstance(exc, SAXParseException):  # expat's fixed messages
        return str(exc.getMessage())
    if isinstance(exc, json.JSONDecodeError):  # the json module's fixed messages
        return exc.msg
    if isinstance(exc, RemoteContextRefused):
        return str(exc)
    if isinstance(exc, UnicodeDecodeError):
        return "the document is not UTF-8 text"
    if isinstance(exc, IndexError):
        return "the document ends in the middle of a statement"
    if isinstance(exc, RecursionError):
        return "the document is nested too deeply"
    return f"the parser refused it ({type(exc).__name__})"


def _base(location: str) -> str:
    if urllib.parse.urlsplit(location).scheme.lower() in ("http", "https", "file"):
        return location
    return _local_path(location).resolve().as_uri()


def _key(location: str) -> str:
    """The same page, however it is written (a path or its ``file://`` URL)."""
    if urllib.parse.urlsplit(location).scheme.lower() in ("http", "https"):
        return location
    path = _local_path(location)
    folder = _file_dir()
    if folder is not None and not path.is_absolute():
        path = folder / path
    return path.resolve().as_uri()


def _same_origin(first: str, other: str) -> bool:
    """Next pages stay on the source's own server (or, for a file, in local files)."""
    a, b = urllib.parse.urlsplit(first), urllib.parse.urlsplit(other)
    if a.scheme in ("http", "https"):
        return b.scheme in ("http", "https") and a.netloc.lower() == b.netloc.lower()
    return b.scheme == "file"


def parse_document(document: Document, graph: Graph | None = None) -> Graph:
    """Parse into ``graph``; a clear HarvestError naming the format, place and reason."""
    fmt = detect_format(document)
    try:
        return parse(document.data, fmt, graph, base=_base(document.base))
    except Exception as exc:  # every parser has its own error types
        where = _where(exc, document.data)
        place = f" at {where}" if where else ""
        raise HarvestError(
            f"{document.location} is not valid {FORMAT_NAMES[fmt]}{place}: {_reason(exc)}. "
            "Nothing was imported; fix the document (or serve it with the right content type)."
        ) from None


def _next_page(graph: Graph) -> str | None:
    for predicate in (HYDRA.next, HYDRA.nextPage):
        for value in graph.objects(None, predicate):
            return str(value)
    return None


def read_source(location: str, report: HarvestReport, **limits: Any) -> Graph:
    """Fetch and parse every page of a source into one graph; each page is read once."""
    graph = Graph()
    seen: set[str] = set()
    total = 0
    digest = hashlib.sha256()
    url: str | None = location
    number = 1
    while url is not None:
        # A next page's address comes from the remote: messages name it by its number.
        label = location if number == 1 else f"page {number} of {location}"
        key = _key(url)
        if key in seen:
            report.problems.append(f"page {number - 1} links back to a page already read: stopped")
            break
        if len(seen) >= MAX_PAGES:
            report.problems.append(f"stopped after {MAX_PAGES} pages")
            break
        seen.add(key)
        document = fetch(url, label=label, **limits)
        total += len(document.data)
        if total > MAX_TOTAL_BYTES:
            raise HarvestError(f"the source is over {MAX_TOTAL_BYTES} bytes in all: too large")
        digest.update(len(document.data).to_bytes(8, "big") + document.data)
        report.digest = digest.hexdigest()
        page = parse_document(document)
        report.pages += 1
        url = _next_page(page)
        for triple in page:
            if triple[1] not in (HYDRA.next, HYDRA.nextPage):
                graph.add(triple)
        if url is not None and not _same_origin(_base(location), url):
            report.problems.append(
                f"the next page of page {number} is not on the source's server: not followed"
            )
            url = None
        if url is not None and url.startswith("file:"):
            url = _local_path(url).as_posix()
        number += 1
    return graph


# -- mapping --------------------------------------------------------------------------------
def _texts(graph: Graph, node: Any, predicate: URIRef) -> dict[str, str]:
    """Texts by language: the primary subtag of each literal's tag (``fr-LU`` is ``fr``),
    English when untagged; a literal whose tag is not BCP 47 is left out."""
    texts: dict[str, str] = {}
    for value in graph.objects(node, predicate):
        if isinstance(value, Literal) and str(value).strip():
            language = primary_language(value.language) if value.language else "en"
            if language is not None:
                texts.setdefault(language, str(value).strip())
    return texts


def _first(graph: Graph, node: Any, *predicates: URIRef) -> Any:
    for predicate in predicates:
        value = graph.value(node, predicate, any=True)
        if value is not None:
            return value
    return None


def _code(value: Any, prefix: str, allowed: list[str]) -> str:
    text = str(value or "")
    code = text.rsplit("/", 1)[-1].upper() if text.startswith(prefix) else text.upper()
    return code if code in allowed else ""


def _licence(graph: Graph, nodes: list[Any]) -> str:
    for node in nodes:
        for value in graph.objects(node, DCTERMS.license):
            key = str(value).rstrip("/")
            alias = _LICENCE_ALIASES.get(key) or _LICENCE_ALIASES.get(key.lower())
            if alias is None:
                alias = _LICENCE_ALIASES.get(key.replace("https://", "http://"))
            if alias:
                return alias
    return ""


def _when(value: Any) -> datetime | None:
    if not isinstance(value, Literal):
        return None
    python = value.toPython()
    if isinstance(python, datetime):
        return python if timezone.is_aware(python) else python.replace(tzinfo=UTC)
    if isinstance(python, date):
        return datetime.combine(python, time(0), tzinfo=UTC)
    return None


def _day(value: Any) -> date | None:
    moment = _when(value)
    return moment.date() if moment else None


def _url(value: Any) -> str:
    text = str(value or "").strip()
    if not text or len(text) > 500 or not isinstance(value, URIRef):
        return ""
    try:
        _URL_OK(text)
    except ValidationError:
        return ""
    return text


def _email(value: Any) -> str:
    text = str(value or "").strip()
    text = text.removeprefix("mailto:")
    try:
        _EMAIL_OK(text)
    except ValidationError:
        return ""
    return text


@dataclass
class Mapped:
    """The fields of one remote dataset, ready to compare with (or create) a record."""

    remote_id: str
    fields: dict[str, Any]
    distributions: list[dict[str, Any]]


DISTRIBUTION_FIELDS = (
    "title",
    "description",
    "access_url",
    "download_url",
    "file_format",
    "media_type",
    "byte_size",
    "licence",
)


def _distribution(graph: Graph, node: Any) -> dict[str, Any]:
    file_format = _first(graph, node, DCTERMS.format)
    media_type = _first(graph, node, DCAT.mediaType)
    size = _first(graph, node, DCAT.byteSize)
    try:
        byte_size = int(str(size)) if size is not None else None
    except ValueError:
        byte_size = None
    media = str(media_type or "").removeprefix("https://www.iana.org/assignments/media-types/")
    format_code = str(file_format or "").rstrip("/").rsplit("/", 1)[-1].upper()
    return {
        "title": _texts(graph, node, DCTERMS.title),
        "description": _texts(graph, node, DCTERMS.description),
        "access_url": _url(_first(graph, node, DCAT.accessURL)),
        "download_url": _url(_first(graph, node, DCAT.downloadURL)),
        "file_format": format_code if 0 < len(format_code) <= 16 else "",
        "media_type": media[:100] if "/" in media else "",
        "byte_size": byte_size if byte_size is not None and byte_size >= 0 else None,
        "licence": _licence(graph, [node]),
    }


def map_dataset(graph: Graph, node: Any) -> Mapped | str:
    """The record fields of one ``dcat:Dataset``, or the reason it cannot be imported."""
    identifier = _first(graph, node, DCTERMS.identifier)
    if isinstance(node, URIRef):
        remote_id = str(node)
    elif identifier is not None and str(identifier).strip():
        remote_id = str(identifier).strip()
    else:
        return "a dataset with neither an IRI nor a dct:identifier cannot be tracked: skipped"
    if len(remote_id) > 500:
        return f"a dataset id is longer than 500 characters: skipped ({remote_id[:60]}...)"
    title = _texts(graph, node, DCTERMS.title)
    if not title:
        return f"{remote_id} has no dct:title: skipped"
    distribution_nodes = list(graph.objects(node, DCAT.distribution))
    contact = _first(graph, node, DCAT.contactPoint)
    period = _first(graph, node, DCTERMS.temporal)
    themes = sorted(
        {
            code
            for value in graph.objects(node, DCAT.theme)
            if (code := _code(value, f"{vocab.EU_AUTHORITY}/data-theme/", vocab.Theme.values))
        }
    )
    stated = _first(graph, node, DCTERMS.accessRights)
    rights = _code(stated, f"{vocab.EU_AUTHORITY}/access-right/", vocab.AccessRights.values)
    if stated is not None and rights != vocab.AccessRights.PUBLIC:
        # Access to data held here is granted here only: a record restricted (or with rights
        # we cannot read) at its source would look like one of ours to request.
        return (
            f"{remote_id} is not open data at its source (its dct:accessRights is not "
            "PUBLIC): only open records are harvested, skipped"
        )
    frequency = _code(
        _first(graph, node, DCTERMS.accrualPeriodicity),
        f"{vocab.EU_AUTHORITY}/frequency/",
        vocab.Frequency.values,
    )
    keywords = sorted({str(k).strip() for k in graph.objects(node, DCAT.keyword) if str(k).strip()})
    start = end = None
    if period is not None:
        start = _day(_first(graph, period, DCAT.startDate, URIRef("http://schema.org/startDate")))
        end = _day(_first(graph, period, DCAT.endDate, URIRef("http://schema.org/endDate")))
        if start and end and start > end:
            start, end = end, start
    version = _first(graph, node, DCAT.version, OWL.versionInfo)
    fields: dict[str, Any] = {
        "title": title,
        "description": _texts(graph, node, DCTERMS.description),
        "keywords": keywords,
        "themes": themes,
        "access_rights": vocab.AccessRights.PUBLIC,  # open-data portals often omit it
        "legal_basis": "",  # never a legal basis or conditions of ours
        "conditions_for_reuse": "",
        "licence": _licence(graph, [node, *distribution_nodes]),
        "contact_name": str(_first(graph, contact, VCARD.fn) or "")[:200] if contact else "",
        "contact_email": _email(_first(graph, contact, VCARD.hasEmail)) if contact else "",
        "temporal_start": start,
        "temporal_end": end,
        "spatial": sorted(
            {str(s) for s in graph.objects(node, DCTERMS.spatial) if isinstance(s, URIRef)}
        ),
        "accrual_periodicity": frequency or vocab.Frequency.UNKNOWN,
        "version": str(version or "")[:32],
        "issued": _when(_first(graph, node, DCTERMS.issued)),
    }
    distributions = [_distribution(graph, d) for d in distribution_nodes]
    distributions.sort(key=lambda d: (d["access_url"], d["download_url"], str(d["title"])))
    return Mapped(remote_id, fields, distributions)


def _identifiers(graph: Graph, node: Any) -> set[str]:
    values = {str(v) for v in graph.objects(node, DCTERMS.identifier)}
    for identifier in graph.objects(node, ADMS.identifier):
        values.update(str(v) for v in graph.objects(identifier, SKOS.notation))
    return values


def _own_records(graph: Graph, nodes: list[Any]) -> set[Any]:
    """The dataset nodes that describe records of this platform (our URIs or PIDs)."""
    prefix = f"{base_url()}/id/"
    own = {n for n in nodes if isinstance(n, URIRef) and str(n).startswith(prefix)}
    candidates: dict[str, list[Any]] = {}
    for node in nodes:
        for value in _identifiers(graph, node):
            if is_valid_pid(value):
                candidates.setdefault(value, []).append(node)
    if candidates:
        ours = Dataset.objects.filter(pid__in=list(candidates)).values_list("pid", flat=True)
        for pid in ours:
            own.update(candidates[pid])
    return own


# -- the run --------------------------------------------------------------------------------
def _require_operator(by: Any) -> None:
    if by is not None and not has_permission(by, Permission.MANAGE_ORGANISATIONS):
        raise PermissionDenied(_("only platform administrators can manage harvest sources"))


def register_source(
    *, name: str, url: str, publisher: Organisation, by: Any = None
) -> HarvestSource:
    """Register a remote catalogue to harvest; it gets its own (non-local) catalogue."""
    _require_operator(by)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("give the source a name, e.g. 'data.public.lu'")})
    try:
        check_location(url)
    except HarvestError as exc:
        raise ValidationError({"url": str(exc)}) from None
    if HarvestSource.objects.filter(name=name).exists():
        raise ValidationError(
            {"name": _("a harvest source named %(name)s exists already") % {"name": repr(name)}}
        )
    slug = f"harvest-{slugify(name)}"[:50] or "harvest"
    with transaction.atomic():
        base, n = slug, 1
        while Catalogue.objects.filter(slug=slug).exists():
            n += 1
            slug = f"{base}-{n}"
        catalogue = Catalogue.objects.create(
            slug=slug,
            title={"en": name},
            description={"en": f"Datasets harvested from {url}"},
            publisher=publisher,
            homepage=url if url.startswith(("http://", "https://")) and len(url) <= 200 else "",
            is_local=False,
        )
        source = HarvestSource.objects.create(
            name=name, url=url, publisher=publisher, catalogue=catalogue
        )
        record(
            EventKind.HARVEST_SOURCE_REGISTERED,
            actor=by,
            organisation=publisher,
            obj=source,
            details={"name": name, "url": url[:200]},
        )
    return source


def _slug(source: HarvestSource, mapped: Mapped) -> str:
    digest = hashlib.sha256(mapped.remote_id.encode()).hexdigest()[:10]
    title = mapped.fields["title"].get("en") or next(iter(mapped.fields["title"].values()))
    return f"{slugify(title)[:90]}-{source.pk}-{digest}".strip("-")


def _distribution_key(values: dict[str, Any]) -> tuple[Any, ...]:
    """Comparable whatever the database does to JSON key order (PostgreSQL jsonb sorts)."""
    return tuple((k, json.dumps(values[k], sort_keys=True)) for k in DISTRIBUTION_FIELDS)


def _current_distributions(dataset: Dataset) -> list[tuple[Any, ...]]:
    rows = dataset.distributions.all().values(*DISTRIBUTION_FIELDS)
    return sorted(_distribution_key(r) for r in rows)


# A missing description is reported by the DCAT-AP validation (the record stays a draft).
_NOT_CHECKED = ["pid", "description"]


def _apply(
    source: HarvestSource,
    mapped: Mapped,
    existing: Dataset | None,
    publisher: Organisation,
    now: datetime,
    report: HarvestReport,
) -> Dataset:
    fields = dict(mapped.fields)
    if existing is None:
        dataset = Dataset(
            catalogue=source.catalogue,
            publisher=publisher,
            slug=_slug(source, mapped),
            harvest_source=source,
            remote_id=mapped.remote_id,
            status=DatasetStatus.DRAFT,
            modified=now,
            last_harvested=now,
            **fields,
        )
        dataset.full_clean(exclude=_NOT_CHECKED)
        dataset.save()
        Distribution.objects.bulk_create(
            [Distribution(dataset=dataset, **d) for d in mapped.distributions]
        )
        report.created += 1
        return dataset
    if fields["issued"] is None:
        del fields["issued"]  # keep the date of first publication here
    changed = [k for k, v in fields.items() if getattr(existing, k) != v]
    if existing.publisher_id != publisher.pk:
        existing.publisher = publisher
        changed.append("publisher")
    new_distributions = sorted(_distribution_key(d) for d in mapped.distributions)
    distributions_changed = new_distributions != _current_distributions(existing)
    was_withdrawn = existing.status == DatasetStatus.WITHDRAWN
    for key in changed:
        if key != "publisher":
            setattr(existing, key, fields[key])
    existing.last_harvested = now
    if changed or distributions_changed or was_withdrawn:
        existing.modified = now
        if was_withdrawn:
            existing.status = DatasetStatus.DRAFT  # published again below if it conforms
            existing.withdrawn_at = None
        existing.full_clean(exclude=_NOT_CHECKED)
        existing.save()
        if distributions_changed:
            existing.distributions.all().delete()
            Distribution.objects.bulk_create(
                [Distribution(dataset=existing, **d) for d in mapped.distributions]
            )
        report.updated += 1
    else:
        existing.save(update_fields=["last_harvested"])
        report.unchanged += 1
    return existing


def _validate(datasets: list[Dataset], report: HarvestReport) -> None:
    """Validate the touched records in one SHACL run; publish those that conform."""
    from datalux.catalogue.dcat import Builder, new_graph, prefetch
    from datalux.catalogue.shacl import validate_graph

    if not datasets:
        return
    graph = new_graph()
    builder = Builder(graph)
    for rows in prefetch(datasets):
        builder.dataset(rows)
    result = validate_graph(graph)
    by_dataset: dict[str, list[dict[str, str]]] = {}
    uris = sorted((d.uri for d in datasets), key=len, reverse=True)
    for finding in result.findings:
        owner = next((u for u in uris if finding["focus"].startswith(u)), None)
        if owner is not None:
            by_dataset.setdefault(owner, []).append(finding)
    for dataset in datasets:
        findings = by_dataset.get(dataset.uri, [])
        conforms = not any(f["severity"] == "Violation" for f in findings)
        status = dataset.status
        if conforms and status == DatasetStatus.DRAFT:
            status = DatasetStatus.PUBLISHED
        elif not conforms and status == DatasetStatus.PUBLISHED:
            status = DatasetStatus.DRAFT
        if not conforms:
            report.not_conforming += 1
        if (dataset.shacl_conforms, dataset.shacl_report, dataset.status) != (
            conforms,
            findings,
            status,
        ):
            dataset.shacl_conforms = conforms
            dataset.shacl_report = findings
            if status == DatasetStatus.PUBLISHED and dataset.issued is None:
                dataset.issued = dataset.modified
            dataset.status = status
            dataset.save(update_fields=["shacl_conforms", "shacl_report", "status", "issued"])


def _remote_datasets(graph: Graph) -> Iterator[Any]:
    seen = set()
    for node in graph.subjects(RDF.type, DCAT.Dataset):
        if node not in seen:
            seen.add(node)
            yield node


def withdraw_limit_percent() -> int:
    return int(getattr(settings, "DATALUX_HARVEST_WITHDRAW_LIMIT_PERCENT", 20))


def grace_period() -> timedelta:
    return timedelta(days=int(getattr(settings, "DATALUX_HARVEST_GRACE_DAYS", 30)))


def import_graph(
    source: HarvestSource, graph: Graph, report: HarvestReport, *, allow_withdrawals: bool = False
) -> None:
    """Map the graph's datasets onto the source's records (call inside a transaction).

    Raises :class:`_TooManyWithdrawals` before changing anything when the records no longer in
    the graph are more than the limit's share of the source's records (unless
    ``allow_withdrawals``: an operator confirmed them).
    """
    nodes = list(_remote_datasets(graph))
    own = _own_records(graph, nodes)
    report.skipped_own = len(own)
    mapped_records: list[Mapped] = []
    seen_ids: set[str] = set()
    for node in sorted(nodes, key=_node_order):
        if node in own:
            continue
        mapped = map_dataset(graph, node)
        if isinstance(mapped, str):
            report.skipped_invalid += 1
            report.problems.append(mapped)
        elif mapped.remote_id in seen_ids:
            report.problems.append(f"{mapped.remote_id} appears twice: the first one is kept")
        else:
            seen_ids.add(mapped.remote_id)
            mapped_records.append(mapped)
    existing = {
        d.remote_id: d
        for d in Dataset.objects.filter(harvest_source=source).select_related("publisher")
    }
    active = [d for d in existing.values() if d.status != DatasetStatus.WITHDRAWN]
    gone = sorted((d for d in active if d.remote_id not in seen_ids), key=lambda d: d.remote_id)
    if gone and not allow_withdrawals and len(gone) * 100 > withdraw_limit_percent() * len(active):
        raise _TooManyWithdrawals([d.remote_id for d in gone], len(active))
    now = timezone.now()
    touched: list[Dataset] = []
    for mapped in mapped_records:
        # Whatever publisher the remote names (one of ours, say), the record is the source's.
        dataset = _apply(
            source, mapped, existing.get(mapped.remote_id), source.publisher, now, report
        )
        touched.append(dataset)
    _validate(touched, report)
    if gone:
        Dataset.objects.filter(pk__in=[d.pk for d in gone]).update(
            status=DatasetStatus.WITHDRAWN, modified=now, withdrawn_at=now
        )
        report.withdrawn = len(gone)
    _delete_expired(source, now, report)


def _node_order(node: Any) -> tuple[int, str]:
    """Datasets in a stable order (IRIs, then blank nodes), whatever order the parser gave."""
    return (0 if isinstance(node, URIRef) else 1, str(node))


def _delete_expired(source: HarvestSource, now: datetime, report: HarvestReport) -> None:
    """Delete the source's records withdrawn longer ago than the grace period; a record
    something else refers to (an access application, say) stays withdrawn, with a note."""
    withdrawn = Dataset.objects.filter(harvest_source=source, status=DatasetStatus.WITHDRAWN)
    withdrawn.filter(withdrawn_at__isnull=True).update(withdrawn_at=now)  # withdrawn before
    for dataset in withdrawn.filter(withdrawn_at__lte=now - grace_period()).order_by("pk"):
        try:
            with transaction.atomic():
                dataset.delete()
        except ProtectedError:
            report.problems.append(
                f"{dataset.remote_id} has been gone from the source longer than the grace "
                "period, but other records refer to it: kept, withdrawn"
            )
        else:
            report.deleted += 1


def _counts(report: HarvestReport) -> dict[str, int]:
    return {
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "withdrawn": report.withdrawn,
        "deleted": report.deleted,
        "skipped": report.skipped_own + report.skipped_invalid,
        "errors": len(report.problems),
        "pages": report.pages,
    }


def run_harvest(
    *,
    source: HarvestSource,
    by: Any = None,
    scheduled: bool = False,
    confirming: HarvestRun | None = None,
    **limits: Any,
) -> HarvestReport:
    """Harvest one source now; raises HarvestError (nothing changed) when it cannot be read,
    and :class:`HarvestHeld` (nothing changed) when it would withdraw too many records.

    ``confirming``: a held run an operator confirmed (see
    :func:`datalux.catalogue.harvest_runs.confirm_run`): its withdrawals are applied if the
    source still serves exactly what the held run read.
    """
    _require_operator(by)
    report = HarvestReport(source=source.name)
    started = timezone.now()
    try:
        graph = read_source(source.url, report, **limits)
        if confirming is not None and report.digest != confirming.digest:
            raise HarvestError(
                f"the source has changed since run {confirming.pk} was held: nothing was "
                "changed; run the source again and decide on the new run"
            )
        with transaction.atomic():
            import_graph(source, graph, report, allow_withdrawals=confirming is not None)
            run = _save_run(source, by, report, started, HarvestRunStatus.COMPLETED, scheduled)
            if confirming is not None:
                from datalux.catalogue.harvest_runs import mark_confirmed

                mark_confirmed(held=confirming, run=run, by=by)
    except _TooManyWithdrawals as held:
        raise _hold(source, by, report, started, held, scheduled) from None
    except HarvestError as exc:
        _record_failure(source, by, str(exc), started, report, scheduled)
        raise
    except ValidationError as exc:
        # Field names only: a validator's message may quote the harvested value.
        fields = sorted(exc.message_dict) if hasattr(exc, "error_dict") else []
        named = f" (invalid {', '.join(fields)})" if fields else ""
        message = f"a harvested record was refused{named}"
        _record_failure(source, by, message, started, report, scheduled)
        raise HarvestError(message + ". Nothing was imported.") from None
    logger.info("%s", report.summary())
    return report


def _save_run(
    source: HarvestSource,
    by: Any,
    report: HarvestReport,
    started: datetime,
    status: HarvestRunStatus,
    scheduled: bool,
    *,
    error: str = "",
    held: _TooManyWithdrawals | None = None,
) -> HarvestRun:
    """Store the run, its outcome on the source, and its ``HARVEST_RUN`` event (one
    transaction, the caller's when there is one)."""
    now = timezone.now()
    counts = _counts(report)
    if held:
        counts["withdrawn"] = len(held.gone)  # what it would have withdrawn
    if status == HarvestRunStatus.FAILED:
        counts["errors"] = max(1, counts["errors"])
    with transaction.atomic():
        run = HarvestRun.objects.create(
            source=source,
            status=status,
            started_at=started,
            ended_at=now,
            by=by if getattr(by, "is_authenticated", False) else None,
            scheduled=scheduled,
            problems=report.problems[:200],
            error=error[:1000],
            digest=report.digest,
            held_withdrawals=held.gone[:200] if held else [],
            held_of=held.of if held else 0,
            **counts,
        )
        source.last_run_at = now
        source.last_status = {"completed": "ok"}.get(status, status)
        source.last_report = {
            **report.as_dict(),
            "started_at": started.isoformat(),
            "run": run.pk,
            **({"error": error[:1000]} if error else {}),
        }
        if held:
            source.last_report["would_withdraw"] = len(held.gone)
            source.last_report["of"] = held.of
        source.save(update_fields=["last_run_at", "last_status", "last_report"])
        record(
            EventKind.HARVEST_RUN,
            actor=by,
            organisation=source.publisher,
            obj=source,
            details={
                "ok": status == HarvestRunStatus.COMPLETED,
                "run": run.pk,
                "status": status,
                **{k: getattr(run, k) for k in counts},
                **({"error": error[:300]} if error else {}),
                **({"held_of": run.held_of} if held else {}),
                "started_at": started.isoformat(),
            },
        )
    return run


def _hold(
    source: HarvestSource,
    by: Any,
    report: HarvestReport,
    started: datetime,
    held: _TooManyWithdrawals,
    scheduled: bool,
) -> HarvestHeld:
    """Record a run stopped before it withdrew too many records; the error to raise."""
    limit = withdraw_limit_percent()
    share = round(100 * len(held.gone) / held.of)
    message = (
        f"the run would withdraw {len(held.gone)} of the source's {held.of} records ({share} %, "
        f"over the limit of {limit} %): nothing was changed. An empty, cut-short or broken reply "
        "looks like this; if the source really dropped them, an operator confirms the run"
    )
    # The counts of what the run would have done are not kept: it did nothing.
    empty = HarvestReport(source=report.source, pages=report.pages, digest=report.digest)
    empty.problems = report.problems
    run = _save_run(
        source, by, empty, started, HarvestRunStatus.HELD, scheduled, error=message, held=held
    )
    logger.warning("%s: run %s held: %s", source.name, run.pk, message)
    return HarvestHeld(f"{message} (run {run.pk}).", run)


def _record_failure(
    source: HarvestSource,
    by: Any,
    message: str,
    started: datetime,
    report: HarvestReport | None = None,
    scheduled: bool = False,
) -> None:
    failed = HarvestReport(source=source.name)
    if report is not None:
        failed.pages, failed.digest = report.pages, report.digest
    _save_run(source, by, failed, started, HarvestRunStatus.FAILED, scheduled, error=message)


def find_source(name_or_url: str) -> HarvestSource:
    """A registered source by name, or by URL."""
    source = (
        HarvestSource.objects.filter(name=name_or_url).first()
        or HarvestSource.objects.filter(url=name_or_url).first()
    )
    if source is None:
        known = ", ".join(HarvestSource.objects.order_by("name").values_list("name", flat=True))
        raise HarvestError(
            f"no harvest source named {name_or_url!r}"
            + (f" (registered: {known})" if known else " (none is registered yet)")
            + "; register it first"
        )
    return source


@task()
def harvest_task(source_id: int, scheduled: bool = False) -> dict[str, Any]:
    """Run one harvest in the worker (``datalux manage db_worker``); returns the report."""
    source = HarvestSource.objects.get(pk=source_id)
    try:
        return {"ok": True, **run_harvest(source=source, scheduled=scheduled).as_dict()}
    except HarvestHeld as exc:
        return {"ok": False, "held": True, "run": exc.run.pk, "error": str(exc)}
    except HarvestError as exc:
        return {"ok": False, "error": str(exc)}
