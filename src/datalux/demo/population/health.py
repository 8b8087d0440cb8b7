"""Hospital stays (2020-2024) and dispensed medicines (2024) for a chunk of persons.

Frequencies follow age and sex; a per-person frailty (gamma-distributed) clusters stays and
medicines on the same people, as in real claims data. Nothing happens before a person's birth
or arrival in the country, or after their death.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from datalux.demo.population.people import People
from datalux.demo.population.reference import AGE_BANDS, SPECIALTIES, Reference, age_band
from datalux.demo.population.timeline import (
    DAYS_PER_YEAR,
    EXTRACTION,
    HOSPITAL_FROM,
    NO_DATE,
    PRESCRIPTIONS_FROM,
    date_array,
    years_between,
)
from datalux.demo.population.vectors import pick, ranks_within, strings, with_nulls

__all__ = ["HOSPITALS", "hospital_stays", "prescriptions"]

HOSPITALS = (
    "Hôpital général de Luxembourg-Ville",
    "Clinique du Kirchberg",
    "Hôpital du Bassin minier",
    "Centre hospitalier de l'Alzette",
    "Hôpital des Ardennes",
    "Clinique de la Moselle",
)
# Choice of hospital by region of residence (rows: centre, south, north, east; abroad last).
_HOSPITAL_BY_REGION = np.array(
    [
        [0.45, 0.35, 0.05, 0.05, 0.05, 0.05],
        [0.12, 0.08, 0.45, 0.30, 0.02, 0.03],
        [0.15, 0.10, 0.02, 0.03, 0.65, 0.05],
        [0.25, 0.20, 0.03, 0.02, 0.05, 0.45],
        [0.35, 0.25, 0.20, 0.10, 0.05, 0.05],
    ]
)
# Yearly hospital stays per person by AGE_BANDS (births counted apart).
_STAYS_PER_YEAR = np.array([0.30, 0.05, 0.07, 0.09, 0.12, 0.22, 0.35, 0.50])
_MATERNITY_EXTRA = 0.06  # women 15-44
_CROSS_BORDER_HEALTH_USE = (0.25, 0.5)  # share of care taken in the country: stays, medicines
assert len(_STAYS_PER_YEAR) == len(AGE_BANDS)

# Chronic medicines per person by age (<18, 18-39, 40-59, 60-74, 75+) and acute courses a year.
_CHRONIC_AGE_EDGES = np.array([18, 40, 60, 75])
_CHRONIC_MEDS = np.array([0.12, 0.35, 1.1, 2.8, 4.2])
_ACUTE_AGE_EDGES = np.array([5, 18, 65])
_ACUTE_PER_YEAR = np.array([3.0, 1.5, 1.3, 2.2])
_REFILL_DAYS = np.array([28, 56, 84])
_REFILL_P = np.array([0.5, 0.2, 0.3])
_GENERAL_PRACTICE = SPECIALTIES.index("general practice")
_PAEDIATRICS = SPECIALTIES.index("paediatrics")


def _exposure(people: People, start: int) -> tuple[np.ndarray, np.ndarray]:
    """First and last day each person could appear in data covering [start, EXTRACTION]."""
    first = np.maximum(np.maximum(people.birth, start), people.arrival)  # NO_DATE is very low
    last = np.where(people.death != NO_DATE, np.minimum(people.death, EXTRACTION), EXTRACTION)
    return first.astype(np.int64), last.astype(np.int64)


def _uniform_day(rng: np.random.Generator, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    return first + (rng.random(len(first)) * (last - first + 1)).astype(np.int64)


def hospital_stays(
    rng: np.random.Generator,
    ref: Reference,
    people: People,
    first_id: int,
    schema: pa.Schema,
) -> pa.Table:
    """The hospital_stays rows of a chunk, sorted by admission date, ids from first_id."""
    first, last = _exposure(people, HOSPITAL_FROM)
    exposed = last >= first
    years = np.where(exposed, (last - first + 1) / DAYS_PER_YEAR, 0.0)
    mid_age = years_between(people.birth, (first + last) // 2)
    rate = _STAYS_PER_YEAR[age_band(mid_age)] + _MATERNITY_EXTRA * (
        people.female & (mid_age >= 15) & (mid_age <= 44)
    )
    if not people.resident:
        rate = rate * _CROSS_BORDER_HEALTH_USE[0]
    frailty = rng.gamma(0.7, 1 / 0.7, len(people))
    counts = rng.poisson(rate * years * frailty)
    person = np.repeat(np.arange(len(people)), counts)
    admission = _uniform_day(rng, first[person], last[person])
    age = years_between(people.birth[person], admission)
    female = people.female[person]
    code = ref.icd10.draw(rng, age_band(age), female)

    # Birth stays: nearly every child born here since 2020 (arrival null) starts in hospital.
    born_here = exposed & (people.birth >= HOSPITAL_FROM) & (people.arrival == NO_DATE)
    born_here &= rng.random(len(people)) < 0.97
    babies = np.flatnonzero(born_here)
    baby_codes = np.array(
        [_code_index(ref, c) for c in ("Z38.0", "P07.3", "P59.9")], dtype=np.int32
    )[pick(rng, np.array([0.9, 0.06, 0.04]), len(babies))]
    person = np.concatenate([person, babies])
    admission = np.concatenate([admission, people.birth[babies].astype(np.int64)])
    code = np.concatenate([code, baby_codes])
    age = np.concatenate([age, np.zeros(len(babies), dtype=age.dtype)])

    n = len(person)
    base_los = ref.icd10_los[code]
    los = np.rint(base_los * rng.lognormal(0.0, 0.5, n) * (1 + np.maximum(0, age - 60) / 60))
    los = np.where(base_los == 0, rng.random(n) < 0.05, np.maximum(los, 1)).astype(np.int64)
    discharge = admission + los
    death = people.death[person]
    discharge = np.where((death != NO_DATE) & (discharge > death), death, discharge)
    still_in = discharge > EXTRACTION

    if people.resident:
        region = ref.commune_region[people.commune[person]].astype(np.int64)
    else:
        region = np.full(n, len(_HOSPITAL_BY_REGION) - 1, dtype=np.int64)
    cdf = np.cumsum(_HOSPITAL_BY_REGION, axis=1)[region]
    hospital = (rng.random(n)[:, None] >= cdf).sum(axis=1).clip(0, len(HOSPITALS) - 1)

    order = np.lexsort((person, admission))
    person = person[order]
    admission = admission[order]
    code = code[order]
    discharge = discharge[order]
    still_in = still_in[order]
    hospital = hospital[order]
    # Recent stays are often not yet coded.
    uncoded = rng.random(n) < np.where(admission > EXTRACTION - 60, 0.3, 0.005)
    if people.resident:
        commune = with_nulls(
            ref.commune_names.take(pa.array(people.commune[person])), rng.random(n) < 0.005
        )
    else:
        commune = pa.nulls(n, pa.string())
    columns = {
        "stay_id": pa.array(np.arange(first_id, first_id + n, dtype=np.int64)),
        "national_id": with_nulls(people.national_ids(person), rng.random(n) < 0.02),
        "admission_date": date_array(admission.astype(np.int32)),
        "discharge_date": date_array(discharge.astype(np.int32), ~still_in),
        "primary_diagnosis": with_nulls(ref.icd10.codes.take(pa.array(code)), uncoded),
        "hospital": strings(HOSPITALS).take(pa.array(hospital)),
        "commune_of_residence": commune,
    }
    return pa.Table.from_arrays([columns[c] for c in schema.names], schema=schema)


def _code_index(ref: Reference, code: str) -> int:
    return ref.icd10.codes.to_pylist().index(code)


def prescriptions(
    rng: np.random.Generator,
    ref: Reference,
    people: People,
    first_id: int,
    schema: pa.Schema,
) -> pa.Table:
    """The prescriptions rows of a chunk (dispensings in the extraction year), sorted by date."""
    first, last = _exposure(people, PRESCRIPTIONS_FROM)
    exposed = last >= first
    years = np.where(exposed, (last - first + 1) / DAYS_PER_YEAR, 0.0)
    age = years_between(people.birth, PRESCRIPTIONS_FROM + 182)
    use = 1.0 if people.resident else _CROSS_BORDER_HEALTH_USE[1]
    frailty = rng.gamma(1.0, 1.0, len(people))

    # Chronic medicines: refilled every 4, 8 or 12 weeks over the year.
    n_meds = (
        rng.poisson(
            _CHRONIC_MEDS[np.searchsorted(_CHRONIC_AGE_EDGES, age, side="right")] * frailty * use
        )
        * exposed
    )
    med_person = np.repeat(np.arange(len(people)), n_meds)
    m = len(med_person)
    med_code = ref.atc_chronic.draw(rng, age_band(age[med_person]), people.female[med_person])
    interval = _REFILL_DAYS[pick(rng, _REFILL_P, m)]
    started_this_year = rng.random(m) < 0.15
    mfirst, mlast = first[med_person], last[med_person]
    offset = np.where(
        started_this_year,
        rng.random(m) * (mlast - mfirst + 1),
        rng.random(m) * interval,
    ).astype(np.int64)
    start = mfirst + offset
    refills = np.where(start <= mlast, (mlast - start) // interval + 1, 0)
    med_specialty = np.where(rng.random(m) < 0.35, ref.atc_specialty[med_code], _GENERAL_PRACTICE)
    med_specialty = np.where(
        (med_specialty == _GENERAL_PRACTICE) & (age[med_person] < 15) & (rng.random(m) < 0.6),
        _PAEDIATRICS,
        med_specialty,
    )
    row_med = np.repeat(np.arange(m), refills)
    k = ranks_within(refills)
    chronic_date = start[row_med] + k * interval[row_med] + rng.integers(-3, 4, len(row_med))
    chronic_date = np.clip(chronic_date, mfirst[row_med], mlast[row_med])
    keep = rng.random(len(row_med)) < 0.92  # missed refills
    row_med, chronic_date = row_med[keep], chronic_date[keep]
    chronic_qty = (interval[row_med] // 28).astype(np.int16)

    # Acute courses: antibiotics, painkillers... at random dates.
    acute_rate = _ACUTE_PER_YEAR[np.searchsorted(_ACUTE_AGE_EDGES, age, side="right")]
    n_acute = rng.poisson(acute_rate * np.sqrt(frailty) * years * use)
    acute_person = np.repeat(np.arange(len(people)), n_acute)
    a = len(acute_person)
    acute_date = _uniform_day(rng, first[acute_person], last[acute_person])
    acute_code = ref.atc_acute.draw(rng, age_band(age[acute_person]), people.female[acute_person])
    acute_specialty = np.where(
        rng.random(a) < 0.2, ref.atc_specialty[acute_code], _GENERAL_PRACTICE
    )
    acute_specialty = np.where(
        (acute_specialty == _GENERAL_PRACTICE) & (age[acute_person] < 15) & (rng.random(a) < 0.6),
        _PAEDIATRICS,
        acute_specialty,
    )
    acute_qty = (1 + (rng.random(a) < 0.15)).astype(np.int16)

    person = np.concatenate([med_person[row_med], acute_person])
    date = np.concatenate([chronic_date, acute_date])
    code = np.concatenate([med_code[row_med], acute_code])
    qty = np.concatenate([chronic_qty, acute_qty])
    specialty = np.concatenate([med_specialty[row_med], acute_specialty])
    # Sort by date then person (one int64 key sorts faster than lexsort).
    order = np.argsort((date - PRESCRIPTIONS_FROM) * len(people) + person, kind="stable")
    person = person[order]
    date = date[order]
    code = code[order]
    qty = qty[order]
    specialty = specialty[order]
    n = len(person)
    columns = {
        "prescription_id": pa.array(np.arange(first_id, first_id + n, dtype=np.int64)),
        "national_id": with_nulls(people.national_ids(person), rng.random(n) < 0.003),
        "dispensing_date": date_array(date.astype(np.int32)),
        "atc_code": ref.atc_codes.take(pa.array(code)),
        "quantity": pa.array(qty, type=pa.int16()),
        "prescriber_specialty": with_nulls(
            strings(SPECIALTIES).take(pa.array(specialty)), rng.random(n) < 0.04
        ),
    }
    return pa.Table.from_arrays([columns[c] for c in schema.names], schema=schema)
