"""Issue 10, item 12: Django's debug page (DEBUG=True) never shows the secret key or the database
credentials - not through CONFIG (the dataclass the settings are built from), not through the
request's environment (the development server copies DATABASE_URL into it), not through a local
variable of the traceback."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.test import RequestFactory
from django.views.debug import technical_500_response

from datalux.core.config import load
from datalux.core.debug import redact_credentials
from datalux.core.env import Env

SECRET = "s3cret-key-for-the-debug-page-test-" + "q" * 20
DB_PASSWORD = "db-pass-w0rd-never-shown"
DATABASE_URL = f"postgresql://datalux:{DB_PASSWORD}@db.internal:5432/datalux"


def _page(settings: Any, accept: str) -> str:
    config = load(Env({"DATALUX_SECRET_KEY": SECRET, "DATABASE_URL": DATABASE_URL}), Path("/x"))
    settings.DEBUG = True
    settings.CONFIG = config
    settings.SECRET_KEY = SECRET
    settings.DATALUX_DATABASE = config.database  # a setting that holds the entry as it is
    request = RequestFactory().get(
        "/boom/", HTTP_ACCEPT=accept, DATABASE_URL=DATABASE_URL, DATALUX_SECRET_KEY=SECRET
    )
    connection_string = DATABASE_URL  # a local variable of the failing frame  # noqa: F841
    key = SECRET  # noqa: F841
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        response = technical_500_response(request, *sys.exc_info())
    return response.content.decode()


def test_the_html_debug_page_shows_no_secret(settings: Any) -> None:
    html = _page(settings, "text/html")
    assert "RuntimeError" in html and "CONFIG" in html  # the page is the full debug page
    assert SECRET not in html
    assert DB_PASSWORD not in html
    assert "db.internal" in html  # where the database is stays visible, only not how to sign in


def test_the_text_debug_page_shows_no_secret(settings: Any) -> None:
    text = _page(settings, "text/plain")
    assert "RuntimeError" in text
    assert SECRET not in text and DB_PASSWORD not in text


def test_the_config_repr_leaves_out_the_secret_key_and_database() -> None:
    config = load(Env({"DATALUX_SECRET_KEY": SECRET, "DATABASE_URL": DATABASE_URL}), Path("/x"))
    assert SECRET not in repr(config) and DB_PASSWORD not in repr(config)
    assert config.secret_key == SECRET  # still there for the settings


def test_credentials_in_urls_are_blanked() -> None:
    assert redact_credentials("see postgres://u:pw@h:5432/d and https://example.lu:8443/x") == (
        "see postgres://u:********************@h:5432/d and https://example.lu:8443/x"
    )
