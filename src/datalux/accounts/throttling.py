"""Sign-in throttling (django-axes): failed sign-ins lock an account and a network address.

Two counts, each over the last ``AXES_COOLOFF_TIME`` (``DATALUX_LOGIN_LOCKOUT_MINUTES``):

* per account: ``AXES_FAILURE_LIMIT`` (``DATALUX_LOGIN_FAILURE_LIMIT``, default 5) failures for
  one username, from any address, lock that username: guessing one person's password from many
  addresses stops;
* per address: ``DATALUX_LOGIN_ADDRESS_FAILURE_LIMIT`` (default 30) failures from one address,
  for any usernames, lock that address: trying one password on many accounts stops. It is
  higher, because an office or a ministry can sign in from behind one address.

A failure is a wrong password, a sign-in attempted while locked is refused before the password
is checked, and a wrong second-factor code counts too (``views.login_verify``). The lock is
fixed: attempts during it are refused and audited but do not extend it, so the page can say
when to try again. A successful sign-in clears nothing (one's own account must not clear the
count of an address). Locking a username that is not one's own is possible, for a while: the
price of stopping password guessing; the lock page sends the person to the assistance desk.

Every lock writes ``user.locked_out`` and every reset (``datalux manage axes_reset_username
NAME``, ``axes_reset_ip ADDRESS``, ``axes_reset``) writes ``user.lockout_reset`` in the audit
chain; deleting attempts in the admin is audited as an admin change.

Behind the TLS proxy (``DATALUX_BEHIND_PROXY``) the client address is the last entry of
``X-Forwarded-For``, the one the proxy appended (nginx's ``$proxy_add_x_forwarded_for``);
entries before it come from the client and are never believed. Otherwise ``REMOTE_ADDR``.
"""

from __future__ import annotations

import ipaddress
import logging
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Max, QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from datalux.audit.kinds import EventKind
from datalux.audit.log import record

log = logging.getLogger(__name__)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as the proxy saw it (behind the proxy), else ``REMOTE_ADDR``."""
    remote = _valid_ip(request.META.get("REMOTE_ADDR"))
    if getattr(settings, "DATALUX_BEHIND_PROXY", False):
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        last = _valid_ip(hops[-1]) if hops else None
        if last is not None:
            return last
        if hops != [""]:
            log.warning("X-Forwarded-For ends with no address; using the proxy's own address")
    return remote


def _valid_ip(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


def address_limit() -> int:
    return int(settings.DATALUX_LOGIN_ADDRESS_FAILURE_LIMIT)


@dataclass(frozen=True)
class LockState:
    account_failures: int
    address_failures: int
    account_locked: bool
    address_locked: bool
    until: datetime | None  # when the lock ends (every counted failure has aged out)

    @property
    def scope(self) -> list[str]:
        pairs = (("account", self.account_locked), ("address", self.address_locked))
        return [name for name, locked in pairs if locked]


def _recent(request: HttpRequest, credentials: dict[str, Any] | None) -> tuple[QuerySet, QuerySet]:
    AxesProxyHandler.update_request(request)
    recent = AccessAttempt.objects.filter(attempt_time__gte=get_cool_off_threshold(request))
    username = get_client_username(request, credentials)
    ip = getattr(request, "axes_ip_address", None)
    account = recent.filter(username=username) if username else recent.none()
    address = recent.filter(ip_address=ip) if ip else recent.none()
    return account, address


def lock_state(request: HttpRequest, credentials: dict[str, Any] | None = None) -> LockState:
    account, address = _recent(request, credentials)
    counts = []
    latest: list[datetime] = []
    for attempts in (account, address):
        row = attempts.aggregate(n=Sum("failures_since_start"), last=Max("attempt_time"))
        counts.append(row["n"] or 0)
        latest.append(row["last"])
    account_locked = counts[0] >= get_failure_limit(request, credentials)
    address_locked = counts[1] >= address_limit()
    ends = [t for t, on in zip(latest, (account_locked, address_locked), strict=True) if on and t]
    cool_off = get_cool_off(request)
    until = max(ends) + cool_off if ends and cool_off else None
    return LockState(counts[0], counts[1], account_locked, address_locked, until)


class SignInAttempts(AxesDatabaseHandler):
    """Axes' database handler with a per-account and a per-address limit, audited.

    Axes has one limit (``AXES_FAILURE_LIMIT``, here the per-account one) and locks when
    :meth:`get_failures` reaches it. The per-address count is scaled so that it reaches that
    limit exactly when it reaches ``DATALUX_LOGIN_ADDRESS_FAILURE_LIMIT``:
    ``floor(address * N / M) >= N`` if and only if ``address >= M``.
    """

    def get_failures(self, request: Any, credentials: dict[str, Any] | None = None) -> int:
        state = lock_state(request, credentials)
        limit = get_failure_limit(request, credentials)
        return max(state.account_failures, state.address_failures * limit // address_limit())

    def user_login_failed(
        self, sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
    ) -> None:
        # The backend marks a request it refused because of a lock before this runs.
        was_locked = bool(getattr(request, "axes_locked_out", False))
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is not None and request.axes_locked_out and not was_locked:
            _audit_lock(request, credentials)

    def reset_attempts(
        self,
        *,
        ip_address: str | None = None,
        username: str | None = None,
        ip_or_username: bool = False,
    ) -> int:
        count = super().reset_attempts(
            ip_address=ip_address, username=username, ip_or_username=ip_or_username
        )
        record(
            EventKind.USER_LOCKOUT_RESET,
            obj=_user_named(username),
            details={
                "username": username or "",
                "ip": ip_address or "",
                "either": ip_or_username,
                "attempts_cleared": count,
            },
        )
        return count


def _user_named(username: str | None) -> Any:
    if not username:
        return None
    return get_user_model().objects.filter(username=username).first()


def _audit_lock(request: HttpRequest, credentials: dict[str, Any] | None) -> None:
    state = lock_state(request, credentials)
    username = str(get_client_username(request, credentials) or "")[:150]
    record(
        EventKind.USER_LOCKED_OUT,
        obj=_user_named(username) if state.account_locked else None,
        details={
            "scope": state.scope,
            "username_tried": username,
            "ip": getattr(request, "axes_ip_address", None) or "",
            "account_failures": state.account_failures,
            "address_failures": state.address_failures,
            "until": state.until.isoformat() if state.until else "",
        },
    )


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """The lock page (HTTP 429 with Retry-After): which lock, until when, whom to contact."""
    state = lock_state(request, credentials)
    seconds = None
    if state.until is not None:
        seconds = max(1, math.ceil((state.until - timezone.now()).total_seconds()))
    response = render(
        request,
        "accounts/locked_out.html",
        {"lock": state, "minutes": math.ceil(seconds / 60) if seconds else None},
        status=429,
    )
    if seconds is not None:
        response["Retry-After"] = str(seconds)
    return response
