"""Issue 10, item 9: the response headers of production - HSTS, a strict Content-Security-Policy
(no inline script or style), Referrer-Policy, X-Content-Type-Options, frame denial - on a page
and on an API response; the proxy header and the trusted origins come from the settings.

The settings module is loaded in production mode in a separate process (it is read once per
process), and what it decides is applied here to request a page and an API answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
HOST = "data.example.lu"
PRODUCTION = {
    "DATALUX_MODE": "production",
    "DATALUX_BASE_URI": f"https://{HOST}",
    "DATALUX_SECRET_KEY": "header-test-" + "k" * 40,
    "DATALUX_ALLOWED_HOSTS": HOST,
    "DATABASE_URL": "postgresql://u:p@db:5432/datalux",
    "DATALUX_BEHIND_PROXY": "1",
    "DATALUX_CSRF_TRUSTED_ORIGINS": f"https://{HOST},https://www.{HOST}",
}
NAMES = [
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_REFERRER_POLICY",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "X_FRAME_OPTIONS",
    "CSRF_TRUSTED_ORIGINS",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "CONTENT_SECURITY_POLICY",
    "MIDDLEWARE",
]
CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}


def policy(response: Any) -> dict[str, str]:
    """The Content-Security-Policy header as {directive: sources} (django-csp keeps no order)."""
    parts = [p.strip().split(" ", 1) for p in response["Content-Security-Policy"].split(";")]
    return {name: sources for name, sources in parts}


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATALUX_", "DATABASE_"))}
    env.update(PRODUCTION, DATALUX_VAR=str(tmp_path_factory.mktemp("var")))
    code = (
        "import json, datalux.settings as s; "
        f"print(json.dumps({{n: getattr(s, n, None) for n in {NAMES!r}}}))"
    )
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.fixture
def production_client(settings: Any, client: Any, db: Any, production: dict[str, Any]) -> Any:
    for name, value in production.items():
        setattr(settings, name, tuple(value) if name == "SECURE_PROXY_SSL_HEADER" else value)
    settings.ALLOWED_HOSTS = [HOST]
    return client


def test_production_takes_the_proxy_header_and_origins_from_the_settings(
    production: dict[str, Any], settings: Any
) -> None:
    assert production["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert production["CSRF_TRUSTED_ORIGINS"] == [f"https://{HOST}", f"https://www.{HOST}"]
    assert production["SESSION_COOKIE_SECURE"] and production["CSRF_COOKIE_SECURE"]
    assert production["MIDDLEWARE"] == settings.MIDDLEWARE  # the same chain as the tests run


@pytest.mark.parametrize(
    "path", ["/", "/catalogue/", "/api/v1/catalogue/datasets", "/api/v1/no-such-thing"]
)
def test_production_headers_on_pages_and_api_answers(production_client: Any, path: str) -> None:
    response = production_client.get(path, HTTP_HOST=HOST, HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code in (200, 404), response.content[:200]
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert policy(response) == CSP
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_no_hsts_over_plain_http(production_client: Any) -> None:
    response = production_client.get("/", HTTP_HOST=HOST)
    assert "Strict-Transport-Security" not in response
    assert policy(response) == CSP


def test_development_sends_the_same_policy(client: Any, db: Any) -> None:
    """The policy is the same in every mode, so a page that breaks it fails in development."""
    response = client.get("/")
    assert policy(response) == CSP
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in response


def test_no_template_holds_an_inline_script_or_style() -> None:
    """What the policy refuses: <script> without src, <style>, style="", on...="" handlers."""
    offending = []
    for template in (ROOT / "src" / "datalux").rglob("templates/**/*.html"):
        text = template.read_text(encoding="utf-8")
        lowered = text.lower()
        for marker in ("<style", " style=", "javascript:"):
            if marker in lowered:
                offending.append(f"{template.relative_to(ROOT)}: {marker.strip()}")
        for chunk in lowered.split("<script")[1:]:
            tag = chunk.split(">", 1)[0]
            if " src=" not in tag and 'type="application/json"' not in tag:
                offending.append(f"{template.relative_to(ROOT)}: inline <script>")
        for handler in (" onclick=", " onload=", " onchange=", " onsubmit=", " hx-on"):
            if handler in lowered:
                offending.append(f"{template.relative_to(ROOT)}: {handler.strip()}")
    assert offending == []
