"""JSON-LD contexts from a packaged cache only: the RDF parser never fetches anything.

rdflib loads a JSON-LD ``@context`` given as an address (and a context's ``@import``) with
its own URL and file opener: a harvested document could make the server read a local file
or reach an internal address. Here:

* :func:`resolve_contexts` replaces, before rdflib sees the document, every context reference
  (top-level, in nodes, in a list, scoped in a term definition, ``@import``) by the copy
  packaged with the platform (``data/jsonld-contexts.json`` maps each address to one of the
  ``data/jsonld-context-*.jsonld`` files; matched exactly after resolving a relative
  reference against the document's address), and refuses a document referring to any other.
  The common contexts are packaged: DCAT-AP 3.0.0 and 3.0.1, the DCAT-AP examples' and the
  Project Open Data (DCAT-US 1.1) catalogue's (their sources and licences in
  ``data/jsonld-contexts.md``);
* and, in case a reference slipped through, rdflib's context loader is replaced for the
  whole process by one that refuses (:func:`install_guard`, run when this module is imported).

rdflib (7.x) applies the type-scoped context of the first of a node's types only; JSON-LD 1.1
applies those of all its types, in lexicographical order (the DCAT-AP examples type a
dataset ``["Dataset", "DatasetMemberOfADatasetSeries"]`` and define ``inSeries`` in the
second's context). :func:`install_guard` also puts in the rule of the specification.

To accept a new context, download it once by hand, review it (term definitions, no
``@import`` of a context that is not cached too), add the file and its addresses.
"""

from __future__ import annotations

import functools
import json
import urllib.parse
from pathlib import Path
from typing import Any

CACHE_FILE = Path(__file__).parent / "data" / "jsonld-contexts.json"  # address -> file name
MAX_DEPTH = 64  # contexts within contexts (a cached context may refer to another)
MAX_NESTING = 400  # JSON objects within objects (under Python's recursion limit)


class RemoteContextRefused(ValueError):
    """A JSON-LD document refers to a context that is not in the packaged cache."""


@functools.cache
def _cache(path: Path) -> dict[str, Any]:
    """The packaged contexts by address: the index maps each to a file beside it (or, in a
    test's index, to the context document itself)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    found: dict[str, Any] = {}
    for url, entry in data.items():
        if isinstance(entry, str):
            entry = json.loads((path.parent / Path(entry).name).read_text(encoding="utf-8"))
        found[str(url)] = entry
    return found


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


def _context_for_types(self: Any, node: Any) -> Any:
    """rdflib's ``Context.get_context_for_type`` with the rule of JSON-LD 1.1: the
    type-scoped contexts of *all* the node's types apply, in lexicographical order of the
    types (rdflib applies the first type's only), and none propagates to nested nodes."""
    if self.version >= 1.1 and isinstance(node, dict):
        types = self.get_type(node)
        types = types if isinstance(types, list) else [types] if types else []
        scoped = None
        for name in sorted(t for t in types if isinstance(t, str)):
            term = self.terms.get(name)
            if term is not None and term.context:
                base = (
                    scoped
                    if scoped is not None
                    else (self.parent if self.propagate is False else self)
                )
                nested = base._subcontext(term.context, propagate=False)
                nested.parent = self.parent if self.propagate is False else self
                scoped = nested
        if scoped is not None:
            return scoped
    return self.parent if self.propagate is False else self


def install_guard() -> None:
    """Replace rdflib's JSON-LD context loader (it opens URLs and files) with a refusal, and
    its type-scoped contexts with the specification's rule."""
    from rdflib.plugins.shared.jsonld import context

    context.source_to_json = _refuse  # type: ignore[assignment]
    context.Context.get_context_for_type = _context_for_types  # type: ignore[method-assign]


install_guard()
