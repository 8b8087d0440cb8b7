"""The demo's Once Only world: three public bodies, two protocols, a history, one refusal."""

from __future__ import annotations

import pytest

from datalux.demo.seed import seed_demo
from datalux.onceonly.log import verify
from datalux.onceonly.models import AuthenticSource, ExchangeLogEntry, Protocol
from datalux.onceonly.states import ProtocolState

pytestmark = pytest.mark.django_db


def test_the_demo_seeds_protocols_and_an_exchange_history() -> None:
    lines: list[str] = []
    seed_demo(persons=300, seed=7, echo=lines.append)
    source = AuthenticSource.objects.get()
    assert source.dataset.slug == "population_register"
    protocols = Protocol.objects.filter(state=ProtocolState.ACTIVE).select_related("consumer")
    assert protocols.count() == 2
    bodies = {source.responsible_body_id, *(p.consumer_id for p in protocols)}
    assert len(bodies) == 3
    entries = ExchangeLogEntry.objects.all()
    assert entries.filter(outcome="delivered").count() >= 25
    refused = entries.filter(outcome="refused")
    assert [e.refusal_code for e in refused] == ["items_outside_protocol"]
    assert entries.filter(visibility="deferred").count() == 1
    assert any(e.subject_count > 1 for e in entries)  # the tax administration's batch
    assert verify().ok
    assert any("exchange token of cae-system: dlx_" in line for line in lines)
    count = entries.count()
    seed_demo(echo=lines.append)  # again: reused, nothing more logged
    assert ExchangeLogEntry.objects.count() == count
