"""Clear errors: remote JSON-LD contexts from the packaged cache (never fetched), and Turtle
errors at the right line and column."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from rdflib import URIRef

from datalux.catalogue import jsonld_contexts
from datalux.catalogue.dcat import parse
from datalux.catalogue.harvest import (
    Document,
    HarvestError,
    detect_format,
    parse_document,
    register_source,
    run_harvest,
)
from datalux.catalogue.models import Dataset
from tests.catalogue.test_harvest import holder
from tests.catalogue.test_harvest_safety import Server, loopback_allowed, server

pytestmark = pytest.mark.django_db
__all__ = ["holder", "loopback_allowed", "server"]

DATA = Path(jsonld_contexts.__file__).parent / "data"
FIXTURES = Path(__file__).parent / "fixtures" / "dcat"
DCAT = "http://www.w3.org/ns/dcat#"


def test_the_common_contexts_are_packaged_with_their_source_and_licence() -> None:
    index = json.loads((DATA / "jsonld-contexts.json").read_text())
    notes = (DATA / "jsonld-contexts.md").read_text()
    assert "https://semiceu.github.io/DCAT-AP/releases/3.0.1/context/dcat-ap.jsonld" in index
    assert "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld" in index
    for url, name in index.items():
        assert isinstance(jsonld_contexts.cached_context(url), dict)
        digest = hashlib.sha256((DATA / name).read_bytes()).hexdigest()
        row = next(line for line in notes.splitlines() if f"`{name}`" in line)
        assert digest in row and re.search(r"CC-BY 4\.0|public domain", row), name


def test_the_dcat_ap_examples_context_is_resolved_from_the_cache_never_fetched(
    holder: Any, loopback_allowed: None, server: Server
) -> None:
    """SEMIC's JSON-LD example names its context by address; served from a remote, the
    document is read with the packaged copy, and nothing but the document is fetched."""
    name = "semic-dcat-ap/example-bee-population-dataset-series-combined.jsonld"
    url = server.serve("/catalog.jsonld", (FIXTURES / name).read_text(), "application/ld+json")
    source = register_source(name="bees", url=url, publisher=holder)
    assert run_harvest(source=source).created == 4
    assert server.paths() == ["/catalog.jsonld"]


def test_type_scoped_contexts_of_every_type_apply() -> None:
    """The examples type datasets ["Dataset", "DatasetMemberOfADatasetSeries"]; inSeries is
    defined in the second type's context (rdflib alone applies the first one's only)."""
    name = "semic-dcat-ap/example-bee-population-dataset-series-combined.jsonld"
    graph = parse_document(Document((FIXTURES / name).read_bytes(), "", name))
    members = set(graph.subjects(URIRef(DCAT + "inSeries"), None))
    assert len(members) == 4
    document = {
        "@context": {
            "@version": 1.1,
            "A": {"@id": "http://x/A", "@context": {"p": {"@id": "http://x/p"}}},
            "B": {"@id": "http://x/B", "@context": {"q": {"@id": "http://x/q"}}},
            "o": {"@id": "http://x/o"},
        },
        "@id": "http://x/s",
        "@type": ["B", "A"],
        "p": "1",
        "q": "2",
        "o": {"@id": "http://x/n", "p": "not scoped here"},
    }
    graph = parse(json.dumps(document), "json-ld")
    predicates = {str(p) for _s, p, _o in graph}
    assert {"http://x/p", "http://x/q", "http://x/o"} <= predicates
    nested = {str(p) for p in graph.predicates(URIRef("http://x/n"), None)}
    assert nested == set()  # type-scoped terms do not reach nested nodes


def test_a_context_outside_the_cache_is_still_refused(
    holder: Any, tmp_path: Path, settings: Any
) -> None:
    settings.DATALUX_HARVEST_FILE_DIR = tmp_path
    path = tmp_path / "c.jsonld"
    path.write_text(json.dumps({"@context": "https://example.org/unknown.jsonld", "@id": "x"}))
    source = register_source(name="x", url=str(path), publisher=holder)
    with pytest.raises(HarvestError, match="not in the packaged cache"):
        run_harvest(source=source)


PREFIX = "@prefix dct: <http://purl.org/dc/terms/> .\n"


@pytest.mark.parametrize(
    ("text", "place", "reason"),
    [
        # non-ASCII text on an earlier line once moved the column (bytes counted, not characters)
        (
            PREFIX + '<a> dct:title "' + "é" * 40 + '" .\n<b> dct:title "y" ;\n   dct:x ] .\n',
            "line 4, column 10",
            "objectList expected",
        ),
        # the offending token, not the blank before it
        (PREFIX + '<a> dct:title "x" ; dct:x ] .\n', "line 2, column 27", "objectList expected"),
        # cut inside an address: the parser ran off the end (it said column -63)
        (PREFIX + '<a> dct:title "x" .\n<b> dct:rel <http://x', "line 3, column 22", "URI"),
        # cut inside a string: the end of the document
        (
            PREFIX + '<a> dct:title "x" ;\n dct:description "abc',
            "line 3, column 22",
            "ends in the middle of a statement",
        ),
        (PREFIX + '<a> dct:title "a\\qb" .\n', "line 2, column 17", "bad escape"),
        (PREFIX + '<a> dct:title "x\nabc" .\n', "line 2, column 17", "newline found"),
    ],
)
def test_turtle_errors_name_the_right_line_and_column(text: str, place: str, reason: str) -> None:
    with pytest.raises(HarvestError) as caught:
        parse_document(Document(text.encode(), "text/turtle", "c.ttl"))
    message = str(caught.value)
    assert f"is not valid Turtle at {place}:" in message and reason in message
    assert "é" not in message and "abc" not in message  # never the document's text


def test_a_document_starting_with_any_iri_is_read_as_turtle() -> None:
    for start in ("<http://x/a>", "<urn:x:a>", "<file:///a>", "<example-api:a>"):
        data = f'{start} <http://purl.org/dc/terms/title> "t" .\n'.encode()
        assert detect_format(Document(data, "", "document")) == "turtle", start
    xml = (
        b'<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>'
    )
    assert detect_format(Document(xml, "", "document")) == "xml"
    assert detect_format(Document(b"<rdf:RDF\n xmlns:rdf='x'>", "", "document")) == "xml"


def test_nothing_is_imported_from_a_broken_document(
    holder: Any, tmp_path: Path, settings: Any
) -> None:
    settings.DATALUX_HARVEST_FILE_DIR = tmp_path
    path = tmp_path / "c.ttl"
    path.write_text(
        PREFIX + '<https://x.lu/d> a <http://www.w3.org/ns/dcat#Dataset> ; dct:title "é'
    )
    source = register_source(name="x", url=str(path), publisher=holder)
    with pytest.raises(HarvestError, match="line 2, column"):
        run_harvest(source=source)
    assert not Dataset.objects.filter(harvest_source=source).exists()
