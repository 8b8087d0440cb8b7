"""Identifier matching (record linkage) across pseudonymised datasets, and deduplication.

An exact join on a shared (keyed) identifier where both records have it, then probabilistic
matching (Splink: Fellegi-Sunter, trained by expectation-maximisation) on names, dates,
addresses and postcodes for the rest; a link table with match probabilities and bands
(match, clerical review), clusters carrying one person pseudonym, and a report with the
estimated blocking recall. See ``docs/adr/0004-record-linkage.md``.

    from datalux.privacy.linkage import link, load_spec, write_result
    result = link("hospital.csv", "registry.parquet", load_spec("spec.json"))
    write_result(result, "links.parquet", clusters_path="persons.parquet")
"""

from __future__ import annotations

from datalux.privacy.linkage.link import LinkageError, LinkResult, dedupe, link, write_result
from datalux.privacy.linkage.report import LinkReport
from datalux.privacy.linkage.spec import Kind, LinkSpec, SpecError, load_spec, parse_spec

__all__ = [
    "Kind",
    "LinkReport",
    "LinkResult",
    "LinkSpec",
    "LinkageError",
    "SpecError",
    "dedupe",
    "link",
    "load_spec",
    "parse_spec",
    "write_result",
]
