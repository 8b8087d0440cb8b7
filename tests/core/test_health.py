"""``/healthz``: what a load balancer or container health check reads."""

from __future__ import annotations

import pytest
from django.db import DatabaseError
from django.test import Client


@pytest.mark.django_db
def test_ok_when_the_database_answers(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_503_when_the_database_fails(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from datalux.core import views

    class Broken:
        def __enter__(self) -> Broken:
            raise DatabaseError("server closed the connection")

        def __exit__(self, *exc: object) -> None:
            return None

    monkeypatch.setattr(views.connection, "cursor", lambda: Broken())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unreachable"}
    assert "server closed" not in response.content.decode()


@pytest.mark.django_db
def test_only_safe_methods(client: Client) -> None:
    assert client.post("/healthz").status_code == 405
