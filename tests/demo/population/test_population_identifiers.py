"""National numbers: valid, unique, consistent across holders; none in the school register."""

from __future__ import annotations

import datetime as dt
import random

import pyarrow as pa
import pyarrow.compute as pc

from datalux.privacy import is_valid_national_id, valid_national_id_mask
from tests.demo.population.conftest import Generated


def _ids(table: pa.Table) -> set[str]:
    return set(pc.drop_null(table["national_id"]).to_pylist())


def test_register_numbers_are_valid_unique_and_match_birth_dates(generated: Generated) -> None:
    register = generated.read("population_register")
    ids = register["national_id"]
    assert valid_national_id_mask(ids).true_count == register.num_rows
    assert pc.count_distinct(ids).as_py() == register.num_rows
    sample = random.Random(1).sample(ids.to_pylist(), 500)
    assert all(is_valid_national_id(v) for v in sample)
    births = register["birth_date"].to_pylist()
    for value, born in zip(ids.to_pylist(), births, strict=True):
        assert value[:8] == born.strftime("%Y%m%d")


def test_every_table_uses_known_valid_numbers(generated: Generated) -> None:
    register = _ids(generated.read("population_register"))
    employment = generated.read("employment_spells")
    cross_border = set(
        pc.filter(employment, pc.not_equal(employment["country_of_residence"], "LU"))[
            "national_id"
        ].to_pylist()
    )
    assert len(cross_border) > 0
    assert not cross_border & register  # cross-border workers are not in the register
    assert valid_national_id_mask(pa.array(sorted(cross_border))).true_count == len(cross_border)
    residents_working = set(
        pc.filter(employment, pc.equal(employment["country_of_residence"], "LU"))[
            "national_id"
        ].to_pylist()
    )
    assert residents_working <= register
    known = register | cross_border
    for name in ("hospital_stays", "prescriptions"):
        table = generated.read(name)
        ids = _ids(table)
        assert ids <= known, name
        present = pc.drop_null(table["national_id"])
        assert valid_national_id_mask(present).true_count == len(present)
    # Cross-border workers also get care and medicines in the country.
    assert _ids(generated.read("prescriptions")) & cross_border


def test_cross_border_numbers_are_unique_per_person(generated: Generated) -> None:
    employment = generated.read("employment_spells")
    foreign = pc.filter(employment, pc.not_equal(employment["country_of_residence"], "LU"))
    per_id = foreign.group_by("national_id").aggregate([("country_of_residence", "count_distinct")])
    assert pc.max(per_id["country_of_residence_count_distinct"]).as_py() == 1
    assert per_id.num_rows == generated.result.cross_border_workers


def test_school_register_holds_no_national_number(generated: Generated) -> None:
    school = generated.read("school_enrolments")
    assert "national_id" not in school.column_names
    register_ids = _ids(generated.read("population_register"))
    for name in school.column_names:
        column = school[name]
        if pa.types.is_string(column.type):
            values = pc.drop_null(column)
            assert valid_national_id_mask(values).true_count == 0, name
            assert not set(values.to_pylist()) & register_ids, name
        elif pa.types.is_integer(column.type):
            as_text = set(pc.cast(column, pa.string()).to_pylist())
            assert not as_text & register_ids, name


def test_truth_maps_every_school_record_to_a_resident(generated: Generated) -> None:
    school = generated.read("school_enrolments")
    truth = generated.truth("school_enrolments")
    assert truth.column_names == ["record_id", "national_id", "noise"]
    assert sorted(truth["record_id"].to_pylist()) == sorted(school["record_id"].to_pylist())
    assert pc.count_distinct(truth["record_id"]).as_py() == truth.num_rows
    assert pc.count_distinct(truth["national_id"]).as_py() == truth.num_rows  # one per pupil
    register = generated.read("population_register")
    assert set(truth["national_id"].to_pylist()) <= set(register["national_id"].to_pylist())

    # The truth is right: clean records carry exactly the register's identity.
    people = {
        r["national_id"]: r
        for r in register.select(
            ["national_id", "given_name", "surname", "birth_date", "sex", "death_date"]
        ).to_pylist()
    }
    records = {r["record_id"]: r for r in school.to_pylist()}
    clean = 0
    for row in truth.to_pylist():
        person = people[row["national_id"]]
        record = records[row["record_id"]]
        assert person["death_date"] is None  # pupils are alive
        if record["sex"] is not None:
            assert record["sex"] == person["sex"]
        if row["noise"] is None:
            clean += 1
            for field in ("given_name", "surname", "birth_date"):
                assert record[field] == person[field], field
    assert clean > 0.6 * truth.num_rows


def test_pupils_are_of_school_age(generated: Generated) -> None:
    truth = generated.truth("school_enrolments")
    register = generated.read("population_register")
    births = dict(
        zip(register["national_id"].to_pylist(), register["birth_date"].to_pylist(), strict=True)
    )
    first_of_september = dt.date(2024, 9, 1)
    for national_id in truth["national_id"].to_pylist():
        born = births[national_id]
        age = (
            first_of_september.year
            - born.year
            - ((first_of_september.month, first_of_september.day) < (born.month, born.day))
        )
        assert 3 <= age <= 19
