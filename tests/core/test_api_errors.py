"""One JSON error shape for every API error, pinned here."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from datalux.core.api import api

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"code", "message", "details"}


def _shape(response: Any) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == ERROR_KEYS
    return body["error"]


def test_401_403_404_422_share_one_shape(client: Any, make_member: Any) -> None:
    assert _shape(client.get("/api/v1/me"))["code"] == "unauthenticated"
    client.force_login(make_member("applicant"))
    assert _shape(client.post("/api/v1/audit/verify"))["code"] == "forbidden"
    assert _shape(client.delete("/api/v1/tokens/nope"))["code"] == "not_found"
    invalid = _shape(client.post("/api/v1/tokens", {"wrong": 1}, content_type="application/json"))
    assert invalid["code"] == "invalid"
    assert invalid["details"][0]["loc"][-1] == "name"


@override_settings(DEBUG=False)
def test_internal_errors_show_an_id_never_the_exception(
    client: Any, make_member: Any, monkeypatch: Any
) -> None:
    from datalux.accounts import api as accounts_api

    def boom(user: Any) -> Any:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(accounts_api, "grants", boom)
    client.force_login(make_member("steward"))
    response = client.get("/api/v1/me")
    assert response.status_code == 500
    error = _shape(response)
    assert error["code"] == "internal"
    assert len(error["details"]["id"]) == 12
    assert b"secret internal detail" not in response.content


def test_openapi_schema_is_served(client: Any) -> None:
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    assert schema.json()["info"]["title"] == api.title
