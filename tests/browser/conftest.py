"""Browser tests: Debian's chromium driven by Playwright against a live Django server.

* ``browser`` (package scope): one headless chromium for all the browser tests. Its path comes
  from ``DATALUX_CHROMIUM`` or ``chromium`` on the PATH; without one the tests fail and say how
  to install it (Playwright's own browser download is never used).
* ``page`` / ``open_page``: a fresh browser context (cookies, session) per user and test, with
  the live server as base URL: ``page.goto("/access/cases/")``.
* ``world``: the access world of ``tests/access/world.py``, committed (the live server answers
  from another thread), every user with the password :data:`PASSWORD`.
* :func:`login` signs in through the real login form.

Playwright's synchronous API keeps an asyncio loop running in the test thread, so Django's ORM
would refuse to run there: ``DJANGO_ALLOW_ASYNC_UNSAFE`` is set while the browser is open, and
restored when the browser tests are done (the browser and the connections opened meanwhile are
closed then, so the tests that follow run as usual). The live server needs committed data, hence
a flush after each test; the database refuses to delete audit events (append-only triggers), so
the triggers are lifted for that flush only and restored afterwards.
"""

from __future__ import annotations

import importlib
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, connections

from tests.access.world import World, build_world

PASSWORD = "browser-test-password-7"
TIMEOUT_MS = 15_000
INSTALL_HINT = (
    "the browser tests need Debian's chromium: install it with "
    "`sudo apt-get install chromium` (or point DATALUX_CHROMIUM at a chromium binary); "
    "run `make test-fast` to leave the browser tests out"
)
AUDIT_TRIGGERS = importlib.import_module("datalux.audit.migrations.0002_append_only_triggers")


def chromium_path() -> str:
    """The chromium to drive: ``DATALUX_CHROMIUM`` or ``chromium`` on the PATH, else a failure."""
    configured = os.environ.get("DATALUX_CHROMIUM", "").strip()
    if configured:
        if not (Path(configured).is_file() and os.access(configured, os.X_OK)):
            pytest.fail(
                f"DATALUX_CHROMIUM={configured} is not an executable file: {INSTALL_HINT}",
                pytrace=False,
            )
        return configured
    found = shutil.which("chromium")
    if found is None:
        pytest.fail(f"no chromium on the PATH: {INSTALL_HINT}", pytrace=False)
    return found


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(
                executable_path=executable, headless=True, args=["--no-sandbox"]
            )
            yield launched
            launched.close()
            # While the loop runs, Django keeps the test thread's connections apart from the
            # thread-local ones (asgiref treats the thread as async): close them here, or the
            # test database could not be dropped at the end of the session.
            connections.close_all()


# The database: committed data, and a flush the audit triggers allow.


def _audit_triggers(enabled: bool) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"ALTER TABLE {AUDIT_TRIGGERS.TABLE} {'ENABLE' if enabled else 'DISABLE'} "
                "TRIGGER USER"
            )
        elif enabled:
            for sql in AUDIT_TRIGGERS.SQLITE_UP:
                cursor.execute(sql.replace("CREATE TRIGGER", "CREATE TRIGGER IF NOT EXISTS", 1))
        else:
            for sql in AUDIT_TRIGGERS.SQLITE_DOWN:
                cursor.execute(sql)


@pytest.fixture(scope="package")
def _audit_triggers_restored(django_db_setup: None, django_db_blocker: Any) -> Iterator[list[bool]]:
    """After the last browser test's flush, the test database's audit table is append-only
    again (``lifted`` says whether a test lifted the triggers)."""
    lifted: list[bool] = []
    yield lifted
    if lifted:
        with django_db_blocker.unblock():
            _audit_triggers(enabled=True)


@pytest.fixture
def live_db(_audit_triggers_restored: list[bool], live_server: Any) -> Iterator[Any]:
    """The live server, over a database that the test and the server share (committed)."""
    _audit_triggers(enabled=True)
    yield live_server
    _audit_triggers(enabled=False)  # for the flush that follows; restored by the next test
    _audit_triggers_restored[:] = [True]


@pytest.fixture
def world(live_db: Any) -> World:
    built = build_world()
    for field in built.__dataclass_fields__:
        user = getattr(built, field)
        if hasattr(user, "set_password"):
            user.set_password(PASSWORD)
            user.save(update_fields=["password"])
    return built


# Pages.


@pytest.fixture
def open_page(browser: Any, live_db: Any) -> Iterator[Callable[..., Any]]:
    """open_page() -> a page in a new browser context (its own cookies: one user each);
    ``open_page(locale="fr-LU")`` for a browser that asks for another language."""
    contexts: list[Any] = []

    def open_(locale: str = "en-GB") -> Any:
        context = browser.new_context(base_url=live_db.url, locale=locale)
        context.set_default_timeout(TIMEOUT_MS)
        # No favicon requests for the server to answer behind the test's back.
        context.route("**/favicon.ico", lambda route: route.fulfill(status=204, body=""))
        contexts.append(context)
        return context.new_page()

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page: Callable[..., Any]) -> Any:
    return open_page()


LOGIN_WORDS = {
    "en": ("Username", "Password", "Sign in"),
    "fr": ("Nom d'utilisateur", "Mot de passe", "Se connecter"),
    "de": ("Benutzername", "Passwort", "Anmelden"),
}


def login(page: Any, username: str, password: str = PASSWORD, language: str = "en") -> None:
    """Sign in through the login form (its labels in ``language``); fails the test if the form
    refuses."""
    user_label, password_label, button = LOGIN_WORDS[language]
    page.goto("/accounts/login/")
    page.get_by_label(user_label).fill(username)
    page.get_by_label(password_label).fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name=button).click()
    if "/accounts/login/" in page.url:
        pytest.fail(f"{username} could not sign in: {page.locator('main').inner_text()}")
