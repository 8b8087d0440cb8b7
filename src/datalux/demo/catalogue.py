"""Seed the demo catalogue: one described, published dataset per holder table (with its data
dictionary and a distribution pointing at the stored file), open aggregate datasets with
licences, a data service and a harvested remote catalogue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
from django.conf import settings
from django.db import transaction

from datalux.accounts.models import Organisation, User
from datalux.catalogue import actions
from datalux.catalogue.harvest import HarvestError, register_source, run_harvest
from datalux.catalogue.models import Catalogue, DataService, Dataset, Distribution, HarvestSource
from datalux.catalogue.vocabularies import (
    LUXEMBOURG_URI,
    MEDIA_TYPES,
    AccessRights,
    Frequency,
    PrivacyRole,
)
from datalux.demo.population.timeline import (
    DEATHS_FROM,
    EMPLOYMENT_FROM,
    EXTRACTION,
    HOSPITAL_FROM,
    PRESCRIPTIONS_FROM,
)
from datalux.holdings.actions import register_data_file

TYPES = {
    "string": "string",
    "date32": "date",
    "int64": "integer",
    "int32": "integer",
    "int16": "integer",
    "int8": "integer",
    "float64": "number",
}
DIRECT = {"national_id", "given_name", "surname", "street_address"}
QUASI = {
    "sex",
    "birth_date",
    "nationality",
    "commune",
    "postcode",
    "commune_of_residence",
    "country_of_residence",
    "residence_postcode",
    "arrival_date",
    "death_date",
    "school",
}
SENSITIVE = {"primary_diagnosis", "atc_code", "monthly_wage", "isco_code"}
CODE_LISTS = {
    "national_id": "national-id",
    "primary_diagnosis": "icd10",
    "atc_code": "atc",
    "commune": "communes-lu",
    "commune_of_residence": "communes-lu",
    "nationality": "iso3166",
    "country_of_residence": "iso3166",
    "sex": "sex",
    "isco_code": "isco08",
    "nace_division": "nace2",
}
# the date a permitted period applies to, per table: the event the row records
PERIOD = {"admission_date", "dispensing_date", "start_date"}
# what the trusted third party compares to link the school register (no national number) to
# the population register; the same kinds on both
LINKAGE = {
    "record_id": "record_id",
    "given_name": "given_name",
    "surname": "surname",
    "birth_date": "birth_date",
    "sex": "sex",
    "street_address": "street_address",
    "postcode": "postcode",
    "commune": "commune",
}
LINKED_TABLES = {"population_register", "school_enrolments"}
UNITS = {"monthly_wage": "EUR", "working_time_pct": "%", "quantity": "packs"}
THEMES = {
    "population_register": ["SOCI", "GOVE"],
    "hospital_stays": ["HEAL"],
    "prescriptions": ["HEAL"],
    "employment_spells": ["ECON", "SOCI"],
    "school_enrolments": ["EDUC"],
}


def _date(days: int) -> date:
    return date(1970, 1, 1) + timedelta(days=days)


# The period each holder table covers (the demo world's fixed dates).
COVERAGE = {
    "population_register": (_date(DEATHS_FROM), _date(EXTRACTION)),
    "hospital_stays": (_date(HOSPITAL_FROM), _date(EXTRACTION)),
    "prescriptions": (_date(PRESCRIPTIONS_FROM), _date(EXTRACTION)),
    "employment_spells": (_date(EMPLOYMENT_FROM), _date(EXTRACTION)),
    "school_enrolments": (date(2024, 9, 1), date(2025, 8, 31)),  # the school year 2024-2025
}


def table_schema(columns: Any, *, linked: bool = False) -> dict[str, Any]:
    """The Table Schema of a generated table (types, code lists, privacy roles, units; with
    ``linked``, what each column says of who the record is, for the linkage)."""
    fields = []
    for column in columns:
        spec = dict(column)
        name = spec["name"]
        role = (
            PrivacyRole.DIRECT_IDENTIFIER
            if name in DIRECT
            else PrivacyRole.QUASI_IDENTIFIER
            if name in QUASI
            else PrivacyRole.SENSITIVE
            if name in SENSITIVE
            else PrivacyRole.OTHER
        )
        field: dict[str, Any] = {
            "name": name,
            "type": TYPES.get(spec["type"], "string"),
            "description": spec["description"],
            "privacyRole": role.value,
        }
        if name in CODE_LISTS:
            field["codeList"] = CODE_LISTS[name]
        if name in UNITS:
            field["unit"] = UNITS[name]
        if not spec.get("nullable", True):
            field["constraints"] = {"required": True}
        if name in PERIOD:
            field["period"] = True
        if linked and name in LINKAGE:
            field["linkageKind"] = LINKAGE[name]
        fields.append(field)
    return {"fields": fields, "missingValues": [""]}


def ensure_local_catalogue(publisher: Organisation) -> Catalogue:
    catalogue, _ = Catalogue.objects.get_or_create(
        slug="datalux",
        defaults={
            "title": {
                "en": "datalux national data catalogue",
                "fr": "Catalogue national de données datalux",
                "de": "Nationaler Datenkatalog datalux",
            },
            "description": {
                "en": "Every dataset held by Luxembourg's public and private sector, open or "
                "protected, with its data dictionary and access conditions."
            },
            "publisher": publisher,
            "is_local": True,
        },
    )
    return catalogue


def _publish_table(table: Any, holder: Organisation, path: Path) -> int:
    """Describe, upload (validated against the dictionary, profiled) and publish one table."""
    from datalux.catalogue.uploads import upload_version

    dataset = actions.create_dataset(
        publisher=holder,
        slug=table.name,
        title={"en": table.title, "fr": table.title},
        description={"en": table.description},
        keywords=[w for w in table.name.split("_") if len(w) > 2],
        themes=THEMES.get(table.name, ["GOVE"]),
        access_rights=AccessRights.NON_PUBLIC if table.has_national_id else AccessRights.RESTRICTED,
        legal_basis=(
            "Data Governance Act (EU) 2022/868, Chapter II; GDPR Art. 6(1)(e) and, for health "
            "data, Art. 9(2)(j); national law on the reuse of public-sector data."
        ),
        conditions_for_reuse=(
            "Access only through a permit of the data authority, inside the secure processing "
            "environment; pseudonymised or anonymised extracts of the permitted variables."
        ),
        contact_name=f"Data steward, {holder.name}",
        contact_email=f"data@{holder.slug[:40]}.example.lu",
        accrual_periodicity=Frequency.ANNUAL,
        version="2024",
        spatial=[LUXEMBOURG_URI],
        temporal_start=COVERAGE[table.name][0],
        temporal_end=COVERAGE[table.name][1],
    )
    actions.set_dictionary(
        dataset=dataset,
        table_schema=table_schema(table.columns, linked=table.name in LINKED_TABLES),
    )
    steward = User.objects.get(username=f"steward-{table.holder.key}")
    version = upload_version(
        dataset=dataset, source=path, filename=f"{table.name}.parquet", by=steward
    )
    data_file = version.data_file
    Distribution.objects.create(
        dataset=dataset,
        title={"en": f"{table.title} (Parquet, in the secure processing environment)"},
        file_format="PARQUET",
        media_type=MEDIA_TYPES["PARQUET"],
        byte_size=data_file.size_bytes,
        data_file=data_file,
    )
    actions.publish_dataset(dataset=dataset)
    return data_file.rows


@dataclass(frozen=True)
class OpenAggregate:
    """An open table computed from a holder table (counts rounded to 5), published CC-BY 4.0."""

    slug: str
    source: str  # the holder table it is computed from
    select: str  # a fixed query over the view ``src`` (the source table)
    fields: tuple[dict[str, Any], ...]  # Table Schema fields, in the query's column order
    title: dict[str, str]
    description: str
    keywords: tuple[str, ...]
    themes: tuple[str, ...]
    coverage: tuple[date, date]


OPEN_AGGREGATES = (
    OpenAggregate(
        slug="population-by-commune",
        source="population_register",
        select="SELECT commune, sex, CAST(round(count(*) / 5.0) * 5 AS BIGINT) AS residents "
        "FROM src WHERE death_date IS NULL GROUP BY commune, sex ORDER BY commune, sex",
        fields=(
            {"name": "commune", "type": "string", "codeList": "communes-lu",
             "description": "commune of residence"},
            {"name": "sex", "type": "string", "codeList": "sex", "description": "sex"},
            {"name": "residents", "type": "integer", "unit": "persons",
             "description": "living residents, rounded to a multiple of 5"},
        ),
        title={
            "en": "Residents by commune and sex",
            "fr": "Résidents par commune et par sexe",
            "de": "Einwohner nach Gemeinde und Geschlecht",
            "lb": "Awunner no Gemeng a Geschlecht",
        },
        description="Living residents per commune and sex, counts rounded to base 5.",
        keywords=("population", "commune", "open data"),
        themes=("SOCI", "REGI"),
        coverage=(_date(EXTRACTION), _date(EXTRACTION)),
    ),
    OpenAggregate(
        slug="hospital-stays-by-year",
        source="hospital_stays",
        select="SELECT CAST(year(admission_date) AS INTEGER) AS year, hospital, "
        "CAST(round(count(*) / 5.0) * 5 AS BIGINT) AS stays FROM src GROUP BY ALL "
        "ORDER BY year, hospital",
        fields=(
            {"name": "year", "type": "integer", "description": "year of admission"},
            {"name": "hospital", "type": "string", "description": "hospital"},
            {"name": "stays", "type": "integer", "unit": "stays",
             "description": "hospital stays, rounded to a multiple of 5"},
        ),
        title={
            "en": "Hospital stays by year and hospital",
            "fr": "Séjours hospitaliers par année et par hôpital",
            "de": "Krankenhausaufenthalte nach Jahr und Krankenhaus",
        },
        description="Inpatient and day-case stays per year of admission and hospital, counts "
        "rounded to base 5.",
        keywords=("hospital", "health care", "open data"),
        themes=("HEAL",),
        coverage=(_date(HOSPITAL_FROM), _date(EXTRACTION)),
    ),
    OpenAggregate(
        slug="medicines-by-month",
        source="prescriptions",
        select="SELECT strftime(dispensing_date, '%Y-%m') AS month, left(atc_code, 1) AS "
        "atc_group, CAST(round(sum(quantity) / 5.0) * 5 AS BIGINT) AS packs FROM src "
        "GROUP BY ALL "
        "ORDER BY month, atc_group",
        fields=(
            {"name": "month", "type": "string", "description": "month dispensed (YYYY-MM)"},
            {"name": "atc_group", "type": "string",
             "description": "ATC anatomical main group (first letter of the ATC code)"},
            {"name": "packs", "type": "integer", "unit": "packs",
             "description": "packs dispensed, rounded to a multiple of 5"},
        ),
        title={
            "en": "Medicines dispensed by month and ATC main group",
            "fr": "Médicaments délivrés par mois et par groupe ATC",
            "de": "Abgegebene Arzneimittel nach Monat und ATC-Hauptgruppe",
        },
        description="Reimbursed packs dispensed by pharmacies per month and ATC anatomical "
        "main group, rounded to base 5.",
        keywords=("medicines", "pharmacy", "open data"),
        themes=("HEAL",),
        coverage=(_date(PRESCRIPTIONS_FROM), _date(EXTRACTION)),
    ),
)  # fmt: skip


def _publish_open_aggregate(spec: OpenAggregate, echo: Callable[[str], None]) -> None:
    """Compute an open aggregate from its holder table, register the file, publish it."""
    source = Dataset.objects.get(slug=spec.source).versions.order_by("-number")[0].data_file
    holder = source.organisation
    target = Path(settings.DATALUX_STORAGE) / "open" / f"{spec.slug.replace('-', '_')}.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    with duckdb.connect() as con:
        con.read_parquet(str(source.path)).create_view("src")
        quoted = str(partial).replace("'", "''")
        con.execute(f"COPY ({spec.select}) TO '{quoted}' (FORMAT parquet)")
    partial.replace(target)
    data_file = register_data_file(
        organisation=holder,
        table=spec.slug.replace("-", "_"),
        title=spec.title["en"],
        path=target,
        columns=[
            {
                "name": f["name"],
                "type": "int64" if f["type"] == "integer" else "string",
                "description": f["description"],
            }
            for f in spec.fields
        ],
    )
    dataset = actions.create_dataset(
        publisher=holder,
        slug=spec.slug,
        title=spec.title,
        description={"en": spec.description},
        keywords=list(spec.keywords),
        themes=list(spec.themes),
        access_rights=AccessRights.PUBLIC,
        licence="CC-BY-4.0",
        conditions_for_reuse="Cite the source: " + holder.name + " (datalux).",
        contact_name=f"Open data, {holder.name}",
        contact_email=f"opendata@{holder.slug[:40]}.example.lu",
        accrual_periodicity=Frequency.ANNUAL,
        version="2024",
        spatial=[LUXEMBOURG_URI],
        temporal_start=spec.coverage[0],
        temporal_end=spec.coverage[1],
    )
    actions.set_dictionary(dataset=dataset, table_schema={"fields": list(spec.fields)})
    Distribution.objects.create(
        dataset=dataset,
        title={"en": f"{spec.title['en']} (Parquet)"},
        file_format="PARQUET",
        media_type=MEDIA_TYPES["PARQUET"],
        byte_size=data_file.size_bytes,
        licence="CC-BY-4.0",
        data_file=data_file,
    )
    actions.publish_dataset(dataset=dataset)
    echo(f"published the open dataset: {spec.title['en'].lower()} (CC-BY 4.0)")


def seed_catalogue(
    *,
    result: Any,
    authority: Organisation,
    echo: Callable[[str], None],
) -> int:
    """Describe, upload and publish every holder table, plus open data, a service, a harvest.

    Returns the number of holder rows uploaded.
    """
    catalogue = ensure_local_catalogue(authority)
    rows = 0
    with transaction.atomic():
        for table in result.tables:
            holder = Organisation.objects.get(name=table.holder.name)
            rows += _publish_table(table, holder, Path(table.path))
            echo(f"uploaded, profiled and published {table.name} ({table.rows} rows)")
        for aggregate in OPEN_AGGREGATES:
            _publish_open_aggregate(aggregate, echo)
        service = DataService.objects.create(
            catalogue=catalogue,
            publisher=authority,
            title={"en": "datalux catalogue API", "fr": "API du catalogue datalux"},
            description={"en": "Search and read the catalogue; DCAT-AP export with paging."},
            endpoint_url=f"{settings.DATALUX_BASE_URI}/api/v1/",
            endpoint_description=f"{settings.DATALUX_BASE_URI}/api/v1/openapi.json",
            access_rights=AccessRights.PUBLIC,
        )
        service.serves_datasets.set(catalogue.datasets.filter(access_rights=AccessRights.PUBLIC))
    sample = Path(__file__).parent / "data" / "harvest-sample.ttl"
    if not HarvestSource.objects.filter(name="Open data portal (demo source)").exists():
        source = register_source(
            name="Open data portal (demo source)", url=str(sample), publisher=authority
        )
        try:
            report = run_harvest(source=source)
            echo(f"harvested the demo source: {report.as_dict().get('created', 0)} datasets")
        except HarvestError as exc:  # the demo goes on without the harvested records
            echo(f"harvest of the demo source failed: {exc}")
    return rows
