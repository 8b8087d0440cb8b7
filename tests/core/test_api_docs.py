"""The OpenAPI page works offline: Swagger UI comes from the installed package, no CDN."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


def test_api_docs_reference_no_external_host(client: Any) -> None:
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui-bundle.js" in html
    references = re.findall(r'(?:src|href)="([^"]+)"', html)
    external = [r for r in references if re.match(r"(?:[a-z]+:)?//", r)]
    assert external == [], f"the docs page loads {external} from outside the platform"
    scripts = [r for r in references if r.endswith((".js", ".css"))]
    assert len(scripts) >= 3
    for reference in scripts:  # each is a static file the platform itself serves
        assert reference.startswith("/static/"), reference
        assert finders.find(reference.removeprefix("/static/")), f"{reference} is not installed"


def test_the_schema_the_docs_page_reads_is_served_here(client: Any) -> None:
    html = client.get("/api/v1/docs").content.decode()
    assert "/api/v1/openapi.json" in html
    assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "datalux API"
