"""One small synthetic population shared by the tests of this folder (generated once)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datalux.demo import population

PERSONS = 20_000
SEED = 20240917
CHUNK = 7_000  # three chunks of residents: exercises the streaming and the shared counters


@dataclass(frozen=True)
class Generated:
    result: population.GenerationResult

    def read(self, table: str) -> pa.Table:
        return pq.read_table(self.result.table(table).path)

    def truth(self, table: str) -> pa.Table:
        path = self.result.table(table).truth_path
        assert path is not None
        return pq.read_table(path)


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    out = tmp_path_factory.mktemp("population") / "out"
    return Generated(population.generate(out, persons=PERSONS, seed=SEED, chunk_size=CHUNK))


def file_digests(folder: Path) -> dict[str, bytes]:
    """Every file under folder (relative path -> content)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
