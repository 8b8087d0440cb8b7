"""The small catalogue shared by the page and API tests."""

from __future__ import annotations

from typing import Any

from datalux.catalogue.models import DataProduct, DatasetStatus, Distribution
from datalux.catalogue.vocabularies import AccessRights
from tests.factories.accounts import OrganisationFactory
from tests.factories.catalogue import CatalogueFactory, DatasetFactory, VariableFactory

PROTECTED_DOWNLOAD = "https://files.example.lu/secret-hospital-stays.parquet"
OPEN_DOWNLOAD = "https://files.example.lu/open-employment.csv"


def build_world(make_member: Any) -> dict[str, Any]:
    """Two holders, a protected and an open dataset, a draft, a data product, three users."""
    CatalogueFactory()
    holder = OrganisationFactory(name="Health Directorate")
    other = OrganisationFactory(name="Statistics Office")
    stays = DatasetFactory(
        publisher=holder,
        title={"en": "Hospital stays", "fr": "Séjours hospitaliers"},
        description={"en": "Every stay in a hospital."},
        themes=["HEAL"],
        keywords=["hospital"],
        access_rights=AccessRights.NON_PUBLIC,
        legal_basis="Law of 1 August 2018, art. 65",
    )
    VariableFactory(dataset=stays, name="birth_date", label={"en": "Date of birth"})
    VariableFactory(dataset=stays, name="diagnosis", label={"en": "Main diagnosis"})
    Distribution.objects.create(
        dataset=stays, title={"en": "Stays extract"}, file_format="PARQUET",
        download_url=PROTECTED_DOWNLOAD, access_url=PROTECTED_DOWNLOAD,
    )  # fmt: skip
    jobs = DatasetFactory(
        publisher=other,
        title={"en": "Employment by sector"},
        themes=["ECON"],
        keywords=["jobs"],
        access_rights=AccessRights.PUBLIC,
        licence="CC-BY-4.0",
    )
    Distribution.objects.create(
        dataset=jobs, title={"en": "CSV"}, file_format="CSV", download_url=OPEN_DOWNLOAD
    )
    draft = DatasetFactory(
        publisher=holder, title={"en": "Waiting lists draft"}, status=DatasetStatus.DRAFT
    )
    product = DataProduct.objects.create(
        kind="source_code",
        title="Readmission model",
        organisation=other,
        url="https://git.example.lu/x",
    )
    product.datasets.add(stays, draft)  # the draft link is shown to its stewards only
    return {
        "holder": holder,
        "other": other,
        "stays": stays,
        "jobs": jobs,
        "draft": draft,
        "steward": make_member("steward", organisation=holder),
        "other_steward": make_member("steward", organisation=other),
        "applicant": make_member("applicant"),
    }
