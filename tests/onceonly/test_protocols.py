"""Exchange protocols: the state machine, who may do what, versions, refusals audited."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from datalux.access.states import TransitionError
from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent
from datalux.onceonly import actions
from datalux.onceonly.models import Protocol
from datalux.onceonly.states import PROTOCOL_TRANSITIONS, ProtocolAction, ProtocolState
from tests.factories.accounts import OrganisationFactory
from tests.onceonly.world import (
    active_protocol,
    consumer_body,
    designate,
    population_register,
    protocol_fields,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(make_member: Any) -> dict[str, Any]:
    dataset = population_register()
    source = designate(dataset)
    consumer = consumer_body()
    return {
        "source": source,
        "consumer": consumer,
        "official": make_member("applicant", organisation=consumer),
        "steward": make_member("steward", organisation=dataset.publisher),
        "decider": make_member("decider"),
    }


def _kinds(protocol: Protocol) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="onceonly.protocol", object_id=str(protocol.pk))
        .order_by("seq")
        .values_list("kind", flat=True)
    )


def test_the_whole_journey_by_the_right_people(world: dict[str, Any]) -> None:
    protocol = actions.create_protocol(
        source=world["source"],
        consumer=world["consumer"],
        by=world["official"],
        **protocol_fields(),
    )
    assert protocol.reference == "OOP-0001" and protocol.state == ProtocolState.DRAFT
    assert protocol.provider == world["source"].responsible_body
    actions.update_protocol(protocol=protocol, by=world["official"], retention_days=180)
    actions.submit_protocol(protocol=protocol, by=world["official"])
    actions.agree_protocol(protocol=protocol, by=world["steward"])
    actions.approve_protocol(protocol=protocol, by=world["decider"])
    actions.activate_protocol(protocol=protocol, by=world["decider"])
    actions.suspend_protocol(protocol=protocol, by=world["steward"], reason="data breach inquiry")
    actions.resume_protocol(protocol=protocol, by=world["decider"])
    actions.retire_protocol(protocol=protocol, by=world["decider"], reason="law repealed")
    protocol.refresh_from_db()
    assert protocol.state == ProtocolState.RETIRED and protocol.retention_days == 180
    assert protocol.provider_agreed_by == world["steward"]
    assert protocol.approved_by == world["decider"]
    assert _kinds(protocol) == [
        EventKind.ONCEONLY_PROTOCOL_CREATED,
        EventKind.ONCEONLY_PROTOCOL_UPDATED,
        EventKind.ONCEONLY_PROTOCOL_SUBMITTED,
        EventKind.ONCEONLY_PROTOCOL_AGREED,
        EventKind.ONCEONLY_PROTOCOL_APPROVED,
        EventKind.ONCEONLY_PROTOCOL_ACTIVATED,
        EventKind.ONCEONLY_PROTOCOL_SUSPENDED,
        EventKind.ONCEONLY_PROTOCOL_RESUMED,
        EventKind.ONCEONLY_PROTOCOL_RETIRED,
    ]


def test_approval_needs_the_providers_agreement(world: dict[str, Any]) -> None:
    protocol = actions.create_protocol(
        source=world["source"], consumer=world["consumer"], **protocol_fields()
    )
    actions.submit_protocol(protocol=protocol)
    with pytest.raises(ValidationError, match="has not agreed"):
        actions.approve_protocol(protocol=protocol, by=world["decider"])
    protocol.refresh_from_db()
    assert protocol.state == ProtocolState.SUBMITTED
    refused = AuditEvent.objects.get(kind=EventKind.ONCEONLY_PROTOCOL_ACTION_REFUSED)
    assert refused.details["action"] == "approve"


def test_returning_clears_the_agreement(world: dict[str, Any]) -> None:
    protocol = actions.create_protocol(
        source=world["source"], consumer=world["consumer"], **protocol_fields()
    )
    actions.submit_protocol(protocol=protocol)
    actions.agree_protocol(protocol=protocol)
    actions.return_protocol(protocol=protocol, by=world["decider"], reason="narrow the items")
    protocol.refresh_from_db()
    assert protocol.state == ProtocolState.DRAFT and protocol.provider_agreed_at is None
    assert protocol.state_reason == "narrow the items"


@pytest.mark.parametrize(
    ("action", "who"),
    [
        ("create", "steward"),
        ("submit", "decider"),
        ("agree", "official"),
        ("approve", "official"),
        ("approve", "steward"),
        ("suspend", "official"),
    ],
)
def test_the_wrong_people_are_refused_and_audited(
    world: dict[str, Any], action: str, who: str
) -> None:
    by = world[who]
    protocol = actions.create_protocol(
        source=world["source"], consumer=world["consumer"], **protocol_fields()
    )
    if action in ("agree", "approve"):
        actions.submit_protocol(protocol=protocol)
        actions.agree_protocol(protocol=protocol)
    if action == "suspend":
        protocol = active_protocol(world["source"], world["consumer"])
    calls = {
        "create": lambda: actions.create_protocol(
            source=world["source"], consumer=world["consumer"], by=by, **protocol_fields()
        ),
        "submit": lambda: actions.submit_protocol(protocol=protocol, by=by),
        "agree": lambda: actions.agree_protocol(protocol=protocol, by=by),
        "approve": lambda: actions.approve_protocol(protocol=protocol, by=by),
        "suspend": lambda: actions.suspend_protocol(protocol=protocol, by=by, reason="x"),
    }
    before = AuditEvent.objects.filter(kind=EventKind.ACCESS_DENIED).count()
    with pytest.raises(PermissionDenied):
        calls[action]()
    assert AuditEvent.objects.filter(kind=EventKind.ACCESS_DENIED).count() == before + 1


def test_an_official_of_another_body_cannot_draft_for_this_one(
    world: dict[str, Any], make_member: Any
) -> None:
    stranger = make_member("applicant", organisation=consumer_body("Tax Office"))
    with pytest.raises(PermissionDenied, match="only officials of"):
        actions.create_protocol(
            source=world["source"], consumer=world["consumer"], by=stranger, **protocol_fields()
        )


def test_the_state_machine_refuses_what_the_table_does_not_allow(world: dict[str, Any]) -> None:
    protocol = actions.create_protocol(
        source=world["source"], consumer=world["consumer"], **protocol_fields()
    )
    with pytest.raises(TransitionError, match="cannot activate a protocol that is draft"):
        actions.activate_protocol(protocol=protocol, by=world["decider"])
    assert (ProtocolState.RETIRED, ProtocolAction.RETIRE) not in PROTOCOL_TRANSITIONS
    actions.retire_protocol(protocol=protocol, by=world["official"], reason="abandoned")
    with pytest.raises(TransitionError, match="it is final"):
        actions.resume_protocol(protocol=protocol, by=world["decider"])


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"items": ["national_id"]}, "items", "not items of this authentic source"),
        ({"items": []}, "items", "at least one data item"),
        ({"purpose": "Family Allowance!"}, "purpose", "lowercase letters"),
        ({"legal_basis": " "}, "legal_basis", "legal basis"),
        ({"dpia_reference": ""}, "dpia_reference", "impact assessment"),
        ({"retention_days": 0}, "retention_days", "1 to 3650 days"),
        ({"valid_until": date(2025, 1, 1)}, "valid_until", "after its start"),
        ({"frequency": "hourly"}, "frequency", "must be one of"),
    ],
)
def test_bad_protocols_say_what_to_fix(
    world: dict[str, Any], overrides: dict, field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as info:
        actions.create_protocol(
            source=world["source"], consumer=world["consumer"], **protocol_fields(**overrides)
        )
    assert message in " ".join(info.value.message_dict[field])
    assert not Protocol.objects.exists()


def test_private_or_providing_bodies_are_not_consumers(world: dict[str, Any]) -> None:
    for consumer, message in [
        (OrganisationFactory(sector="private"), "between public bodies"),
        (world["source"].responsible_body, "another body"),
    ]:
        with pytest.raises(ValidationError) as info:
            actions.create_protocol(source=world["source"], consumer=consumer, **protocol_fields())
        assert message in " ".join(info.value.message_dict["consumer"])


def test_a_new_version_supersedes_the_old_one_when_activated(world: dict[str, Any]) -> None:
    v1 = active_protocol(world["source"], world["consumer"])
    v2 = actions.new_protocol_version(protocol=v1, by=world["official"], retention_days=90)
    assert (v2.reference, v2.version, v2.supersedes_id) == (v1.reference, 2, v1.pk)
    assert v2.state == ProtocolState.DRAFT and v2.retention_days == 90
    with pytest.raises(ValidationError, match="already has a newer version"):
        actions.new_protocol_version(protocol=v1, by=world["official"])
    actions.submit_protocol(protocol=v2)
    actions.agree_protocol(protocol=v2)
    actions.approve_protocol(protocol=v2)
    v1.refresh_from_db()
    assert v1.state == ProtocolState.ACTIVE  # still in force until v2 is activated
    actions.activate_protocol(protocol=v2, by=world["decider"])
    v1.refresh_from_db()
    assert v1.state == ProtocolState.RETIRED and "superseded by version 2" in v1.state_reason
    retired = AuditEvent.objects.get(kind=EventKind.ONCEONLY_PROTOCOL_RETIRED)
    assert retired.details["superseded_by"] == 2


def test_in_force_follows_the_state_and_the_dates(world: dict[str, Any]) -> None:
    today = timezone.localdate()
    start, end = today - timedelta(days=10), today + timedelta(days=10)
    protocol = active_protocol(
        world["source"], world["consumer"], valid_from=start, valid_until=end
    )
    assert protocol.in_force(today) and protocol.in_force(end)
    assert not protocol.in_force(start - timedelta(days=1))
    assert not protocol.in_force(end + timedelta(days=1))


def test_an_expired_protocol_cannot_be_activated(world: dict[str, Any]) -> None:
    yesterday = timezone.localdate() - timedelta(days=1)
    protocol = actions.create_protocol(
        source=world["source"],
        consumer=world["consumer"],
        **protocol_fields(valid_from=yesterday - timedelta(days=30), valid_until=yesterday),
    )
    for step in (actions.submit_protocol, actions.agree_protocol, actions.approve_protocol):
        step(protocol=protocol)
    with pytest.raises(ValidationError, match="validity ended"):
        actions.activate_protocol(protocol=protocol)
