"""Authentic sources in the DCAT-AP 3.0.1 export (a :class:`DatasetExtension` of the catalogue).

A dataset that is an authentic source gets a *qualified attribution*::

    <dataset> prov:qualifiedAttribution <dataset#authentic-source> .
    <dataset#authentic-source> a prov:Attribution ;
        prov:agent <organisation> ;                       # the responsible body (foaf:Agent)
        dcat:hadRole <{base}/id/role/authentic-source> ;  # a dcat:Role (and skos:Concept)
        rdfs:comment "Authentic source for: ...; update frequency ...; quality commitment ..."@en .

Why this property: ``prov:qualifiedAttribution`` is the dataset property DCAT-AP 3.0.1
documents for "an Agent having some form of responsibility for the resource", and its
``prov:Attribution`` names the agent *and the role* it has (``dcat:hadRole``) - which is what
a designation says: this body answers for this dataset as the authentic source of these items.
The alternatives say something else: ``dct:conformsTo`` names a standard the data follow,
``adms:status`` the record's life-cycle status, and ``dcat:qualifiedRelation`` a relation to
another *resource*, not to the body that answers for it. The items, the update frequency and the
quality commitment are text of the attribution (``rdfs:comment``): DCAT-AP has no property for
them, and the shapes leave ``prov:Attribution`` open.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rdflib import Literal, URIRef

from datalux.catalogue.dcat import (
    DCAT,
    RDF,
    RDFS,
    SKOS,
    Builder,
    DatasetExtension,
    Terms,
    register_dataset_extension,
)
from datalux.catalogue.vocabularies import Frequency

PROV = Terms("http://www.w3.org/ns/prov#")
ROLE_PATH = "/id/role/authentic-source"


def fetch(dataset_ids: Sequence[int]) -> dict[int, Any]:
    """The designations of these datasets, with their responsible bodies (one query per 900)."""
    from datalux.onceonly.models import AuthenticSource

    found: dict[int, Any] = {}
    for start in range(0, len(dataset_ids), 900):  # SQLite's bound-parameter limit
        chunk = dataset_ids[start : start + 900]
        for source in AuthenticSource.objects.filter(dataset_id__in=chunk).select_related(
            "responsible_body"
        ):
            found[source.dataset_id] = source
    return found


def statement(source: Any) -> str:
    """The attribution's text (English, like the other labels of the export)."""
    frequency = str(dict(Frequency.choices).get(source.update_frequency, source.update_frequency))
    return (
        f"Authentic source for: {', '.join(source.items)}. Update frequency: {frequency}. "
        f"Quality commitment: {source.quality_commitment}"
    )


def describe(builder: Builder, node: URIRef, source: Any) -> None:
    g = builder.graph
    attribution = URIRef(f"{node}#authentic-source")
    role = URIRef(builder.base + ROLE_PATH)
    g.add((node, PROV.qualifiedAttribution, attribution))
    g.add((attribution, RDF.type, PROV.Attribution))
    g.add((attribution, PROV.agent, builder.agent(source.responsible_body)))
    g.add((attribution, DCAT.hadRole, role))
    g.add((attribution, RDFS.comment, Literal(statement(source), lang="en")))
    if ("role", role) not in builder._typed:  # the role concept, once per document
        builder._typed.add(("role", role))
        g.add((role, RDF.type, DCAT.Role))
        g.add((role, RDF.type, SKOS.Concept))
        g.add((role, SKOS.prefLabel, Literal("Authentic source", lang="en")))


def register() -> None:
    register_dataset_extension(DatasetExtension("onceonly.authentic_source", fetch, describe))
