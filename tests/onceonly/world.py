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
