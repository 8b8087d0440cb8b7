"""JSON-LD contexts from a packaged cache only: the RDF parser never fetches anything.

rdflib loads a JSON-LD ``@context`` given as an address (and a context's ``@import``) with
its own URL and file opener: a harvested document could make the server read a local file
or reach an internal address. Here:

* :func:`resolve_contexts` replaces, before rdflib sees the document, every context reference
  (top-level, in nodes, in a list, scoped in a term definition, ``@import``) by the copy kept
  in ``data/jsonld-contexts.json`` (``{"address": {"@context": ...}}``, matched exactly
  after resolving a relative reference against the document's address), and refuses a
  document referring to any other;
* and, in case a reference slipped through, rdflib's context loader is replaced for the
  whole process by one that refuses (:func:`install_guard`, run when this module is imported).

To accept a new context, download it once by hand, review it (term definitions, no
``@import`` of a context that is not cached too) and add it to the JSON file.
"""

from __future__ import annotations

import functools
import json
import urllib.parse
from pathlib import Path
from typing import Any

CACHE_FILE = Path(__file__).parent / "data" / "jsonld-contexts.json"
MAX_DEPTH = 64  # contexts within contexts (a cached context may refer to another)
MAX_NESTING = 400  # JSON objects within objects (under Python's recursion limit)


class RemoteContextRefused(ValueError):
    """A JSON-LD document refers to a context that is not in the packaged cache."""


@functools.cache
def _cache(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {str(url): document for url, document in data.items()}


def cached_context(url: str) -> Any:
    """The ``@context`` value of the cached document at ``url``; refuses any other address."""
    document = _cache(CACHE_FILE).get(url)
    if not isinstance(document, dict) or "@context" not in document:
        raise RemoteContextRefused(
            "the JSON-LD document refers to a remote @context that is not in the packaged "
            "cache (the harvester never fetches one): ask the source for an inline context, "
            "or add a reviewed copy to datalux/catalogue/data/jsonld-contexts.json"
        )
    return document["@context"]


def _absolute(reference: str, base: str | None) -> str:
    return urllib.parse.urljoin(base, reference) if base else reference


def _context(value: Any, base: str | None, depth: int) -> Any:
    """A context value with every reference replaced by its cached content."""
    if depth > MAX_DEPTH:
        raise RemoteContextRefused("the JSON-LD contexts are nested too deeply")
    if isinstance(value, str):
        return _context(cached_context(_absolute(value, base)), base, depth + 1)
    if isinstance(value, list):
        out: list[Any] = []
        for item in value:
            resolved = _context(item, base, depth + 1)
            out.extend(resolved if isinstance(resolved, list) else [resolved])
        return out
    if isinstance(value, dict):
        value = dict(value)
        imported = value.pop("@import", None)
        if imported is not None:
            if not isinstance(imported, str):
                raise RemoteContextRefused("a JSON-LD @import is not an address")
            base_context = _context(imported, base, depth + 1)
            if not isinstance(base_context, dict):
                raise RemoteContextRefused("a JSON-LD @import does not name one context")
            value = {**base_context, **value}
        for term, definition in value.items():
            if isinstance(definition, dict) and "@context" in definition:  # scoped context
                value[term] = {
                    **definition,
                    "@context": _context(definition["@context"], base, depth + 1),
                }
        return value
    return value  # null (reset) or a value rdflib rejects itself


def resolve_contexts(document: Any, base: str | None = None, depth: int = 0) -> Any:
    """``document`` (parsed JSON) with every context reference resolved from the cache."""
    if depth > MAX_NESTING:
        raise RemoteContextRefused("the JSON-LD document is nested too deeply")
    if isinstance(document, list):
        return [resolve_contexts(item, base, depth + 1) for item in document]
    if isinstance(document, dict):
        out = {}
        for key, value in document.items():
            if key == "@context":
                out[key] = _context(value, base, depth + 1)
            else:
                out[key] = resolve_contexts(value, base, depth + 1)
        return out
    return document


def _refuse(source: Any, *args: Any, **kwargs: Any) -> Any:
    raise RemoteContextRefused(
        "the JSON-LD parser may not load a remote @context: resolve it from the packaged cache"
    )


def install_guard() -> None:
    """Replace rdflib's JSON-LD context loader (it opens URLs and files) with a refusal."""
    from rdflib.plugins.shared.jsonld import context

    context.source_to_json = _refuse  # type: ignore[assignment]


install_guard()
