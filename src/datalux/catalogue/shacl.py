"""Validation against the official DCAT-AP 3.0.1 SHACL shapes, with findings a steward can act on.

The shapes are the SEMIC files ``dcat-ap-SHACL.ttl`` (mandatory properties, cardinalities,
node kinds) and ``ranges.ttl`` (class ranges), copied unmodified into ``data/shapes/`` so the
platform needs nothing outside its package at run time. Two known defects of the files are
worked around when they are loaded (see ``data/shapes/README.md``): ``sh:property`` links to
shapes defined nowhere are dropped (pyshacl refuses to run with them), and the class-range
shapes need an ``rdf:type`` on every linked object, which :mod:`datalux.catalogue.dcat` adds.

Each finding is ``{"severity", "focus", "path", "message"}``: severity ``Violation``,
``Warning`` or ``Info``; focus the IRI of the described thing; path the property as a short
name (``dct:description``); message a plain sentence naming what is wrong and what to do.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from rdflib import RDF, Graph, URIRef
from rdflib.namespace import SH

SHAPE_FILES = ("dcat-ap-SHACL.ttl", "ranges.ttl")
SEVERITIES = ("Violation", "Warning", "Info")

# What the things the shapes target are called, for messages.
_CLASS_NAMES = {
    "http://www.w3.org/ns/dcat#Catalog": "catalogue",
    "http://www.w3.org/ns/dcat#Dataset": "dataset",
    "http://www.w3.org/ns/dcat#Distribution": "distribution",
    "http://www.w3.org/ns/dcat#DataService": "data service",
    "http://www.w3.org/ns/dcat#DatasetSeries": "dataset series",
    "http://www.w3.org/ns/dcat#CatalogRecord": "catalogue record",
    "http://xmlns.com/foaf/0.1/Agent": "organisation (agent)",
    "http://www.w3.org/2006/vcard/ns#Kind": "contact point",
    "http://purl.org/dc/terms/PeriodOfTime": "period of time",
    "http://purl.org/dc/terms/Location": "place",
    "http://purl.org/dc/terms/LicenseDocument": "licence",
    "http://purl.org/dc/terms/RightsStatement": "rights statement",
    "http://purl.org/dc/terms/Frequency": "update frequency",
    "http://purl.org/dc/terms/Standard": "standard",
    "http://purl.org/dc/terms/MediaType": "media type",
    "http://purl.org/dc/terms/MediaTypeOrExtent": "file format",
    "http://purl.org/dc/terms/LinguisticSystem": "language",
    "http://www.w3.org/ns/adms#Identifier": "identifier",
    "http://www.w3.org/2004/02/skos/core#Concept": "concept (code-list entry)",
    "http://www.w3.org/2004/02/skos/core#ConceptScheme": "code list",
    "http://xmlns.com/foaf/0.1/Document": "web page",
}


@dataclass(frozen=True)
class ShaclResult:
    """Whether a graph conforms (no Violation) and the findings, Violations first."""

    conforms: bool
    findings: list[dict[str, str]] = field(default_factory=list)

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f["severity"] == severity)

    @property
    def violations(self) -> list[dict[str, str]]:
        return [f for f in self.findings if f["severity"] == "Violation"]


def _prune_dangling_property_shapes(graph: Graph) -> int:
    """Drop ``sh:property`` links to shapes without ``sh:path`` (defined in no loaded file)."""
    dangling = [
        (s, o) for s, o in graph.subject_objects(SH.property) if graph.value(o, SH.path) is None
    ]
    for s, o in dangling:
        graph.remove((s, SH.property, o))
    return len(dangling)


@lru_cache(maxsize=1)
def shapes_graph() -> Graph:
    """The DCAT-AP 3.0.1 shapes (template + class ranges), loaded once per process."""
    graph = Graph()
    folder = resources.files("datalux.catalogue") / "data" / "shapes"
    for name in SHAPE_FILES:
        graph.parse(data=(folder / name).read_text(encoding="utf-8"), format="turtle")
    _prune_dangling_property_shapes(graph)
    return graph


@lru_cache(maxsize=1)
def _names() -> Graph:
    """A graph holding only the prefixes findings use (dct:, dcat:, foaf:...)."""
    from datalux.catalogue.dcat import new_graph

    return new_graph()


def _a(noun: str) -> str:
    return f"an {noun}" if noun[:1].lower() in "aeiou" else f"a {noun}"


_lock = threading.Lock()  # pyshacl is not documented as thread-safe on a shared shapes graph


def _short(graph: Graph, term: Any) -> str:
    if term is None:
        return ""
    if isinstance(term, URIRef):
        try:
            return graph.namespace_manager.normalizeUri(term).strip("<>")
        except Exception:  # a name that cannot be shortened stays whole
            return str(term)
    return str(term)


def _thing(data: Graph, focus: Any) -> str:
    for rdf_type in data.objects(focus, RDF.type):
        name = _CLASS_NAMES.get(str(rdf_type))
        if name:
            return name
    return "resource"


def _message(shapes: Graph, data: Graph, results: Graph, result: Any, focus: Any, path: str) -> str:
    """A sentence saying what is wrong, on what, and what to do about it."""
    source = results.value(result, SH.sourceShape)
    component = _short(results, results.value(result, SH.sourceConstraintComponent))
    component = component.rsplit(":", 1)[-1].rsplit("#", 1)[-1]
    name = str(shapes.value(source, SH.name) or path) if source is not None else path
    explanation = str(shapes.value(source, SH.description) or "") if source is not None else ""
    thing = _thing(data, focus)
    value = results.value(result, SH.value)
    shown = _short(_names(), value) if value is not None else ""
    if component == "MinCountConstraintComponent":
        text = f"The {thing} has no {name} ({path}): DCAT-AP requires one; add it."
    elif component == "MaxCountConstraintComponent":
        limit = shapes.value(source, SH.maxCount) if source is not None else None
        text = f"The {thing} has too many values for {name} ({path}): give at most {limit}."
    elif component == "ClassConstraintComponent":
        wanted = shapes.value(source, SH["class"]) if source is not None else None
        wanted_name = _CLASS_NAMES.get(str(wanted), _short(_names(), wanted))
        text = (
            f"The {name} ({path}) of the {thing} points to {shown}, which is not described as "
            f"{_a(wanted_name)}: link to one that is, or describe it with its type."
        )
    elif component == "NodeKindConstraintComponent":
        kind = _short(shapes, shapes.value(source, SH.nodeKind)) if source is not None else ""
        wanted_kind = "a text value" if kind.endswith("Literal") else "a link (IRI)"
        text = f"The {name} ({path}) of the {thing} must be {wanted_kind}, not {shown!r}."
    elif component == "DatatypeConstraintComponent":
        datatype = _short(_names(), shapes.value(source, SH.datatype)) if source is not None else ""
        text = f"The {name} ({path}) of the {thing} must be of type {datatype}, not {shown!r}."
    else:
        raw = results.value(result, SH.resultMessage)
        text = f"The {name} ({path}) of the {thing} is not valid: {raw or component}."
    if explanation:
        text += f" ({name}: {explanation.rstrip('.')}.)"
    return text


def validate_graph(graph: Graph) -> ShaclResult:
    """Validate a DCAT-AP graph against the 3.0.1 shapes; Warnings/Info do not break conformance."""
    from pyshacl import validate

    shapes = shapes_graph()
    with _lock:
        _conforms, results, _text = validate(
            graph,
            shacl_graph=shapes,
            inference="none",
            allow_warnings=True,
            abort_on_first=False,
            meta_shacl=False,
            advanced=False,
        )
    findings: list[dict[str, str]] = []
    assert isinstance(results, Graph)
    for result in results.subjects(RDF.type, SH.ValidationResult):
        severity_term = results.value(result, SH.resultSeverity)
        severity = str(severity_term).rsplit("#", 1)[-1] if severity_term else "Violation"
        focus = results.value(result, SH.focusNode)
        path = _short(_names(), results.value(result, SH.resultPath))
        findings.append(
            {
                "severity": severity if severity in SEVERITIES else "Violation",
                "focus": str(focus) if focus is not None else "",
                "path": path,
                "message": _message(shapes, graph, results, result, focus, path),
            }
        )
    order = {s: i for i, s in enumerate(SEVERITIES)}
    findings.sort(key=lambda f: (order[f["severity"]], f["focus"], f["path"], f["message"]))
    conforms = not any(f["severity"] == "Violation" for f in findings)
    return ShaclResult(conforms=conforms, findings=findings)


def validate_dataset(dataset: Any) -> ShaclResult:
    """Validate one dataset record (with distributions and linked objects) before publication."""
    from datalux.catalogue.dcat import dataset_graph

    return validate_graph(dataset_graph(dataset))
