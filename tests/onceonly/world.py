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
