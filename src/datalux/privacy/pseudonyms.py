"""One-way pseudonyms: HMAC-SHA256 under a domain's key, vectorised over Arrow.

Definition (the contract the tests pin bit for bit)::

    pseudonym(value) = hmac.new(keys.hmac_key, value.encode("utf-8"), "sha256").hexdigest()

i.e. the 64-character lowercase hex of HMAC-SHA256 of the value's UTF-8 bytes, under the
domain's HMAC key (:class:`datalux.privacy.keys.DomainKeys`). Text values are taken as they
are (no trimming or case folding: normalise before, the validator tells what is malformed);
integer columns are first written in decimal; binary columns are hashed as their bytes.
Nulls stay null.

The vectorised kernel is :mod:`datalux.privacy.hmac_kernel` (Numba: the key's two blocks are
compressed once, 32 values run side by side in vector lanes), about 9x a plain Python ``hmac``
loop per core: see ``bench/bench_pseudonymise.py`` and ``docs/adr/0002-pseudonymisation-keys.md``.
"""

from __future__ import annotations

import hmac
import json
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datalux.dataplane.errors import StorageError
from datalux.dataplane.storage import BatchWriter, open_batches
from datalux.privacy.errors import InputError
from datalux.privacy.hmac_kernel import HmacSha256
from datalux.privacy.keys import DomainKeys
from datalux.privacy.national_id import (
    InvalidNationalId,
    valid_national_id_mask,
    validate_national_id,
)

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from datalux.dataplane.engine import Backend

__all__ = [
    "PSEUDONYM_ENCODING",
    "VALIDATION_KINDS",
    "PseudonymisationReport",
    "as_text_array",
    "pseudonym",
    "pseudonymise_array",
    "pseudonymise_dataset",
    "pseudonymise_file",
    "pseudonymise_table",
]

PSEUDONYM_ENCODING = "hmac-sha256-hex"
_SCHEMA_METADATA_KEY = b"datalux.pseudonyms"


def pseudonym(value: str | bytes, keys: DomainKeys) -> str:
    """The one-way pseudonym of one value (the reference definition, one value at a time)."""
    data = value.encode("utf-8") if isinstance(value, str) else value
    return hmac.new(keys.hmac_key, data, "sha256").hexdigest()


def as_text_array(
    values: pa.Array | pa.ChunkedArray | Iterable[str | None],
) -> pa.Array | pa.ChunkedArray:
    """``values`` as an Arrow text (or binary) column: integers are written in decimal.

    Raises :class:`InputError` for other types (floats, dates...), whose text form is
    ambiguous: cast such a column to text yourself, in the form you want pseudonymised.
    """
    arr = values if isinstance(values, pa.Array | pa.ChunkedArray) else pa.array(list(values))
    typ = arr.type
    if (
        pa.types.is_string(typ)
        or pa.types.is_large_string(typ)
        or pa.types.is_string_view(typ)
        or pa.types.is_binary(typ)
        or pa.types.is_large_binary(typ)
        or pa.types.is_binary_view(typ)
    ):
        return arr
    if pa.types.is_integer(typ) or pa.types.is_null(typ):
        return arr.cast(pa.string())
    raise InputError(
        f"cannot pseudonymise a column of type {typ}: identifiers are text or integers; "
        "cast the column to text first"
    )


def _kernel_for(keys: DomainKeys) -> HmacSha256:
    return HmacSha256(keys.hmac_key)


_SLICE = 262_144  # values per kernel call: keeps the working set in cache (~15% faster)


def pseudonymise_array(
    values: pa.Array | pa.ChunkedArray | Iterable[str | None],
    keys: DomainKeys,
    *,
    workers: int | None = None,
) -> pa.Array:
    """One-way pseudonyms of a column, vectorised; equal to :func:`pseudonym` value by value.

    Large columns are hashed in slices on ``workers`` threads (default: up to 2; the kernel
    releases the GIL).
    """
    arr = as_text_array(values)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    n_workers = min(2, os.cpu_count() or 1) if workers is None else max(1, workers)
    return _kernel_for(keys).hex(arr, workers=n_workers, slice_rows=_SLICE)


# --- on an engine (DuckDB, Spark) --------------------------------------------------------


def pseudonymise_table(table: ir.Table, columns: Sequence[str], keys: DomainKeys) -> ir.Table:
    """An Ibis expression replacing each of ``columns`` by its one-way pseudonym, built from
    the engine's own SHA-256 (:func:`datalux.dataplane.hashing.hmac_sha256_hex`): the same
    pseudonyms as :func:`pseudonymise_array`, on DuckDB or Spark. Its compiled SQL holds key
    material: never log it."""
    from datalux.dataplane.hashing import hmac_sha256_hex

    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(
            f"column(s) not in the table: {', '.join(missing)}; it has: {', '.join(table.columns)}"
        )
    return table.mutate(**{c: hmac_sha256_hex(table[c], keys.hmac_key) for c in columns})


def pseudonymise_dataset(
    backend: Backend,
    source: str | Path,
    output: str | Path,
    *,
    columns: Sequence[str],
    keys: DomainKeys,
) -> Path:
    """Pseudonymise a Parquet dataset on ``backend`` (DuckDB, or Spark past one machine) and
    write the result to ``output`` atomically. No validation here: validate upstream with
    :func:`pseudonymise_file` where rejects must be reported."""
    name = f"datalux_pseudonymise_{time.monotonic_ns()}"
    try:
        table = backend.register_parquet(name, source)
    except StorageError as exc:
        raise InputError(str(exc)) from None
    return backend.write_parquet(pseudonymise_table(table, columns, keys), output)


# --- files -------------------------------------------------------------------------------

Validator = tuple[Callable[[pa.Array], pa.BooleanArray], Callable[[str], str | None]]


def _national_id_reason(value: str) -> str | None:
    try:
        validate_national_id(value)
    except InvalidNationalId as exc:
        return f"national-id:{exc.reason.value}"
    return None


#: Validation kinds for ``--validate``: a vectorised mask and a per-value reason.
VALIDATION_KINDS: dict[str, Validator] = {
    "national-id": (valid_national_id_mask, _national_id_reason),
}


@dataclass
class PseudonymisationReport:
    """What :func:`pseudonymise_file` did. Counts only: never a value."""

    domain: str
    columns: list[str]
    output: Path
    rejects: Path | None = None
    rows_in: int = 0
    rows_out: int = 0
    rejected_rows: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)  # "column: reason" -> n
    nulls: dict[str, int] = field(default_factory=dict)  # column -> null values kept
    seconds: float = 0.0

    @property
    def pseudonymised_values(self) -> int:
        return self.rows_out * len(self.columns) - sum(self.nulls.values())

    def summary_lines(self) -> list[str]:
        lines = [
            f"domain:         {self.domain}",
            f"columns:        {', '.join(self.columns)}",
            f"rows in:        {self.rows_in}",
            f"pseudonymised:  {self.rows_out} rows ({self.pseudonymised_values} values)",
            f"rejected:       {self.rejected_rows} rows",
        ]
        lines += [f"  {reason}: {n}" for reason, n in sorted(self.rejected_by_reason.items())]
        lines.append(f"nulls (kept):   {sum(self.nulls.values())}")
        lines += [f"  {col}: {n}" for col, n in self.nulls.items() if n]
        rate = self.rows_in / self.seconds if self.seconds > 0 else 0.0
        lines.append(f"seconds:        {self.seconds:.2f} ({rate:,.0f} rows/s)")
        lines.append(f"output:         {self.output}")
        if self.rejects is not None:
            lines.append(f"rejects:        {self.rejects}")
        return lines


def _check_columns(schema: pa.Schema, columns: Sequence[str], validate: Mapping[str, str]) -> None:
    if not columns:
        raise InputError("name at least one column to pseudonymise (--column COL)")
    dupes = sorted({c for c in columns if list(columns).count(c) > 1})
    if dupes:
        raise InputError(f"column(s) named twice: {', '.join(dupes)}")
    missing = [c for c in columns if c not in schema.names]
    if missing:
        raise InputError(
            f"column(s) not in the input: {', '.join(missing)}; "
            f"the input has: {', '.join(schema.names)}"
        )
    for col, kind in validate.items():
        if col not in columns:
            raise InputError(
                f"column {col!r} is validated but not pseudonymised: add --column {col}"
            )
        if kind not in VALIDATION_KINDS:
            raise InputError(
                f"unknown validation kind {kind!r}: choose from {', '.join(VALIDATION_KINDS)}"
            )
    for col in columns:
        as_text_array(pa.array([], type=schema.field(col).type))  # raises on a bad type


def _output_schema(schema: pa.Schema, columns: Sequence[str], domain: str) -> pa.Schema:
    fields = [
        pa.field(f.name, pa.string(), nullable=True) if f.name in columns else f for f in schema
    ]
    meta = dict(schema.metadata or {})
    meta[_SCHEMA_METADATA_KEY] = json.dumps(
        {"domain": domain, "columns": list(columns), "encoding": PSEUDONYM_ENCODING}
    ).encode()
    return pa.schema(fields, metadata=meta)


_REJECTS_SCHEMA = pa.schema([("row", pa.int64()), ("column", pa.string()), ("reason", pa.string())])


def default_rejects_path(output: Path) -> Path:
    """``out.parquet`` -> ``out.rejects.csv`` (beside the output)."""
    return output.with_name(f"{output.stem}.rejects.csv")


def pseudonymise_file(
    source: str | Path,
    output: str | Path,
    *,
    columns: Sequence[str],
    keys: DomainKeys,
    validate: Mapping[str, str] | None = None,
    rejects: str | Path | None = None,
    batch_rows: int = 500_000,
    workers: int | None = None,
) -> PseudonymisationReport:
    """Replace each of ``columns`` of a CSV/Parquet file by its one-way pseudonym.

    The file is streamed in record batches. Columns in ``validate`` (column -> kind, e.g.
    ``{"nin": "national-id"}``) are checked first; a row with an invalid value is not
    written to ``output`` but listed in the ``rejects`` CSV (default ``<output>.rejects.csv``)
    with its row number (1-based, in input order), column and reason, never its value.
    Null identifiers are kept as nulls and counted. Both files appear only when the whole
    input was processed. ``workers`` threads (default: up to 2) work on successive batches.
    """
    started = time.perf_counter()
    src, out = Path(source), Path(output)
    validate = dict(validate or {})
    n_workers = min(2, os.cpu_count() or 1) if workers is None else max(1, workers)
    if src.resolve() == out.resolve():
        raise InputError("the output file must differ from the input file")
    try:
        schema, batches = open_batches(src, batch_rows=batch_rows)
        _check_columns(schema, columns, validate)
        out_schema = _output_schema(schema, columns, keys.domain)
        rejects_path = (
            (Path(rejects) if rejects is not None else default_rejects_path(out))
            if validate
            else None
        )
        report = PseudonymisationReport(
            domain=keys.domain, columns=list(columns), output=out, rejects=rejects_path
        )
        report.nulls = dict.fromkeys(columns, 0)
        if rejects_path is not None:
            with (
                BatchWriter(out, out_schema, incompressible=columns) as writer,
                BatchWriter(rejects_path, _REJECTS_SCHEMA) as reject_writer,
            ):
                _run(batches, writer, reject_writer, columns, validate, keys, report, n_workers)
        else:
            with BatchWriter(out, out_schema, incompressible=columns) as writer:
                _run(batches, writer, None, columns, validate, keys, report, n_workers)
    except StorageError as exc:
        raise InputError(str(exc)) from None
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise InputError(f"cannot read {src.name}: {str(exc).splitlines()[0]}") from None
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class _BatchResult:
    rows_in: int
    output: pa.RecordBatch
    rejects: list[tuple[str, np.ndarray, list[str]]]  # column, row indexes in batch, reasons
    dropped: int


def _process_batch(
    batch: pa.RecordBatch,
    columns: Sequence[str],
    validate: Mapping[str, str],
    keys: DomainKeys,
    out_schema: pa.Schema,
) -> _BatchResult:
    """Validate, drop rejected rows, pseudonymise: pure work on one batch (thread-safe)."""
    n = batch.num_rows
    keep = np.ones(n, dtype=bool)
    rejects: list[tuple[str, np.ndarray, list[str]]] = []
    for col, kind in validate.items():
        arr = batch.column(col)
        mask_fn, reason_fn = VALIDATION_KINDS[kind]
        text = as_text_array(arr)
        valid = np.asarray(mask_fn(text), dtype=bool)
        if arr.null_count:
            valid |= np.asarray(pc.is_null(arr), dtype=bool)  # nulls are counted, not rejected
        bad = np.flatnonzero(~valid)
        if bad.size:
            keep[bad] = False
            values = text.take(pa.array(bad)).to_pylist()
            rejects.append((col, bad, [reason_fn(v) or "invalid" for v in values]))
    dropped = int(n - keep.sum())
    if dropped:
        batch = batch.filter(pa.array(keep))
    arrays = [
        pseudonymise_array(batch.column(f.name), keys, workers=1)
        if f.name in columns
        else batch.column(f.name)
        for f in out_schema
    ]
    return _BatchResult(n, pa.record_batch(arrays, schema=out_schema), rejects, dropped)


def _ordered_map(
    fn: Callable[[pa.RecordBatch], _BatchResult], items: Iterable[pa.RecordBatch], workers: int
) -> Iterator[_BatchResult]:
    """``map(fn, items)`` on ``workers`` threads, in order, at most ``workers + 1`` batches in
    flight (memory stays bounded). The kernels (Numba, NumPy, Arrow) release the GIL."""
    if workers <= 1:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(workers) as pool:
        pending: deque[Future[_BatchResult]] = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) > workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _run(
    batches: Iterable[pa.RecordBatch],
    writer: BatchWriter,
    reject_writer: BatchWriter | None,
    columns: Sequence[str],
    validate: Mapping[str, str],
    keys: DomainKeys,
    report: PseudonymisationReport,
    workers: int,
) -> None:
    def work(batch: pa.RecordBatch) -> _BatchResult:
        return _process_batch(batch, columns, validate, keys, writer.schema)

    for result in _ordered_map(work, batches, workers):
        offset = report.rows_in
        report.rows_in += result.rows_in
        for col, bad, reasons in result.rejects:
            for reason in reasons:
                key = f"{col}: {reason}"
                report.rejected_by_reason[key] = report.rejected_by_reason.get(key, 0) + 1
            if reject_writer is not None:
                reject_writer.write(
                    pa.record_batch(
                        [
                            pa.array(bad + offset + 1, type=pa.int64()),
                            pa.array([col] * bad.size, type=pa.string()),
                            pa.array(reasons, type=pa.string()),
                        ],
                        schema=_REJECTS_SCHEMA,
                    )
                )
        report.rejected_rows += result.dropped
        for col in columns:
            report.nulls[col] += result.output.column(col).null_count
        writer.write(result.output)
        report.rows_out += result.output.num_rows
