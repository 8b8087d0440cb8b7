"""The quality profile of a dataset version as W3C Data Quality Vocabulary (DQV) RDF.

Each figure of the profile (:mod:`datalux.dataplane.profile`) is a ``dqv:QualityMeasurement``
with ``dqv:isMeasurementOf`` one of the metrics below, ``dqv:value`` and ``dqv:computedOn``:

- the dataset version ``{dataset URI}/version/{n}`` (a ``dcat:Dataset`` with
  ``dcat:isVersionOf`` the dataset, DCAT 3) for the table's figures;
- a column of that version ``{version URI}/variable/{name}`` (``csvw:Column``) for the
  per-variable ones.

Metrics are minted under the platform's base URI, ``{DATALUX_BASE_URI}/id/quality-metric/
{name}``, each ``dqv:inDimension`` of the Linked Data quality dimensions (ldqd) that DQV
recommends: completeness, syntactic validity, conciseness (duplicates), timeliness.
Timeliness is recomputed at export time (days since the latest date and since the upload).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from rdflib import RDF, RDFS, SKOS, XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, PROV

from datalux.catalogue.models import DatasetVersion
from datalux.core.absolute import absolute
from datalux.dataplane.profile import timeliness

__all__ = ["METRICS", "metric_uri", "quality_graph", "quality_turtle", "version_uri"]

DQV = Namespace("http://www.w3.org/ns/dqv#")
LDQD = Namespace("http://www.w3.org/2016/05/ldqd#")
DCAT = Namespace("http://www.w3.org/ns/dcat#")
CSVW = Namespace("http://www.w3.org/ns/csvw#")

#: name -> (dimension, datatype, applies to, definition)
METRICS: dict[str, tuple[URIRef, URIRef, str, str]] = {
    "rows": (LDQD.completeness, XSD.integer, "table", "Number of rows of the table."),
    "completeness": (
        LDQD.completeness,
        XSD.double,
        "table",
        "Share of the table's cells (rows x dictionary variables) that hold a value.",
    ),
    "validity": (
        LDQD.syntacticValidity,
        XSD.double,
        "table",
        "Share of the values that have the dictionary's type and pass its allowed values, "
        "code list and national-number check digits.",
    ),
    "uniqueness": (
        LDQD.conciseness,
        XSD.double,
        "table",
        "Distinct rows divided by rows (1.0: no duplicate record).",
    ),
    "duplicateRows": (LDQD.conciseness, XSD.integer, "table", "Rows that repeat another row."),
    "daysSinceLatestDate": (
        LDQD.timeliness,
        XSD.integer,
        "table",
        "Days from the latest date in the table's date columns to the day of the export.",
    ),
    "daysSinceUpload": (
        LDQD.timeliness,
        XSD.integer,
        "table",
        "Days from the upload of this version to the day of the export.",
    ),
    "variableCompleteness": (
        LDQD.completeness,
        XSD.double,
        "variable",
        "Share of the rows where the variable holds a value.",
    ),
    "variableValidity": (
        LDQD.syntacticValidity,
        XSD.double,
        "variable",
        "Share of the variable's values that pass the dictionary's checks.",
    ),
    "variableUniqueness": (
        LDQD.conciseness,
        XSD.double,
        "variable",
        "Distinct values divided by values (1.0 for an identifier).",
    ),
}

_TABLE_FIGURES = {
    "completeness": "completeness",
    "validity": "validity",
    "uniqueness": "uniqueness",
    "duplicateRows": "duplicate_rows",
    "daysSinceLatestDate": "days_since_latest",
    "daysSinceUpload": "days_since_upload",
}
_VARIABLE_FIGURES = {
    "variableCompleteness": "completeness",
    "variableValidity": "validity",
    "variableUniqueness": "uniqueness",
}


def metric_uri(name: str) -> URIRef:
    return URIRef(absolute(f"/id/quality-metric/{name}"))


def version_uri(version: DatasetVersion) -> URIRef:
    return URIRef(f"{version.dataset.uri}/version/{version.number}")


def _literal(value: Any, datatype: URIRef) -> Literal:
    if datatype == XSD.integer:
        return Literal(int(value), datatype=XSD.integer)
    return Literal(float(value), datatype=XSD.double)


def quality_graph(version: DatasetVersion, now: dt.datetime | None = None) -> Graph:
    """The DQV graph of one version's quality profile (timeliness as of ``now``)."""
    now = now or dt.datetime.now(dt.UTC)
    graph = Graph()
    for prefix, namespace in (("dqv", DQV), ("ldqd", LDQD), ("dcat", DCAT), ("csvw", CSVW)):
        graph.bind(prefix, namespace)
    graph.bind("dct", DCTERMS)
    graph.bind("prov", PROV)

    used: set[str] = set()
    profile: dict[str, Any] = dict(version.published_quality)  # coarsened where protected
    kpis: dict[str, Any] = {**profile.get("kpis", {}), **timeliness(profile, now)}
    node = version_uri(version)
    graph.add((node, RDF.type, DCAT.Dataset))
    graph.add((node, DCAT.isVersionOf, URIRef(version.dataset.uri)))
    graph.add((node, DCAT.version, Literal(str(version.number))))
    graph.add(
        (node, DCTERMS.issued, Literal(version.uploaded_at.isoformat(), datatype=XSD.dateTime))
    )
    computed = profile.get("computed_at")
    counter = 0

    def measure(target: URIRef, metric: str, value: Any, at: str | None) -> None:
        nonlocal counter
        if value is None:
            return
        counter += 1
        m = URIRef(f"{node}/quality/{counter}")
        graph.add((m, RDF.type, DQV.QualityMeasurement))
        graph.add((m, DQV.isMeasurementOf, metric_uri(metric)))
        graph.add((m, DQV.computedOn, target))
        graph.add((m, DQV.value, _literal(value, METRICS[metric][1])))
        if at:
            graph.add((m, PROV.generatedAtTime, Literal(at, datatype=XSD.dateTime)))
        graph.add((target, DQV.hasQualityMeasurement, m))
        used.add(metric)

    if "rows" in profile:
        measure(node, "rows", profile["rows"], computed)
    for metric, key in _TABLE_FIGURES.items():
        at = now.isoformat() if metric.startswith("days") else computed
        measure(node, metric, kpis.get(key), at)
    for variable in profile.get("variables", []):
        if not variable.get("present", True):
            continue
        column = URIRef(f"{node}/variable/{quote(str(variable['name']), safe='')}")
        graph.add((column, RDF.type, CSVW.Column))
        graph.add((column, CSVW.name, Literal(str(variable["name"]))))
        graph.add((column, DCTERMS.isPartOf, node))
        for metric, key in _VARIABLE_FIGURES.items():
            measure(column, metric, variable.get(key), computed)

    for name in sorted(used):
        dimension, datatype, scope, definition = METRICS[name]
        uri = metric_uri(name)
        graph.add((uri, RDF.type, DQV.Metric))
        graph.add((uri, DQV.inDimension, dimension))
        graph.add((uri, DQV.expectedDataType, datatype))
        graph.add((uri, SKOS.prefLabel, Literal(name, lang="en")))
        graph.add((uri, SKOS.definition, Literal(f"{definition} (per {scope})", lang="en")))
        graph.add((dimension, RDF.type, DQV.Dimension))
        graph.add((dimension, RDFS.isDefinedBy, URIRef(str(LDQD))))
    return graph


def quality_turtle(version: DatasetVersion, now: dt.datetime | None = None) -> str:
    """:func:`quality_graph` serialised as Turtle."""
    return quality_graph(version, now).serialize(format="turtle")
