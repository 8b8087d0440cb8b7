"""Persons: residents (the population register) and cross-border workers, one chunk at a time.

Everything is drawn with numpy over whole chunks; strings stay as indices into the reference
lists until a table is built.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datalux.demo.population.reference import ORIGINS, Reference
from datalux.demo.population.timeline import (
    DAYS_PER_YEAR,
    DEATHS_FROM,
    EXTRACTION,
    NO_DATE,
    date_array,
    day,
    years_between,
)
from datalux.demo.population.vectors import fixed_width_strings, sex_array, with_nulls
from datalux.privacy.national_id import NATIONAL_ID_LENGTH, make_national_ids

__all__ = [
    "CROSS_BORDER_SHARE",
    "People",
    "SequenceAllocator",
    "draw_cross_border_workers",
    "draw_residents",
    "register_table",
]

# Share of residents by age group at the extraction date: 0-4, 5-9, ..., 95-99.
AGE_PYRAMID = np.array(
    [
        5.3,
        5.6,
        5.6,
        5.6,
        6.0,
        7.0,
        8.0,
        8.2,
        8.0,
        7.5,
        7.4,
        7.0,
        5.8,
        4.5,
        3.7,
        2.8,
        1.9,
        1.3,
        0.6,
        0.2,
    ]
)
# Cross-border workers by age group at the extraction date: 20-24, ..., 60-64.
CROSS_BORDER_AGES = np.array([0.05, 0.10, 0.13, 0.15, 0.15, 0.14, 0.12, 0.10, 0.06])
CROSS_BORDER_SHARE = 0.45  # of current employees
CROSS_BORDER_COUNTRIES = ("FR", "BE", "DE")
_CROSS_BORDER_COUNTRY_P = np.array([0.52, 0.24, 0.24])
# Name origins of cross-border workers by country (order of ORIGINS: lu pt fr it de intl).
_CROSS_BORDER_ORIGINS = np.array(
    [
        [0.00, 0.08, 0.82, 0.05, 0.00, 0.05],
        [0.03, 0.00, 0.85, 0.04, 0.00, 0.08],
        [0.00, 0.00, 0.00, 0.04, 0.90, 0.06],
    ]
)


@dataclass
class People:
    """One chunk of persons; arrays are aligned, dates are int32 days (NO_DATE: none)."""

    birth: np.ndarray
    female: np.ndarray
    national_id: pa.Array
    origin: np.ndarray
    given: np.ndarray
    surname: np.ndarray
    death: np.ndarray
    arrival: np.ndarray
    # residents only (cross-border workers: -1)
    nationality: np.ndarray
    commune: np.ndarray
    postcode: np.ndarray
    street: np.ndarray
    house_number: np.ndarray
    # cross-border workers only (residents: -1)
    country: np.ndarray  # index into CROSS_BORDER_COUNTRIES
    foreign_postcode: np.ndarray  # index into Reference.foreign_postcodes
    resident: bool

    def __len__(self) -> int:
        return len(self.birth)

    def national_ids(self, rows: np.ndarray) -> pa.Array:
        """The national numbers of the given persons (rows may repeat), as strings."""
        matrix = np.frombuffer(self.national_id.buffers()[2], dtype=np.uint8)
        matrix = matrix[: len(self) * NATIONAL_ID_LENGTH].reshape(len(self), NATIONAL_ID_LENGTH)
        return fixed_width_strings(matrix[rows])


class SequenceAllocator:
    """Hands out the 3-digit sequence numbers per birth date, unique over the whole run.

    Each day gets a random starting offset, so sequences look arbitrary. A day that has
    given out all 1,000 numbers moves the next persons born on it one day earlier.
    """

    FIRST_DAY = day(dt.date(1850, 1, 1))

    def __init__(self, rng: np.random.Generator) -> None:
        n_days = EXTRACTION - self.FIRST_DAY + 1
        self._used = np.zeros(n_days, dtype=np.int32)
        self._offset = rng.integers(0, 1000, n_days).astype(np.int32)

    def allocate(self, birth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        birth = birth.astype(np.int32, copy=True)
        seq = np.empty(len(birth), dtype=np.int32)
        pending = np.arange(len(birth))
        while pending.size:
            d = birth[pending] - self.FIRST_DAY
            if d.min() < 0:
                raise ValueError("too many persons for the range of birth dates")
            order = np.argsort(d, kind="stable")
            ds = d[order]
            starts = np.flatnonzero(np.r_[True, ds[1:] != ds[:-1]])
            sizes = np.diff(np.r_[starts, len(ds)])
            rank = np.arange(len(ds)) - np.repeat(starts, sizes)
            count = self._used[ds] + rank
            ok = count < 1000
            self._used[ds[starts]] = np.minimum(1000, self._used[ds[starts]] + sizes)
            seq[pending[order[ok]]] = (self._offset[ds[ok]] + count[ok]) % 1000
            pending = pending[order[~ok]]
            birth[pending] -= 1
        return birth, seq


def _draw_names(
    rng: np.random.Generator, ref: Reference, origin: np.ndarray, female: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    given = np.zeros(len(origin), dtype=np.int32)
    surname = np.zeros(len(origin), dtype=np.int32)
    for o in range(len(ORIGINS)):
        in_origin = origin == o
        rows = np.flatnonzero(in_origin)
        surname[rows] = ref.surname_by_origin[o].draw(rng, len(rows))
        for f in (0, 1):
            rows = np.flatnonzero(in_origin & (female == bool(f)))
            given[rows] = ref.given_by_origin_sex[(o, f)].draw(rng, len(rows))
    return given, surname


def _choose_rows(rng: np.random.Generator, cdf_rows: np.ndarray) -> np.ndarray:
    """One category per row, row i drawn from the cumulative distribution cdf_rows[i]."""
    u = rng.random(len(cdf_rows))
    return (u[:, None] >= cdf_rows).sum(axis=1).clip(0, cdf_rows.shape[1] - 1).astype(np.int8)


def draw_address(
    rng: np.random.Generator, ref: Reference, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Commune, postcode (int), street index and house number for n addresses."""
    commune = ref.commune_sampler.draw(rng, n).astype(np.int16)
    lo, hi = ref.postcode_from[commune], ref.postcode_to[commune]
    postcode = lo + (rng.random(n) * (hi - lo + 1)).astype(np.int32)
    street = ref.street_sampler.draw(rng, n)
    house_number = np.exp(rng.random(n) * np.log(150)).astype(np.int16)
    return commune, postcode, street, house_number


def _mortality_hazard(age: np.ndarray) -> np.ndarray:
    """Yearly probability of death at an age (Gompertz, roughly Luxembourg's level)."""
    return np.minimum(0.6, np.exp(-10.1 + 0.094 * age))


def draw_residents(
    rng: np.random.Generator, ref: Reference, n: int, allocator: SequenceAllocator
) -> People:
    """n persons of the population register, deceased ones (since 2015) included."""
    group = np.searchsorted(
        np.cumsum(AGE_PYRAMID / AGE_PYRAMID.sum()), rng.random(n), side="right"
    ).clip(0, len(AGE_PYRAMID) - 1)
    age_at_extraction = (group + rng.random(n)) * 5.0
    birth = (EXTRACTION - age_at_extraction * DAYS_PER_YEAR).astype(np.int32)
    birth, seq = allocator.allocate(birth)
    age = years_between(birth, EXTRACTION)

    p_female = np.select([age < 50, age < 70, age < 80, age < 90], [0.49, 0.5, 0.55, 0.62], 0.72)
    female = rng.random(n) < p_female

    # Deaths since DEATHS_FROM: integrate the hazard over the years lived in the window.
    years_in_window = np.minimum((EXTRACTION - np.maximum(birth, DEATHS_FROM)) / DAYS_PER_YEAR, 10)
    p_death = 1 - np.exp(-years_in_window * _mortality_hazard(age - years_in_window / 2))
    dies = rng.random(n) < p_death
    window_start = np.maximum(birth, DEATHS_FROM)
    death = np.where(
        dies,
        window_start + (rng.random(n) * (EXTRACTION - window_start + 1)).astype(np.int32),
        NO_DATE,
    ).astype(np.int32)

    # Nationality: fewer Luxembourgers among people of working age.
    p_lu = np.select([age < 18, age < 25, age < 50, age < 65], [0.56, 0.52, 0.42, 0.57], 0.74)
    lu_index = 0  # nationalities.csv starts with LU
    foreign = ref.foreign_nationality_sampler.draw(rng, n)
    nationality = np.where(rng.random(n) < p_lu, lu_index, foreign).astype(np.int16)
    origin = _choose_rows(rng, ref.nationality_origin_cdf[nationality])
    given, surname = _draw_names(rng, ref, origin, female)

    # Arrival in the country: most foreigners and a few Luxembourgers were born abroad.
    p_abroad = np.where(nationality == lu_index, 0.08, np.where(age < 18, 0.5, 0.85))
    abroad = rng.random(n) < p_abroad
    arrival = (EXTRACTION - rng.exponential(9.0, n) * DAYS_PER_YEAR).astype(np.int32)
    arrival = np.maximum(arrival, birth + 1)
    arrival = np.where(death != NO_DATE, np.minimum(arrival, death), arrival)
    arrival = np.maximum(arrival, birth)
    arrival = np.where(abroad, arrival, NO_DATE).astype(np.int32)

    commune, postcode, street, house_number = draw_address(rng, ref, n)
    national_id = make_national_ids(birth.astype("datetime64[D]"), seq)
    minus = np.full(n, -1, dtype=np.int8)
    return People(
        birth=birth,
        female=female,
        national_id=national_id,
        origin=origin,
        given=given,
        surname=surname,
        death=death,
        arrival=arrival,
        nationality=nationality,
        commune=commune,
        postcode=postcode,
        street=street,
        house_number=house_number,
        country=minus,
        foreign_postcode=minus.astype(np.int32),
        resident=True,
    )


def draw_cross_border_workers(
    rng: np.random.Generator, ref: Reference, n: int, allocator: SequenceAllocator
) -> People:
    """n cross-border workers living in France, Belgium or Germany (not in the register)."""
    group = np.searchsorted(
        np.cumsum(CROSS_BORDER_AGES / CROSS_BORDER_AGES.sum()), rng.random(n), side="right"
    ).clip(0, len(CROSS_BORDER_AGES) - 1)
    age = 20 + (group + rng.random(n)) * 5.0
    birth = (EXTRACTION - age * DAYS_PER_YEAR).astype(np.int32)
    birth, seq = allocator.allocate(birth)
    female = rng.random(n) < 0.38
    country = np.searchsorted(np.cumsum(_CROSS_BORDER_COUNTRY_P), rng.random(n), side="right")
    country = country.clip(0, len(CROSS_BORDER_COUNTRIES) - 1).astype(np.int8)
    origin = _choose_rows(rng, np.cumsum(_CROSS_BORDER_ORIGINS, axis=1)[country])
    given, surname = _draw_names(rng, ref, origin, female)
    foreign_postcode = np.zeros(n, dtype=np.int32)
    for c, code in enumerate(CROSS_BORDER_COUNTRIES):
        rows = np.flatnonzero(country == c)
        foreign_postcode[rows] = ref.foreign_by_country[code].draw(rng, len(rows))
    none = np.full(n, NO_DATE, dtype=np.int32)
    minus = np.full(n, -1, dtype=np.int16)
    return People(
        birth=birth,
        female=female,
        national_id=make_national_ids(birth.astype("datetime64[D]"), seq),
        origin=origin,
        given=given,
        surname=surname,
        death=none,
        arrival=none.copy(),
        nationality=minus,
        commune=minus,
        postcode=minus.astype(np.int32),
        street=minus.astype(np.int32),
        house_number=minus,
        country=country,
        foreign_postcode=foreign_postcode,
        resident=False,
    )


def street_addresses(ref: Reference, street: np.ndarray, house_number: np.ndarray) -> pa.Array:
    """'12, rue de la Gare' style addresses."""
    return pc.binary_join_element_wise(
        pa.array(house_number.astype(np.int32)).cast(pa.string()),
        ref.streets.take(pa.array(street)),
        ", ",
    )


def register_table(
    rng: np.random.Generator, ref: Reference, people: People, schema: pa.Schema
) -> pa.Table:
    """The population_register rows for a chunk of residents."""
    n = len(people)
    postcode = pc.binary_join_element_wise(
        pa.scalar("L"), pa.array(people.postcode).cast(pa.string()), "-"
    )
    address = street_addresses(ref, people.street, people.house_number)
    columns = {
        "national_id": people.national_id,
        "given_name": ref.given_names.take(pa.array(people.given)),
        "surname": ref.surnames.take(pa.array(people.surname)),
        "sex": sex_array(people.female),
        "birth_date": date_array(people.birth),
        "nationality": ref.nationality_codes.take(pa.array(people.nationality)),
        "commune": ref.commune_names.take(pa.array(people.commune)),
        # An authentic source is nearly complete: a few addresses await confirmation.
        "postcode": with_nulls(postcode, rng.random(n) < 0.001),
        "street_address": with_nulls(address, rng.random(n) < 0.002),
        "arrival_date": date_array(people.arrival),
        "death_date": date_array(people.death),
    }
    return pa.Table.from_arrays([columns[name] for name in schema.names], schema=schema)
