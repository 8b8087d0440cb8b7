"""Code lists (controlled vocabularies) that uploaded values are checked against.

Each list is checked in the engine as one SQL predicate over a text expression, with the
list's values passed as bound parameters (never spliced into the SQL):

- exact lists - every valid code is known: the 100 communes of Luxembourg (from the
  reference data shipped with the demo population), ISO 3166-1 alpha-2 countries, sex
  (M, F), NACE Rev. 2 (the 21 section letters, the 88 divisions, and groups/classes
  ``dd.d``/``dd.dd`` of a known division);
- structural lists - large classifications of which only a sample ships with the platform
  (ICD-10, ATC, ISCO-08): a code must have the classification's form (and, for ATC, a valid
  anatomical main group); the shipped codes serve as examples in error messages.

The national identification number is not a code list but a check-digit rule: see
:data:`NATIONAL_ID` and :attr:`datalux.dataplane.ingest.Field.national_id`.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from datalux.dataplane.errors import DataplaneError

__all__ = [
    "NATIONAL_ID",
    "CodeList",
    "UnknownCodeList",
    "code_list",
    "code_list_keys",
]

#: The code-list key a data dictionary uses for a national identification number column.
NATIONAL_ID = "national-id"


class UnknownCodeList(DataplaneError):
    """A field names a code list that does not exist."""


@dataclass(frozen=True)
class CodeList:
    """A controlled vocabulary. A code is valid when it matches ``pattern`` (if any), is in
    ``values`` (if the list is exact) and, for ``prefix_values``, its first
    ``prefix_length`` characters are in that set."""

    key: str
    title: str
    values: frozenset[str] = frozenset()
    exact: bool = False  # True: every valid code is known (not only its form)
    pattern: str = ""
    prefix_values: frozenset[str] = frozenset()
    prefix_length: int = 0
    examples: tuple[str, ...] = field(default=())

    def contains(self, code: str) -> bool:
        """Whether ``code`` is valid (the same rule as :meth:`sql_predicate`)."""
        if code in self.values:
            return True
        if not self.pattern or re.fullmatch(self.pattern, code) is None:
            return False
        return not self.prefix_values or code[: self.prefix_length] in self.prefix_values

    def sql_predicate(self, expr: str) -> tuple[str, list[object]]:
        """A DuckDB boolean expression over the text expression ``expr`` (built by the
        caller from quoted identifiers), and its bound parameters in order."""
        parts: list[str] = []
        params: list[object] = []
        if self.values:
            parts.append(f"list_contains(?::VARCHAR[], {expr})")
            params.append(sorted(self.values))
        if self.pattern:
            rule = f"regexp_full_match({expr}, ?)"
            params.append(self.pattern)
            if self.prefix_values:
                rule += f" AND list_contains(?::VARCHAR[], left({expr}, {int(self.prefix_length)}))"
                params.append(sorted(self.prefix_values))
            parts.append(f"({rule})")
        if not parts:
            return "false", []
        return "(" + " OR ".join(parts) + ")", params

    def describe(self) -> str:
        """The list's title with a few example codes, for error messages."""
        sample = ", ".join(self.examples[:5])
        return f"{self.title} (e.g. {sample})" if sample else self.title


def _reference_rows(name: str) -> list[dict[str, str]]:
    """Rows of a reference list shipped with the demo population, or [] if absent."""
    try:
        path = resources.files("datalux").joinpath("demo", "population", "data", f"{name}.csv")
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError, OSError):
        return []
    return list(csv.DictReader(io.StringIO(text, newline="")))


_NACE_SECTIONS = frozenset("ABCDEFGHIJKLMNOPQRSTU")
_NACE_DIVISIONS = frozenset(
    f"{d:02d}"
    for d in [
        *range(1, 4), *range(5, 10), *range(10, 34), 35, *range(36, 40), *range(41, 44),
        *range(45, 48), *range(49, 54), 55, 56, *range(58, 64), 64, 65, 66, 68,
        *range(69, 76), *range(77, 83), 84, 85, 86, 87, 88, *range(90, 94), 94, 95, 96,
        97, 98, 99,
    ]
)  # fmt: skip

_ISO3166 = frozenset(
    [
        *"""
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO
    BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ
    DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP
    GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG
    KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML
    MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE
    PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL
    SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM
    US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
    """.split(),
        # XK (Kosovo) is user-assigned, not in ISO 3166-1, but used by the EU and by registers.
        "XK",
    ]
)


def _codes(name: str, column: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(r[column] for r in _reference_rows(name) if r.get(column)))


@cache
def _lists() -> dict[str, CodeList]:
    communes = _codes("communes", "commune")
    lists = [
        CodeList(
            "icd10",
            "ICD-10",
            pattern=r"[A-Z][0-9]{2}(\.[0-9]{1,2})?",
            examples=_codes("icd10", "code") or ("E11.9", "I10", "J45.0"),
        ),
        CodeList(
            "atc",
            "ATC",
            pattern=r"[ABCDGHJLMNPRSV]([0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?)?",
            examples=_codes("atc", "code") or ("A02BC01", "C10AA05", "N02BE01"),
        ),
        CodeList(
            "isco08",
            "ISCO-08",
            pattern=r"[0-9]{1,4}",
            examples=_codes("isco", "code") or ("2221", "5120", "8322"),
        ),
        CodeList(
            "nace2",
            "NACE Rev. 2",
            values=_NACE_SECTIONS | _NACE_DIVISIONS,
            exact=True,
            pattern=r"[0-9]{2}\.[0-9]{1,2}",
            prefix_values=_NACE_DIVISIONS,
            prefix_length=2,
            examples=("C", "62", "62.0", "62.01"),
        ),
        CodeList(
            "communes-lu",
            "communes of Luxembourg",
            values=frozenset(communes),
            exact=True,
            examples=communes[:3] or ("Luxembourg",),
        ),
        CodeList("iso3166", "ISO 3166-1 alpha-2", _ISO3166, exact=True, examples=("LU", "FR")),
        CodeList(
            "sex", "sex as registered", frozenset({"M", "F"}), exact=True, examples=("M", "F")
        ),
    ]
    return {c.key: c for c in lists}


def code_list_keys() -> tuple[str, ...]:
    """The keys of every code list checked here."""
    return tuple(_lists())


def code_list(key: str) -> CodeList:
    """The code list ``key`` (e.g. ``"icd10"``, ``"communes-lu"``)."""
    try:
        return _lists()[key]
    except KeyError:
        raise UnknownCodeList(
            f"unknown code list {key!r}: use one of {', '.join(code_list_keys())}"
        ) from None
