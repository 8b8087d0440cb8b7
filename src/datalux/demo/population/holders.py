"""The demo data holders and their tables, as data: the single source of the data dictionary.

Every generated Parquet file has exactly the columns listed here, in this order, with these
types; each column's description is also stored in the Parquet field metadata
(``b"description"``). The organisations are invented (plausible, not real bodies).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa

__all__ = [
    "HOLDERS",
    "TRUTH_COLUMNS",
    "ColumnSpec",
    "Holder",
    "TableSpec",
    "holder",
    "table_spec",
]

_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "date32": pa.date32(),
    "int64": pa.int64(),
    "int32": pa.int32(),
    "int16": pa.int16(),
    "int8": pa.int8(),
    "float64": pa.float64(),
}


@dataclass(frozen=True)
class ColumnSpec:
    """One column of the data dictionary: name, Arrow type name, meaning, nullability."""

    name: str
    type: str  # one of: string, date32, int64, int32, int16, int8, float64
    description: str
    nullable: bool = True

    @property
    def arrow_type(self) -> pa.DataType:
        return _TYPES[self.type]

    def as_dict(self) -> dict[str, str | bool]:
        """name, type, nullable, description (``dict(column)`` gives the same)."""
        return {
            "name": self.name,
            "type": self.type,
            "nullable": self.nullable,
            "description": self.description,
        }

    def __iter__(self) -> Iterator[tuple[str, str | bool]]:
        return iter(self.as_dict().items())

    def field(self) -> pa.Field:
        return pa.field(
            self.name,
            self.arrow_type,
            nullable=self.nullable,
            metadata={"description": self.description},
        )


@dataclass(frozen=True)
class TableSpec:
    """One table of a holder: ``name`` is also the Parquet file stem."""

    name: str
    title: str
    description: str
    columns: tuple[ColumnSpec, ...]
    has_national_id: bool
    has_truth: bool = False  # True: a ``_truth/<name>.parquet`` file maps record ids to ids

    def schema(self, metadata: dict[str, str] | None = None) -> pa.Schema:
        return pa.schema([c.field() for c in self.columns], metadata=metadata)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


@dataclass(frozen=True)
class Holder:
    """An organisation holding tables (kind is always "data holder" in this demo).

    ``key`` is a stable identifier (folder name of its files); ``sector`` is "public" or
    "private".
    """

    key: str
    name: str
    acronym: str
    description: str
    tables: tuple[TableSpec, ...]
    kind: str = "data holder"
    sector: str = "public"


def _c(name: str, typ: str, description: str, nullable: bool = True) -> ColumnSpec:
    return ColumnSpec(name, typ, description, nullable)


_NID = "national identification number (13 digits: birth date, sequence, Luhn and Verhoeff digits)"

POPULATION_REGISTER = TableSpec(
    name="population_register",
    title="Registre national des personnes physiques (demo)",
    description=(
        "The authentic source of residents: one row per person ever registered as resident, "
        "deceased persons included (with a death date). Current address only."
    ),
    has_national_id=True,
    columns=(
        _c("national_id", "string", _NID, nullable=False),
        _c("given_name", "string", "first given name", nullable=False),
        _c("surname", "string", "family name", nullable=False),
        _c("sex", "string", "sex as registered: M or F", nullable=False),
        _c("birth_date", "date32", "date of birth", nullable=False),
        _c("nationality", "string", "nationality, ISO 3166-1 alpha-2", nullable=False),
        _c("commune", "string", "commune of residence (one of the 100 communes)", nullable=False),
        _c("postcode", "string", "postcode of the current address, L-NNNN"),
        _c("street_address", "string", "house number and street of the current address"),
        _c("arrival_date", "date32", "date of arrival in the country (null: born here)"),
        _c("death_date", "date32", "date of death (null: alive at the extraction date)"),
    ),
)

HOSPITAL_STAYS = TableSpec(
    name="hospital_stays",
    title="Séjours hospitaliers (demo)",
    description=(
        "Inpatient and day-case hospital stays from 2020 to 2024, one row per stay, "
        "with the primary diagnosis coded in ICD-10."
    ),
    has_national_id=True,
    columns=(
        _c("stay_id", "int64", "stay identifier, unique in this table", nullable=False),
        _c("national_id", "string", _NID + "; null when the patient was not identified"),
        _c("admission_date", "date32", "date of admission", nullable=False),
        _c("discharge_date", "date32", "date of discharge (null: still in hospital)"),
        _c("primary_diagnosis", "string", "primary diagnosis, ICD-10 code (null: not yet coded)"),
        _c("hospital", "string", "hospital name", nullable=False),
        _c("commune_of_residence", "string", "patient's commune (null: lives abroad / unknown)"),
    ),
)

PRESCRIPTIONS = TableSpec(
    name="prescriptions",
    title="Médicaments délivrés (demo)",
    description=(
        "Reimbursed medicines dispensed by pharmacies in 2024, one row per dispensing, "
        "coded in ATC (level 5)."
    ),
    has_national_id=True,
    columns=(
        _c("prescription_id", "int64", "dispensing identifier, unique", nullable=False),
        _c("national_id", "string", _NID + " of the insured person (null: not recorded)"),
        _c("dispensing_date", "date32", "date the pharmacy dispensed the medicine", nullable=False),
        _c("atc_code", "string", "ATC code, level 5 (chemical substance)", nullable=False),
        _c("quantity", "int16", "number of packs dispensed", nullable=False),
        _c("prescriber_specialty", "string", "specialty of the prescribing doctor"),
    ),
)

EMPLOYMENT_SPELLS = TableSpec(
    name="employment_spells",
    title="Périodes d'affiliation salariée (demo)",
    description=(
        "Employment spells declared by employers since 2010, one row per spell. About 45% of "
        "current employees are cross-border workers living in France, Belgium or Germany: "
        "they have a national number but are not in the population register."
    ),
    has_national_id=True,
    columns=(
        _c("spell_id", "int64", "spell identifier, unique", nullable=False),
        _c("national_id", "string", _NID, nullable=False),
        _c("start_date", "date32", "first day of the spell", nullable=False),
        _c("end_date", "date32", "last day of the spell (null: still open)"),
        _c("nace_section", "string", "economic activity, NACE Rev. 2 section letter", False),
        _c("nace_division", "string", "economic activity, NACE Rev. 2 division (2 digits)", False),
        _c("isco_code", "string", "occupation, ISCO-08 unit group (null: not declared)"),
        _c("monthly_wage", "float64", "gross monthly wage in euros (null: not declared)"),
        _c("working_time_pct", "int8", "working time, percent of full time", nullable=False),
        _c("country_of_residence", "string", "country of residence, ISO 3166-1 alpha-2", False),
        _c("residence_postcode", "string", "postcode in the country of residence (digits)"),
    ),
)

SCHOOL_ENROLMENTS = TableSpec(
    name="school_enrolments",
    title="Inscriptions scolaires 2024-2025 (demo)",
    description=(
        "Pupils enrolled in the school year 2024-2025. Holds NO national number: records are "
        "linked to persons on names, birth date and address, which carry typing errors, "
        "dropped accents, nicknames, swapped date parts, old addresses and gaps."
    ),
    has_national_id=False,
    has_truth=True,
    columns=(
        _c("record_id", "int64", "enrolment record identifier, unique", nullable=False),
        _c("given_name", "string", "pupil's given name as entered by the school"),
        _c("surname", "string", "pupil's family name as entered by the school"),
        _c("birth_date", "date32", "pupil's date of birth as entered by the school"),
        _c("sex", "string", "M or F"),
        _c("street_address", "string", "house number and street as known to the school"),
        _c("postcode", "string", "postcode as known to the school (4 digits, no L- prefix)"),
        _c("commune", "string", "commune of the address known to the school"),
        _c("school_year", "string", "school year, e.g. 2024-2025", nullable=False),
        _c("level", "string", "level: fundamental cycles 1-4 or secondary (ESC/ESG)", False),
        _c("school", "string", "school name", nullable=False),
    ),
)

TRUTH_COLUMNS: tuple[ColumnSpec, ...] = (
    _c("record_id", "int64", "record identifier in the holder's table", nullable=False),
    _c("national_id", "string", "the true national number of the person", nullable=False),
    _c("noise", "string", "noise applied to the record, ';'-separated (null: none)"),
)

HOLDERS: tuple[Holder, ...] = (
    Holder(
        key="population_register",
        name="Office national des registres de personnes",
        acronym="ONRP",
        description=(
            "Keeps the national register of natural persons (the authentic source of "
            "identity, residence and civil status) and issues national numbers."
        ),
        tables=(POPULATION_REGISTER,),
    ),
    Holder(
        key="hospital_federation",
        name="Fédération des établissements hospitaliers du Grand-Duché",
        acronym="FEHG",
        description="Collects the discharge summaries of the country's hospitals.",
        tables=(HOSPITAL_STAYS,),
    ),
    Holder(
        key="health_insurance",
        name="Caisse d'assurance maladie et maternité",
        acronym="CAMM",
        description="Reimburses care and medicines for residents and cross-border workers.",
        tables=(PRESCRIPTIONS,),
    ),
    Holder(
        key="social_security",
        name="Centre des affiliations et cotisations sociales",
        acronym="CACS",
        description="Registers employers' declarations of employees, wages and activity.",
        tables=(EMPLOYMENT_SPELLS,),
    ),
    Holder(
        key="education",
        name="Service des registres scolaires et de l'orientation",
        acronym="SRSO",
        description=(
            "Keeps the pupils' register of public schools, filled in by school secretariats "
            "without the national number."
        ),
        tables=(SCHOOL_ENROLMENTS,),
    ),
)


def holder(key: str) -> Holder:
    """The holder with this key; ``KeyError`` naming the known keys otherwise."""
    for h in HOLDERS:
        if h.key == key:
            return h
    raise KeyError(f"unknown holder {key!r}; known: {', '.join(h.key for h in HOLDERS)}")


def table_spec(name: str) -> TableSpec:
    """The table with this name, from any holder."""
    for h in HOLDERS:
        for t in h.tables:
            if t.name == name:
                return t
    known = ", ".join(t.name for h in HOLDERS for t in h.tables)
    raise KeyError(f"unknown table {name!r}; known: {known}")
