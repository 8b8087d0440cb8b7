"""The demo's Once Only exchanges: three public bodies, two protocols, an exchange history.

The population register (ONRP) is designated the authentic source of identity and address.
Two consumer bodies each get an active protocol, an official who drafted it and an exchange
system with an exchange token: the family benefits fund checks addresses case by case, the tax
administration checks residence (in batches, and may defer a person's record during an
investigation). Each system then exchanges about persons of the demo population, through the
same service as the API; one attempt asks for an item its protocol does not cover and is
refused. Idempotent: a demo that has the designation already is left as it is.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pyarrow.parquet as pq
from django.utils import timezone

from datalux.accounts import actions as accounts
from datalux.accounts.models import Organisation, User
from datalux.accounts.roles import OrganisationKind
from datalux.catalogue.models import Dataset
from datalux.catalogue.vocabularies import Frequency
from datalux.onceonly import actions
from datalux.onceonly.exchange import ExchangeRefused, ExchangeRequest, exchange
from datalux.onceonly.models import AuthenticSource

__all__ = ["seed_onceonly"]

REGISTER = "population_register"
PROVIDER = "Office national des registres de personnes"
SOURCE_ITEMS = [
    "given_name",
    "surname",
    "sex",
    "birth_date",
    "nationality",
    "commune",
    "postcode",
    "street_address",
    "death_date",
]
CONSUMERS = [
    (
        "Caisse pour l'avenir des enfants (demo)",
        "Pays family allowances; checks a claimant's address instead of asking for a certificate.",
        "cae",
    ),
    (
        "Administration des contributions directes (demo)",
        "Collects income tax; checks where taxpayers reside.",
        "acd",
    ),
]
PROTOCOLS: list[dict[str, Any]] = [
    {
        "title": "Address of claimants of family allowances",
        "items": ["surname", "street_address", "postcode", "commune"],
        "legal_basis": "Code de la sécurité sociale, art. 269 and 270 (family allowances: the "
        "child's residence in Luxembourg); the law on the national register of natural persons.",
        "purpose": "family-allowance-eligibility",
        "purpose_description": "Check that a claimant and the child live in Luxembourg before "
        "a family allowance is paid, instead of asking for a residence certificate.",
        "frequency": "on_demand",
        "retention_days": 365,
        "dpia_reference": "CAE-DPIA-2026-03",
        "max_deferral_days": 0,
    },
    {
        "title": "Residence of taxpayers",
        "items": ["given_name", "surname", "birth_date", "street_address", "postcode", "commune"],
        "legal_basis": "Loi concernant l'impôt sur le revenu, art. 2 (residence); the law on "
        "the national register of natural persons.",
        "purpose": "tax-residence",
        "purpose_description": "Establish whether a taxpayer is resident for income tax, in "
        "yearly batches and for single files under investigation.",
        "frequency": "annual",
        "retention_days": 3650,
        "dpia_reference": "ACD-DPIA-2025-11",
        "max_deferral_days": 180,
    },
]


def _body(name: str, description: str) -> Organisation:
    existing = Organisation.objects.filter(name=name).first()
    if existing is not None:
        return existing
    return accounts.create_organisation(
        name=name, kind=str(OrganisationKind.APPLICANT), sector="public", description=description
    )


def _user(username: str, display_name: str, role: str, body: Organisation) -> User:
    from datalux.demo.seed import DEMO_PASSWORD, EMAIL_DOMAIN

    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(
            username=username, display_name=display_name, email=f"{username}@{EMAIL_DOMAIN}"
        )
        if role == "exchange_system":
            user.set_unusable_password()  # a service account: its token only
        else:
            user.set_password(DEMO_PASSWORD)
        user.save()
    accounts.grant_role(user=user, role=role, organisation=body)
    return user


def seed_onceonly(echo: Callable[[str], None]) -> int:
    """Designate, draft, approve and activate, then exchange; return the exchanges logged."""
    dataset = Dataset.objects.filter(slug=REGISTER, publisher__name=PROVIDER).first()
    if dataset is None or not dataset.versions.exists():
        echo("Once Only: no population register to designate; skipped")
        return 0
    if AuthenticSource.objects.filter(dataset=dataset).exists():
        echo("Once Only: authentic source and protocols found: reusing them")
        return 0
    provider = dataset.publisher
    steward = User.objects.filter(username="steward-population_register").first()
    decider = User.objects.filter(username="decider").first()
    source = actions.designate_authentic_source(
        dataset=dataset,
        responsible_body=provider,
        items=SOURCE_ITEMS,
        update_frequency=str(Frequency.DAILY),
        quality_commitment="Births, deaths and moves are recorded within 3 working days of "
        "their declaration; a reported error is corrected within 5 working days.",
        by=steward,
    )
    systems: list[tuple[User, Any, str]] = []
    for (name, description, key), fields in zip(CONSUMERS, PROTOCOLS, strict=True):
        body = _body(name, description)
        official = _user(f"{key}-official", f"Official of {name}", "applicant", body)
        system = _user(f"{key}-system", f"Exchange system of {name}", "exchange_system", body)
        protocol = actions.create_protocol(
            source=source,
            consumer=body,
            by=official,
            valid_from=timezone.localdate() - timedelta(days=90),
            valid_until=None,
            **fields,
        )
        actions.submit_protocol(protocol=protocol, by=official)
        actions.agree_protocol(protocol=protocol, by=steward)
        actions.approve_protocol(protocol=protocol, by=decider)
        protocol = actions.activate_protocol(protocol=protocol, by=decider)
        token, secret = accounts.create_api_token(
            user=system, name="demo case system", scope="exchange"
        )
        echo(
            f"Once Only: {protocol.reference} active for {name}; exchange token of "
            f"{system.username}: {secret}"
        )
        systems.append((system, token, protocol.reference))
    numbers = _persons(dataset)
    return _history(systems, numbers, echo)


def _persons(dataset: Dataset) -> list[str]:
    version = dataset.versions.order_by("-number").select_related("data_file").first()
    assert version is not None
    table = pq.read_table(version.data_file.path, columns=["national_id", "death_date"])
    alive = [
        number
        for number, died in zip(
            table.column(0).to_pylist(), table.column(1).to_pylist(), strict=True
        )
        if died is None
    ]
    return random.Random(15).sample(alive, min(40, len(alive)))  # noqa: S311 - a demo choice


def _history(
    systems: list[tuple[User, Any, str]], numbers: list[str], echo: Callable[[str], None]
) -> int:
    (_cae, cae_token, cae_ref), (_acd, acd_token, acd_ref) = systems
    logged = 0
    for i, number in enumerate(numbers[:25]):  # family allowances: one claimant at a time
        exchange(
            token=cae_token,
            request=ExchangeRequest(
                protocol=cae_ref,
                items=["surname", "street_address", "postcode", "commune"],
                purpose="family-allowance-eligibility",
                case_reference=f"CAE-2026-{1200 + i:05d}",
                on_behalf_of=f"cae-agent-{i % 3 + 1:02d}",
                national_number=number,
            ),
        )
        logged += 1
    batch = numbers[25:37]
    if batch:  # the tax administration's yearly batch
        exchange(
            token=acd_token,
            request=ExchangeRequest(
                protocol=acd_ref,
                items=["surname", "street_address", "postcode", "commune"],
                purpose="tax-residence",
                case_reference="ACD-RES-2026-BATCH-01",
                on_behalf_of="acd-agent-07",
                national_numbers=batch,
            ),
        )
        logged += 1
    if len(numbers) > 37:  # a file under investigation: the person's record is deferred
        exchange(
            token=acd_token,
            request=ExchangeRequest(
                protocol=acd_ref,
                items=["given_name", "surname", "birth_date", "street_address"],
                purpose="tax-residence",
                case_reference="ACD-INV-2026-0042",
                on_behalf_of="acd-investigator-02",
                national_number=numbers[37],
                defer_visibility_until=date.today() + timedelta(days=120),
            ),
        )
        logged += 1
    try:  # the refused attempt: an item the family benefits protocol does not cover
        exchange(
            token=cae_token,
            request=ExchangeRequest(
                protocol=cae_ref,
                items=["surname", "birth_date"],
                purpose="family-allowance-eligibility",
                case_reference="CAE-2026-01299",
                on_behalf_of="cae-agent-02",
                national_number=numbers[0],
            ),
        )
    except ExchangeRefused as refused:
        echo(f"Once Only: one attempt refused as it should be ({refused.code})")
    logged += 1
    echo(f"Once Only: {logged} exchanges logged and signed (datalux onceonly verify-log)")
    return logged
