"""School enrolments: a register WITHOUT national numbers, with realistic entry noise.

Each pupil is a resident child; the school secretariat typed the name, birth date and address
itself, so the records differ from the population register the way real ones do (rates in
:data:`NOISE`). The true national number of each record goes ONLY to the truth table.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datalux.demo.population.people import People, draw_address, street_addresses
from datalux.demo.population.reference import REGIONS, Reference
from datalux.demo.population.timeline import (
    NO_DATE,
    SCHOOL_AGE_DATE,
    SCHOOL_YEAR,
    date_array,
    years_between,
)
from datalux.demo.population.vectors import pick, sex_array, strings, with_nulls

__all__ = ["NOISE", "NoiseRates", "school_enrolments"]


@dataclass(frozen=True)
class NoiseRates:
    """Probabilities of each kind of error in a school record (independent draws).

    Rates "of eligible" apply only to records where the error is possible: a nickname
    needs a name with a known nickname, dropped accents a name with diacritics.
    """

    given_name_nickname: float = 0.10  # of eligible given names
    given_name_accents: float = 0.35  # of eligible given names (not nicknamed)
    surname_accents: float = 0.35  # of eligible surnames
    given_name_typo: float = 0.02  # one-character edit
    surname_typo: float = 0.025
    birth_date_error: float = 0.015  # day/month swapped, digits swapped, or a day off
    moved_address: float = 0.05  # the school still has an old address
    given_name_missing: float = 0.002
    surname_missing: float = 0.002
    birth_date_missing: float = 0.01
    sex_missing: float = 0.01
    street_address_missing: float = 0.02
    postcode_missing: float = 0.03
    commune_missing: float = 0.01


NOISE = NoiseRates()
NOISE_KINDS = tuple(f.name for f in fields(NoiseRates))

_ENROL_BY_AGE = {3: 0.75, 4: 0.97, 5: 0.97, 16: 0.93, 17: 0.85, 18: 0.7, 19: 0.35}
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_LEVELS = (
    "Cycle 1 précoce",
    "Cycle 1",
    "Cycle 2",
    "Cycle 3",
    "Cycle 4",
    "Secondaire classique",
    "Secondaire général",
)
_LYCEES = {
    "centre": ("Lycée de la Ville-Haute", "Lycée du Kirchberg", "Lycée technique du Centre"),
    "south": ("Lycée du Bassin minier", "Lycée technique d'Esch", "Lycée de la Chiers"),
    "north": ("Lycée des Ardennes", "Lycée technique de la Sûre"),
    "east": ("Lycée de la Moselle", "Lycée de la Sûre et de l'Our"),
}


def _typo(text: str, op: int, u: float, letter: str) -> str:
    """One-character edit that always changes the text (substitute, delete, insert, swap)."""
    pos = min(int(u * len(text)), len(text) - 1)
    if op == 3 and len(text) >= 2:
        pos = min(pos, len(text) - 2)
        if text[pos] != text[pos + 1]:
            return text[:pos] + text[pos + 1] + text[pos] + text[pos + 2 :]
        op = 0
    if op == 1 and len(text) >= 3:
        return text[:pos] + text[pos + 1 :]
    if op == 2 or len(text) < 2:
        return text[:pos] + letter + text[pos:]
    old = text[pos]
    new = letter if letter != old.lower() else _LETTERS[(_LETTERS.index(letter) + 1) % 26]
    return text[:pos] + (new.upper() if old.isupper() else new) + text[pos + 1 :]


def _apply_typos(rng: np.random.Generator, values: pa.Array, rows: np.ndarray) -> pa.Array:
    if rows.size == 0:
        return values
    ops = rng.integers(0, 4, rows.size)
    us = rng.random(rows.size)
    letters = rng.integers(0, 26, rows.size)
    originals = values.take(pa.array(rows)).to_pylist()
    changed = [
        _typo(t, int(o), float(u), _LETTERS[int(c)])
        for t, o, u, c in zip(originals, ops, us, letters, strict=True)
    ]
    mask = np.zeros(len(values), dtype=bool)
    mask[rows] = True
    return pc.replace_with_mask(values, pa.array(mask), strings(changed).cast(values.type))


def _days_from_ymd(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    months = ((y - 1970) * 12 + (m - 1)).astype("datetime64[M]")
    return (months.astype("datetime64[D]").astype(np.int64) + d - 1).astype(np.int64)


def _days_in_month(y: np.ndarray, m: np.ndarray) -> np.ndarray:
    months = ((y - 1970) * 12 + (m - 1)).astype("datetime64[M]")
    return ((months + 1).astype("datetime64[D]") - months.astype("datetime64[D]")).astype(np.int64)


def _date_errors(rng: np.random.Generator, birth: np.ndarray) -> np.ndarray:
    """A plausibly mistyped version of each date: day/month or digits swapped, or a day off."""
    d64 = birth.astype("datetime64[D]")
    y = d64.astype("datetime64[Y]").astype(np.int64) + 1970
    m = (d64.astype("datetime64[M]") - d64.astype("datetime64[Y]")).astype(np.int64) + 1
    d = (d64 - d64.astype("datetime64[M]")).astype(np.int64) + 1
    kind = pick(rng, np.array([0.4, 0.2, 0.15, 0.25]), len(birth))
    out = birth.astype(np.int64) + np.where(rng.random(len(birth)) < 0.5, -1, 1)
    # 0: day and month swapped (only possible when the day is a month number)
    swap_dm = (kind == 0) & (d <= 12) & (d != m)
    out = np.where(swap_dm, _days_from_ymd(y, np.minimum(d, 12), np.maximum(m, 1)), out)
    # 1: the two digits of the day swapped (14 -> 41 is impossible, 12 -> 21 is not)
    d_swapped = (d % 10) * 10 + d // 10
    ok = (kind == 1) & (d_swapped != d) & (d_swapped >= 1) & (d_swapped <= _days_in_month(y, m))
    out = np.where(ok, _days_from_ymd(y, m, np.where(ok, d_swapped, 1)), out)
    # 2: the last two digits of the year swapped (2012 -> 2021)
    yy = y % 100
    y_swapped = y - yy + (yy % 10) * 10 + yy // 10
    ok = (kind == 2) & (y_swapped != y) & (d <= _days_in_month(y_swapped, m))
    out = np.where(ok, _days_from_ymd(y_swapped, m, d), out)
    return out.astype(np.int32)


def school_enrolments(
    rng: np.random.Generator,
    ref: Reference,
    people: People,
    first_id: int,
    schema: pa.Schema,
    truth_schema: pa.Schema,
) -> tuple[pa.Table, pa.Table]:
    """The school_enrolments rows of a chunk of residents, and their truth rows."""
    age = years_between(people.birth, SCHOOL_AGE_DATE)
    alive = people.death == NO_DATE
    p = np.where((age >= 6) & (age <= 15), 0.995, 0.0)
    for a, q in _ENROL_BY_AGE.items():
        p = np.where(age == a, q, p)
    pupil = np.flatnonzero(
        alive & (people.birth <= SCHOOL_AGE_DATE) & (rng.random(len(people)) < p)
    )
    pupil = pupil[rng.permutation(len(pupil))]  # record order says nothing about the register
    n = len(pupil)
    age = age[pupil]
    rates = NOISE
    flags: dict[str, np.ndarray] = {}

    # Given name: nickname, else dropped accents; then maybe a typo.
    given = people.given[pupil]
    nick = ref.nickname_of[given]
    flags["given_name_nickname"] = (nick >= 0) & (rng.random(n) < rates.given_name_nickname)
    flags["given_name_accents"] = (
        ~flags["given_name_nickname"]
        & ref.given_has_accent[given]
        & (rng.random(n) < rates.given_name_accents)
    )
    translit = rng.random(n) < 0.5
    g = pa.array(given)
    given_names = pc.if_else(
        pa.array(flags["given_name_nickname"]),
        ref.nicknames.take(pa.array(np.maximum(nick, 0))),
        pc.if_else(
            pa.array(flags["given_name_accents"]),
            pc.if_else(pa.array(translit), ref.given_translit.take(g), ref.given_ascii.take(g)),
            ref.given_names.take(g),
        ),
    )
    flags["given_name_typo"] = rng.random(n) < rates.given_name_typo
    given_names = _apply_typos(rng, given_names, np.flatnonzero(flags["given_name_typo"]))

    surname = people.surname[pupil]
    s = pa.array(surname)
    flags["surname_accents"] = ref.surname_has_accent[surname] & (
        rng.random(n) < rates.surname_accents
    )
    translit = rng.random(n) < 0.5
    surnames = pc.if_else(
        pa.array(flags["surname_accents"]),
        pc.if_else(pa.array(translit), ref.surname_translit.take(s), ref.surname_ascii.take(s)),
        ref.surnames.take(s),
    )
    flags["surname_typo"] = rng.random(n) < rates.surname_typo
    surnames = _apply_typos(rng, surnames, np.flatnonzero(flags["surname_typo"]))

    birth = people.birth[pupil]
    flags["birth_date_error"] = rng.random(n) < rates.birth_date_error
    birth = np.where(flags["birth_date_error"], _date_errors(rng, birth), birth)

    commune = people.commune[pupil].astype(np.int64)
    postcode = people.postcode[pupil].astype(np.int64)
    street = people.street[pupil].astype(np.int64)
    number = people.house_number[pupil].astype(np.int64)
    moved = rng.random(n) < rates.moved_address
    flags["moved_address"] = moved
    old_commune, old_postcode, old_street, old_number = draw_address(rng, ref, n)
    street_changed = (old_street != street) | (old_number != number) | (old_postcode != postcode)
    flags["moved_address"] = moved & street_changed
    school_commune = commune.copy()
    commune = np.where(moved, old_commune, commune)
    postcode = np.where(moved, old_postcode, postcode)
    street = np.where(moved, old_street, street)
    number = np.where(moved, old_number, number)

    for column in ("given_name", "surname", "birth_date", "sex", "street_address", "postcode"):
        flags[f"{column}_missing"] = rng.random(n) < getattr(rates, f"{column}_missing")
    flags["commune_missing"] = rng.random(n) < rates.commune_missing

    # Level and school from the age on 1 September and the current commune.
    level = np.select(
        [age <= 3, age <= 5, age <= 7, age <= 9, age <= 11],
        [0, 1, 2, 3, 4],
        np.where(rng.random(n) < 0.35, 5, 6),
    )
    fundamental = pc.binary_join_element_wise(
        pa.scalar("École fondamentale de "),
        ref.commune_names.take(pa.array(school_commune)),
        "",
    )
    lycee_names = [name for region in REGIONS for name in _LYCEES[region]]
    region = ref.commune_region[school_commune]
    lycee = np.zeros(n, dtype=np.int64)
    offset = 0
    for r, name in enumerate(REGIONS):
        rows = np.flatnonzero(region == r)
        lycee[rows] = offset + rng.integers(0, len(_LYCEES[name]), rows.size)
        offset += len(_LYCEES[name])
    school = pc.if_else(
        pa.array(level >= 5), strings(lycee_names).take(pa.array(lycee)), fundamental
    )

    columns = {
        "record_id": pa.array(np.arange(first_id, first_id + n, dtype=np.int64)),
        "given_name": with_nulls(given_names, flags["given_name_missing"]),
        "surname": with_nulls(surnames, flags["surname_missing"]),
        "birth_date": date_array(birth, ~flags["birth_date_missing"]),
        "sex": with_nulls(sex_array(people.female[pupil]), flags["sex_missing"]),
        "street_address": with_nulls(
            street_addresses(ref, street, number), flags["street_address_missing"]
        ),
        "postcode": with_nulls(pa.array(postcode).cast(pa.string()), flags["postcode_missing"]),
        "commune": with_nulls(ref.commune_names.take(pa.array(commune)), flags["commune_missing"]),
        "school_year": pa.array(np.full(n, SCHOOL_YEAR)),
        "level": strings(_LEVELS).take(pa.array(level)),
        "school": school,
    }
    table = pa.Table.from_arrays([columns[c] for c in schema.names], schema=schema)
    truth = pa.Table.from_arrays(
        [columns["record_id"], people.national_ids(pupil), _noise_labels(flags)],
        schema=truth_schema,
    )
    return table, truth


def _noise_labels(flags: dict[str, np.ndarray]) -> pa.Array:
    """';'-joined names of the noise applied to each record (null when none)."""
    kinds = [k for k in NOISE_KINDS if k in flags]
    n = len(flags[kinds[0]]) if kinds else 0
    bits = np.zeros(n, dtype=np.int64)
    for i, k in enumerate(kinds):
        bits |= flags[k].astype(np.int64) << i
    combos, inverse = np.unique(bits, return_inverse=True)
    labels = [";".join(k for i, k in enumerate(kinds) if int(c) >> i & 1) or None for c in combos]
    return strings(labels).take(pa.array(inverse.reshape(-1)))
