"""The ``backend`` fixture: every engine test runs on DuckDB, and on Spark under ``-m spark``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from datalux.dataplane import Backend, connect

ENGINES = ["duckdb", pytest.param("spark", marks=pytest.mark.spark)]


@pytest.fixture(params=ENGINES)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    with connect(request.param) as engine:
        yield engine
