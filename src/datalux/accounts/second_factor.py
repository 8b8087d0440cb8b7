"""The second factor: a TOTP authenticator app (django-otp), optional for everyone, required for
the roles that decide on or handle protected data when ``DATALUX_REQUIRE_2FA`` is on (always in
production).

* Sign-in: a user with a confirmed device is not signed in after the password. The session only
  remembers, for :data:`PENDING_SECONDS`, who passed the password (``begin_second_step``);
  ``views.login_verify`` asks the code and only then signs the user in (``finish_sign_in``),
  marking the session verified (``django_otp.login``). Wrong codes are audited and count as
  failed sign-ins for the lockout (``datalux.accounts.throttling``).
* Enrolment: ``views.second_factor`` shows a QR code (inline SVG) and the secret, and confirms
  the device with a first code.
* :class:`SecondFactorMiddleware`: a signed-in session of a user who has a device but never
  passed the second step (opened before the device was set up, or by another way in) is signed
  out, except a citizen's session opened through the state's identity provider (its strong
  factor; ``datalux.citizens.oidc``); a user who must have a second factor and has none can
  only set one up (or sign out).
* Recovery: ``datalux manage reset_second_factor USERNAME --reason ...`` (an operator, after
  checking the person's identity) removes the devices; the user sets up a new one.

The functions below that change state are keyword-only and write their audit event in the same
transaction (STYLE.md 4).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model, login, logout
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from datalux.accounts.permissions import grants
from datalux.audit.kinds import EventKind
from datalux.audit.log import record

# Authority roles (they decide, handle, review or assist on applications and see them across
# organisations), output checkers, TTP operators and platform administrators. Staff and
# superusers (the Django admin) too.
SECOND_FACTOR_ROLES = frozenset(
    {
        "assistant",
        "handler",
        "reviewer",
        "decider",
        "output_checker",
        "ttp_operator",
        "platform_admin",
    }
)
PENDING_KEY = "datalux_sign_in_pending"
PENDING_SECONDS = 300
DEVICE_NAME = "authenticator app"
# Marks the failed sign-in a wrong code sends to axes (audited as a second-factor failure).
WRONG_CODE = "second_factor_code_wrong"

# Pages a signed-in user reaches whatever the state of their second factor.
ALWAYS_OPEN = frozenset({"accounts:logout", "set_language", "health"})
ENROLMENT_OPEN = ALWAYS_OPEN | {"accounts:second_factor"}


def second_factor_required(user: Any) -> bool:
    """Whether ``user`` must use a second factor (only when ``DATALUX_REQUIRE_2FA`` is on)."""
    if not getattr(settings, "DATALUX_REQUIRE_2FA", False):
        return False
    if not user.is_authenticated:
        return False
    if user.is_staff or user.is_superuser:
        return True
    return any(grant.role.slug in SECOND_FACTOR_ROLES for grant in grants(user))


def confirmed_device(user: Any) -> TOTPDevice | None:
    if not user.is_authenticated:
        return None
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).order_by("pk").first()


# -- the second step of sign-in ------------------------------------------------------------


def begin_second_step(request: HttpRequest, user: Any, next_url: str) -> None:
    """Remember that ``user`` gave the right password; nobody is signed in yet."""
    request.session.cycle_key()
    request.session[PENDING_KEY] = {
        "user": user.pk,
        "backend": user.backend,
        "auth_hash": user.get_session_auth_hash(),  # a password change in between voids it
        "at": int(time.time()),
        "next": next_url,
    }


def pending_sign_in(request: HttpRequest) -> tuple[Any, dict[str, Any]]:
    """(user, state) of the sign-in waiting for its code, or (None, {}) when none or too old."""
    state = request.session.get(PENDING_KEY)
    if not isinstance(state, dict):
        return None, {}
    user = None
    if 0 <= time.time() - state.get("at", 0) <= PENDING_SECONDS:
        user = get_user_model().objects.filter(pk=state.get("user"), is_active=True).first()
    if user is None or not constant_time_compare(
        user.get_session_auth_hash(), state.get("auth_hash", "")
    ):
        del request.session[PENDING_KEY]
        return None, {}
    return user, state


def finish_sign_in(request: HttpRequest, user: Any, device: TOTPDevice, backend: str) -> None:
    del request.session[PENDING_KEY]
    login(request, user, backend=backend)  # new session key; audited (user.logged_in)
    otp_login(request, device)


# -- actions --------------------------------------------------------------------------------


def enrolment_device(*, user: Any) -> TOTPDevice:
    """The unconfirmed device being set up (made once, so the QR code stays the same)."""
    device = TOTPDevice.objects.filter(user_id=user.pk, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def confirm_enrolment(*, user: Any, code: str) -> TOTPDevice | None:
    """Confirm the device being set up with its first code; None (audited) if wrong."""
    with transaction.atomic():
        if TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists():
            return None
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user_id=user.pk, confirmed=False)
            .order_by("pk")
            .first()
        )
        if device is None:
            return None
        allowed, _ = device.verify_is_allowed()
        if not device.verify_token(code):
            _audit_failure(user, stage="set-up", throttled=not allowed, signed_in=True)
            return None
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user_id=user.pk, confirmed=False).delete()
        record(
            EventKind.SECOND_FACTOR_ENROLLED,
            actor=user,
            obj=user,
            details={"device": device.pk, "type": "totp"},
        )
    return device


def check_code(*, user: Any, code: str, stage: str, signed_in: bool) -> TOTPDevice | None:
    """The user's confirmed device if ``code`` is its current code; else None (audited).

    django-otp refuses a code used before and slows down repeated failures (1, 2, 4... s)."""
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user_id=user.pk, confirmed=True)
            .order_by("pk")
            .first()
        )
        if device is None:
            return None
        allowed, _ = device.verify_is_allowed()
        if device.verify_token(code):
            return device
        _audit_failure(user, stage=stage, throttled=not allowed, signed_in=signed_in)
    return None


def remove_second_factor(*, user: Any, code: str) -> bool:
    """Remove the user's second factor, proven by a current code; False (audited) if wrong."""
    if check_code(user=user, code=code, stage="removal", signed_in=True) is None:
        return False
    with transaction.atomic():
        removed = _delete_devices(user)
        record(EventKind.SECOND_FACTOR_REMOVED, actor=user, obj=user, details={"devices": removed})
    return True


def reset_second_factor(*, user: Any, by: Any = None, reason: str) -> int:
    """An operator removes every device of ``user`` (lost or broken phone); audited."""
    reason = " ".join(reason.split())
    if not reason:
        raise ValueError("give the reason (e.g. how the person's identity was checked)")
    with transaction.atomic():
        removed = _delete_devices(user)
        record(
            EventKind.SECOND_FACTOR_RESET,
            actor=by,
            obj=user,
            details={"devices": removed, "reason": reason[:500]},
        )
    return removed


def _delete_devices(user: Any) -> int:
    _, per_model = TOTPDevice.objects.filter(user_id=user.pk).delete()
    return int(per_model.get(TOTPDevice._meta.label, 0))


def _audit_failure(user: Any, *, stage: str, throttled: bool, signed_in: bool) -> None:
    record(
        EventKind.SECOND_FACTOR_FAILED,
        actor=user if signed_in else None,
        obj=user,
        details={"stage": stage, "throttled": throttled},
    )


# -- enforcement ----------------------------------------------------------------------------


class SecondFactorMiddleware:
    """After authentication and django-otp's middleware: see the module docstring."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        user = request.user
        if not user.is_authenticated:
            return None
        match = request.resolver_match
        name = match.view_name if match is not None else ""
        if name in ALWAYS_OPEN or getattr(user, "is_verified", lambda: False)():
            return None
        if _identity_provider_session(request) and not second_factor_required(user):
            return None  # a citizen signed in through the state's identity provider
        if confirmed_device(user) is not None:
            logout(request)
            message = _("Sign in again with your password and your second-factor code.")
            if _is_api(request):
                return _api_error(request, 401, "unauthenticated", message)
            return redirect_to_login(request.get_full_path())
        if name in ENROLMENT_OPEN or not second_factor_required(user):
            return None
        if _is_api(request):
            return _api_error(
                request,
                403,
                "second_factor_required",
                _("Your role requires a second factor: set it up at %(url)s first.")
                % {"url": reverse("accounts:second_factor")},
            )
        query = urlencode({"next": request.get_full_path()})
        return redirect(f"{reverse('accounts:second_factor')}?{query}")


def _identity_provider_session(request: HttpRequest) -> bool:
    """The state's identity provider is the strong factor of a citizen's session (issue 16)."""
    from datalux.citizens.oidc import signed_in_with_identity_provider

    return signed_in_with_identity_provider(request)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _api_error(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse:
    from datalux.core.api import error_response

    return error_response(request, status, code, message)
