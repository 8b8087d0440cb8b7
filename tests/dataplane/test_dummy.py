"""Dummy extracts from metadata alone (issue 12, item 6)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from datalux.dataplane.dummy import (
    DUMMY_MANIFEST,
    ColumnSpec,
    DummySpec,
    DummySpecError,
    TableSpec,
    write_dummy,
)


def _spec(seed: int = 7) -> DummySpec:
    persons = TableSpec(
        name="persons",
        file="persons.parquet",
        rows=500,
        columns=(
            ColumnSpec("person_id", person=True, unique=True),
            ColumnSpec("birth_date", "date", low="1930-01-01", high="2020-12-31"),
            ColumnSpec("death_date", "date", missing=0.8, after="birth_date", max_gap=36500),
            ColumnSpec("sex", values=("F", "M")),
            ColumnSpec("canton", values=("LU", "ES", "CA"), missing=0.1),
        ),
    )
    stays = TableSpec(
        name="stays",
        file="stays.parquet",
        rows=1200,
        columns=(
            ColumnSpec("person_id", person=True),
            ColumnSpec("discharge", "date", after="admission", max_gap=20),
            ColumnSpec("admission", "date", low="2020-01-01", high="2024-12-31"),
            ColumnSpec("los_cost", "number", low=100, high=9000),
            ColumnSpec("age", "integer"),
            ColumnSpec("emergency", "boolean"),
        ),
    )
    return DummySpec(tables=(persons, stays), seed=seed, reference_day=date(2026, 1, 1))


def test_dummy_has_the_extracts_shape_and_codes(tmp_path: Path) -> None:
    written = write_dummy(_spec(), tmp_path)
    assert [p.name for p in written] == ["persons.parquet", "stays.parquet"]
    persons = pq.read_table(tmp_path / "persons.parquet")
    stays = pq.read_table(tmp_path / "stays.parquet")
    assert persons.column_names == ["person_id", "birth_date", "death_date", "sex", "canton"]
    assert stays.column_names == [
        "person_id",
        "discharge",
        "admission",
        "los_cost",
        "age",
        "emergency",
    ]
    assert str(stays.schema.field("admission").type) == "date32[day]"
    assert str(stays.schema.field("age").type) == "int64"
    assert set(persons.column("sex").to_pylist()) == {"F", "M"}
    assert set(persons.column("canton").drop_null().to_pylist()) <= {"LU", "ES", "CA"}
    assert 0.03 < persons.column("canton").null_count / 500 < 0.2
    ages = stays.column("age").to_pylist()
    assert min(ages) >= 0 and max(ages) <= 105
    assert all(len(p) == 64 for p in persons.column("person_id").to_pylist())
    manifest = (tmp_path / DUMMY_MANIFEST).read_text()
    assert '"dummy": true' in manifest


def test_dummy_keeps_the_dependencies_code_relies_on(tmp_path: Path) -> None:
    write_dummy(_spec(), tmp_path)
    con = duckdb.connect()
    p = con.read_parquet(str(tmp_path / "persons.parquet"))  # noqa: F841 (used by name in SQL)
    s = con.read_parquet(str(tmp_path / "stays.parquet"))  # noqa: F841
    [(total, distinct)] = con.sql("select count(*), count(distinct person_id) from p").fetchall()
    assert total == distinct == 500  # one row per person
    [(early,)] = con.sql("select count(*) from s where discharge < admission").fetchall()
    assert early == 0
    [(gap,)] = con.sql("select max(discharge - admission) from s").fetchall()
    assert gap <= 20
    [(dead_before_born,)] = con.sql(
        "select count(*) from p where death_date < birth_date"
    ).fetchall()
    assert dead_before_born == 0
    [(deaths,)] = con.sql("select count(death_date) from p").fetchall()
    assert 50 < deaths < 160  # about 20 % of 500
    # the same persons in both tables: every stay joins a person, as in a linked extract
    [(orphans,)] = con.sql("select count(*) from s anti join p using (person_id)").fetchall()
    assert orphans == 0


def test_dummy_is_seeded(tmp_path: Path) -> None:
    write_dummy(_spec(seed=1), tmp_path / "a")
    write_dummy(_spec(seed=1), tmp_path / "b")
    write_dummy(_spec(seed=2), tmp_path / "c")
    a = pq.read_table(tmp_path / "a" / "stays.parquet")
    assert a.equals(pq.read_table(tmp_path / "b" / "stays.parquet"))
    assert not a.equals(pq.read_table(tmp_path / "c" / "stays.parquet"))


def test_rows_are_capped(tmp_path: Path) -> None:
    write_dummy(_spec(), tmp_path, max_rows=100)
    assert pq.read_metadata(tmp_path / "stays.parquet").num_rows == 100


@pytest.mark.parametrize(
    ("column", "message"),
    [
        (ColumnSpec("x", "blob"), "unknown type 'blob'"),
        (ColumnSpec("x", "date", after="nothing"), "'after' names 'nothing'"),
        (ColumnSpec("x", "integer", missing=2.0), "missing must lie between 0 and 1"),
        (ColumnSpec("x", "date", low="2020-05-01", high="2020-01-01"), "starts after it ends"),
        (ColumnSpec("x", "date", low="yesterday"), "not an ISO date"),
        (ColumnSpec("x", values=("a", "b"), unique=True), "unique, but its code list"),
    ],
)
def test_a_spec_that_cannot_be_made_says_what_to_fix(
    tmp_path: Path, column: ColumnSpec, message: str
) -> None:
    spec = DummySpec(tables=(TableSpec("t", "t.parquet", 10, (column,)),))
    with pytest.raises(DummySpecError, match=message):
        write_dummy(spec, tmp_path)
    assert not (tmp_path / "t.parquet").exists()


def test_circular_after_is_refused(tmp_path: Path) -> None:
    columns = (ColumnSpec("a", "date", after="b"), ColumnSpec("b", "date", after="a"))
    with pytest.raises(DummySpecError, match="circle"):
        write_dummy(DummySpec(tables=(TableSpec("t", "t.parquet", 5, columns),)), tmp_path)
