"""Reference lists shipped with the package (``data/*.csv``) and samplers over them.

The lists are plausible, not authoritative: the 100 communes and their cantons are real
(2024), their populations are rounded approximations and the postcode ranges illustrative.
Names, codes and labels are common public vocabularies (ICD-10, ATC, NACE Rev. 2, ISCO-08).
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import pyarrow as pa

from datalux.demo.population.vectors import strings

__all__ = [
    "ORIGINS",
    "REFERENCE_FILES",
    "Reference",
    "ascii_fold",
    "german_transliteration",
    "load_reference",
    "reference_table",
]

ORIGINS = ("lu", "pt", "fr", "it", "de", "intl")
REFERENCE_FILES = (
    "communes",
    "given_names",
    "surnames",
    "nicknames",
    "streets",
    "foreign_postcodes",
    "nationalities",
    "icd10",
    "atc",
    "nace",
    "isco",
)


def _rows(name: str) -> list[dict[str, str]]:
    path = resources.files("datalux.demo.population").joinpath(f"data/{name}.csv")
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def reference_table(name: str) -> pa.Table:
    """One shipped reference list as an Arrow table of strings (e.g. ``"icd10"`` for labels)."""
    if name not in REFERENCE_FILES:
        raise KeyError(f"unknown reference list {name!r}; known: {', '.join(REFERENCE_FILES)}")
    rows = _rows(name)
    return pa.table({k: strings([r[k] for r in rows]) for k in rows[0]})


def ascii_fold(text: str) -> str:
    """Drop diacritics the way a keyboard without accents would: Müller -> Muller."""
    text = text.replace("ß", "ss").replace("\u0131", "i")  # dotless i
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def german_transliteration(text: str) -> str:
    """German-style folding of umlauts: Müller -> Mueller (other accents dropped)."""
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("Ä", "Ae"), ("Ö", "Oe"), ("Ü", "Ue")):
        text = text.replace(a, b)
    return ascii_fold(text)


@dataclass(frozen=True)
class Sampler:
    """Weighted draws of indices into a list: ``index[searchsorted(cdf, u)]``."""

    index: np.ndarray
    cdf: np.ndarray

    @classmethod
    def of(cls, index: np.ndarray, weights: np.ndarray) -> Sampler:
        w = np.asarray(weights, dtype=np.float64)
        cdf = np.cumsum(w / w.sum())
        cdf[-1] = 1.0
        return cls(np.asarray(index, dtype=np.int32), cdf)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.index[np.searchsorted(self.cdf, rng.random(n), side="right")]


def _zipf(n: int, exponent: float = 0.8) -> np.ndarray:
    return 1.0 / np.arange(1, n + 1, dtype=np.float64) ** exponent


def _profile_factors(profiles: list[str], age_lo: int, age_hi: int, female: bool) -> np.ndarray:
    """Weight multipliers of the profiles for people aged age_lo..age_hi of one sex."""
    out = np.ones(len(profiles))
    for i, profile in enumerate(profiles):
        for part in profile.split("+"):
            f = 1.0
            if part == "newborn":
                f = 25.0 if age_hi < 1 else 0.0
            elif part == "child":
                f = 1.5 if age_hi < 15 else 0.08
            elif part == "adult":
                f = 0.03 if age_hi < 15 else 1.0
            elif part == "elderly":
                f = 0.01 if age_hi < 15 else 0.1 if age_hi < 45 else 0.7 if age_hi < 65 else 1.6
            elif part == "maternity":
                f = 6.0 if female and 15 <= age_lo and age_hi <= 49 else 0.0
            elif part == "male":
                f = 0.0 if female else 1.0
            elif part == "female":
                f = 1.0 if female else 0.0
            out[i] *= f
    return out


# Age bands (inclusive bounds) used to condition diagnoses and medicines on age.
AGE_BANDS = ((0, 0), (1, 14), (15, 44), (45, 49), (50, 64), (65, 74), (75, 84), (85, 130))
_BAND_UPPER = np.array([hi for _, hi in AGE_BANDS])


def age_band(age_years: np.ndarray) -> np.ndarray:
    """Index into AGE_BANDS for each age in whole years."""
    return np.searchsorted(_BAND_UPPER, np.clip(age_years, 0, 130), side="left").astype(np.int8)


@dataclass(frozen=True)
class CodeList:
    """A coded vocabulary (ICD-10, ATC...) with age/sex-conditioned samplers."""

    codes: pa.Array
    strata: tuple[Sampler, ...]  # index band * 2 + female

    def draw(self, rng: np.random.Generator, band: np.ndarray, female: np.ndarray) -> np.ndarray:
        out = np.zeros(len(band), dtype=np.int32)
        stratum = band.astype(np.int32) * 2 + female.astype(np.int32)
        for s in np.unique(stratum):
            rows = np.flatnonzero(stratum == s)
            out[rows] = self.strata[s].draw(rng, len(rows))
        return out


def _code_list(rows: list[dict[str, str]], subset: np.ndarray | None = None) -> CodeList:
    idx = np.arange(len(rows)) if subset is None else subset
    weights = np.array([float(rows[i]["weight"]) for i in idx])
    profiles = [rows[i]["profile"] for i in idx]
    strata = []
    for lo, hi in AGE_BANDS:
        for female in (False, True):
            w = weights * _profile_factors(profiles, lo, hi, female)
            if w.sum() == 0:
                w = weights * np.array([p == "all" for p in profiles])
            strata.append(Sampler.of(idx, w))
    return CodeList(strings([r["code"] for r in rows]), tuple(strata))


@dataclass(frozen=True)
class Reference:
    """Every shipped list, loaded once, in array form for vectorised sampling."""

    # communes
    commune_names: pa.Array
    commune_region: np.ndarray  # index into REGIONS
    commune_sampler: Sampler
    postcode_from: np.ndarray
    postcode_to: np.ndarray
    # names
    given_names: pa.Array
    given_ascii: pa.Array
    given_translit: pa.Array
    given_has_accent: np.ndarray
    given_by_origin_sex: dict[tuple[int, int], Sampler]  # (origin, female) -> sampler
    nickname_of: np.ndarray  # index into nicknames, -1 when none
    nicknames: pa.Array
    surnames: pa.Array
    surname_ascii: pa.Array
    surname_translit: pa.Array
    surname_has_accent: np.ndarray
    surname_by_origin: dict[int, Sampler]
    streets: pa.Array
    street_sampler: Sampler
    # nationality and cross-border residence
    nationality_codes: pa.Array
    nationality_sampler: Sampler
    foreign_nationality_sampler: Sampler  # every nationality but LU (the first row)
    nationality_origin_cdf: np.ndarray  # (nationalities, origins)
    foreign_countries: tuple[str, ...]
    foreign_postcodes: pa.Array
    foreign_by_country: dict[str, Sampler]
    # health
    icd10: CodeList
    icd10_los: np.ndarray
    atc_codes: pa.Array
    atc_chronic: CodeList
    atc_acute: CodeList
    atc_specialty: np.ndarray  # index into SPECIALTIES
    # employment
    nace_sections: pa.Array
    nace_divisions: pa.Array
    nace_section_of: np.ndarray  # index into NACE_SECTIONS
    nace_sampler: Sampler
    isco_codes: pa.Array
    isco_major: np.ndarray
    isco_by_section: dict[int, Sampler]


REGIONS = ("centre", "south", "north", "east")
SPECIALTIES = (
    "general practice",
    "paediatrics",
    "cardiology",
    "endocrinology",
    "gastroenterology",
    "gynaecology",
    "urology",
    "rheumatology",
    "oncology",
    "neurology",
    "psychiatry",
    "pneumology",
    "dermatology",
    "ophthalmology",
)
NACE_SECTIONS = tuple("ABCDEFGHIJKLMNOPQRSTU")


def _has_accent(name: str) -> bool:
    return ascii_fold(name) != name


@cache
def load_reference() -> Reference:
    """Load and index every shipped list (cached: loaded once per process)."""
    communes = _rows("communes")
    given = _rows("given_names")
    surnames = _rows("surnames")
    nick_rows = _rows("nicknames")
    streets = [r["street"] for r in _rows("streets")]
    foreign = _rows("foreign_postcodes")
    nationalities = _rows("nationalities")
    if nationalities[0]["code"] != "LU":
        raise ValueError("nationalities.csv must start with LU")
    icd = _rows("icd10")
    atc = _rows("atc")
    nace = _rows("nace")
    isco = _rows("isco")

    given_names = [r["name"] for r in given]
    by_origin_sex = {}
    for o, origin in enumerate(ORIGINS):
        for female in (0, 1):
            idx = np.array(
                [
                    i
                    for i, r in enumerate(given)
                    if r["origin"] == origin and (r["sex"] == "F") == bool(female)
                ]
            )
            by_origin_sex[(o, female)] = Sampler.of(idx, _zipf(len(idx)))
    nickname_list = sorted({r["nickname"] for r in nick_rows})
    nick_index = {n: i for i, n in enumerate(nickname_list)}
    nick_map = {r["name"]: nick_index[r["nickname"]] for r in nick_rows}
    nickname_of = np.array([nick_map.get(n, -1) for n in given_names], dtype=np.int32)

    surname_names = [r["name"] for r in surnames]
    surname_by_origin = {}
    for o, origin in enumerate(ORIGINS):
        idx = np.array([i for i, r in enumerate(surnames) if r["origin"] == origin])
        surname_by_origin[o] = Sampler.of(idx, _zipf(len(idx), 0.6))

    origin_cdf = np.zeros((len(nationalities), len(ORIGINS)))
    for i, r in enumerate(nationalities):
        for part in r["origins"].split(";"):
            origin, share = part.split(":")
            origin_cdf[i, ORIGINS.index(origin)] = float(share)
    origin_cdf = np.cumsum(origin_cdf / origin_cdf.sum(axis=1, keepdims=True), axis=1)
    origin_cdf[:, -1] = 1.0

    countries = tuple(sorted({r["country"] for r in foreign}))
    foreign_by_country = {
        c: Sampler.of(
            np.array([i for i, r in enumerate(foreign) if r["country"] == c]),
            np.array([float(r["weight"]) for r in foreign if r["country"] == c]),
        )
        for c in countries
    }

    chronic = np.array([i for i, r in enumerate(atc) if r["chronic"] == "1"])
    acute = np.array([i for i, r in enumerate(atc) if r["chronic"] != "1"])
    atc_list = _code_list(atc)

    isco_by_section = {}
    for s, section in enumerate(NACE_SECTIONS):
        w = np.array(
            [
                float(r["weight"])
                * (
                    3.0
                    if section in r["sections"].split(";")
                    else 1.0
                    if r["sections"] == "*"
                    else 0.05
                )
                for r in isco
            ]
        )
        isco_by_section[s] = Sampler.of(np.arange(len(isco)), w)

    return Reference(
        commune_names=strings([r["commune"] for r in communes]),
        commune_region=np.array([REGIONS.index(r["region"]) for r in communes], dtype=np.int8),
        commune_sampler=Sampler.of(
            np.arange(len(communes)), np.array([float(r["population"]) for r in communes])
        ),
        postcode_from=np.array([int(r["postcode_from"]) for r in communes], dtype=np.int32),
        postcode_to=np.array([int(r["postcode_to"]) for r in communes], dtype=np.int32),
        given_names=strings(given_names),
        given_ascii=strings([ascii_fold(n) for n in given_names]),
        given_translit=strings([german_transliteration(n) for n in given_names]),
        given_has_accent=np.array([_has_accent(n) for n in given_names]),
        given_by_origin_sex=by_origin_sex,
        nickname_of=nickname_of,
        nicknames=strings(nickname_list),
        surnames=strings(surname_names),
        surname_ascii=strings([ascii_fold(n) for n in surname_names]),
        surname_translit=strings([german_transliteration(n) for n in surname_names]),
        surname_has_accent=np.array([_has_accent(n) for n in surname_names]),
        surname_by_origin=surname_by_origin,
        streets=strings(streets),
        street_sampler=Sampler.of(np.arange(len(streets)), _zipf(len(streets), 0.5)),
        nationality_codes=strings([r["code"] for r in nationalities]),
        nationality_sampler=Sampler.of(
            np.arange(len(nationalities)), np.array([float(r["weight"]) for r in nationalities])
        ),
        foreign_nationality_sampler=Sampler.of(
            np.arange(1, len(nationalities)),
            np.array([float(r["weight"]) for r in nationalities[1:]]),
        ),
        nationality_origin_cdf=origin_cdf,
        foreign_countries=countries,
        foreign_postcodes=strings([r["postcode"] for r in foreign]),
        foreign_by_country=foreign_by_country,
        icd10=_code_list(icd),
        icd10_los=np.array([float(r["los_days"]) for r in icd]),
        atc_codes=atc_list.codes,
        atc_chronic=_code_list(atc, chronic),
        atc_acute=_code_list(atc, acute),
        atc_specialty=np.array([SPECIALTIES.index(r["specialty"]) for r in atc], dtype=np.int8),
        nace_sections=strings([r["section"] for r in nace]),
        nace_divisions=strings([r["division"] for r in nace]),
        nace_section_of=np.array([NACE_SECTIONS.index(r["section"]) for r in nace], dtype=np.int8),
        nace_sampler=Sampler.of(np.arange(len(nace)), np.array([float(r["weight"]) for r in nace])),
        isco_codes=strings([r["code"] for r in isco]),
        isco_major=np.array([int(r["code"][0]) for r in isco], dtype=np.int8),
        isco_by_section=isco_by_section,
    )
