"""``generate()``: stream the whole synthetic population to Parquet, chunk by chunk."""

from __future__ import annotations

import math
import numbers
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from datalux.demo.population.employment import CROSS_BORDER_STILL_EMPLOYED, employment_spells
from datalux.demo.population.health import hospital_stays, prescriptions
from datalux.demo.population.holders import (
    EMPLOYMENT_SPELLS,
    HOLDERS,
    HOSPITAL_STAYS,
    POPULATION_REGISTER,
    PRESCRIPTIONS,
    SCHOOL_ENROLMENTS,
    TRUTH_COLUMNS,
    ColumnSpec,
    Holder,
    TableSpec,
)
from datalux.demo.population.holders import holder as find_holder
from datalux.demo.population.people import (
    CROSS_BORDER_SHARE,
    People,
    SequenceAllocator,
    draw_cross_border_workers,
    draw_residents,
    register_table,
)
from datalux.demo.population.reference import Reference, load_reference
from datalux.demo.population.school import school_enrolments
from datalux.demo.population.writer import AtomicOutputs, ParquetSink

__all__ = [
    "DEFAULT_PERSONS",
    "GENERATOR_VERSION",
    "GenerationResult",
    "PopulationError",
    "TableResult",
    "generate",
]

DEFAULT_PERSONS = 5_000
GENERATOR_VERSION = "datalux.demo.population/1"
TRUTH_FOLDER = "_truth"
MANIFEST = "manifest.json"


class PopulationError(ValueError):
    """A request the generator cannot satisfy (no persons, bad chunk size or seed)."""


@dataclass(frozen=True)
class TableResult:
    """One generated table: where it is, how many rows, and its data dictionary."""

    holder_key: str
    name: str
    title: str
    description: str
    path: Path
    rows: int
    columns: tuple[ColumnSpec, ...]
    has_national_id: bool
    truth_path: Path | None  # ``_truth/<table>.parquet`` (record_id -> national_id), if any

    @property
    def holder(self) -> Holder:
        """The holder organisation of this table (from :data:`HOLDERS`)."""
        return find_holder(self.holder_key)


@dataclass(frozen=True)
class GenerationResult:
    """What :func:`generate` wrote (every path is inside ``out_dir``)."""

    out_dir: Path
    persons: int
    cross_border_workers: int
    seed: int
    chunk_size: int
    tables: tuple[TableResult, ...]
    truth_files: tuple[Path, ...]
    manifest_path: Path

    def table(self, name: str) -> TableResult:
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(f"no table {name!r}; generated: {', '.join(t.name for t in self.tables)}")

    @property
    def total_rows(self) -> int:
        """Rows across all holder tables (truth files not counted)."""
        return sum(t.rows for t in self.tables)

    def by_holder(self) -> dict[str, tuple[TableResult, ...]]:
        out: dict[str, tuple[TableResult, ...]] = {}
        for t in self.tables:
            out[t.holder_key] = (*out.get(t.holder_key, ()), t)
        return out


def _table_path(owner: Holder, spec: TableSpec) -> str:
    return f"{owner.key}/{spec.name}.parquet"


def _check_arguments(persons: object, seed: object, chunk_size: object) -> tuple[int, int, int]:
    values = []
    for name, value in (("persons", persons), ("seed", seed), ("chunk_size", chunk_size)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise PopulationError(f"{name} must be a whole number, got {type(value).__name__}")
        values.append(int(value))
    n, s, c = values
    if n <= 0:
        raise PopulationError(f"persons must be positive, got {n}: ask for at least 1 person")
    if s < 0:
        raise PopulationError(f"seed must be 0 or more, got {s}")
    if c <= 0:
        raise PopulationError(f"chunk_size must be positive, got {c} (the default is 250000)")
    return n, s, c


_HIGH_CARDINALITY = frozenset({"national_id", "street_address"})


def _encodings(schema: pa.Schema) -> dict[str, Any]:
    """Parquet encodings: dictionaries for repetitive columns, deltas for row ids."""
    ids = [f.name for f in schema if f.type == pa.int64() and f.name.endswith("_id")]
    return {
        "use_dictionary": [n for n in schema.names if n not in ids and n not in _HIGH_CARDINALITY],
        "column_encoding": dict.fromkeys(ids, "DELTA_BINARY_PACKED"),
    }


def _rng(seed: int, stream: int, chunk: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, stream, chunk])))


class _Run:
    """The state of one generation: sinks, running identifiers and the writer thread.

    Parquet encoding runs on one background thread (FIFO, so files are identical to a
    serial run) while numpy draws the next chunk; at most two chunks are in memory.
    """

    def __init__(self, outputs: AtomicOutputs, ref: Reference, metadata: dict[str, str]) -> None:
        self.ref = ref
        self.sinks: dict[str, ParquetSink] = {}
        for h in HOLDERS:
            for spec in h.tables:
                meta = {**metadata, "datalux.holder": h.key, "datalux.table": spec.name}
                schema = spec.schema(meta)
                self.sinks[spec.name] = outputs.parquet(
                    _table_path(h, spec), schema, **_encodings(schema)
                )
                if spec.has_truth:
                    truth_schema = TableSpec(
                        name=spec.name,
                        title="",
                        description="",
                        columns=TRUTH_COLUMNS,
                        has_national_id=True,
                    ).schema({**meta, "datalux.truth_of": spec.name})
                    self.sinks[f"{TRUTH_FOLDER}/{spec.name}"] = outputs.parquet(
                        f"{TRUTH_FOLDER}/{spec.name}.parquet",
                        truth_schema,
                        **_encodings(truth_schema),
                    )
        self.next_id = {name: 1 for name in self.sinks}
        self.employed_now = 0
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="datalux-parquet")
        self._pending: list[Future[None]] = []
        self._new_chunk = False

    def begin_chunk(self) -> None:
        self._new_chunk = True

    def _add(self, name: str, table: Any) -> None:
        if self._new_chunk:  # the previous chunk's writes must be done before this one's
            self.drain()
            self._new_chunk = False
        self._pending.append(self._executor.submit(self.sinks[name].write, table))
        self.next_id[name] += table.num_rows

    def drain(self) -> None:
        """Wait for every queued write; re-raise the first write error."""
        pending, self._pending = self._pending, []
        for future in pending:
            future.result()

    def shutdown(self) -> None:
        """Stop the writer thread (after any write in progress), dropping queued writes."""
        self._executor.shutdown(wait=True, cancel_futures=True)

    def _schema(self, spec: TableSpec) -> Any:
        return self.sinks[spec.name].schema

    def everyone(self, rng: np.random.Generator, people: People) -> None:
        ref = self.ref
        for spec, make in ((HOSPITAL_STAYS, hospital_stays), (PRESCRIPTIONS, prescriptions)):
            self._add(
                spec.name, make(rng, ref, people, self.next_id[spec.name], self._schema(spec))
            )
        spells, employed = employment_spells(
            rng, ref, people, self.next_id[EMPLOYMENT_SPELLS.name], self._schema(EMPLOYMENT_SPELLS)
        )
        self._add(EMPLOYMENT_SPELLS.name, spells)
        if people.resident:
            self.employed_now += employed

    def residents(self, rng: np.random.Generator, people: People) -> None:
        ref = self.ref
        self._add(
            POPULATION_REGISTER.name,
            register_table(rng, ref, people, self._schema(POPULATION_REGISTER)),
        )
        truth_name = f"{TRUTH_FOLDER}/{SCHOOL_ENROLMENTS.name}"
        school, truth = school_enrolments(
            rng,
            ref,
            people,
            self.next_id[SCHOOL_ENROLMENTS.name],
            self._schema(SCHOOL_ENROLMENTS),
            self.sinks[truth_name].schema,
        )
        self._add(SCHOOL_ENROLMENTS.name, school)
        self._add(truth_name, truth)
        self.everyone(rng, people)


def generate(out_dir: Path, persons: int, seed: int, chunk_size: int = 250_000) -> GenerationResult:
    """Write the synthetic population's tables under ``out_dir``; return what was written.

    Layout: ``<out_dir>/<holder key>/<table>.parquet`` for every table of :data:`HOLDERS`,
    ``<out_dir>/_truth/<table>.parquet`` for the tables without national numbers, and
    ``<out_dir>/manifest.json`` (the same facts as the result, paths relative to out_dir).

    ``persons`` residents go into the population register (deceased ones included); cross-
    border workers are added so that they make about 45% of current employees. The same
    (persons, seed, chunk_size) always gives byte-identical files. Memory stays bounded by
    ``chunk_size`` persons at a time. Files are replaced only once all are complete.
    """
    persons, seed, chunk_size = _check_arguments(persons, seed, chunk_size)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise PopulationError(f"{out_dir} exists and is not a folder: choose another out_dir")
    ref = load_reference()
    metadata = {
        "datalux.generator": GENERATOR_VERSION,
        "datalux.seed": str(seed),
        "datalux.persons": str(persons),
    }
    with AtomicOutputs(out_dir) as outputs:
        run = _Run(outputs, ref, metadata)
        try:
            allocator = SequenceAllocator(_rng(seed, 0, 0))
            for k, start in enumerate(range(0, persons, chunk_size)):
                rng = _rng(seed, 1, k)
                run.begin_chunk()
                n = min(chunk_size, persons - start)
                run.residents(rng, draw_residents(rng, ref, n, allocator))
            ratio = CROSS_BORDER_SHARE / (1 - CROSS_BORDER_SHARE) / CROSS_BORDER_STILL_EMPLOYED
            cross_border = math.floor(run.employed_now * ratio + 0.5)
            for k, start in enumerate(range(0, cross_border, chunk_size)):
                rng = _rng(seed, 2, k)
                run.begin_chunk()
                n = min(chunk_size, cross_border - start)
                run.everyone(rng, draw_cross_border_workers(rng, ref, n, allocator))
            run.drain()
        finally:
            run.shutdown()

        tables = []
        truth_files = []
        for h in HOLDERS:
            for spec in h.tables:
                truth = None
                if spec.has_truth:
                    truth = out_dir / TRUTH_FOLDER / f"{spec.name}.parquet"
                    truth_files.append(truth)
                tables.append(
                    TableResult(
                        holder_key=h.key,
                        name=spec.name,
                        title=spec.title,
                        description=spec.description,
                        path=out_dir / _table_path(h, spec),
                        rows=run.sinks[spec.name].rows,
                        columns=spec.columns,
                        has_national_id=spec.has_national_id,
                        truth_path=truth,
                    )
                )
        result = GenerationResult(
            out_dir=out_dir,
            persons=persons,
            cross_border_workers=cross_border,
            seed=seed,
            chunk_size=chunk_size,
            tables=tuple(tables),
            truth_files=tuple(truth_files),
            manifest_path=out_dir / MANIFEST,
        )
        outputs.json(MANIFEST, manifest(result))
    return result


def manifest(result: GenerationResult) -> dict[str, Any]:
    """The result as JSON-ready data, paths relative to ``out_dir``."""

    def rel(p: Path) -> str:
        return p.relative_to(result.out_dir).as_posix()

    return {
        "generator": GENERATOR_VERSION,
        "persons": result.persons,
        "cross_border_workers": result.cross_border_workers,
        "seed": result.seed,
        "chunk_size": result.chunk_size,
        "holders": [
            {
                "key": h.key,
                "name": h.name,
                "acronym": h.acronym,
                "kind": h.kind,
                "sector": h.sector,
                "description": h.description,
            }
            for h in HOLDERS
        ],
        "tables": [
            {
                "holder": t.holder_key,
                "table": t.name,
                "title": t.title,
                "description": t.description,
                "path": rel(t.path),
                "rows": t.rows,
                "has_national_id": t.has_national_id,
                "truth_path": rel(t.truth_path) if t.truth_path else None,
                "columns": [c.as_dict() for c in t.columns],
            }
            for t in result.tables
        ],
        "truth_files": [rel(p) for p in result.truth_files],
    }
