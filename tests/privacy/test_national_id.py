"""National number (matricule): check digits, round trips, errors, the vectorised mask.

The expected check digits come from implementations written here from the published
definitions (Luhn's "sum must end in 0" rule, Verhoeff's dihedral group D5), not from
the module under test.
"""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pyarrow as pa
import pytest

from datalux.privacy import (
    InvalidNationalId,
    NationalIdProblem,
    PrivacyError,
    is_valid_national_id,
    luhn_digit,
    make_national_id,
    make_national_ids,
    valid_national_id_mask,
    validate_national_id,
    verhoeff_digit,
)

# --- independent reference implementations -------------------------------------------


def luhn_is_valid(number: str) -> bool:
    """Luhn's rule: double every second digit from the right, the digit sum ends in 0."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = sum(int(x) for x in str(2 * d))
        total += d
    return total % 10 == 0


def ref_luhn_digit(payload: str) -> int:
    return next(c for c in range(10) if luhn_is_valid(payload + str(c)))


def d5(j: int, k: int) -> int:
    """Multiplication in the dihedral group D5: 0-4 rotations, 5-9 reflections."""
    if j < 5 and k < 5:
        return (j + k) % 5
    if j < 5:
        return 5 + (j + k) % 5
    if k < 5:
        return 5 + (j - k) % 5
    return (j - k) % 5


SIGMA = [1, 5, 7, 6, 2, 8, 3, 0, 9, 4]


def perm(i: int, digit: int) -> int:
    for _ in range(i):
        digit = SIGMA[digit]
    return digit


def d5_inverse(j: int) -> int:
    return next(k for k in range(10) if d5(j, k) == 0)


def verhoeff_is_valid(number: str) -> bool:
    c = 0
    for i, ch in enumerate(reversed(number)):
        c = d5(c, perm(i % 8, int(ch)))
    return c == 0


def ref_verhoeff_digit(payload: str) -> int:
    return next(c for c in range(10) if verhoeff_is_valid(payload + str(c)))


def random_payloads(n: int, seed: int = 7) -> list[str]:
    rnd = random.Random(seed)
    return [f"{rnd.randrange(10**11):011d}" for _ in range(n)]


def random_ids(n: int, seed: int = 11) -> list[str]:
    rnd = random.Random(seed)
    start = dt.date(1900, 1, 1).toordinal()
    end = dt.date(2024, 12, 31).toordinal()
    return [
        make_national_id(dt.date.fromordinal(rnd.randint(start, end)), rnd.randrange(1000))
        for _ in range(n)
    ]


# --- check digits ----------------------------------------------------------------------


def test_reference_implementations_reproduce_published_examples() -> None:
    assert ref_luhn_digit("7992739871") == 3  # Luhn's worked example
    assert ref_verhoeff_digit("236") == 3  # Verhoeff's worked example
    assert verhoeff_is_valid("2363")
    assert not verhoeff_is_valid("2336")


def test_luhn_digit_matches_reference() -> None:
    # Leading zeros do not change a Luhn digit, so the published example fits in 11 digits.
    assert luhn_digit("07992739871") == 3
    for payload in random_payloads(2000):
        assert luhn_digit(payload) == ref_luhn_digit(payload)


def test_verhoeff_digit_matches_reference() -> None:
    for payload in random_payloads(2000):
        assert verhoeff_digit(payload) == ref_verhoeff_digit(payload)


@pytest.mark.parametrize("bad", ["123", "123456789012", "1234567890a", "\uff11" * 11])
def test_check_digit_functions_need_eleven_ascii_digits(bad: str) -> None:
    with pytest.raises(InvalidNationalId):
        luhn_digit(bad)
    with pytest.raises(InvalidNationalId):
        verhoeff_digit(bad)


# --- building and validating -----------------------------------------------------------


def test_make_national_id_round_trip() -> None:
    born = dt.date(1987, 2, 28)
    value = make_national_id(born, 42)
    assert len(value) == 13
    assert value[:8] == "19870228"
    assert value[8:11] == "042"
    assert int(value[11]) == ref_luhn_digit(value[:11])
    assert int(value[12]) == ref_verhoeff_digit(value[:11])
    validate_national_id(value)
    assert is_valid_national_id(value)


def test_make_national_ids_matches_the_scalar_version() -> None:
    rnd = random.Random(13)
    start = dt.date(1800, 1, 1).toordinal()
    end = dt.date(2099, 12, 31).toordinal()
    dates = [dt.date.fromordinal(rnd.randint(start, end)) for _ in range(3000)]
    seqs = [rnd.randrange(1000) for _ in range(3000)]
    built = make_national_ids(np.array(dates, dtype="datetime64[D]"), np.array(seqs))
    assert built.type == pa.string()
    assert built.to_pylist() == [make_national_id(d, q) for d, q in zip(dates, seqs, strict=True)]
    assert valid_national_id_mask(built).true_count == 3000


def test_make_national_ids_refuses_bad_input() -> None:
    days = np.array(["1990-01-01"], dtype="datetime64[D]")
    with pytest.raises(ValueError, match="between 0 and 999"):
        make_national_ids(days, np.array([1000]))
    with pytest.raises(ValueError, match="same length"):
        make_national_ids(days, np.array([1, 2]))
    with pytest.raises(ValueError, match="birth years"):
        make_national_ids(np.array(["1799-12-31"], dtype="datetime64[D]"), np.array([1]))


def test_leap_day_is_a_possible_date() -> None:
    assert is_valid_national_id(make_national_id(dt.date(2000, 2, 29), 0))
    assert is_valid_national_id(make_national_id(dt.date(2024, 2, 29), 999))


@pytest.mark.parametrize("sequence", [-1, 1000])
def test_make_national_id_refuses_sequence_out_of_range(sequence: int) -> None:
    with pytest.raises(ValueError, match="sequence"):
        make_national_id(dt.date(1990, 1, 1), sequence)


def with_check_digits(payload: str) -> str:
    return payload + str(ref_luhn_digit(payload)) + str(ref_verhoeff_digit(payload))


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("198502121234", NationalIdProblem.LENGTH),
        ("19850212123456", NationalIdProblem.LENGTH),
        ("", NationalIdProblem.LENGTH),
        ("1985021212 34", NationalIdProblem.NOT_DIGITS),
        ("198502121234x", NationalIdProblem.NOT_DIGITS),
        (with_check_digits("19850230123"), NationalIdProblem.IMPOSSIBLE_DATE),  # 30 February
        (with_check_digits("19851301123"), NationalIdProblem.IMPOSSIBLE_DATE),  # month 13
        (with_check_digits("19850100123"), NationalIdProblem.IMPOSSIBLE_DATE),  # day 0
        (with_check_digits("19000229123"), NationalIdProblem.IMPOSSIBLE_DATE),  # 1900 not leap
        (with_check_digits("17990101123"), NationalIdProblem.IMPOSSIBLE_DATE),  # before 1800
    ],
)
def test_validate_names_the_problem(value: str, reason: NationalIdProblem) -> None:
    with pytest.raises(InvalidNationalId) as caught:
        validate_national_id(value)
    assert caught.value.reason is reason
    assert isinstance(caught.value, PrivacyError)
    assert isinstance(caught.value, ValueError)
    assert not is_valid_national_id(value)
    if len(value) >= 8:
        assert value not in str(caught.value)  # never echo a protected identifier


def test_bad_luhn_and_bad_verhoeff_are_told_apart() -> None:
    good = with_check_digits("19850212123")
    wrong_luhn = good[:11] + str((int(good[11]) + 1) % 10) + good[12]
    wrong_verhoeff = good[:12] + str((int(good[12]) + 1) % 10)
    with pytest.raises(InvalidNationalId, match="Luhn") as caught:
        validate_national_id(wrong_luhn)
    assert caught.value.reason is NationalIdProblem.BAD_LUHN
    with pytest.raises(InvalidNationalId, match="Verhoeff") as caught:
        validate_national_id(wrong_verhoeff)
    assert caught.value.reason is NationalIdProblem.BAD_VERHOEFF


def test_every_single_digit_change_is_caught() -> None:
    for value in random_ids(150):
        for pos in range(13):
            for digit in "0123456789":
                if digit == value[pos]:
                    continue
                changed = value[:pos] + digit + value[pos + 1 :]
                assert not is_valid_national_id(changed)


def test_every_adjacent_transposition_is_caught() -> None:
    ids = random_ids(400)
    swaps = 0
    for value in ids:
        for pos in range(12):
            if value[pos] == value[pos + 1]:
                continue
            swapped = value[:pos] + value[pos + 1] + value[pos] + value[pos + 2 :]
            assert not is_valid_national_id(swapped)
            if pos < 10:
                # Verhoeff alone catches every swap inside the 11 payload digits.
                assert verhoeff_digit(swapped[:11]) != verhoeff_digit(value[:11])
            swaps += 1
    assert swaps > 3000


def test_verhoeff_catches_the_swaps_luhn_misses() -> None:
    # Luhn cannot see 09 <-> 90; Verhoeff must.
    payload = "19850212090"
    swapped = "19850212900"
    assert luhn_digit(payload) == luhn_digit(swapped)
    assert verhoeff_digit(payload) != verhoeff_digit(swapped)


# --- vectorised mask -------------------------------------------------------------------


def mixed_values() -> list[str | None]:
    good = random_ids(300, seed=3)
    rnd = random.Random(5)
    values: list[str | None] = list(good)
    for value in good[:200]:
        pos = rnd.randrange(13)
        values.append(value[:pos] + str((int(value[pos]) + 1) % 10) + value[pos + 1 :])
    values += [
        None,
        "",
        "1985",
        good[0] + "0",
        good[1][:12],
        "abcdefghijklm",
        " " + good[2][1:],
        "é" + good[3][:11],  # 13 bytes but 12 characters
        "١٩٨٥٠٢١٢١٢٣٤٥",  # Arabic-Indic digits
        with_check_digits("19850230123"),
        with_check_digits("17990101123"),
        with_check_digits("20000229123"),
        "/" * 13,
        ":" * 13,
    ]
    rnd.shuffle(values)
    return values


@pytest.mark.parametrize("typ", [pa.string(), pa.large_string(), pa.string_view()])
def test_mask_agrees_with_scalar_validator(typ: pa.DataType) -> None:
    values = mixed_values()
    mask = valid_national_id_mask(pa.array(values, type=typ))
    expected = [v is not None and is_valid_national_id(v) for v in values]
    assert mask.type == pa.bool_()
    assert mask.null_count == 0
    assert mask.to_pylist() == expected
    assert 0 < sum(expected) < len(values)


def test_mask_on_chunked_and_sliced_arrays() -> None:
    values = mixed_values()
    expected = [v is not None and is_valid_national_id(v) for v in values]
    chunked = pa.chunked_array([pa.array(values[:100]), pa.array(values[100:])])
    assert valid_national_id_mask(chunked).to_pylist() == expected
    sliced = pa.array(values).slice(37, 200)
    assert valid_national_id_mask(sliced).to_pylist() == expected[37:237]


def test_mask_on_binary_and_empty_arrays() -> None:
    good = random_ids(3)
    binary = pa.array([v.encode() for v in good] + [b"0" * 13], type=pa.binary())
    assert valid_national_id_mask(binary).to_pylist() == [True, True, True, False]
    assert valid_national_id_mask(pa.array([], type=pa.string())).to_pylist() == []
    assert valid_national_id_mask(pa.array([None, None], type=pa.string())).to_pylist() == [
        False,
        False,
    ]


def test_mask_refuses_numbers() -> None:
    with pytest.raises(TypeError, match="cast the column to string"):
        valid_national_id_mask(pa.array([1985021212345]))
