"""Web refusals (403, 404) in the audit chain, as the API's are (``access.denied``).

The error pages (``handler403``, ``handler404``) record the refusal unless the request already
recorded one (a view guard, an action's audited refusal): one event per refused request. What is
recorded: who (or anonymous), the path, the method, the status and a short reason - never the
page's content.

Which 404s: those of signed-in users, wherever they go; not those of anonymous visitors, whose
404s are mostly scanners and dead links (every ``/wp-login.php`` probe would become a signed,
append-only audit event, which anyone could then flood) - the web server's access log keeps
them. Static files never reach here (WhiteNoise answers them first) and are skipped anyway.
Every 403 is recorded, signed in or not.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.core.signals import request_started
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.http import Http404, HttpRequest
from django.urls import Resolver404

from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.audit.models import AuditEvent

_recorded: ContextVar[bool] = ContextVar("datalux_refusal_recorded", default=False)
QUIET_PATHS = ("/favicon.ico", "/robots.txt", "/apple-touch-icon")


def is_refusal(kind: str) -> bool:
    return kind == EventKind.ACCESS_DENIED or kind.endswith("refused")


@receiver(request_started, dispatch_uid="core.refusals.request_started")
def _new_request(**kwargs: Any) -> None:
    _recorded.set(False)


@receiver(post_save, sender=AuditEvent, dispatch_uid="core.refusals.seen")
def _seen(sender: Any, instance: AuditEvent, created: bool, **kwargs: Any) -> None:
    if created and is_refusal(str(instance.kind)):
        _recorded.set(True)


def already_recorded(request: HttpRequest) -> bool:
    """Whether this request recorded a refusal already (by any action or guard)."""
    return _recorded.get() or bool(getattr(request, "datalux_refusal_audited", False))


def _reason(status: int, exception: Exception | None) -> str:
    if status != 404:
        return str(exception or "")[:500]
    if (
        isinstance(exception, Http404)
        and not isinstance(exception, Resolver404)  # its argument lists every URL pattern
        and exception.args
        and isinstance(exception.args[0], str)
    ):
        return exception.args[0][:200]
    return "no such page"


def audit_page_refusal(request: HttpRequest, status: int, exception: Exception | None) -> None:
    """Record a 403 or 404 page in the audit chain (see the module docstring for which)."""
    if already_recorded(request):
        return
    user = getattr(request, "user", None)
    signed_in = bool(getattr(user, "is_authenticated", False))
    path = request.path
    static = "/" + str(settings.STATIC_URL).lstrip("/")
    if status == 404 and (not signed_in or path.startswith((static, *QUIET_PATHS))):
        return
    record(
        EventKind.ACCESS_DENIED,
        actor=user,
        object_type="path",
        object_id=path[:64],
        details={
            "method": request.method or "",
            "status": status,
            "reason": _reason(status, exception),
        },
    )
    request.datalux_refusal_audited = True  # type: ignore[attr-defined]
