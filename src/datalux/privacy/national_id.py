"""Luxembourg national identification number ("matricule"): build, check, check in bulk.

A matricule has 13 digits::

    YYYYMMDD  SSS  L  V
    birth     seq  |  Verhoeff check digit over the first 11 digits
    date           Luhn check digit over the first 11 digits

Both check digits are computed over the same 11 digits (birth date and sequence), so
a single changed digit is caught by both and every swap of two adjacent digits by
Verhoeff (Luhn misses the swaps 09 <-> 90).

A "possible date" here means a real calendar date (leap years included) from year 1800 on;
the validator does not compare with today's date, so its answer never changes over time.

Errors never contain the number itself (it is a protected identifier): only what is wrong.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datalux.privacy.errors import PrivacyError

__all__ = [
    "NATIONAL_ID_LENGTH",
    "InvalidNationalId",
    "NationalIdProblem",
    "is_valid_national_id",
    "luhn_digit",
    "make_national_id",
    "make_national_ids",
    "valid_national_id_mask",
    "validate_national_id",
    "verhoeff_digit",
]

NATIONAL_ID_LENGTH = 13
_PAYLOAD_LENGTH = 11
MIN_BIRTH_YEAR = 1800

# Verhoeff's tables: the dihedral group D5 multiplication, the position permutation and
# the inverse (Verhoeff 1969; the usual published form).
_D = np.array(
    [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ],
    dtype=np.uint8,
)
_P = np.array(
    [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ],
    dtype=np.uint8,
)
_INV = np.array([0, 4, 3, 2, 1, 5, 6, 7, 8, 9], dtype=np.uint8)
_D_LIST = _D.tolist()
_P_LIST = _P.tolist()
_INV_LIST = _INV.tolist()
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


class NationalIdProblem(StrEnum):
    """Why a value is not a valid national number (the ``reason`` of the error)."""

    LENGTH = "length"
    NOT_DIGITS = "not_digits"
    IMPOSSIBLE_DATE = "impossible_date"
    BAD_LUHN = "bad_luhn"
    BAD_VERHOEFF = "bad_verhoeff"


_MESSAGES = {
    NationalIdProblem.LENGTH: "a national number has exactly 13 digits",
    NationalIdProblem.NOT_DIGITS: "a national number has digits only (no spaces, dots or letters)",
    NationalIdProblem.IMPOSSIBLE_DATE: (
        "the first 8 digits are not a possible birth date YYYYMMDD (year >= 1800)"
    ),
    NationalIdProblem.BAD_LUHN: (
        "the 12th digit (Luhn check digit) does not match the first 11 digits: "
        "a digit was probably mistyped"
    ),
    NationalIdProblem.BAD_VERHOEFF: (
        "the 13th digit (Verhoeff check digit) does not match the first 11 digits: "
        "a digit was probably mistyped or two digits swapped"
    ),
}


class InvalidNationalId(PrivacyError, ValueError):
    """A value is not a valid national number; ``reason`` says which check failed.

    The message names the failed check, never the value.
    """

    def __init__(self, reason: NationalIdProblem, detail: str = "") -> None:
        self.reason = reason
        message = f"invalid national number: {_MESSAGES[reason]}"
        super().__init__(f"{message} ({detail})" if detail else message)


def _payload_digits(s11: str) -> list[int]:
    if len(s11) != _PAYLOAD_LENGTH or not (s11.isascii() and s11.isdigit()):
        raise InvalidNationalId(
            NationalIdProblem.LENGTH
            if len(s11) != _PAYLOAD_LENGTH
            else NationalIdProblem.NOT_DIGITS,
            "check digits are computed over exactly 11 digits",
        )
    return [ord(c) - 48 for c in s11]


def _luhn(digits: list[int]) -> int:
    total = 0
    # The rightmost payload digit is doubled (it sits next to the check digit).
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def _verhoeff(digits: list[int]) -> int:
    c = 0
    for i, d in enumerate(reversed(digits)):
        c = _D_LIST[c][_P_LIST[(i + 1) % 8][d]]
    return _INV_LIST[c]


def luhn_digit(s11: str) -> int:
    """The Luhn check digit for a string of 11 digits (the first 11 of a matricule)."""
    return _luhn(_payload_digits(s11))


def verhoeff_digit(s11: str) -> int:
    """The Verhoeff check digit for a string of 11 digits (the first 11 of a matricule)."""
    return _verhoeff(_payload_digits(s11))


def make_national_id(birth_date: dt.date, sequence: int) -> str:
    """The 13-digit national number for a birth date and a sequence number 0..999."""
    if not 0 <= sequence <= 999:
        raise ValueError(f"sequence must be between 0 and 999, got {sequence}")
    if birth_date.year < MIN_BIRTH_YEAR:
        raise ValueError(f"birth year must be {MIN_BIRTH_YEAR} or later")
    payload = f"{birth_date:%Y%m%d}{sequence:03d}"
    digits = _payload_digits(payload)
    return f"{payload}{_luhn(digits)}{_verhoeff(digits)}"


def validate_national_id(value: str) -> None:
    """Return if ``value`` is a valid national number, else raise :class:`InvalidNationalId`.

    Checks, in order: 13 characters, digits only, possible birth date, Luhn digit,
    Verhoeff digit.
    """
    if not isinstance(value, str):
        raise InvalidNationalId(NationalIdProblem.NOT_DIGITS, f"got a {type(value).__name__}")
    if len(value) != NATIONAL_ID_LENGTH:
        raise InvalidNationalId(NationalIdProblem.LENGTH, f"got {len(value)} characters")
    if not (value.isascii() and value.isdigit()):
        raise InvalidNationalId(NationalIdProblem.NOT_DIGITS)
    try:
        born = dt.date(int(value[0:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        raise InvalidNationalId(NationalIdProblem.IMPOSSIBLE_DATE) from None
    if born.year < MIN_BIRTH_YEAR:
        raise InvalidNationalId(NationalIdProblem.IMPOSSIBLE_DATE)
    digits = [ord(c) - 48 for c in value]
    if digits[11] != _luhn(digits[:11]):
        raise InvalidNationalId(NationalIdProblem.BAD_LUHN)
    if digits[12] != _verhoeff(digits[:11]):
        raise InvalidNationalId(NationalIdProblem.BAD_VERHOEFF)


def is_valid_national_id(value: str) -> bool:
    """True if ``value`` is a valid national number (see :func:`validate_national_id`)."""
    try:
        validate_national_id(value)
    except InvalidNationalId:
        return False
    return True


_LUHN_DOUBLE = np.array([0, 2, 4, 6, 8, 1, 3, 5, 7, 9], dtype=np.uint8)
# Verhoeff step for payload position i (counted from the right, from 0), as one flat
# lookup table indexed by 10 * state + digit.
_VERHOEFF_STEP = [
    _D[np.arange(10)[:, None], _P[(i + 1) % 8][np.arange(10)[None, :]]].reshape(100)
    for i in range(_PAYLOAD_LENGTH)
]


def _check_digit_columns(cols: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Luhn and Verhoeff check digits of n payloads given as 11 uint8 digit columns."""
    # Luhn: the rightmost payload digit and every second one leftwards are doubled.
    total = np.zeros(len(cols[0]), dtype=np.uint8)  # at most 11 * 9 = 99
    for i in range(_PAYLOAD_LENGTH):
        if (_PAYLOAD_LENGTH - 1 - i) % 2 == 0:
            total += _LUHN_DOUBLE[cols[i]]
        else:
            total += cols[i]
    luhn = (np.uint8(10) - total % np.uint8(10)) % np.uint8(10)
    # Verhoeff: rightmost payload digit first.
    c = np.zeros(len(cols[0]), dtype=np.uint8)
    for i in range(_PAYLOAD_LENGTH):
        c = _VERHOEFF_STEP[i][c * np.uint8(10) + cols[_PAYLOAD_LENGTH - 1 - i]]
    return luhn, _INV[c]


def _digit_matrix_is_valid(m: np.ndarray) -> np.ndarray:
    """Validity of each row of an (n, 13) uint8 matrix of ASCII bytes."""
    d = m - np.uint8(48)  # wraps around for bytes below '0', so > 9 catches them too
    ok: np.ndarray = np.asarray((d <= 9).all(axis=1))
    if not ok.all():
        d = np.where(ok[:, None], d, np.uint8(0))
    cols = [np.ascontiguousarray(d[:, i]) for i in range(NATIONAL_ID_LENGTH)]
    w = [c.astype(np.int32) for c in cols[:8]]
    year = w[0] * 1000 + w[1] * 100 + w[2] * 10 + w[3]
    month = w[4] * 10 + w[5]
    day = w[6] * 10 + w[7]
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    month_ok = (month >= 1) & (month <= 12)
    dim = _DAYS_IN_MONTH[np.where(month_ok, month, 0)] + ((month == 2) & leap)
    ok &= month_ok & (day >= 1) & (day <= dim) & (year >= MIN_BIRTH_YEAR)
    luhn, verhoeff = _check_digit_columns(cols)
    ok &= (cols[11] == luhn) & (cols[12] == verhoeff)
    return ok


def _mask_chunk(arr: pa.Array) -> np.ndarray:
    n = len(arr)
    if n == 0:
        return np.zeros(0, dtype=bool)
    lengths = pc.binary_length(arr)
    right_length = pc.fill_null(pc.equal(lengths, NATIONAL_ID_LENGTH), False)
    candidates = pc.filter(arr, right_length)
    out = np.zeros(n, dtype=bool)
    if len(candidates) == 0:
        return out
    # After filtering, the values lie back to back in one data buffer, 13 bytes each.
    candidates = candidates.cast(pa.large_binary())
    offsets_buf, data_buf = candidates.buffers()[1], candidates.buffers()[2]
    offsets = np.frombuffer(offsets_buf, dtype=np.int64, count=len(candidates) + 1, offset=0)
    start = int(offsets[candidates.offset])
    end = int(offsets[candidates.offset + len(candidates)])
    assert data_buf is not None
    raw = np.frombuffer(data_buf, dtype=np.uint8, count=end - start, offset=start)
    matrix = raw.reshape(len(candidates), NATIONAL_ID_LENGTH)
    out[right_length.to_numpy(zero_copy_only=False)] = _digit_matrix_is_valid(matrix)
    return out


def make_national_ids(birth_dates: np.ndarray, sequences: np.ndarray) -> pa.StringArray:
    """Vectorised :func:`make_national_id`: one national number per (birth date, sequence).

    ``birth_dates`` is anything numpy turns into ``datetime64[D]`` (years 1800-9999);
    ``sequences`` integers 0..999 of the same length.
    """
    days = np.asarray(birth_dates, dtype="datetime64[D]")
    seq = np.asarray(sequences, dtype=np.int64)
    if days.shape != seq.shape or days.ndim != 1:
        raise ValueError("birth_dates and sequences must be 1-d arrays of the same length")
    if seq.size and (seq.min() < 0 or seq.max() > 999):
        raise ValueError("every sequence must be between 0 and 999")
    years = days.astype("datetime64[Y]")
    year = years.astype(np.int64) + 1970
    if year.size and (year.min() < MIN_BIRTH_YEAR or year.max() > 9999):
        raise ValueError(f"birth years must be between {MIN_BIRTH_YEAR} and 9999")
    months = days.astype("datetime64[M]")
    month = (months - years).astype(np.int64) + 1
    day = (days - months).astype(np.int64) + 1
    n = len(days)
    digits = np.empty((n, NATIONAL_ID_LENGTH), dtype=np.uint8)
    for pos, (value, width) in enumerate(((year, 4), (month, 2), (day, 2), (seq, 3))):
        start = (0, 4, 6, 8)[pos]
        for k in range(width):
            digits[:, start + k] = (value // 10 ** (width - 1 - k)) % 10
    cols = [np.ascontiguousarray(digits[:, i]) for i in range(_PAYLOAD_LENGTH)]
    digits[:, 11], digits[:, 12] = _check_digit_columns(cols)
    data = (digits + np.uint8(48)).tobytes()
    offsets = np.arange(0, NATIONAL_ID_LENGTH * (n + 1), NATIONAL_ID_LENGTH, dtype=np.int32)
    return pa.Array.from_buffers(  # type: ignore[return-value]
        pa.string(), n, [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data)]
    )


def valid_national_id_mask(values: pa.Array | pa.ChunkedArray) -> pa.BooleanArray:
    """Vectorised :func:`is_valid_national_id`: one boolean per value, False for nulls.

    ``values`` is a pyarrow string/binary array (or chunked array). Works over digit
    columns with numpy, in slices of one million values so memory stays bounded.
    """
    if isinstance(values, pa.ChunkedArray):
        pieces = [np.asarray(valid_national_id_mask(c)) for c in values.chunks]
        return pa.array(np.concatenate(pieces) if pieces else np.zeros(0, dtype=bool))
    typ = values.type
    if not (
        pa.types.is_string(typ)
        or pa.types.is_large_string(typ)
        or pa.types.is_binary(typ)
        or pa.types.is_large_binary(typ)
        or pa.types.is_string_view(typ)
        or pa.types.is_binary_view(typ)
    ):
        raise TypeError(
            f"valid_national_id_mask needs a string column, got {typ}: "
            "national numbers are text (leading zeros matter), cast the column to string first"
        )
    if pa.types.is_string_view(typ) or pa.types.is_binary_view(typ):
        values = values.cast(pa.large_binary())
    step = 1_000_000
    parts = [_mask_chunk(values.slice(i, step)) for i in range(0, len(values), step)]
    return pa.array(np.concatenate(parts) if parts else np.zeros(0, dtype=bool), type=pa.bool_())
