"""Citizen sign-in through the state's identity provider (OpenID Connect, mozilla-django-oidc).

Offered only when ``DATALUX_OIDC_CLIENT_ID`` is set (``settings.DATALUX_OIDC_ENABLED``); the
views answer 404 otherwise and the backend is not in ``AUTHENTICATION_BACKENDS``.

The flow: ``/oidc/authenticate/`` (:class:`SignInRequestView`) sends the browser to the
provider with a fresh ``state``, ``nonce`` and PKCE challenge (S256) kept in the session; the
provider sends it back to ``/oidc/callback/`` (:class:`SignInCallbackView`) with a code; the
library checks the state (once: it is removed from the session), and
:class:`CitizenOIDCBackend` exchanges the code (with the PKCE verifier) for tokens, checks the
id token and finds the person:

* the id token must be RS256-signed by a key of the provider's JWKS, issued by
  ``DATALUX_OIDC_ISSUER`` for our client id (``aud``, ``azp`` when there are several
  audiences), unexpired, with ``iat``, ``sub`` and the session's nonce. The library itself
  checks neither the audience nor the issuer: :meth:`CitizenOIDCBackend.get_payload_data` does;
* the userinfo answer must be about the same ``sub``; the signed id token's claims win;
* the national number is the claim ``DATALUX_OIDC_NATIONAL_NUMBER_CLAIM``; missing or invalid
  numbers refuse the sign-in with a message that never repeats the number;
* the person is found by their keyed pseudonym (:func:`datalux.citizens.identity.subject_for`)
  only, never by e-mail address or user name. The first sign-in creates an account (a random
  user name, no password), its :class:`~datalux.citizens.models.CitizenIdentity` (the number
  sealed, source ``oidc``) and grants the citizen role. An identity whose account holds any
  other role, is staff or inactive cannot be opened this way: those accounts sign in with a
  password and a second factor.

Every sign-in writes ``citizen.signed_in_oidc`` (and ``citizen.identity_linked`` the first
time), every refusal ``citizen.oidc_refused`` with its reason: never the number. The identity
provider is the citizen's strong factor: :mod:`datalux.accounts.second_factor` does not ask
these sessions for the platform's code (:func:`signed_in_with_identity_provider`).
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import BACKEND_SESSION_KEY, get_user_model
from django.core.exceptions import SuspiciousOperation
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.generic import View
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from datalux.accounts.actions import grant_role
from datalux.accounts.permissions import grants
from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.citizens.identity import checked, seal, subject_for
from datalux.citizens.models import CitizenIdentity, IdentitySource
from datalux.dataplane.extract import ExtractError
from datalux.onceonly.keys import ExchangeKeyError
from datalux.privacy import InvalidNationalId

logger = logging.getLogger(__name__)

BACKEND_PATH = "datalux.citizens.oidc.CitizenOIDCBackend"
REFUSAL_ATTR = "_datalux_oidc_refusal"
CLOCK_SKEW_SECONDS = 60
REQUIRED_CLAIMS = ("iss", "aud", "exp", "iat", "sub")

# reason -> what the person reads (never the number, never the provider's internals)
MESSAGES = {
    "claim_missing": _(
        "Your identity provider did not send your national number, so you cannot be signed "
        "in. Try again; if it happens again, contact the help desk."
    ),
    "number_invalid": _(
        "The national number your identity provider sent is not valid, so you cannot be "
        "signed in. Contact the help desk."
    ),
    "account_not_citizen": _(
        "This person's account cannot be opened with the national identity: it signs in with "
        "its user name, password and second factor."
    ),
    "account_inactive": _("This account is closed. Contact the help desk."),
    "token_invalid": _(
        "The answer of the identity provider could not be verified, so you were not signed "
        "in. Try again."
    ),
    "userinfo_mismatch": _(
        "The answer of the identity provider could not be verified, so you were not signed "
        "in. Try again."
    ),
    "state_mismatch": _(
        "This sign-in link has expired or was already used. Start again with “Sign in "
        "with your national identity”."
    ),
    "provider_error": _("The sign-in at the identity provider was cancelled or did not succeed."),
    "unavailable": _(
        "Signing in with the national identity is not possible just now. Try again later."
    ),
}


class Refusal(Exception):
    """A refused OIDC sign-in: ``reason`` (a key of :data:`MESSAGES`) and a short ``problem``
    for the audit event. Not a SuspiciousOperation, which the library would swallow."""

    def __init__(self, reason: str, problem: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.problem = problem


def enabled() -> bool:
    return bool(getattr(settings, "DATALUX_OIDC_ENABLED", False))


def signed_in_with_identity_provider(request: HttpRequest) -> bool:
    """Whether the session was opened by :class:`CitizenOIDCBackend`."""
    session = getattr(request, "session", None)
    return session is not None and session.get(BACKEND_SESSION_KEY) == BACKEND_PATH


def refuse(request: HttpRequest, reason: str, problem: str = "") -> None:
    """Audit a refused sign-in once per request and remember it for the page."""
    if getattr(request, REFUSAL_ATTR, None) is not None:
        return
    setattr(request, REFUSAL_ATTR, reason)
    logger.info("OIDC sign-in refused: %s %s", reason, problem)
    record(EventKind.CITIZEN_OIDC_REFUSED, details={"reason": reason, "problem": problem})


# -- the action -------------------------------------------------------------------------------


def sign_in_citizen(*, national_number: str, profile: dict[str, str]) -> Any:
    """The account of the person ``national_number`` (checked), made on their first sign-in.

    Steps, in one transaction: find the identity by the number's keyed pseudonym; none: make
    an account (random user name, no usable password, ``profile``'s display name and e-mail),
    its identity (number sealed, source ``oidc``), grant the citizen role, audit
    ``citizen.identity_linked``; one: refuse (:class:`Refusal`) an inactive account or one
    that holds any other role or is staff; record when the identity was last verified and audit
    ``citizen.signed_in_oidc``."""
    number = checked(national_number)
    subject = subject_for(number)
    now = timezone.now()
    with transaction.atomic():
        identity = (
            CitizenIdentity.objects.select_for_update()
            .select_related("user")
            .filter(subject=subject)
            .first()
        )
        first = identity is None
        if identity is None:
            user = get_user_model().objects.create_user(
                username=_new_username(),
                email=profile.get("email", ""),
                display_name=profile.get("display_name", ""),
            )
            identity = CitizenIdentity.objects.create(
                user=user,
                subject=subject,
                sealed_number=seal(number),
                source=IdentitySource.OIDC,
                last_verified_at=now,
            )
            grant_role(user=user, role="citizen", organisation=None)
            record(
                EventKind.CITIZEN_IDENTITY_LINKED,
                obj=identity,
                details={"identity": identity.pk, "source": IdentitySource.OIDC.value},
            )
        else:
            user = identity.user
            if not user.is_active:
                raise Refusal("account_inactive")
            if not _citizen_only(user):
                raise Refusal("account_not_citizen")
            identity.last_verified_at = now
            identity.save(update_fields=["last_verified_at"])
        record(
            EventKind.CITIZEN_SIGNED_IN_OIDC,
            actor=user,
            obj=identity,
            details={"identity": identity.pk, "first_sign_in": first},
        )
    return user


def _citizen_only(user: Any) -> bool:
    if user.is_staff or user.is_superuser:
        return False
    roles = {grant.role.slug for grant in grants(user)}
    return roles == {"citizen"}


def _new_username() -> str:
    """``citizen-`` and random hex: neither the number nor its pseudonym."""
    model = get_user_model()
    while True:
        name = f"citizen-{secrets.token_hex(8)}"
        if not model.objects.filter(username=name).exists():
            return name


def _profile(claims: dict[str, Any]) -> dict[str, str]:
    name = claims.get("name")
    if not isinstance(name, str) or not name.strip():
        parts = [claims.get("given_name"), claims.get("family_name")]
        name = " ".join(p for p in parts if isinstance(p, str) and p.strip())
    email = claims.get("email")
    verified = claims.get("email_verified", False) is True
    return {
        "display_name": " ".join(str(name).split())[:200],
        "email": email[:254] if isinstance(email, str) and verified else "",
    }


# -- the backend ------------------------------------------------------------------------------


class CitizenOIDCBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend, for citizens: see the module docstring."""

    def authenticate(self, request: Any, **kwargs: Any) -> Any:
        # Only the callback (it passes the nonce); a password sign-in is not ours.
        if request is None or not enabled() or "nonce" not in kwargs or "password" in kwargs:
            return None
        try:
            return super().authenticate(request, **kwargs)
        except Refusal as refusal:
            refuse(request, refusal.reason, refusal.problem)
        except SuspiciousOperation as exc:
            refuse(request, "token_invalid", _problem(exc))
        except (requests.RequestException, ValueError, KeyError) as exc:
            refuse(request, "unavailable", type(exc).__name__)
        except (ExchangeKeyError, ExtractError) as exc:
            logger.error("OIDC sign-in: a key is missing (%s)", type(exc).__name__)
            refuse(request, "unavailable", "keys")
        except IntegrityError:
            refuse(request, "unavailable", "concurrent")  # a parallel first sign-in won
        return None

    def get_payload_data(self, token: Any, key: Any) -> dict[str, Any]:
        """The id token's claims, if RS256-signed by ``key`` for our client by our issuer,
        unexpired; the library's own check skips audience and issuer, and allows ``none``."""
        algorithm = self.OIDC_RP_SIGN_ALGO
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != algorithm:
                raise Refusal("token_invalid", "algorithm")
            payload: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=settings.DATALUX_OIDC_ISSUER,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.InvalidTokenError as exc:
            raise Refusal("token_invalid", _problem(exc)) from None
        audiences = payload["aud"] if isinstance(payload["aud"], list) else [payload["aud"]]
        if len(audiences) > 1 and payload.get("azp") != self.OIDC_RP_CLIENT_ID:
            raise Refusal("token_invalid", "azp")
        return payload

    def verify_token(self, token: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            payload: dict[str, Any] = super().verify_token(token, **kwargs)
        except SuspiciousOperation as exc:
            raise Refusal("token_invalid", _problem(exc)) from None
        return payload

    def get_or_create_user(self, access_token: Any, id_token: Any, payload: Any) -> Any:
        userinfo = self.get_userinfo(access_token, id_token, payload)
        if not isinstance(userinfo, dict) or userinfo.get("sub") != payload.get("sub"):
            raise Refusal("userinfo_mismatch")
        claims = {**userinfo, **payload}  # the signed id token's claims win
        raw = claims.get(settings.DATALUX_OIDC_NATIONAL_NUMBER_CLAIM)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            raise Refusal("claim_missing")
        if not isinstance(raw, str):
            raise Refusal("number_invalid", "not-text")
        try:
            number = checked(raw)
        except InvalidNationalId as exc:
            raise Refusal("number_invalid", str(exc.reason.value)) from None
        return sign_in_citizen(national_number=number, profile=_profile(claims))

    def filter_users_by_claims(self, claims: Any) -> Any:
        """Never used to find a citizen (the library matches by e-mail address)."""
        return self.UserModel.objects.none()


def _problem(exc: Exception) -> str:
    """A short name of what failed, safe for the audit (no token, no claim value)."""
    names = {
        "InvalidSignatureError": "signature",
        "InvalidAudienceError": "audience",
        "InvalidIssuerError": "issuer",
        "ExpiredSignatureError": "expired",
        "ImmatureSignatureError": "not-yet-valid",
        "InvalidIssuedAtError": "issued-at",
        "MissingRequiredClaimError": "claim-missing",
        "DecodeError": "malformed",
    }
    name = type(exc).__name__
    if name in names:
        return names[name]
    text = str(exc).lower()
    if "nonce" in text:
        return "nonce"
    if "jwks" in text:
        return "key-unknown"
    return "suspicious"


# -- the views --------------------------------------------------------------------------------


class SignInRequestView(OIDCAuthenticationRequestView):
    """``/oidc/authenticate/``: off (404) unless OIDC sign-in is configured."""

    def __init__(self, **kwargs: Any) -> None:
        if enabled():
            super().__init__(**kwargs)
        else:  # the library reads the provider's settings here
            View.__init__(self, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not enabled():
            raise Http404
        response: HttpResponse = super().get(request)
        return response


class SignInCallbackView(OIDCAuthenticationCallbackView):
    """``/oidc/callback/``: a refusal is audited and shown on the sign-in page."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not enabled():
            raise Http404
        try:
            response: HttpResponse = super().get(request)
        except SuspiciousOperation:  # a state the session does not hold (replayed, forged)
            refuse(request, "state_mismatch")
            return self.login_failure()
        return response

    def login_failure(self) -> HttpResponse:
        request = self.request
        if getattr(request, "axes_locked_out", False):
            return redirect("accounts:login")  # the axes middleware shows the lock page
        if getattr(request, REFUSAL_ATTR, None) is None:
            refuse(request, "provider_error" if "error" in request.GET else "state_mismatch")
        reason = getattr(request, REFUSAL_ATTR)
        messages.error(request, MESSAGES.get(reason, MESSAGES["unavailable"]))
        return redirect("accounts:login")


__all__ = [
    "BACKEND_PATH",
    "CitizenOIDCBackend",
    "Refusal",
    "SignInCallbackView",
    "SignInRequestView",
    "enabled",
    "sign_in_citizen",
    "signed_in_with_identity_provider",
]
