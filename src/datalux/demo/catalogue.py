"""Seed the demo catalogue: one described, published dataset per holder table (with its data
dictionary and a distribution pointing at the stored file), open aggregate datasets with
licences, a data service and a harvested remote catalogue.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
from django.conf import settings
from django.db import transaction

from datalux.accounts.models import Organisation, User
from datalux.catalogue import actions
from datalux.catalogue.harvest import HarvestError, register_source, run_harvest
from datalux.catalogue.models import Catalogue, DataService, Dataset, Distribution, HarvestSource
from datalux.catalogue.vocabularies import MEDIA_TYPES, AccessRights, Frequency, PrivacyRole
from datalux.holdings.actions import register_data_file
from datalux.holdings.models import DataFile

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
UNITS = {"monthly_wage": "EUR", "working_time_pct": "%", "quantity": "packs"}
THEMES = {
    "population_register": ["SOCI", "GOVE"],
    "hospital_stays": ["HEAL"],
    "prescriptions": ["HEAL"],
    "employment_spells": ["ECON", "SOCI"],
    "school_enrolments": ["EDUC"],
}


def table_schema(columns: Any) -> dict[str, Any]:
    """The Table Schema of a generated table (types, code lists, privacy roles, units)."""
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
        spatial=["http://publications.europa.eu/resource/authority/country/LUX"],
    )
    actions.set_dictionary(dataset=dataset, table_schema=table_schema(table.columns))
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
        access_url=f"{settings.DATALUX_BASE_URI}/catalogue/datasets/{dataset.pid}/",
        byte_size=data_file.size_bytes,
        data_file=data_file,
    )
    actions.publish_dataset(dataset=dataset)
    return data_file.rows


def _open_population_by_commune(register: DataFile, echo: Callable[[str], None]) -> None:
    """An open aggregate (residents by commune and sex, small counts rounded) under CC-BY 4.0."""
    holder = register.organisation
    target = Path(settings.DATALUX_STORAGE) / "open" / "population_by_commune.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    with duckdb.connect() as con:
        con.execute(
            "COPY (SELECT commune, sex, CAST(round(count(*) / 5.0) * 5 AS BIGINT) AS residents "
            "FROM read_parquet(?) WHERE death_date IS NULL GROUP BY commune, sex "
            "ORDER BY commune, sex) TO '" + str(partial).replace("'", "''") + "' (FORMAT parquet)",
            [str(register.path)],
        )
    partial.replace(target)
    data_file = register_data_file(
        organisation=holder,
        table="population_by_commune",
        title="Residents by commune and sex",
        path=target,
        columns=[
            {"name": "commune", "type": "string", "description": "commune of residence"},
            {"name": "sex", "type": "string", "description": "sex as registered"},
            {"name": "residents", "type": "int64", "description": "residents, rounded to 5"},
        ],
    )
    dataset = actions.create_dataset(
        publisher=holder,
        slug="population-by-commune",
        title={
            "en": "Residents by commune and sex",
            "fr": "Résidents par commune et par sexe",
            "de": "Einwohner nach Gemeinde und Geschlecht",
            "lb": "Awunner no Gemeng a Geschlecht",
        },
        description={"en": "Living residents per commune and sex, counts rounded to base 5."},
        keywords=["population", "commune", "open data"],
        themes=["SOCI", "REGI"],
        access_rights=AccessRights.PUBLIC,
        licence="CC-BY-4.0",
        contact_name=f"Open data, {holder.name}",
        contact_email="opendata@onrp.example.lu",
        accrual_periodicity=Frequency.ANNUAL,
        version="2024",
    )
    actions.set_dictionary(
        dataset=dataset,
        table_schema={
            "fields": [
                {
                    "name": "commune",
                    "type": "string",
                    "codeList": "communes-lu",
                    "description": "commune of residence",
                },
                {"name": "sex", "type": "string", "codeList": "sex"},
                {
                    "name": "residents",
                    "type": "integer",
                    "unit": "persons",
                    "description": "living residents, rounded to a multiple of 5",
                },
            ]
        },
    )
    Distribution.objects.create(
        dataset=dataset,
        title={"en": "Residents by commune (Parquet)"},
        file_format="PARQUET",
        media_type=MEDIA_TYPES["PARQUET"],
        access_url=f"{settings.DATALUX_BASE_URI}/catalogue/datasets/{dataset.pid}/",
        byte_size=data_file.size_bytes,
        licence="CC-BY-4.0",
        data_file=data_file,
    )
    actions.publish_dataset(dataset=dataset)
    echo("published the open dataset: residents by commune and sex (CC-BY 4.0)")


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
        register = (
            Dataset.objects.get(slug="population_register")
            .versions.order_by("-number")[0]
            .data_file
        )
        _open_population_by_commune(register, echo)
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
