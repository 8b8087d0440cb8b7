"""The school register differs from the population register at the promised rates.

Each difference is measured from the data (school record vs. the register row of the true
person), classified with rules written here, and compared with ``population.NOISE``.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from collections import Counter
from typing import Any

import pytest

from datalux.demo import population
from tests.demo.population.conftest import Generated


def fold(text: str) -> str:
    text = text.replace("ß", "ss")
    return "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
    ).replace("\u0131", "i")


def umlauts(text: str) -> str:
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("Ä", "Ae"), ("Ö", "Oe"), ("Ü", "Ue")):
        text = text.replace(a, b)
    return fold(text)


def osa_distance(a: str, b: str) -> int:
    """Optimal string alignment distance (edits: insert, delete, substitute, swap)."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def classify_name(recorded: str | None, true: str, nickname: str | None) -> str:
    if recorded is None:
        return "missing"
    if recorded == true:
        return "same"
    variants = {fold(true), umlauts(true)} - {true}
    if recorded in variants:
        return "accents"
    if nickname is not None and recorded == nickname:
        return "nickname"
    bases = {true, *variants} | ({nickname} if nickname else set())
    if any(osa_distance(recorded, base) == 1 for base in bases):
        return "typo"
    return "other"


def classify_date(recorded: dt.date | None, true: dt.date) -> str:
    if recorded is None:
        return "missing"
    if recorded == true:
        return "same"
    if abs((recorded - true).days) == 1:
        return "day off"
    if (recorded.year, recorded.month, recorded.day) == (true.year, true.day, true.month):
        return "day/month swapped"
    d = f"{true.day:02d}"
    if recorded.year == true.year and recorded.month == true.month and recorded.day == int(d[::-1]):
        return "day digits swapped"
    y = f"{true.year:04d}"
    if (recorded.month, recorded.day) == (true.month, true.day) and recorded.year == int(
        y[:2] + y[3] + y[2]
    ):
        return "year digits swapped"
    return "other"


@pytest.fixture(scope="module")
def pairs(generated: Generated) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(school record, register row of the true person) for every school record."""
    register = {r["national_id"]: r for r in generated.read("population_register").to_pylist()}
    truth = {
        r["record_id"]: r["national_id"] for r in generated.truth("school_enrolments").to_pylist()
    }
    return [
        (record, register[truth[record["record_id"]]])
        for record in generated.read("school_enrolments").to_pylist()
    ]


@pytest.fixture(scope="module")
def nicknames() -> dict[str, str]:
    table = population.reference_table("nicknames")
    return dict(zip(table["name"].to_pylist(), table["nickname"].to_pylist(), strict=True))


def assert_rate(count: int, total: int, expected: float) -> None:
    """The observed share is within 4 binomial standard deviations (+ 0.2%) of the rate."""
    assert total > 200
    observed = count / total
    tolerance = 4 * math.sqrt(expected * (1 - expected) / total) + 0.002
    assert abs(observed - expected) <= tolerance, (count, total, observed, expected)


def test_name_noise_rates(
    pairs: list[tuple[dict[str, Any], dict[str, Any]]], nicknames: dict[str, str]
) -> None:
    noise = population.NOISE
    given = Counter(
        classify_name(rec["given_name"], true["given_name"], nicknames.get(true["given_name"]))
        for rec, true in pairs
    )
    surname = Counter(classify_name(rec["surname"], true["surname"], None) for rec, true in pairs)
    n = len(pairs)
    assert given["other"] == 0 and surname["other"] == 0
    assert_rate(given["missing"], n, noise.given_name_missing)
    assert_rate(surname["missing"], n, noise.surname_missing)
    present_given = n - given["missing"]
    present_surname = n - surname["missing"]
    assert_rate(given["typo"], present_given, noise.given_name_typo)
    assert_rate(surname["typo"], present_surname, noise.surname_typo)

    with_nickname = [
        (rec, true)
        for rec, true in pairs
        if true["given_name"] in nicknames and rec["given_name"] is not None
    ]
    nicknamed = sum(
        rec["given_name"] == nicknames[true["given_name"]] for rec, true in with_nickname
    )
    assert_rate(
        nicknamed, len(with_nickname), noise.given_name_nickname * (1 - noise.given_name_typo)
    )

    accented = [
        (rec, true)
        for rec, true in pairs
        if fold(true["surname"]) != true["surname"] and rec["surname"] is not None
    ]
    dropped = sum(
        classify_name(rec["surname"], true["surname"], None) == "accents" for rec, true in accented
    )
    assert_rate(dropped, len(accented), noise.surname_accents * (1 - noise.surname_typo))
    # Both spellings occur: Muller and Mueller.
    forms = {rec["surname"] for rec, true in accented if true["surname"] == "Müller"}
    assert forms >= {"Muller", "Mueller"} or len(accented) < 300


def test_birth_date_noise(pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    noise = population.NOISE
    kinds = Counter(classify_date(rec["birth_date"], true["birth_date"]) for rec, true in pairs)
    assert kinds["other"] == 0
    n = len(pairs)
    assert_rate(kinds["missing"], n, noise.birth_date_missing)
    errors = n - kinds["missing"] - kinds["same"]
    assert_rate(errors, n - kinds["missing"], noise.birth_date_error)
    assert kinds["day/month swapped"] > 0
    assert kinds["day off"] > 0


def test_address_noise(pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    noise = population.NOISE
    both = [
        (rec, true)
        for rec, true in pairs
        if rec["street_address"] is not None
        and true["street_address"] is not None
        and rec["postcode"] is not None
        and true["postcode"] is not None
    ]
    moved = [
        (rec, true)
        for rec, true in both
        if (rec["street_address"], rec["postcode"])
        != (true["street_address"], true["postcode"][2:])
    ]
    assert_rate(len(moved), len(both), noise.moved_address)
    # Same address: the school writes the postcode without the "L-" prefix.
    for rec, true in both:
        if (rec, true) not in moved:
            assert true["postcode"] == "L-" + rec["postcode"]
    n = len(pairs)
    for column in ("street_address", "postcode", "commune", "sex"):
        missing = sum(rec[column] is None for rec, _ in pairs)
        assert_rate(missing, n, getattr(noise, f"{column}_missing"))


def test_truth_labels_agree_with_the_data(
    generated: Generated, pairs: list[tuple[dict[str, Any], dict[str, Any]]]
) -> None:
    labels = {
        r["record_id"]: set((r["noise"] or "").split(";")) - {""}
        for r in generated.truth("school_enrolments").to_pylist()
    }
    for rec, true in pairs:
        applied = labels[rec["record_id"]]
        assert applied <= set(population.NoiseRates.__dataclass_fields__)
        if rec["given_name"] is not None and "given_name_typo" in applied:
            assert rec["given_name"] != true["given_name"]
        if rec["birth_date"] is not None and "birth_date_error" in applied:
            assert rec["birth_date"] != true["birth_date"]
        if "moved_address" in applied and rec["street_address"] and true["street_address"]:
            assert (rec["street_address"], rec["postcode"]) != (
                true["street_address"],
                (true["postcode"] or "L-")[2:],
            )
        if not applied:
            assert rec["given_name"] == true["given_name"]
