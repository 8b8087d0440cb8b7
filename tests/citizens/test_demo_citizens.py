"""The demo's citizens: linked to persons of the population who appear in the exchange
history, listed in the demo logins; their pages have content."""

from __future__ import annotations

from typing import Any

import pytest

from datalux.citizens.models import CitizenIdentity
from datalux.demo.seed import print_logins, seed_demo

pytestmark = pytest.mark.django_db


def test_the_demo_citizens_are_persons_with_data_and_exchanges(client: Any) -> None:
    lines: list[str] = []
    outcome = seed_demo(persons=300, seed=7, echo=lines.append)
    identities = CitizenIdentity.objects.select_related("user").order_by("user__username")
    assert [i.user.username for i in identities] == ["citizen", "citizen2", "citizen3"]
    assert {i.source for i in identities} == {"demo"}
    client.force_login(identities[0].user)
    data = client.get("/me/data.json").json()
    assert [s["status"] for s in data["sources"]] == ["found"]
    page = client.get("/me/uses/").content.decode()
    assert "CAE-2026-01200" in page  # the family benefits fund's first case
    client.force_login(identities[1].user)
    assert "ACD-RES-2026-BATCH-01" in client.get("/me/uses/").content.decode()
    client.force_login(identities[2].user)  # the deferred record stays hidden
    assert "ACD-INV-2026-0042" not in client.get("/me/uses/").content.decode()
    logins: list[str] = []
    print_logins(outcome, echo=logins.append)
    assert sum("citizen" in line and "/me/" in line for line in logins) == 3
    seed_demo(echo=lines.append)  # again: nothing more linked
    assert CitizenIdentity.objects.count() == 3
    assert any("linked to their persons already" in line for line in lines)
