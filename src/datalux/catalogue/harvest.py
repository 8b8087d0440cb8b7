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
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.sax import SAXParseException

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django_tasks import task
from rdflib import Graph

from datalux.accounts.models import Organisation
from datalux.accounts.permissions import has_permission
from datalux.accounts.roles import Permission
from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.catalogue.dcat import HYDRA, parse
from datalux.catalogue.fetch import AllowList, FetchError, address_problem, fetch_url
from datalux.catalogue.harvest_import import (
    HarvestReport,
    TooManyWithdrawals,
    import_graph,
    withdraw_limit_percent,
)
from datalux.catalogue.jsonld_contexts import RemoteContextRefused
from datalux.catalogue.models import (
    Catalogue,
    HarvestRun,
    HarvestRunStatus,
    HarvestSource,
)
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


class HarvestError(Exception):
    """A run or a registration that cannot go on; the message says what is wrong and the fix."""


class HarvestHeld(HarvestError):
    """The run would have withdrawn more of the source's records than the limit allows:
    nothing changed, and the run waits for an operator to confirm or discard it."""

    def __init__(self, message: str, run: HarvestRun) -> None:
        super().__init__(message)
        self.run = run


@dataclass
class Document:
    data: bytes
    content_type: str
    location: str  # what messages call it: the address the operator gave, or "page N of" it
    base: str = ""  # where relative IRIs resolve (the final URL after redirects, or the path)

    def __post_init__(self) -> None:
        self.base = self.base or self.location


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


# Turtle or N-Triples starting with a subject IRI (``<urn:x> <p> ...``), not an XML tag
_STARTS_WITH_IRI = re.compile(rb'<[^\s<>"{}|^`]*>\s*(?:<|_:|"|a\s|\[|[A-Za-z][\w.-]*:)')


def detect_format(document: Document) -> str:
    """``turtle``, ``xml`` or ``json-ld``: by content type, then extension, then content."""
    by_type = _CONTENT_TYPES.get(document.content_type.split(";")[0].strip().lower())
    if by_type:
        return by_type
    suffix = Path(urllib.parse.urlsplit(document.base).path).suffix.lower()
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    data = document.data.lstrip()
    start = data[:1]
    if start == b"<" and not _STARTS_WITH_IRI.match(data):
        return "xml"
    if start in (b"{", b"["):
        return "json-ld"
    return "turtle"


def _place(text: str, offset: int) -> str:
    """'line L, column C' (from 1, in characters) of ``offset`` in ``text``."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"line {line}, column {column}"


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace").removeprefix("\ufeff")


def _where(exc: Exception, data: bytes) -> str:
    """'line L, column C' of a parse error, when the parser says."""
    if isinstance(exc, SAXParseException):
        return f"line {exc.getLineNumber()}, column {(exc.getColumnNumber() or 0) + 1}"
    if isinstance(exc, json.JSONDecodeError):
        return f"line {exc.lineno}, column {exc.colno}"
    if hasattr(exc, "lines") and hasattr(exc, "_i"):  # rdflib notation3 BadSyntax
        # Its offset counts characters of the decoded document (``_str`` is that text in
        # UTF-8) and its line counter lags after some tokens: both are recomputed from the
        # offset. -1 means the parser ran off the end; a blank before the offending token
        # is skipped, so that the place is the token's.
        raw = getattr(exc, "_str", b"")
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw or "")
        offset = int(exc._i)
        if not 0 <= offset <= len(text):
            offset = len(text)
        while offset < len(text) and text[offset] in " \t":
            offset += 1
        return _place(text, offset)
    if isinstance(exc, AssertionError | IndexError):  # rdflib Turtle: cut inside a token
        text = _text(data)
        return _place(text, len(text.rstrip(" \t\r\n")))
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
    if isinstance(exc, AssertionError | IndexError):
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


# -- the run --------------------------------------------------------------------------------
def _require_operator(by: Any) -> None:
    if by is not None and not has_permission(by, Permission.MANAGE_ORGANISATIONS):
        raise PermissionDenied(_("only platform administrators can manage harvest sources"))


def register_source(
    *,
    name: str,
    url: str,
    publisher: Organisation,
    by: Any = None,
    every_hours: int | None = None,
) -> HarvestSource:
    """Register a remote catalogue to harvest; it gets its own (non-local) catalogue.
    ``every_hours``: harvested by the scheduler that often (None: by hand only)."""
    from datalux.catalogue.harvest_sources import check_every

    _require_operator(by)
    every_hours = check_every(every_hours)
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
            name=name,
            url=url,
            publisher=publisher,
            catalogue=catalogue,
            harvest_every_hours=every_hours,
        )
        record(
            EventKind.HARVEST_SOURCE_REGISTERED,
            actor=by,
            organisation=publisher,
            obj=source,
            details={"name": name, "url": url[:200], "every_hours": every_hours},
        )
    return source


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
    except TooManyWithdrawals as held:
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
    held: TooManyWithdrawals | None = None,
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
    held: TooManyWithdrawals,
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
