"""The result object, the holders as data, the data dictionary and the reference lists."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from datalux.demo import population
from tests.demo.population.conftest import PERSONS, Generated


def test_every_holder_table_is_generated(generated: Generated) -> None:
    result = generated.result
    expected = [(h.key, t.name) for h in population.HOLDERS for t in h.tables]
    assert [(t.holder_key, t.name) for t in result.tables] == expected
    assert len(population.HOLDERS) >= 5
    for t in result.tables:
        assert t.path.is_file()
        assert t.path.parent.name == t.holder_key
        assert t.holder.key == t.holder_key
        assert t.holder.kind == "data holder"
        assert pq.ParquetFile(t.path).metadata.num_rows == t.rows
        assert t.rows > 0
    assert result.table("population_register").rows == PERSONS
    assert result.total_rows == sum(t.rows for t in result.tables)
    assert result.cross_border_workers > 0
    assert set(result.by_holder()) == {h.key for h in population.HOLDERS}


def test_files_follow_the_data_dictionary(generated: Generated) -> None:
    for t in generated.result.tables:
        spec = population.table_spec(t.name)
        schema = pq.read_schema(t.path)
        assert schema.names == [c.name for c in spec.columns]
        table = pq.read_table(t.path)
        for column in spec.columns:
            field = schema.field(column.name)
            assert field.type == column.arrow_type, (t.name, column.name)
            assert field.metadata[b"description"].decode() == column.description
            assert column.description
            if not column.nullable:
                assert table[column.name].null_count == 0, (t.name, column.name)
        meta = schema.metadata
        assert meta[b"datalux.table"] == t.name.encode()
        assert meta[b"datalux.holder"] == t.holder_key.encode()


def test_column_specs_read_as_plain_dicts() -> None:
    column = population.table_spec("hospital_stays").columns[0]
    assert dict(column) == {
        "name": column.name,
        "type": column.type,
        "nullable": column.nullable,
        "description": column.description,
    }
    assert column.as_dict() == dict(column)


def test_manifest_repeats_the_result(generated: Generated) -> None:
    result = generated.result
    data = json.loads(result.manifest_path.read_text(encoding="utf-8"))
    assert data == population.manifest(result)
    assert data["persons"] == PERSONS
    by_name = {t["table"]: t for t in data["tables"]}
    for t in result.tables:
        entry = by_name[t.name]
        assert result.out_dir / entry["path"] == t.path
        assert entry["rows"] == t.rows
        assert [c["name"] for c in entry["columns"]] == [c.name for c in t.columns]
    assert [result.out_dir / p for p in data["truth_files"]] == list(result.truth_files)


def test_truth_files_are_separate_from_holder_files(generated: Generated) -> None:
    result = generated.result
    school = result.table("school_enrolments")
    assert school.truth_path in result.truth_files
    assert school.truth_path is not None
    assert school.truth_path.parent.name == "_truth"
    for t in result.tables:
        assert "_truth" not in t.path.parts
    others = [t for t in result.tables if t.name != "school_enrolments"]
    assert all(t.truth_path is None for t in others)


def test_lookups_name_what_is_known() -> None:
    with pytest.raises(KeyError, match="population_register"):
        population.holder("nope")
    with pytest.raises(KeyError, match="hospital_stays"):
        population.table_spec("nope")
    with pytest.raises(KeyError, match="communes"):
        population.reference_table("nope")


def test_reference_lists_have_the_promised_sizes() -> None:
    communes = population.reference_table("communes")
    assert communes.num_rows == 100
    assert len(set(communes["commune"].to_pylist())) == 100
    assert len(set(communes["canton"].to_pylist())) == 12
    assert "Luxembourg" in communes["commune"].to_pylist()
    assert "Esch-sur-Alzette" in communes["commune"].to_pylist()
    low = pc.cast(communes["postcode_from"], pa.int32())
    high = pc.cast(communes["postcode_to"], pa.int32())
    assert pc.all(pc.less_equal(low, high)).as_py()
    assert population.reference_table("given_names").num_rows >= 300
    assert population.reference_table("surnames").num_rows >= 300
    assert 90 <= population.reference_table("icd10").num_rows <= 120
    assert 70 <= population.reference_table("atc").num_rows <= 100
    assert 50 <= population.reference_table("isco").num_rows <= 80
    origins = set(population.reference_table("surnames")["origin"].to_pylist())
    assert {"lu", "pt", "fr", "it", "de"} <= origins
    atc = population.reference_table("atc")["code"].to_pylist()
    assert all(len(code) == 7 for code in atc)  # level 5: e.g. C10AA05
