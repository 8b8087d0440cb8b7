"""Synthetic demo population: a Luxembourg-like country's data holders, as Parquet files.

Pure library (numpy + pyarrow, no Django). Deterministic: the same ``persons``, ``seed`` and
``chunk_size`` give byte-identical files. Vectorised and streamed chunk by chunk, so 1M
persons take seconds and memory stays bounded.

Usage::

    from pathlib import Path
    from datalux.demo import population

    result = population.generate(Path("var/demo"), persons=5_000, seed=42)
    for t in result.tables:                  # one TableResult per holder table
        t.holder.name, t.holder_key          # the owning organisation (a Holder)
        t.name, t.title, t.description       # "hospital_stays", ...
        t.path, t.rows                       # the Parquet file and its row count
        [dict(c) for c in t.columns]         # name, type, nullable, description
        t.truth_path                         # None, or the ground-truth file (see below)
    result.total_rows, result.cross_border_workers, result.manifest_path

What is written under ``out_dir``:

- ``<holder key>/<table>.parquet`` for each table of :data:`HOLDERS`; each file's schema has
  the column descriptions in the field metadata and ``datalux.*`` keys in the file metadata.
- ``_truth/school_enrolments.parquet``: ``record_id -> national_id`` (and the ``noise``
  applied to that record), to measure record linkage. It is NOT data of any holder: never
  register it as a holder's file.
- ``manifest.json``: the same facts as :class:`GenerationResult`, paths relative to out_dir.

The holders (:data:`HOLDERS`, invented organisations, all "data holder", public sector):

- ``population_register``: the authentic source of residents (national number, names,
  sex, birth date, nationality, commune, postcode, address, arrival and death dates);
- ``hospital_federation``: ``hospital_stays`` 2020-2024 with ICD-10 primary diagnoses;
- ``health_insurance``: ``prescriptions`` (dispensed medicines, ATC codes) in 2024;
- ``social_security``: ``employment_spells`` since 2010 (NACE, ISCO-08, wage), including
  cross-border workers (about 45% of current employees) who are not in the register;
- ``education``: ``school_enrolments`` 2024-2025 WITHOUT national numbers, with realistic
  entry noise (typos, dropped accents, nicknames, mistyped dates, old addresses, gaps;
  rates in :data:`NOISE`).

Errors: :class:`PopulationError` (a ``ValueError``) for a bad request, raised before any
file is touched. Files are written under temporary names and moved into place only when all
are complete, so a failed run leaves earlier files as they were.

Reference lists shipped in ``data/`` (communes and cantons, names, ICD-10, ATC, NACE, ISCO)
are readable with :func:`reference_table`.
"""

from __future__ import annotations

from datalux.demo.population.generator import (
    DEFAULT_PERSONS,
    GENERATOR_VERSION,
    GenerationResult,
    PopulationError,
    TableResult,
    generate,
    manifest,
)
from datalux.demo.population.holders import (
    HOLDERS,
    TRUTH_COLUMNS,
    ColumnSpec,
    Holder,
    TableSpec,
    holder,
    table_spec,
)
from datalux.demo.population.reference import REFERENCE_FILES, reference_table
from datalux.demo.population.school import NOISE, NoiseRates

__all__ = [
    "DEFAULT_PERSONS",
    "GENERATOR_VERSION",
    "HOLDERS",
    "NOISE",
    "REFERENCE_FILES",
    "TRUTH_COLUMNS",
    "ColumnSpec",
    "GenerationResult",
    "Holder",
    "NoiseRates",
    "PopulationError",
    "TableResult",
    "TableSpec",
    "generate",
    "holder",
    "manifest",
    "reference_table",
    "table_spec",
]
