"""Noisy synthetic person records with known truth, for the linkage benchmark.

``generate(n)`` draws about ``n / 1.76`` persons (invented names from syllables with Zipf
frequencies, birth dates 1930-2019, Luxembourg-style 4-digit postcodes with a city each, a
street address) and 1 to 5 records per person (55 % one, 25 % two, 12 % three, 5 % four, 3 %
five). Every record is a noisy copy: one-character typos in names (10 %), given name and
surname swapped (1 %), a new surname (2 %), birth-date typos (day and month swapped, one digit
changed, or one year off: 5 % in all), a move to another postcode and address (8 %), postcode
and address typos (4 % and 8 %), and missing values (2-5 % per column). ``person_id`` is the
truth; ``rec_id`` is unique.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_ONSETS = [*"bcdfghjklmnprstvwz", "ch", "sh", "th", "br", "kr", "st", "tr", "gr", "fl"]
_VOWELS = ["a", "e", "i", "o", "u", "y", "ai", "ea", "ou", "ie"]
_CODAS = ["", "", "", "n", "r", "s", "l", "m", "t", "nd", "rt", "x"]
_ALPHABET = np.array(list("abcdefghijklmnopqrstuvwxyz"))


def _words(rng: np.random.Generator, count: int, syllables: tuple[int, int]) -> list[str]:
    out: set[str] = set()
    while len(out) < count:
        k = rng.integers(syllables[0], syllables[1] + 1)
        word = "".join(
            _ONSETS[rng.integers(len(_ONSETS))]
            + _VOWELS[rng.integers(len(_VOWELS))]
            + _CODAS[rng.integers(len(_CODAS))]
            for _ in range(k)
        )
        out.add(word)
    return sorted(out)


def _zipf_choice(rng: np.random.Generator, n_values: int, size: int, s: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, n_values + 1) ** s
    return rng.choice(n_values, size=size, p=weights / weights.sum())


def _typo(rng: np.random.Generator, word: str) -> str:
    if len(word) < 2:
        return word + str(_ALPHABET[rng.integers(26)])
    i = int(rng.integers(len(word)))
    op = int(rng.integers(4))
    letter = str(_ALPHABET[rng.integers(26)])
    if op == 0:  # substitute
        return word[:i] + letter + word[i + 1 :]
    if op == 1:  # insert
        return word[:i] + letter + word[i:]
    if op == 2:  # delete
        return word[:i] + word[i + 1 :]
    j = min(i + 1, len(word) - 1)  # transpose
    chars = list(word)
    chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)


def generate(n_records: int, seed: int = 7) -> pa.Table:
    """About ``n_records`` noisy records (see the module docstring)."""
    rng = np.random.default_rng(seed)
    sizes_p = np.array([0.55, 0.25, 0.12, 0.05, 0.03])
    n_persons = max(1, int(n_records / float((np.arange(1, 6) * sizes_p).sum())))
    given_pool = _words(rng, 4000, (2, 3))
    surname_pool = _words(rng, 25000, (2, 4))
    street_pool = _words(rng, 3000, (2, 3))
    n_postcodes = 4000
    postcodes = np.array(
        [f"{c:04d}" for c in rng.choice(np.arange(1000, 10000), n_postcodes, replace=False)]
    )
    city_pool = _words(rng, 400, (2, 3))
    city_of_postcode = np.array(city_pool)[_zipf_choice(rng, len(city_pool), n_postcodes, 1.0)]

    # persons
    given_i = _zipf_choice(rng, len(given_pool), n_persons, 0.7)
    surname_i = _zipf_choice(rng, len(surname_pool), n_persons, 0.6)
    sex = rng.choice(np.array(["f", "m"]), n_persons)
    birth = np.datetime64("1930-01-01") + rng.integers(0, 90 * 365, n_persons).astype(
        "timedelta64[D]"
    )
    pc_i = _zipf_choice(rng, n_postcodes, n_persons, 0.6)
    street_i = rng.integers(len(street_pool), size=n_persons)
    house = rng.integers(1, 200, n_persons)

    copies = rng.choice(np.arange(1, 6), size=n_persons, p=sizes_p)
    person = np.repeat(np.arange(n_persons), copies)
    n = len(person)
    u = rng.random((n, 12))

    given_pool_a = np.array(given_pool, dtype=object)
    surname_pool_a = np.array(surname_pool, dtype=object)
    given = given_pool_a[given_i[person]]
    surname = surname_pool_a[surname_i[person]]
    new_surname = u[:, 0] < 0.02
    surname[new_surname] = surname_pool_a[
        _zipf_choice(rng, len(surname_pool), int(new_surname.sum()), 0.6)
    ]
    for arr, col in ((given, 1), (surname, 2)):
        for k in np.flatnonzero(u[:, col] < 0.10):
            arr[k] = _typo(rng, arr[k])
    swap = u[:, 3] < 0.01
    given[swap], surname[swap] = surname[swap], given[swap].copy()

    dob = birth[person].copy()
    r = u[:, 4]
    dob_text = np.datetime_as_string(dob, unit="D").astype(object)
    for k in np.flatnonzero(r < 0.05):
        y, m, d = dob_text[k].split("-")
        kind = int(rng.integers(3))
        if kind == 0 and int(d) <= 12:
            dob_text[k] = f"{y}-{d}-{m}"
        elif kind == 1:
            digits = list(y + m + d)
            i = int(rng.integers(2, 8))
            digits[i] = str(rng.integers(10))
            s = "".join(digits)
            dob_text[k] = f"{s[:4]}-{s[4:6]}-{s[6:]}"
        else:
            dob_text[k] = f"{int(y) + int(rng.choice([-1, 1]))}-{m}-{d}"

    pc = pc_i[person].copy()
    street = street_i[person].copy()
    num = house[person].copy()
    moved = u[:, 5] < 0.08
    pc[moved] = _zipf_choice(rng, n_postcodes, int(moved.sum()), 0.6)
    street[moved] = rng.integers(len(street_pool), size=int(moved.sum()))
    num[moved] = rng.integers(1, 200, int(moved.sum()))
    postcode = postcodes[pc].astype(object)
    city = city_of_postcode[pc].astype(object)
    address = np.array(
        [
            f"{n_} {street_pool[s]} street"
            for n_, s in zip(num.tolist(), street.tolist(), strict=True)
        ],
        dtype=object,
    )
    for k in np.flatnonzero(u[:, 6] < 0.04):
        p = list(postcode[k])
        p[int(rng.integers(4))] = str(rng.integers(10))
        postcode[k] = "".join(p)
    for k in np.flatnonzero(u[:, 7] < 0.08):
        address[k] = _typo(rng, address[k])

    for arr, col, rate in (
        (given, 8, 0.02),
        (surname, 9, 0.02),
        (dob_text, 10, 0.03),
        (postcode, 11, 0.05),
    ):
        arr[u[:, col] < rate] = None
    address[rng.random(n) < 0.05] = None
    city[rng.random(n) < 0.03] = None

    order = rng.permutation(n)
    return pa.table(
        {
            "rec_id": pa.array([f"r{i:07d}" for i in range(n)]),
            "person_id": pa.array(person[order]),
            "given_name": pa.array(given[order].tolist(), pa.string()),
            "surname": pa.array(surname[order].tolist(), pa.string()),
            "sex": pa.array(sex[person][order].tolist(), pa.string()),
            "date_of_birth": pa.array(dob_text[order].tolist(), pa.string()),
            "postcode": pa.array(postcode[order].tolist(), pa.string()),
            "city": pa.array(city[order].tolist(), pa.string()),
            "address": pa.array(address[order].tolist(), pa.string()),
        }
    )


SPEC = {
    "left": {"id": "rec_id", "name": "persons"},
    "columns": [
        {"column": "given_name", "kind": "given_name"},
        {"column": "surname", "kind": "surname"},
        {"column": "date_of_birth", "kind": "date", "format": "%Y-%m-%d"},
        {"column": "sex", "kind": "categorical"},
        {"column": "postcode", "kind": "postcode"},
        {"column": "city", "kind": "city"},
        {"column": "address", "kind": "address"},
    ],
}
