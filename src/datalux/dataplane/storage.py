"""Files of the data plane: the storage root, atomic writes, CSV/Parquet read in batches.

Every writer here writes to a temporary file in the destination folder and renames it into
place (``os.replace``) only when the whole output is written, so a failure never leaves a
partial file behind. Readers stream record batches so large files stay in bounded memory.

What is written is the platform's own: files are created readable by their owner only (0600,
folders 0700), whatever the process's umask; :func:`private_folder` creates folders the same
way.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Literal

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from datalux.dataplane.errors import StorageError

__all__ = [
    "BatchWriter",
    "FileFormat",
    "StorageRoot",
    "atomic_output",
    "file_format",
    "make_private",
    "open_batches",
    "private_folder",
    "write_parquet_atomic",
]

PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700

FileFormat = Literal["csv", "parquet"]
_EXTENSIONS: dict[str, FileFormat] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
_CSV_BLOCK_BYTES = 16 << 20


class StorageRoot:
    """The folder under which the platform keeps its Parquet datasets.

    :meth:`path` resolves a relative path under the root and refuses one that escapes it
    (``..``, absolute paths, symlinks pointing out).
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f"StorageRoot({str(self.root)!r})"

    def path(self, *parts: str) -> Path:
        candidate = self.root.joinpath(*parts).resolve()
        if candidate != self.root and self.root not in candidate.parents:
            raise StorageError(
                "path escapes the storage root: use a path relative to the root, without '..'"
            )
        return candidate

    def dataset(self, name: str) -> Path:
        """The Parquet file of dataset ``name`` (``<root>/<name>.parquet``)."""
        return self.path(f"{name}.parquet")


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file, read in 1 MiB blocks (hex)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_format(path: str | os.PathLike[str]) -> FileFormat:
    """``"csv"`` or ``"parquet"``, from the file name's extension."""
    suffix = Path(path).suffix.lower()
    try:
        return _EXTENSIONS[suffix]
    except KeyError:
        raise StorageError(
            f"cannot tell the format of {Path(path).name!r} from its extension: "
            "name it *.csv or *.parquet"
        ) from None


def make_private(path: str | os.PathLike[str]) -> None:
    """Owner-only modes on a file (0600) or a folder and all it holds (0700 and 0600)."""
    target = Path(path)
    if not target.is_dir():
        os.chmod(target, PRIVATE_FILE)
        return
    for root, dirs, files in os.walk(target):
        os.chmod(root, PRIVATE_FOLDER)
        for name in files:
            os.chmod(Path(root) / name, PRIVATE_FILE)
        for name in dirs:
            os.chmod(Path(root) / name, PRIVATE_FOLDER)


def private_folder(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` and its missing parents with mode 0700 (folders that exist keep theirs)."""
    folder = Path(path)
    missing = []
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            break
        missing.append(candidate)
    for candidate in reversed(missing):
        candidate.mkdir(mode=PRIVATE_FOLDER, exist_ok=True)
        os.chmod(candidate, PRIVATE_FOLDER)  # mkdir's mode passes through the umask
    return folder


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success make it owner-only and rename it to
    ``path``, on error remove it. The destination folder must exist."""
    target = Path(path)
    folder = target.parent
    if not folder.is_dir():
        raise StorageError(f"output folder {folder} does not exist: create it first")
    tmp = folder / f".{target.name}.{secrets.token_hex(6)}.tmp"
    try:
        yield tmp
        if tmp.exists():
            make_private(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_parquet_atomic(table: pa.Table, path: str | os.PathLike[str]) -> Path:
    """Write ``table`` to ``path`` as Parquet (zstd), atomically."""
    with atomic_output(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return Path(path)


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise StorageError(f"input file {path} does not exist")
    if not path.is_file():
        raise StorageError(f"input {path} is not a file")
    if path.stat().st_size == 0:
        raise StorageError(f"input file {path} is empty")


def open_batches(
    path: str | os.PathLike[str], *, batch_rows: int = 500_000
) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """The schema of a CSV or Parquet file and an iterator over its record batches.

    CSV files are read with every column as text (leading zeros of identifiers survive) and
    empty fields as nulls; ``batch_rows`` applies to Parquet (CSV batches are ~16 MB blocks).
    """
    src = Path(path)
    fmt = file_format(src)
    _check_readable(src)
    try:
        if fmt == "parquet":
            pf = pq.ParquetFile(src)
            return pf.schema_arrow, pf.iter_batches(batch_size=batch_rows)
        read_opts = pacsv.ReadOptions(block_size=_CSV_BLOCK_BYTES)
        with pacsv.open_csv(src, read_options=read_opts) as probe:
            names = probe.schema.names
        convert = pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=True
        )
        reader = pacsv.open_csv(src, read_options=read_opts, convert_options=convert)
        return reader.schema, iter(reader)
    except (pa.ArrowInvalid, OSError) as exc:
        raise StorageError(f"cannot read {src.name} as {fmt.upper()}: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class BatchWriter:
    """Write record batches to a CSV or Parquet file (chosen by extension), atomically.

    Use as a context manager: the file appears at ``path`` only if the block exits without
    an exception.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        schema: pa.Schema,
        *,
        incompressible: Sequence[str] = (),
    ) -> None:
        """``incompressible``: Parquet columns of random-looking values (hashes, tokens),
        written without dictionary or compression: zstd gains about 2x on hex but costs
        three times the writing time."""
        self.path = Path(path)
        self.incompressible = [c for c in incompressible if c in schema.names]
        self.format = file_format(self.path)
        self.schema = schema
        self.rows = 0
        self._ctx = atomic_output(self.path)
        self._writer: pq.ParquetWriter | pacsv.CSVWriter | None = None

    def __enter__(self) -> BatchWriter:
        tmp = self._ctx.__enter__()
        if self.format == "parquet":
            compression: dict[str, str] = {
                name: "none" if name in self.incompressible else "zstd"
                for name in self.schema.names
            }
            dictionary = [n for n in self.schema.names if n not in self.incompressible]
            self._writer = pq.ParquetWriter(
                tmp, self.schema, compression=compression, use_dictionary=dictionary
            )
        else:
            self._writer = pacsv.CSVWriter(tmp, self.schema)
        return self

    def write(self, batch: pa.RecordBatch) -> None:
        assert self._writer is not None, "use BatchWriter as a context manager"
        self._writer.write_batch(batch)
        self.rows += batch.num_rows

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        if self._writer is not None:
            self._writer.close()
        return self._ctx.__exit__(exc_type, exc, tb)
