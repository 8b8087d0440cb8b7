"""Results of reuse (data products of kind ``result``) in the DCAT-AP 3.0.1 export.

Each result is a ``dcat:Dataset`` of the platform's catalogue, at ``/id/data-product/{pk}``
(its page is the landing page), described so that the official shapes accept it:

* ``dct:title``, ``dct:description`` (the results summary), ``dct:publisher`` (the
  organisation), ``dct:issued``, ``dct:license`` when one was given;
* ``dct:accessRights`` *restricted*: the description is public, the released files are held by
  the permit's named persons;
* ``prov:wasDerivedFrom`` every published dataset it was made from, and ``dct:source`` (whose
  class range is ``dcat:Dataset``) those described in the same document, so that a page of the
  export never points ``dct:source`` at something it does not describe;
* ``dct:relation`` the permit's entry in the public permit register (a ``foaf:Document``);
* ``prov:wasGeneratedBy`` the project (a ``prov:Activity`` at ``#project``) that ``prov:used``
  the exact code versions (``dcmitype:Software`` at ``#code-{n}``, each with its SHA-256 as an
  ``spdx:Checksum`` and its files as ``dct:hasPart``, each with its own checksum);
* one ``dcat:Distribution`` per released output (``/output/{i}``): its name, what it shows,
  its byte size, its SHA-256 (``spdx:checksum``), its format when the extension is known and
  the landing page as access URL. No download URL and nothing of a file's content: the export
  holds what the data product's page shows, no more.

A result whose stored description cannot be written is left out whole (logged and counted
like a dataset, as ``data-product-{pk}``).
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from rdflib import Literal, URIRef

from datalux.catalogue import vocabularies as vocab
from datalux.catalogue.dcat import (
    DCAT,
    DCT,
    FOAF,
    IANA_MEDIA_TYPES,
    RDF,
    RDFS,
    XSD,
    Builder,
    Terms,
    TripleList,
    _datetime,
)

logger = logging.getLogger("datalux.catalogue.dcat")

SPDX = Terms("http://spdx.org/rdf/terms#")
PROV = Terms("http://www.w3.org/ns/prov#")
DCMITYPE = Terms("http://purl.org/dc/dcmitype/")
SHA256 = re.compile(r"[0-9a-f]{64}")
EXTENSIONS = {"csv": "CSV", "json": "JSON", "parquet": "PARQUET", "xlsx": "XLSX"}


def product_uri(base: str, pk: int) -> str:
    return f"{base}/id/data-product/{pk}"


def product_page_path(pk: int) -> str:
    from django.urls import reverse

    return reverse("catalogue:data_product", args=[pk])


def published_results() -> Any:
    """The results of reuse the export describes, in a stable order."""
    from datalux.catalogue.models import DataProduct, DataProductKind

    return (
        DataProduct.objects.filter(kind=DataProductKind.RESULT)
        .select_related("organisation")
        .order_by("pk")
    )


def source_uris(base: str, products: Iterable[Any]) -> dict[int, list[str]]:
    """The published datasets each product was made from (one query)."""
    from datalux.catalogue.models import DataProduct, DatasetStatus

    ids = [p.pk for p in products]
    sources: dict[int, list[str]] = defaultdict(list)
    pairs = (
        DataProduct.datasets.through.objects.filter(
            dataproduct_id__in=ids, dataset__status=DatasetStatus.PUBLISHED
        )
        .order_by("dataset__pid")
        .values_list("dataproduct_id", "dataset__pid")
    )
    for product_id, pid in pairs:
        sources[product_id].append(f"{base}/id/dataset/{pid}")
    return sources


def _checksum(builder: Builder, subject: URIRef, node: URIRef, digest: Any) -> None:
    """``subject spdx:checksum node`` when ``digest`` is a SHA-256 in lower-case hex."""
    if not isinstance(digest, str) or not SHA256.fullmatch(digest):
        return
    add = builder.graph.add
    algorithm = builder._typed_once(SPDX.checksumAlgorithm_sha256, SPDX.ChecksumAlgorithm)
    add((subject, SPDX.checksum, node))
    add((node, RDF.type, SPDX.Checksum))
    add((node, SPDX.algorithm, algorithm))
    add((node, SPDX.checksumValue, Literal(digest, datatype=XSD.hexBinary)))


def describe(builder: Builder, product: Any, sources: list[str], described: set[str]) -> URIRef:
    """Add one result of reuse to the builder's graph (see the module docstring)."""
    from datalux.catalogue.views_products import register_entry_path

    g = builder.graph
    add = g.add
    uri = product_uri(builder.base, product.pk)
    node = URIRef(uri)
    add((node, RDF.type, DCAT.Dataset))
    add((node, DCT.title, Literal(product.title)))
    add((node, DCT.description, Literal(product.description or product.title)))
    add((node, DCT.identifier, Literal(uri)))
    add((node, DCT.publisher, builder.agent(product.organisation)))
    add((node, DCT.issued, _datetime(product.created_at)))
    landing = builder._typed_once(builder.base + product_page_path(product.pk), FOAF.Document)
    add((node, DCAT.landingPage, landing))
    rights = vocab.access_rights_uri(str(vocab.AccessRights.RESTRICTED))
    add((node, DCT.accessRights, builder._typed_once(rights, DCT.RightsStatement)))
    licence = builder._licence(product.licence)
    if licence is not None:
        add((node, DCT.license, licence))
    for source in sources:
        add((node, PROV.wasDerivedFrom, URIRef(source)))
        if source in described:
            add((node, DCT.source, URIRef(source)))
    versions = [v for v in product.code_versions or [] if isinstance(v, dict)]
    if product.permit_number or versions:
        project = URIRef(f"{uri}#project")
        add((node, PROV.wasGeneratedBy, project))
        add((project, RDF.type, PROV.Activity))
        label = (
            f"Project under permit {product.permit_number}"
            if product.permit_number
            else "Project that produced this result"
        )
        add((project, RDFS.label, Literal(label, lang="en")))
        if product.permit_number:
            register = builder.base + register_entry_path(product.permit_number)
            entry = builder._typed_once(register, FOAF.Document)
            add((node, DCT.relation, entry))
            add((project, DCT.relation, entry))
        for version in versions:
            number = int(version.get("number") or 0)
            code = URIRef(f"{uri}#code-{number}")
            add((project, PROV.used, code))
            add((code, RDF.type, DCMITYPE.Software))
            add((code, DCT.title, Literal(f"Code version {number}", lang="en")))
            add((code, DCT.identifier, Literal(str(number))))
            _checksum(builder, code, URIRef(f"{uri}#code-{number}-checksum"), version.get("sha256"))
            files = [f for f in version.get("files") or [] if isinstance(f, dict)]
            for i, file in enumerate(files, start=1):
                part = URIRef(f"{uri}#code-{number}-file-{i}")
                add((code, DCT.hasPart, part))
                add((part, RDF.type, DCMITYPE.Software))
                add((part, DCT.title, Literal(str(file.get("path", "")))))
                _checksum(builder, part, URIRef(f"{part}-checksum"), file.get("sha256"))
    outputs = [o for o in product.outputs or [] if isinstance(o, dict)]
    for i, output in enumerate(outputs, start=1):
        add((node, DCAT.distribution, _output(builder, uri, i, output, licence, landing)))
    return node


def _output(
    builder: Builder,
    uri: str,
    i: int,
    output: dict[str, Any],
    licence: URIRef | None,
    landing: URIRef,
) -> URIRef:
    add = builder.graph.add
    dist = URIRef(f"{uri}/output/{i}")
    name = str(output.get("name", "")) or f"output {i}"
    add((dist, RDF.type, DCAT.Distribution))
    add((dist, DCT.title, Literal(name)))
    if str(output.get("description", "")).strip():
        add((dist, DCT.description, Literal(str(output["description"]))))
    add((dist, DCAT.accessURL, landing))
    size = output.get("size")
    if isinstance(size, int) and size >= 0:
        add((dist, DCAT.byteSize, Literal(size, datatype=XSD.nonNegativeInteger)))
    file_type = EXTENSIONS.get(name.rsplit(".", 1)[-1].lower()) if "." in name else None
    if file_type:
        fmt = builder._typed_once(vocab.file_type_uri(file_type), DCT.MediaTypeOrExtent)
        add((dist, DCT.format, fmt))
        media = builder._typed_once(IANA_MEDIA_TYPES + vocab.MEDIA_TYPES[file_type], DCT.MediaType)
        add((dist, DCAT.mediaType, media))
    if licence is not None:
        add((dist, DCT.license, licence))
    _checksum(builder, dist, URIRef(f"{dist}#checksum"), output.get("sha256"))
    return dist


def add_results(builder: Builder, described: set[str]) -> list[URIRef]:
    """Describe every result of reuse; a result that cannot be written is left out whole."""
    products = list(published_results())
    sources = source_uris(builder.base, products)
    nodes: list[URIRef] = []
    for product in products:
        sink, buffer = builder.graph, TripleList()
        builder.graph = buffer
        try:
            node = describe(builder, product, sources.get(product.pk, []), described)
        except Exception:  # a stored value the writers cannot take: leave this result out
            logger.exception("data product %s could not be described", product.pk)
            own = product_uri(builder.base, product.pk)
            builder.graph = sink
            for triple in buffer:  # shared objects (agents, concepts) are marked as written
                subject = str(triple[0])
                if not (subject == own or subject.startswith((own + "#", own + "/"))):
                    sink.add(triple)
            builder.skipped.append(f"data-product-{product.pk}")
            continue
        finally:
            builder.graph = sink
        for triple in buffer:
            sink.add(triple)
        nodes.append(node)
    return nodes


def product_graph(product: Any) -> Any:
    """One result's description, alone (its sources by ``prov:wasDerivedFrom`` only)."""
    from datalux.catalogue.dcat import new_graph

    graph = new_graph()
    builder = Builder(graph)
    describe(builder, product, source_uris(builder.base, [product]).get(product.pk, []), set())
    return graph
