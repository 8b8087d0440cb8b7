"""Absolute URLs (DCAT export, persistent identifiers, e-mails, download links) from one place.

``DATALUX_BASE_URI``, when it is configured, is the platform's public address and wins. When it
is not (development, ``datalux manage runserver 8123``), the address comes from the request
being served (scheme, host and port as the browser used them), so links never point at a port
nobody listens on. Outside any request (worker, scheduler, CLI) the development default
``http://127.0.0.1:8000`` is used; ``datalux demo up --port N`` configures ``http://HOST:N``.

:class:`RequestBaseMiddleware` records the current request's address for :func:`base_url`, so
code far from the view (the DCAT builder, a model property, an e-mail sent after commit) needs
no request argument.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse

_request_base: ContextVar[str | None] = ContextVar("datalux_request_base", default=None)


def configured() -> bool:
    """True when ``DATALUX_BASE_URI`` was set (always in production)."""
    return bool(getattr(settings, "DATALUX_BASE_URI_CONFIGURED", True))


def request_base(request: HttpRequest) -> str | None:
    """``scheme://host[:port]`` of ``request``; None for a host outside ``ALLOWED_HOSTS``."""
    try:
        return request.build_absolute_uri("/").rstrip("/")
    except DisallowedHost:
        return None


def base_url(request: HttpRequest | None = None) -> str:
    """The platform's address without a trailing slash (see the module docstring)."""
    if configured():
        return str(settings.DATALUX_BASE_URI).rstrip("/")
    current = request_base(request) if request is not None else _request_base.get()
    return current or str(settings.DATALUX_BASE_URI).rstrip("/")


def absolute(path: str, request: HttpRequest | None = None) -> str:
    """``path`` (``/catalogue/...``) made absolute under :func:`base_url`."""
    if path.startswith(("http://", "https://")):
        return path
    return base_url(request) + "/" + path.lstrip("/")


class RequestBaseMiddleware:
    """Makes the request's address the base of absolute URLs while the request is served."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _request_base.set(request_base(request))
        try:
            return self.get_response(request)
        finally:
            _request_base.reset(token)
