"""The world of the citizen's own pages: a register with data, a protocol, two citizens."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings

from datalux.catalogue.models import Variable
from datalux.citizens.actions_identity import link_identity
from datalux.privacy.keys import MASTER_KEY_ENV_VAR, MasterKey
from tests.factories.accounts import UserFactory
from tests.onceonly.world import (
    PEOPLE,
    active_protocol,
    consumer_body,
    designate,
    exchange_token,
    national_number,
    population_register,
    upload_register_data,
)

ANNA, MARC, LEA = (national_number(p) for p in PEOPLE)
UNKNOWN = national_number(((1990, 1, 1), 1))  # valid, not in the source


@pytest.fixture
def ttp_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MASTER_KEY_ENV_VAR, MasterKey(b"c" * 32).to_base64())
    monkeypatch.setattr(settings, "DATALUX_TTP_KEY_FILE", None)


@pytest.fixture
def fresh_lookups() -> Any:
    """The authentic sources' look-up indexes of other tests forgotten, before and after."""
    from datalux.onceonly import lookup

    lookup.clear()
    yield
    lookup.clear()


def citizen(number: str, username: str) -> Any:
    user = UserFactory(username=username)
    link_identity(user=user, national_number=number, source="demo")
    return user


def exchange(client: Any, token: str, protocol: Any, number: str, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "protocol": protocol.reference,
        "items": ["surname", "street_address"],
        "purpose": "family-allowance-eligibility",
        "case_reference": "CAF-2026-00042",
        "on_behalf_of": "agent-0815",
        "national_number": number,
    }
    values.update(overrides)
    response = client.post(
        "/api/v1/onceonly/exchanges",
        data=json.dumps(values),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200, response.content
    return response


def register_world(make_member: Any) -> dict[str, Any]:
    dataset = population_register()
    upload_register_data(dataset)
    Variable.objects.filter(dataset=dataset, name="surname").update(
        label={"en": "Family name"}, description={"en": "The surname in the register."}
    )
    source = designate(dataset)
    consumer = consumer_body()
    protocol = active_protocol(source, consumer, max_deferral_days=90)
    system = make_member("exchange_system", organisation=consumer)
    return {
        "dataset": dataset,
        "source": source,
        "consumer": consumer,
        "protocol": protocol,
        "token": exchange_token(system),
    }
