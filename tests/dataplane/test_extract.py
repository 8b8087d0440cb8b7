"""The SPE's preparation: an extract holds exactly what the plan permits, and no identifier.

Every check reads the written files back with pyarrow (not through the code under test) and
compares them with the rows the plan allows, computed here in plain Python from the source.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datalux.dataplane.engine import Backend, connect
from datalux.dataplane.extract import (
    MANIFEST,
    PERSON_ID,
    ExtractError,
    ExtractPlan,
    Filter,
    Manifest,
    TablePlan,
    prepare_extract,
)
from datalux.privacy.keys import MasterKey
from datalux.privacy.pseudonyms import pseudonym

MASTER = MasterKey(b"k" * 32)
PROJECT = "project:dlx-p-2026-00001"
OTHER_PROJECT = "project:dlx-p-2026-00002"
DIAGNOSES = ["I50.0", "S72.0", "J18.9", "E11.9"]


def _rows(n: int = 400) -> list[dict[str, Any]]:
    return [
        {
            "national_id": f"19{(i % 80) + 10:02d}0101{i:05d}",
            "name": f"Person {i}",
            "age": i % 95,
            "diagnosis": DIAGNOSES[i % 4],
            "admission": date(2018 + i % 7, 1 + i % 12, 1 + i % 28),
            "commune": ["Esch", "Diekirch", "Luxembourg"][i % 3],
            "cost": float(i * 10),
        }
        for i in range(n)
    ]


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "holder" / "stays.parquet"
    path.parent.mkdir()
    pq.write_table(pa.Table.from_pylist(_rows()), path)
    return path


def _plan(source: Path, **overrides: Any) -> ExtractPlan:
    table = TablePlan(
        name="stays",
        source=source,
        variables=("name", "age", "diagnosis", "admission"),
        filters=(Filter("age", ">=", 18), Filter("diagnosis", "in", ["I50.0", "J18.9"])),
        period_column="admission",
        period_start=date(2020, 1, 1),
        period_end=date(2022, 12, 31),
        national_id="national_id",
        direct_identifiers=("name", "national_id"),
    )
    fields = {"tables": (table,), "domain": PROJECT, "opt_outs": None} | overrides
    return ExtractPlan(**fields)


def _allowed(opted_out: set[str] = frozenset()) -> list[dict[str, Any]]:  # type: ignore[assignment]
    keys = MASTER.domain_keys(PROJECT)
    return sorted(
        (
            {
                PERSON_ID: pseudonym(r["national_id"], keys),
                "age": r["age"],
                "diagnosis": r["diagnosis"],
                "admission": r["admission"],
            }
            for r in _rows()
            if r["age"] >= 18
            and r["diagnosis"] in ("I50.0", "J18.9")
            and date(2020, 1, 1) <= r["admission"] <= date(2022, 12, 31)
            and r["national_id"] not in opted_out
        ),
        key=lambda r: (r[PERSON_ID], r["age"]),
    )


def _read(folder: Path, name: str = "stays") -> list[dict[str, Any]]:
    rows = pq.read_table(folder / f"{name}.parquet").to_pylist()
    return sorted(rows, key=lambda r: (r[PERSON_ID], r["age"]))


def _prepare(backend: Backend, plan: ExtractPlan, out: Path, domain: str = PROJECT) -> Manifest:
    return prepare_extract(
        backend,
        plan,
        out,
        hmac_key=MASTER.domain_keys(domain).hmac_key,
        prepared_at="2026-12-06T12:00:00+01:00",
    )


def test_the_extract_holds_exactly_the_permitted_columns_rows_and_period(
    backend: Backend, source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "extract"
    manifest = _prepare(backend, _plan(source), out)
    rows = _read(out)
    assert rows == _allowed() and 0 < len(rows) < 400
    schema = pq.read_table(out / "stays.parquet").schema
    assert schema.names == [PERSON_ID, "age", "diagnosis", "admission"]
    # no identifier of the source anywhere in the output: not as a column, not as a value
    values = {str(v) for row in rows for v in row.values()}
    source_rows = _rows()
    assert not values & {r["national_id"] for r in source_rows}
    assert not values & {r["name"] for r in source_rows}
    [entry] = manifest.tables
    assert entry.rows == len(rows) and entry.columns == schema.names
    assert entry.period == ["2020-01-01", "2022-12-31"]
    assert Manifest.read(out).as_data() == manifest.as_data()


def test_two_projects_get_unrelated_pseudonyms(
    backend: Backend, source: Path, tmp_path: Path
) -> None:
    _prepare(backend, _plan(source), tmp_path / "a")
    _prepare(backend, _plan(source, domain=OTHER_PROJECT), tmp_path / "b", domain=OTHER_PROJECT)
    first = {r[PERSON_ID] for r in _read(tmp_path / "a")}
    second = {r[PERSON_ID] for r in _read(tmp_path / "b")}
    assert len(first) == len(second) > 0 and not first & second


def test_a_person_who_opted_out_is_absent(backend: Backend, source: Path, tmp_path: Path) -> None:
    allowed = _allowed()
    keys = MASTER.domain_keys(PROJECT)
    by_pseudonym = {pseudonym(r["national_id"], keys): r["national_id"] for r in _rows()}
    gone = {by_pseudonym[allowed[0][PERSON_ID]], by_pseudonym[allowed[-1][PERSON_ID]]}
    opt_outs = tmp_path / "ttp" / "opt_outs.parquet"
    opt_outs.parent.mkdir()
    pq.write_table(pa.table({"national_id": sorted(gone)}), opt_outs)
    manifest = _prepare(backend, _plan(source, opt_outs=opt_outs), tmp_path / "extract")
    rows = _read(tmp_path / "extract")
    assert rows == _allowed(opted_out=gone) and len(rows) == len(allowed) - 2
    assert manifest.tables[0].opted_out_excluded


def test_a_rerun_gives_the_same_files(backend: Backend, source: Path, tmp_path: Path) -> None:
    first = _prepare(backend, _plan(source), tmp_path / "one")
    second = _prepare(backend, _plan(source), tmp_path / "two")
    assert first.tables[0].sha256 == second.tables[0].sha256


def test_a_failed_preparation_leaves_nothing_visible(
    backend: Backend, source: Path, tmp_path: Path
) -> None:
    good = _plan(source).tables[0]
    gone = TablePlan(name="removed", source=tmp_path / "holder" / "gone.parquet", variables=("x",))
    out = tmp_path / "extract"
    with pytest.raises(ExtractError, match="removed: the stored data version cannot be read"):
        _prepare(backend, _plan(source, tables=(good, gone)), out)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["holder", "storage"]  # no staging left


def test_an_extract_is_never_overwritten(backend: Backend, source: Path, tmp_path: Path) -> None:
    out = tmp_path / "extract"
    _prepare(backend, _plan(source), out)
    before = (out / MANIFEST).read_bytes()
    with pytest.raises(ExtractError, match="exists already"):
        _prepare(backend, _plan(source), out)
    assert (out / MANIFEST).read_bytes() == before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"filters": (Filter("weight", ">", 3),)}, "names a variable the stored data no longer"),
        ({"variables": ("age", "height")}, "the stored data have no column height"),
        ({"period_column": None}, "has no date variable to apply it to"),
        ({"filters": (Filter("age", "in", []),)}, "needs a non-empty list"),
        ({"filters": (Filter("admission", ">", "not a date"),)}, "does not fit the column"),
    ],
)
def test_a_plan_that_no_longer_fits_the_data_is_refused_with_what_to_fix(
    backend: Backend, source: Path, tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    base = _plan(source).tables[0]
    fields = {k: getattr(base, k) for k in base.__dataclass_fields__} | change
    out = tmp_path / "extract"
    with pytest.raises(ExtractError, match=message):
        _prepare(backend, _plan(source, tables=(TablePlan(**fields),)), out)
    assert not out.exists()


def test_opt_outs_cannot_be_skipped_for_a_table_without_national_number(
    backend: Backend, source: Path, tmp_path: Path
) -> None:
    opt_outs = tmp_path / "opt_outs.parquet"
    pq.write_table(pa.table({"national_id": ["x"]}), opt_outs)
    base = _plan(source).tables[0]
    fields = {k: getattr(base, k) for k in base.__dataclass_fields__} | {"national_id": None}
    with pytest.raises(ExtractError, match="has no national number"):
        _prepare(
            backend,
            _plan(source, tables=(TablePlan(**fields),), opt_outs=opt_outs),
            tmp_path / "extract",
        )


@pytest.mark.spark
def test_duckdb_and_spark_prepare_the_same_extract(source: Path, tmp_path: Path) -> None:
    """The same plan on both engines: the same rows and pseudonyms (DuckDB's from the compiled
    kernel, Spark's from its own SHA-256), with and without an opt-out anti-join."""
    opt_outs = tmp_path / "opt_outs.parquet"
    pq.write_table(pa.table({"national_id": [_rows()[3]["national_id"]]}), opt_outs)
    for name, plan in [("plain", _plan(source)), ("opted", _plan(source, opt_outs=opt_outs))]:
        with connect("duckdb") as duck:
            _prepare(duck, plan, tmp_path / f"duckdb-{name}")
        with connect("spark") as spark:
            _prepare(spark, plan, tmp_path / f"spark-{name}")
        assert _read(tmp_path / f"duckdb-{name}") == _read(tmp_path / f"spark-{name}") != []
