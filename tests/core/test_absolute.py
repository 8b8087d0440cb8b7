"""Absolute URLs: the configured base URI wins; unset, the request's address (any port)."""

from __future__ import annotations

import importlib
import os
from typing import Any

import pytest
from django.test import RequestFactory

from datalux.cli.demo import served_base_uri
from datalux.core.absolute import absolute, base_url


def test_configured_base_uri_wins(settings: Any, rf: RequestFactory) -> None:
    settings.DATALUX_BASE_URI = "https://data.example.lu/"
    settings.DATALUX_BASE_URI_CONFIGURED = True
    request = rf.get("/", HTTP_HOST="127.0.0.1:8123")
    assert base_url(request) == "https://data.example.lu"
    assert absolute("/id/dataset/X", request) == "https://data.example.lu/id/dataset/X"


def test_unset_base_uri_follows_the_request_else_the_default(
    settings: Any, rf: RequestFactory
) -> None:
    settings.DATALUX_BASE_URI = "http://127.0.0.1:8000"
    settings.DATALUX_BASE_URI_CONFIGURED = False
    assert absolute("a/b", rf.get("/", HTTP_HOST="localhost:8123")) == "http://localhost:8123/a/b"
    assert base_url(rf.get("/", HTTP_HOST="evil.example")) == "http://127.0.0.1:8000"  # not allowed
    assert base_url() == "http://127.0.0.1:8000"  # outside a request (worker, CLI)
    assert absolute("https://elsewhere.example/x") == "https://elsewhere.example/x"


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("127.0.0.1", 8021, "http://127.0.0.1:8021"),
        ("0.0.0.0", 9000, "http://127.0.0.1:9000"),  # noqa: S104
        ("::1", 8443, "http://[::1]:8443"),
        ("demo.local", 80, "http://demo.local:80"),
    ],
)
def test_demo_up_serves_links_on_its_own_port(host: str, port: int, expected: str) -> None:
    assert served_base_uri(host, port) == expected


def test_demo_up_configures_the_base_uri_from_host_and_port(monkeypatch: Any) -> None:
    from click.testing import CliRunner

    demo_cli = importlib.import_module("datalux.cli.demo")  # the package names its group so
    monkeypatch.setenv("DATALUX_BASE_URI", "")
    seen: list[str] = []

    def stop() -> None:
        seen.append(os.environ["DATALUX_BASE_URI"])
        raise SystemExit(3)

    monkeypatch.setattr(demo_cli, "setup_django", stop)
    result = CliRunner().invoke(demo_cli.demo, ["up", "--port", "8021"])
    assert result.exit_code == 3 and seen == ["http://127.0.0.1:8021"]
    monkeypatch.setenv("DATALUX_BASE_URI", "https://data.example.lu")
    CliRunner().invoke(demo_cli.demo, ["up", "--port", "8021"])
    assert seen[-1] == "https://data.example.lu"  # a configured base URI is kept
