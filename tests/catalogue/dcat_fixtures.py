"""A small catalogue covering every kind of DCAT-AP object (shared by the DCAT-AP tests)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils import timezone

from datalux.accounts.roles import OrganisationKind
from datalux.catalogue.models import (
    Catalogue,
    DataService,
    DatasetSeries,
    DatasetStatus,
    Distribution,
)
from datalux.catalogue.vocabularies import AccessRights, Frequency
from tests.factories.accounts import OrganisationFactory
from tests.factories.catalogue import CatalogueFactory, DatasetFactory, VariableFactory


@dataclass
class Demo:
    catalogue: Catalogue
    open_data: Any
    protected: Any
    harvested: Any
    draft: Any
    withdrawn: Any
    service: DataService
    series: DatasetSeries


def build_demo() -> Demo:
    catalogue = CatalogueFactory(licence="CC-BY-4.0", homepage="https://data.example.lu/")
    holder = OrganisationFactory(kind=OrganisationKind.DATA_HOLDER, name="Ministry of Health")
    series = DatasetSeries.objects.create(
        catalogue=catalogue,
        publisher=holder,
        title={"en": "Hospital stays by year"},
        description={"en": "One dataset per year."},
    )
    open_data = DatasetFactory(
        catalogue=catalogue,
        publisher=holder,
        title={"en": "Hospital beds", "fr": "Lits d'hôpital", "de": "Krankenhausbetten"},
        description={"en": "Beds per hospital.", "lb": "Better pro Spidol."},
        access_rights=AccessRights.PUBLIC,
        licence="CC-BY-4.0",
        themes=["HEAL", "SOCI"],
        keywords=["beds", "hospitals"],
        temporal_start=date(2020, 1, 1),
        temporal_end=date(2024, 12, 31),
        spatial=["http://publications.europa.eu/resource/authority/country/LUX"],
        accrual_periodicity=Frequency.ANNUAL,
        version="2.1",
        issued=timezone.now(),
        conditions_for_reuse="Cite the Ministry of Health.",
        legal_basis="Law of 8 March 2018 on hospitals",
    )
    protected = DatasetFactory(
        catalogue=catalogue,
        publisher=holder,
        title={"en": "Hospital stays 2023"},
        access_rights=AccessRights.RESTRICTED,
        in_series=series,
        legal_basis="GDPR art. 6(1)(e) https://eur-lex.europa.eu/eli/reg/2016/679/oj",
    )
    VariableFactory(dataset=protected, name="age")
    remote = Catalogue.objects.create(
        slug="harvest-geoportail",
        title={"en": "Geoportail"},
        description={"en": "Harvested catalogue."},
        publisher=holder,
        is_local=False,
    )
    harvested = DatasetFactory(
        catalogue=remote,
        publisher=holder,
        access_rights=AccessRights.PUBLIC,
        remote_id="https://geoportail.example.lu/dataset/roads",
        title={"en": "Roads"},
    )
    draft = DatasetFactory(catalogue=catalogue, status=DatasetStatus.DRAFT)
    withdrawn = DatasetFactory(catalogue=catalogue, status=DatasetStatus.WITHDRAWN)
    Distribution.objects.create(
        dataset=open_data,
        title={"en": "Beds (CSV)"},
        file_format="CSV",
        download_url="https://files.example.lu/beds.csv",
        byte_size=1234,
    )
    Distribution.objects.create(
        dataset=protected,
        title={"en": "Stays (Parquet)"},
        file_format="PARQUET",
        download_url="https://files.example.lu/secret/stays.parquet",
        byte_size=99,
    )
    service = DataService.objects.create(
        catalogue=catalogue,
        publisher=catalogue.publisher,
        title={"en": "Catalogue API"},
        endpoint_url="https://data.example.lu/api/v1/",
        endpoint_description="https://data.example.lu/api/v1/openapi.json",
        licence="CC0-1.0",
    )
    service.serves_datasets.add(open_data, draft)
    return Demo(catalogue, open_data, protected, harvested, draft, withdrawn, service, series)
