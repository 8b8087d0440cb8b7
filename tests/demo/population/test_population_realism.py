"""Plausibility of the synthetic country: shares, ranges, life events in the right order."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest

from datalux.demo import population
from tests.demo.population.conftest import Generated


@pytest.fixture(scope="module")
def db(generated: Generated) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for t in generated.result.tables:
        con.register(t.name, generated.read(t.name))
    for name in ("communes", "icd10", "atc", "isco", "nace"):
        con.register(f"ref_{name}", population.reference_table(name))
    return con


def one(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    row = con.execute(sql).fetchone()
    assert row is not None
    return row[0] if len(row) == 1 else row


def test_register_looks_like_luxembourg(db: duckdb.DuckDBPyConnection) -> None:
    lu = one(db, "select avg((nationality = 'LU')::int) from population_register")
    assert 0.48 <= lu <= 0.58
    top = db.execute(
        "select nationality from population_register where nationality <> 'LU' "
        "group by 1 order by count(*) desc limit 2"
    ).fetchall()
    assert [r[0] for r in top] == ["PT", "FR"]
    assert one(db, "select count(distinct nationality) from population_register") >= 20
    assert one(db, "select count(distinct commune) from population_register") >= 95
    city = one(db, "select avg((commune = 'Luxembourg')::int) from population_register")
    assert 0.15 <= city <= 0.25  # about a fifth of residents live in the capital
    outside = one(
        db,
        "select count(*) from population_register r join ref_communes c on r.commune = c.commune "
        "where r.postcode is not null and ("
        "cast(substr(r.postcode, 3) as int) < cast(c.postcode_from as int) or "
        "cast(substr(r.postcode, 3) as int) > cast(c.postcode_to as int))",
    )
    assert outside == 0
    assert one(db, "select count(*) from population_register where postcode not like 'L-____'") == 0


def test_age_pyramid_deaths_and_arrivals(db: duckdb.DuckDBPyConnection) -> None:
    mean_age = one(
        db,
        "select avg(date_diff('year', birth_date, date '2024-12-31')) "
        "from population_register where death_date is null",
    )
    assert 36 <= mean_age <= 43
    children = one(db, "select avg((birth_date > date '2006-12-31')::int) from population_register")
    assert 0.15 <= children <= 0.25
    dead = one(db, "select avg((death_date is not null)::int) from population_register")
    assert 0.02 <= dead <= 0.1
    old_dead, young_dead = one(
        db,
        "select avg((death_date is not null)::int) filter (where birth_date < date '1945-01-01'), "
        "avg((death_date is not null)::int) filter (where birth_date > date '1980-01-01') "
        "from population_register",
    )
    assert old_dead > 10 * young_dead
    assert one(db, "select count(*) from population_register where death_date < birth_date") == 0
    assert (
        one(db, "select count(*) from population_register where death_date > date '2024-12-31'")
        == 0
    )
    assert one(db, "select count(*) from population_register where arrival_date < birth_date") == 0
    assert one(db, "select count(*) from population_register where arrival_date > death_date") == 0
    foreign_arrived, lu_arrived = one(
        db,
        "select avg((arrival_date is not null)::int) filter (where nationality <> 'LU'), "
        "avg((arrival_date is not null)::int) filter (where nationality = 'LU') "
        "from population_register",
    )
    assert foreign_arrived > 0.6 > 0.2 > lu_arrived


def test_hospital_stays_are_plausible(db: duckdb.DuckDBPyConnection) -> None:
    per_person_year = one(
        db, "select count(*) / 5.0 / (select count(*) from population_register) from hospital_stays"
    )
    assert 0.07 <= per_person_year <= 0.2
    bad_order = one(db, "select count(*) from hospital_stays where discharge_date < admission_date")
    assert bad_order == 0
    window = one(
        db,
        "select count(*) from hospital_stays where admission_date < date '2020-01-01' "
        "or admission_date > date '2024-12-31'",
    )
    assert window == 0
    median_los = one(db, "select median(discharge_date - admission_date) from hospital_stays")
    assert 1 <= median_los <= 6
    after_death = one(
        db,
        "select count(*) from hospital_stays h join population_register p using (national_id) "
        "where h.admission_date > p.death_date or h.discharge_date > p.death_date "
        "or h.admission_date < p.birth_date",
    )
    assert after_death == 0
    old, young = one(
        db,
        "with s as (select p.birth_date from hospital_stays h "
        "join population_register p using (national_id)) "
        "select (select count(*) from s where birth_date < date '1945-01-01') * 1.0 / "
        "(select count(*) from population_register where birth_date < date '1945-01-01'), "
        "(select count(*) from s where birth_date between date '1990-01-01' and date '2000-01-01')"
        " * 1.0 / (select count(*) from population_register "
        "where birth_date between date '1990-01-01' and date '2000-01-01')",
    )
    assert old > 2 * young  # per person (not per year alive): many of the old died meanwhile
    unknown = one(
        db,
        "select count(*) from hospital_stays where primary_diagnosis is not null "
        "and primary_diagnosis not in (select code from ref_icd10)",
    )
    assert unknown == 0
    maternity_men = one(
        db,
        "select count(*) from hospital_stays h join population_register p using (national_id) "
        "where p.sex = 'M' and h.primary_diagnosis like 'O%'",
    )
    assert maternity_men == 0
    missing_id = one(db, "select avg((national_id is null)::int) from hospital_stays")
    assert 0.005 <= missing_id <= 0.05


def test_prescriptions_are_clustered_and_in_the_year(db: duckdb.DuckDBPyConnection) -> None:
    outside = one(
        db,
        "select count(*) from prescriptions where dispensing_date < date '2024-01-01' "
        "or dispensing_date > date '2024-12-31'",
    )
    assert outside == 0
    after_death = one(
        db,
        "select count(*) from prescriptions r join population_register p using (national_id) "
        "where r.dispensing_date > p.death_date",
    )
    assert after_death == 0
    top_decile_share = one(
        db,
        "with n as (select national_id, count(*) c from prescriptions "
        "where national_id is not null group by 1), "
        "r as (select c, ntile(10) over (order by c desc) d from n) "
        "select sum(c) filter (where d = 1) * 1.0 / sum(c) from r",
    )
    assert top_decile_share > 0.3
    per_person = one(
        db, "select count(*) * 1.0 / (select count(*) from population_register) from prescriptions"
    )
    assert 4 <= per_person <= 20
    unknown = one(
        db, "select count(*) from prescriptions where atc_code not in (select code from ref_atc)"
    )
    assert unknown == 0


def test_employment_with_cross_border_workers(db: duckdb.DuckDBPyConnection) -> None:
    share = one(
        db,
        "select avg((country_of_residence <> 'LU')::int) from employment_spells "
        "where end_date is null",
    )
    assert 0.42 <= share <= 0.48
    countries = {
        r[0]
        for r in db.execute(
            "select distinct country_of_residence from employment_spells"
        ).fetchall()
    }
    assert countries == {"LU", "FR", "BE", "DE"}
    assert one(db, "select count(*) from employment_spells where end_date < start_date") == 0
    assert (
        one(db, "select count(*) from employment_spells where start_date < date '2010-01-01'") == 0
    )
    overlapping = one(
        db,
        "select count(*) from (select national_id, start_date, "
        "lag(end_date) over (partition by national_id order by start_date) prev_end "
        "from employment_spells) where prev_end is null and start_date is null "
        "or prev_end >= start_date",
    )
    assert overlapping <= 0.002 * one(db, "select count(*) from employment_spells")
    unknown_isco = one(
        db,
        "select count(*) from employment_spells where isco_code is not null "
        "and isco_code not in (select code from ref_isco)",
    )
    assert unknown_isco == 0
    wage = one(
        db, "select median(monthly_wage) from employment_spells where working_time_pct = 100"
    )
    assert 3000 <= wage <= 7000
    under_minimum = one(
        db,
        "select count(*) from employment_spells where working_time_pct = 100 "
        "and monthly_wage < 2000 and start_date >= date '2020-01-01'",
    )
    assert under_minimum == 0
    finance = one(db, "select avg((nace_section = 'K')::int) from employment_spells")
    assert 0.06 <= finance <= 0.2  # Luxembourg's finance sector


def test_missing_values_exist_at_modest_rates(generated: Generated) -> None:
    for t in generated.result.tables:
        table = generated.read(t.name)
        nullable = [c.name for c in t.columns if c.nullable]
        assert nullable, t.name
        rates = {name: table[name].null_count / table.num_rows for name in nullable}
        assert any(rate > 0 for rate in rates.values()), t.name
        structural = {"arrival_date", "death_date", "end_date", "commune_of_residence"}
        for name, rate in rates.items():
            if name not in structural:
                assert rate < 0.1, (t.name, name, rate)
