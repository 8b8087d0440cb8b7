"""Every role sees only its own pages and is refused the others (403, never a crash).

The matrix is data: (url, method, roles allowed). Each row is checked for anonymous users,
for every role, and the refusals are audited.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from datalux.accounts.roles import ROLES
from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent

ALL = set(ROLES)
ORG_ROLES = {slug for slug, role in ROLES.items() if role.organisation_kinds}

PAGES: list[tuple[str, str, set[str]]] = [
    *[(reverse("accounts:workspace", args=[slug]), "get", {slug}) for slug in ROLES],
    (reverse("audit:events"), "get", {"steward", "decider", "platform_admin"}),
    (reverse("audit:verify"), "post", {"platform_admin"}),
    (reverse("accounts:tokens"), "get", ORG_ROLES),
]

API: list[tuple[str, str, set[str]]] = [
    ("/api/v1/me", "get", ALL),
    ("/api/v1/tokens", "get", ORG_ROLES),
    ("/api/v1/audit/events", "get", {"steward", "decider", "platform_admin"}),
    ("/api/v1/audit/verify", "post", {"platform_admin"}),
    ("/api/v1/holdings/files", "get", {"steward", "handler", "ttp_operator", "platform_admin"}),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "method", "allowed"), PAGES)
def test_pages_anonymous_users_are_sent_to_login(
    client: Any, url: str, method: str, allowed: set[str]
) -> None:
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


@pytest.mark.django_db
@pytest.mark.parametrize("role", sorted(ROLES))
@pytest.mark.parametrize(("url", "method", "allowed"), PAGES)
def test_pages_by_role(
    client: Any, make_member: Any, role: str, url: str, method: str, allowed: set[str]
) -> None:
    client.force_login(make_member(role))
    before = AuditEvent.objects.filter(kind=EventKind.ACCESS_DENIED).count()
    response = getattr(client, method)(url)
    if role in allowed:
        assert response.status_code in (200, 302), response.content[:300]
    else:
        assert response.status_code == 403
        assert b"not allowed" in response.content
        assert AuditEvent.objects.filter(kind=EventKind.ACCESS_DENIED).count() == before + 1


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "method", "allowed"), API)
def test_api_anonymous_gets_401_in_the_error_shape(
    client: Any, url: str, method: str, allowed: set[str]
) -> None:
    response = getattr(client, method)(url)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


@pytest.mark.django_db
@pytest.mark.parametrize("role", sorted(ROLES))
@pytest.mark.parametrize(("url", "method", "allowed"), API)
def test_api_by_role(
    client: Any, make_member: Any, role: str, url: str, method: str, allowed: set[str]
) -> None:
    client.force_login(make_member(role))
    response = getattr(client, method)(url)
    if role in allowed:
        assert response.status_code == 200, response.content[:300]
    else:
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"


@pytest.mark.django_db
def test_unknown_workspace_is_404_not_a_crash(client: Any, make_member: Any) -> None:
    client.force_login(make_member("steward"))
    assert client.get(reverse("accounts:workspace", args=["emperor"])).status_code == 404
