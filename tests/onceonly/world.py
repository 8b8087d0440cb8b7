"""The small Once Only world shared by the tests: a population register with a dictionary."""

from __future__ import annotations

from typing import Any

from datalux.accounts.roles import OrganisationKind
from datalux.catalogue.vocabularies import Frequency
from datalux.onceonly import actions
from tests.factories.accounts import OrganisationFactory
from tests.factories.catalogue import CatalogueFactory, DatasetFactory, VariableFactory

REGISTER_ITEMS = ["national_id", "given_name", "surname", "street_address", "commune"]


def population_register(**fields: Any) -> Any:
    """A published dataset of a public holder with a national-number variable and names."""
    CatalogueFactory()
    holder = fields.pop("publisher", None) or OrganisationFactory(
        name="Register Office", kind=OrganisationKind.DATA_HOLDER
    )
    dataset = DatasetFactory(
        publisher=holder, title={"en": "Population register"}, slug="population-register", **fields
    )
    for position, name in enumerate(REGISTER_ITEMS, start=1):
        VariableFactory(
            dataset=dataset,
            position=position,
            name=name,
            code_list="national-id" if name == "national_id" else "",
        )
    return dataset


def designate(dataset: Any, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "dataset": dataset,
        "responsible_body": dataset.publisher,
        "items": ["given_name", "surname", "street_address"],
        "update_frequency": Frequency.DAILY,
        "quality_commitment": "Address changes are recorded within 3 working days.",
    }
    values.update(overrides)
    return actions.designate_authentic_source(**values)


def consumer_body(name: str = "Family Benefits Fund") -> Any:
    return OrganisationFactory(name=name, kind=OrganisationKind.APPLICANT, sector="public")


def protocol_fields(**overrides: Any) -> dict[str, Any]:
    from datetime import date

    values: dict[str, Any] = {
        "title": "Address check for family allowances",
        "items": ["surname", "street_address"],
        "legal_basis": "Law of 21 December 2007 on family allowances, art. 4",
        "purpose": "family-allowance-eligibility",
        "purpose_description": "Check a claimant's address before paying a family allowance.",
        "frequency": "on_demand",
        "retention_days": 365,
        "dpia_reference": "DPIA-2026-014",
        "valid_from": date(2026, 1, 1),
        "valid_until": None,
    }
    values.update(overrides)
    return values


def active_protocol(source: Any, consumer: Any, **overrides: Any) -> Any:
    """A protocol taken through every step by the system (by=None)."""
    protocol = actions.create_protocol(
        source=source, consumer=consumer, **protocol_fields(**overrides)
    )
    actions.submit_protocol(protocol=protocol)
    actions.agree_protocol(protocol=protocol)
    actions.approve_protocol(protocol=protocol)
    return actions.activate_protocol(protocol=protocol)


PEOPLE = [
    # (birth date, sequence, given name, surname, street address, commune)
    ((1980, 5, 17), 12, "Anna", "Muller", "12 rue de la Gare", "Luxembourg"),
    ((1975, 2, 3), 7, "Marc", "Weber", "3 route d'Arlon", "Strassen"),
    ((2001, 11, 30), 451, "Lea", "Schmit", None, "Esch-sur-Alzette"),
]


def national_number(person: tuple) -> str:
    from datetime import date

    from datalux.privacy import make_national_id

    (year, month, day), sequence = person[0], person[1]
    return make_national_id(date(year, month, day), sequence)


def upload_register_data(dataset: Any) -> Any:
    """The register's current data as a Parquet file under the storage root, registered to
    the holder and recorded as the dataset's version 1."""
    from pathlib import Path

    import pyarrow as pa
    import pyarrow.parquet as pq
    from django.conf import settings

    from datalux.catalogue.models import DatasetVersion
    from datalux.holdings.actions import register_data_file

    folder = Path(settings.DATALUX_STORAGE) / "register"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "population_register.parquet"
    table = pa.table(
        {
            "national_id": [national_number(p) for p in PEOPLE],
            "given_name": [p[2] for p in PEOPLE],
            "surname": [p[3] for p in PEOPLE],
            "street_address": [p[4] for p in PEOPLE],
            "commune": [p[5] for p in PEOPLE],
        }
    )
    pq.write_table(table, path)
    data_file = register_data_file(
        organisation=dataset.publisher, table="population_register", title="Register", path=path
    )
    return DatasetVersion.objects.create(dataset=dataset, number=1, data_file=data_file)


def exchange_token(user: Any, scope: str = "exchange") -> str:
    from datalux.accounts.actions import create_api_token

    _token, secret = create_api_token(user=user, name="case system", scope=scope)
    return secret
