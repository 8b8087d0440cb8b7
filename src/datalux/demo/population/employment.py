"""Employment spells since 2010 for residents and cross-border workers.

A career runs from the end of studies (or arrival, or 2010) to retirement, death or the
extraction date; it is cut into one to six spells with short gaps between them. Sector,
occupation, wage and working time are drawn per spell.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from datalux.demo.population.people import CROSS_BORDER_COUNTRIES, People
from datalux.demo.population.reference import Reference
from datalux.demo.population.timeline import (
    DAYS_PER_YEAR,
    EMPLOYMENT_FROM,
    EXTRACTION,
    NO_DATE,
    date_array,
)
from datalux.demo.population.vectors import pick, ranks_within, strings, with_nulls

__all__ = ["CROSS_BORDER_STILL_EMPLOYED", "employment_spells"]

CROSS_BORDER_STILL_EMPLOYED = 0.95
_P_EMPLOYEE = (0.78, 0.68)  # residents ever employed since 2010: men, women
_P_NOT_WORKING_NOW = 0.10  # of residents of working age with a career: job-seeking, inactive
# Median full-time monthly wage (euros, 2024) by ISCO-08 major group 0..9.
_MEDIAN_WAGE = np.array([4500, 8600, 6400, 5100, 4200, 3200, 3000, 3600, 3500, 2800], float)
_MINIMUM_WAGE = 2571.0  # social minimum wage, unqualified, 2024
_WORKING_TIME = np.array([100, 80, 75, 50, 40], dtype=np.int8)
_PART_TIME_P = {False: [0.93, 0.02, 0.01, 0.03, 0.01], True: [0.66, 0.12, 0.06, 0.13, 0.03]}


def _careers(
    rng: np.random.Generator, people: People
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Employed persons (indices), career start and end days, and whether still at work."""
    n = len(people)
    entry = people.birth + ((18 + rng.random(n) * 7) * DAYS_PER_YEAR).astype(np.int64)
    if people.resident:
        retire = people.birth + ((57 + rng.random(n) * 8) * DAYS_PER_YEAR).astype(np.int64)
        start = np.maximum(np.maximum(entry, EMPLOYMENT_FROM), people.arrival)
        end = np.minimum(retire, EXTRACTION)
        end = np.where(people.death != NO_DATE, np.minimum(end, people.death), end)
        employee = rng.random(n) < np.where(people.female, _P_EMPLOYEE[1], _P_EMPLOYEE[0])
        working_now = (end == EXTRACTION) & (rng.random(n) >= _P_NOT_WORKING_NOW)
        stopped = (end == EXTRACTION) & ~working_now
        end = np.where(stopped, end - (rng.random(n) * 2 * DAYS_PER_YEAR).astype(np.int64), end)
    else:
        came = EXTRACTION - (rng.exponential(9.0, n) * DAYS_PER_YEAR).astype(np.int64)
        start = np.maximum(np.maximum(entry, EMPLOYMENT_FROM), came)
        start = np.minimum(start, EXTRACTION - 30)
        working_now = rng.random(n) < CROSS_BORDER_STILL_EMPLOYED
        left = start + 30 + (rng.random(n) * (EXTRACTION - start - 30)).astype(np.int64)
        end = np.where(working_now, EXTRACTION, left)  # every one worked at least 30 days
        employee = np.ones(n, dtype=bool)
    employee &= end - start >= 30
    who = np.flatnonzero(employee)
    return who, start[who], end[who], working_now[who]


def employment_spells(
    rng: np.random.Generator,
    ref: Reference,
    people: People,
    first_id: int,
    schema: pa.Schema,
) -> tuple[pa.Table, int]:
    """The employment_spells rows of a chunk and the number of persons employed at extraction."""
    who, start, end, working_now = _careers(rng, people)
    length = end - start
    n_spells = np.minimum(1 + rng.poisson(0.4 * length / DAYS_PER_YEAR / 5 * 2), 6)
    person = np.repeat(who, n_spells)
    career = np.repeat(np.arange(len(who)), n_spells)
    j = ranks_within(n_spells)
    cut = np.where(j == 0, 0.0, rng.random(len(person)))
    order = np.lexsort((cut, career))
    cut = cut[order]
    spell_start = start[career] + (cut * length[career]).astype(np.int64)
    is_last = np.r_[career[1:] != career[:-1], True]
    next_start = np.r_[spell_start[1:], 0]
    gap = (rng.random(len(person)) * np.minimum(120, (next_start - spell_start) / 3)).astype(
        np.int64
    )
    spell_end = np.where(is_last, end[career], np.maximum(spell_start, next_start - 1 - gap))
    open_spell = is_last & working_now[career]
    s = len(person)

    # Sector: people mostly stay in their sector; occupation follows the sector.
    home_sector = ref.nace_sampler.draw(rng, len(who))[career]
    sector = np.where(rng.random(s) < 0.3, ref.nace_sampler.draw(rng, s), home_sector)
    section = ref.nace_section_of[sector]
    isco = np.zeros(s, dtype=np.int32)
    for sec in np.unique(section):
        rows = np.flatnonzero(section == sec)
        isco[rows] = ref.isco_by_section[int(sec)].draw(rng, len(rows))
    female = people.female[person]
    part = np.where(
        female,
        pick(rng, np.array(_PART_TIME_P[True]), s),
        pick(rng, np.array(_PART_TIME_P[False]), s),
    )
    pct = _WORKING_TIME[part]
    years_before = (EXTRACTION - spell_start) / DAYS_PER_YEAR
    level = 0.98**years_before
    wage = _MEDIAN_WAGE[ref.isco_major[isco]] * rng.lognormal(0.0, 0.28, s) * level
    wage = np.maximum(wage, _MINIMUM_WAGE * level) * pct / 100
    wage = np.round(wage, 2)

    if people.resident:
        country = pa.array(np.full(s, "LU"))
        postcode = pa.array(people.postcode[person]).cast(pa.string())
    else:
        country = strings(CROSS_BORDER_COUNTRIES).take(pa.array(people.country[person]))
        postcode = ref.foreign_postcodes.take(pa.array(people.foreign_postcode[person]))

    ordering = np.lexsort((person, spell_start))
    person = person[ordering]
    spell_start = spell_start[ordering]
    spell_end = spell_end[ordering]
    open_spell = open_spell[ordering]
    sector = sector[ordering]
    isco = isco[ordering]
    wage = wage[ordering]
    pct = pct[ordering]
    country, postcode = country.take(pa.array(ordering)), postcode.take(pa.array(ordering))
    columns = {
        "spell_id": pa.array(np.arange(first_id, first_id + s, dtype=np.int64)),
        "national_id": people.national_ids(person),
        "start_date": date_array(spell_start.astype(np.int32)),
        "end_date": date_array(spell_end.astype(np.int32), ~open_spell),
        "nace_section": ref.nace_sections.take(pa.array(sector)),
        "nace_division": ref.nace_divisions.take(pa.array(sector)),
        "isco_code": with_nulls(ref.isco_codes.take(pa.array(isco)), rng.random(s) < 0.04),
        "monthly_wage": with_nulls(pa.array(wage), rng.random(s) < 0.01),
        "working_time_pct": pa.array(pct, type=pa.int8()),
        "country_of_residence": country,
        "residence_postcode": with_nulls(postcode, rng.random(s) < 0.005),
    }
    table = pa.Table.from_arrays([columns[c] for c in schema.names], schema=schema)
    return table, int(working_now.sum())
