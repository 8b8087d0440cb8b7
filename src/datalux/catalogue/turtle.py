"""A streaming Turtle writer for large catalogue exports.

rdflib's Turtle serializer shortens every IRI through a prefix trie that grows with each new
"namespace" it meets; with one namespace per dataset (``.../DLX-...#contact``) its cost grows
with the square of the catalogue size (``bench/bench_dcat_export.py`` measures both). This
writer groups triples by subject, shortens IRIs only with the declared prefixes (one dict
look-up) and escapes the rest by the Turtle 1.1 grammar. Its output parses back with rdflib
to an isomorphic graph (tested).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

from rdflib import RDF, XSD, BNode, Literal, URIRef

_PN_LOCAL = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")  # a safe subset of Turtle's PN_LOCAL
_IRI_FORBIDDEN = re.compile(r'[\x00-\x20<>"{}|^`\\]')
_XSD_STRING = XSD.string
_STRING_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"})


def _escape_iri_char(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group(0)):04X}"


class TurtleWriter:
    """Writes triples (rdflib terms) as Turtle with the given prefixes."""

    def __init__(self, prefixes: Mapping[str, str]) -> None:
        self.prefixes = dict(prefixes)
        self._by_namespace = {str(ns): prefix for prefix, ns in self.prefixes.items()}
        self._cache: dict[str, str] = {}

    def iri(self, uri: str) -> str:
        cached = self._cache.get(uri)
        if cached is not None:
            return cached
        cut = max(uri.rfind("#"), uri.rfind("/")) + 1
        prefix = self._by_namespace.get(uri[:cut])
        local = uri[cut:]
        if prefix is not None and _PN_LOCAL.match(local):
            text = f"{prefix}:{local}"
            self._cache[uri] = text  # only shortened IRIs repeat often enough to keep
            return text
        return "<" + _IRI_FORBIDDEN.sub(_escape_iri_char, uri) + ">"

    def term(self, term: Any) -> str:
        kind = type(term)
        if kind is URIRef:
            return self._cache.get(term) or self.iri(str(term))
        if kind is Literal or isinstance(term, Literal):
            quoted = '"' + str(term).translate(_STRING_ESCAPES) + '"'
            if term.language:
                return f"{quoted}@{term.language}"
            datatype = term.datatype
            if datatype is not None and datatype != _XSD_STRING:
                return f"{quoted}^^{self.iri(str(datatype))}"
            return quoted
        if isinstance(term, URIRef):
            return self.iri(str(term))
        if isinstance(term, BNode):
            return f"_:{term}"
        raise TypeError(f"cannot write {type(term).__name__} as a Turtle term")

    def write(self, triples: Iterable[tuple[Any, Any, Any]], out: TextIO) -> int:
        """Write the triples grouped by subject; returns the number of distinct triples."""
        subjects: dict[Any, dict[Any, dict[Any, None]]] = {}
        for s, p, o in triples:
            predicates = subjects.get(s)
            if predicates is None:
                predicates = subjects[s] = {}
            objects = predicates.get(p)
            if objects is None:
                objects = predicates[p] = {}
            objects[o] = None
        for prefix, namespace in self.prefixes.items():
            out.write(f"@prefix {prefix}: <{namespace}> .\n")
        count = 0
        term = self.term
        rdf_type = RDF.type
        for subject, predicates in subjects.items():
            parts = []
            types = predicates.pop(rdf_type, None)
            if types:
                parts.append("a " + ", ".join(term(o) for o in types))
                count += len(types)
            for predicate, objects in predicates.items():
                parts.append(term(predicate) + " " + ", ".join(term(o) for o in objects))
                count += len(objects)
            out.write("\n" + term(subject) + " " + " ;\n    ".join(parts) + " .\n")
        return count
