"""Citizen sign-in through the state's identity provider, driven end to end against a real
local OpenID Connect provider (tests/citizens/oidc_provider.py): the Django test client
follows the library's redirect to the provider, the provider redirects back with a code, and
the backend talks to the provider's token, userinfo and JWKS endpoints over HTTP."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth import SESSION_KEY, get_user_model
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from datalux.audit.models import AuditEvent
from datalux.citizens.access import identity_of
from datalux.citizens.identity import seal, subject_for, unseal
from datalux.citizens.models import CitizenIdentity, IdentitySource
from datalux.citizens.oidc import BACKEND_PATH
from datalux.core import config
from datalux.core.env import Env
from datalux.privacy import make_national_id
from datalux.privacy.keys import write_key_file
from tests.citizens.oidc_provider import LocalProvider, new_private_key

pytestmark = pytest.mark.django_db

CLIENT_ID = "datalux-test-client"
CLIENT_SECRET = "local-provider-secret"
ANNA = make_national_id(dt.date(1984, 3, 9), 17)
BEN = make_national_id(dt.date(1990, 11, 2), 5)


@pytest.fixture
def provider() -> Iterator[LocalProvider]:
    local = LocalProvider(client_id=CLIENT_ID, client_secret=CLIENT_SECRET).start()
    yield local
    local.stop()


@pytest.fixture
def oidc(settings: Any, provider: LocalProvider, monkeypatch: pytest.MonkeyPatch) -> Any:
    """OIDC sign-in configured as an operator would: the environment variables filled from the
    provider's discovery document, read by datalux.core.config, applied as settings.py does."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    found = requests.get(f"{provider.issuer}/.well-known/openid-configuration", timeout=5).json()
    environ = {
        "DATALUX_OIDC_CLIENT_ID": CLIENT_ID,
        "DATALUX_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "DATALUX_OIDC_ISSUER": found["issuer"],
        "DATALUX_OIDC_AUTHORIZATION_ENDPOINT": found["authorization_endpoint"],
        "DATALUX_OIDC_TOKEN_ENDPOINT": found["token_endpoint"],
        "DATALUX_OIDC_USERINFO_ENDPOINT": found["userinfo_endpoint"],
        "DATALUX_OIDC_JWKS_ENDPOINT": found["jwks_uri"],
    }
    oidc = config.load(Env(environ), Path(settings.DATALUX_VAR).parent).oidc
    assert oidc is not None
    settings.DATALUX_OIDC_ENABLED = True
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, BACKEND_PATH]
    settings.OIDC_RP_CLIENT_ID = oidc.client_id
    settings.OIDC_RP_CLIENT_SECRET = oidc.client_secret
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = oidc.authorization_endpoint
    settings.OIDC_OP_TOKEN_ENDPOINT = oidc.token_endpoint
    settings.OIDC_OP_USER_ENDPOINT = oidc.userinfo_endpoint
    settings.OIDC_OP_JWKS_ENDPOINT = oidc.jwks_endpoint
    settings.OIDC_RP_SCOPES = oidc.scopes
    settings.OIDC_TIMEOUT = oidc.timeout_seconds
    settings.DATALUX_OIDC_ISSUER = oidc.issuer
    settings.DATALUX_OIDC_NATIONAL_NUMBER_CLAIM = oidc.national_number_claim
    key_file = Path(settings.DATALUX_TTP_KEY_FILE)
    key_file.parent.mkdir(parents=True, exist_ok=True)
    write_key_file(key_file)  # the TTP key that seals the national number
    return oidc


def person(number: str | None, sub: str = "provider-subject-1", **claims: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"sub": sub, "given_name": "Anna", "family_name": "Muller"}
    if number is not None:
        found["national_number"] = number
    return {**found, **claims}


def start(client: Client, provider: LocalProvider, who: dict[str, Any]) -> str:
    """Open the library's authenticate URL, go to the provider: the callback URL it sends back."""
    provider.person = who
    response = client.get("/oidc/authenticate/")
    assert response.status_code == 302
    assert response["Location"].startswith(f"{provider.issuer}/authorize?")
    at_provider = requests.get(response["Location"], allow_redirects=False, timeout=5)
    assert at_provider.status_code == 302, at_provider.text
    back = urlsplit(at_provider.headers["Location"])
    assert back.netloc == "testserver" and back.path == "/oidc/callback/"
    return f"{back.path}?{back.query}"


def sign_in(client: Client, provider: LocalProvider, who: dict[str, Any]) -> Any:
    return client.get(start(client, provider, who))


def signed_in_user(client: Client) -> Any:
    user_id = client.session.get(SESSION_KEY)
    return get_user_model().objects.filter(pk=user_id).first() if user_id else None


def refusals() -> list[dict[str, Any]]:
    return [e.details for e in AuditEvent.objects.filter(kind="citizen.oidc_refused")]


def assert_no_number_recorded(*numbers: str) -> None:
    for event in AuditEvent.objects.all():
        text = json.dumps(event.details) + event.object_id + event.actor_label
        for number in numbers:
            assert number not in text, event.kind


def assert_refused(response: Any, client: Client, reason: str, *numbers: str) -> str:
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert signed_in_user(client) is None
    assert [r["reason"] for r in refusals()] == [reason]
    page = client.get(response["Location"]).content.decode()
    for number in numbers:
        assert number not in page
    assert_no_number_recorded(*numbers)
    return page


# -- sign-in ------------------------------------------------------------------------------------


def test_first_sign_in_creates_a_citizen_with_their_identity(
    oidc: Any, provider: LocalProvider, client: Client
) -> None:
    response = sign_in(client, provider, person(ANNA, email="anna@example.lu", email_verified=True))

    assert response.status_code == 302 and response["Location"] == "/"
    user = signed_in_user(client)
    assert user is not None
    identity = CitizenIdentity.objects.get(user=user)
    assert identity.subject == subject_for(ANNA)
    assert unseal(identity.sealed_number) == ANNA
    assert identity.source == IdentitySource.OIDC
    assert identity.last_verified_at is not None
    assert identity_of(user) == identity  # the citizen role
    assert ANNA not in user.username and identity.subject not in user.username
    assert not user.has_usable_password()
    assert user.display_name == "Anna Muller" and user.email == "anna@example.lu"
    assert client.session["_auth_user_backend"] == BACKEND_PATH
    kinds = set(AuditEvent.objects.values_list("kind", flat=True))
    assert {"citizen.identity_linked", "citizen.signed_in_oidc", "user.logged_in"} <= kinds
    assert refusals() == []
    assert_no_number_recorded(ANNA)
    # state, nonce and PKCE (S256) went to the provider; the verifier came back to the token
    asked = provider.authorize_requests[-1]
    assert asked["state"] and asked["nonce"] and asked["code_challenge_method"] == "S256"
    assert provider.token_requests[-1]["code_verifier"]
    assert client.get("/").status_code == 200


def test_a_later_sign_in_finds_the_identity_by_subject_only(
    oidc: Any, provider: LocalProvider, client: Client
) -> None:
    sign_in(client, provider, person(ANNA))
    first = signed_in_user(client)
    verified = CitizenIdentity.objects.get(user=first).last_verified_at
    client.logout()

    # another e-mail address, another name, another provider subject: the same person
    again = person(ANNA, sub="provider-subject-2", email="new@example.lu", email_verified=True)
    sign_in(client, provider, again)

    assert signed_in_user(client) == first
    assert get_user_model().objects.count() == 1
    assert CitizenIdentity.objects.get(user=first).last_verified_at > verified
    events = AuditEvent.objects.filter(kind="citizen.signed_in_oidc").order_by("seq")
    assert [e.details["first_sign_in"] for e in events] == [True, False]


def test_an_account_with_the_same_email_is_never_matched(
    oidc: Any, provider: LocalProvider, client: Client, make_member: Any
) -> None:
    official = make_member("handler", email="anna@example.lu", username="anna")
    sign_in(client, provider, person(ANNA, email="anna@example.lu", email_verified=True))

    user = signed_in_user(client)
    assert user is not None and user != official
    assert identity_of(user).subject == subject_for(ANNA)
    assert not CitizenIdentity.objects.filter(user=official).exists()


def test_an_unverified_email_is_not_kept(
    oidc: Any, provider: LocalProvider, client: Client
) -> None:
    sign_in(client, provider, person(ANNA, email="someone@example.lu"))
    assert signed_in_user(client).email == ""


def test_a_second_person_gets_their_own_account(
    oidc: Any, provider: LocalProvider, client: Client
) -> None:
    sign_in(client, provider, person(ANNA))
    anna = signed_in_user(client)
    other = Client()
    sign_in(other, provider, person(BEN, sub="provider-subject-ben"))
    ben = signed_in_user(other)
    assert ben is not None and ben != anna
    assert identity_of(ben).subject == subject_for(BEN)
    assert identity_of(anna).subject == subject_for(ANNA)


def test_a_citizen_with_an_authenticator_app_is_not_asked_for_its_code(
    oidc: Any, provider: LocalProvider, client: Client
) -> None:
    """The identity provider is the strong factor: the second-factor middleware keeps the
    session (it signs out sessions of users with a device that skipped the code)."""
    sign_in(client, provider, person(ANNA))
    user = signed_in_user(client)
    TOTPDevice.objects.create(user=user, name="authenticator app", confirmed=True)

    assert client.get("/").status_code == 200
    assert signed_in_user(client) == user


def test_a_next_page_on_this_site_is_kept(
    oidc: Any, provider: LocalProvider, client: Client
) -> None:
    provider.person = person(ANNA)
    first = client.get("/oidc/authenticate/?next=/me/")
    at_provider = requests.get(first["Location"], allow_redirects=False, timeout=5)
    back = urlsplit(at_provider.headers["Location"])
    response = client.get(f"{back.path}?{back.query}")
    assert response["Location"] == "/me/"


# -- refusals -----------------------------------------------------------------------------------


def test_an_id_token_signed_by_another_key_is_refused(
    oidc: Any, provider: LocalProvider, client: Client
) -> None:
    provider.sign_with = new_private_key()
    response = sign_in(client, provider, person(ANNA))
    page = assert_refused(response, client, "token_invalid", ANNA)
    assert refusals()[0]["problem"] == "signature"
    assert "could not be verified" in page
    assert not CitizenIdentity.objects.exists()


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"aud": "another-client"}, "audience"),
        ({"iss": "https://impostor.example"}, "issuer"),
        ({"exp": 1_000_000_000}, "expired"),
        ({"nonce": "not-the-session-nonce"}, "nonce"),
        ({"exp": None}, "claim-missing"),
        ({"aud": [CLIENT_ID, "another-client"]}, "azp"),
    ],
)
def test_an_id_token_not_for_us_is_refused(
    oidc: Any, provider: LocalProvider, client: Client, changes: dict[str, Any], problem: str
) -> None:
    provider.id_token_changes = changes
    response = sign_in(client, provider, person(ANNA))
    assert_refused(response, client, "token_invalid", ANNA)
    assert refusals()[0]["problem"] == problem
    assert not CitizenIdentity.objects.exists()


def test_a_missing_national_number_claim_is_refused(
    oidc: Any, provider: LocalProvider, client: Client
) -> None:
    response = sign_in(client, provider, person(None))
    page = assert_refused(response, client, "claim_missing")
    assert "did not send your national number" in page
    assert not get_user_model().objects.exists()


@pytest.mark.parametrize("bad", ["1234", ANNA[:-1] + str((int(ANNA[-1]) + 1) % 10), 198403091])
def test_an_invalid_national_number_is_refused_without_echoing_it(
    oidc: Any, provider: LocalProvider, client: Client, bad: Any
) -> None:
    response = sign_in(client, provider, person(bad))
    page = assert_refused(response, client, "number_invalid", str(bad))
    assert "is not valid" in page
    assert not get_user_model().objects.exists()


def test_the_claim_name_is_configurable(
    oidc: Any, provider: LocalProvider, client: Client, settings: Any
) -> None:
    settings.DATALUX_OIDC_NATIONAL_NUMBER_CLAIM = "urn:lu:matricule"
    sign_in(client, provider, {"sub": "s-1", "urn:lu:matricule": ANNA})
    assert identity_of(signed_in_user(client)).subject == subject_for(ANNA)


def test_userinfo_about_another_subject_is_refused(
    oidc: Any, provider: LocalProvider, client: Client
) -> None:
    """The number may only come from answers about the person the id token names."""
    provider.userinfo_changes = {"sub": "someone-else", "national_number": BEN}
    response = sign_in(client, provider, {"sub": "provider-subject-1"})
    assert_refused(response, client, "userinfo_mismatch", BEN)


def test_a_replayed_callback_is_refused(oidc: Any, provider: LocalProvider, client: Client) -> None:
    callback = start(client, provider, person(ANNA))
    assert client.get(callback).status_code == 302
    assert signed_in_user(client) is not None
    client.logout()
    AuditEvent.objects.filter(kind="citizen.oidc_refused").delete()

    again = client.get(callback)  # the state was used: the session no longer holds it
    assert_refused(again, client, "state_mismatch", ANNA)


def test_a_state_the_session_did_not_issue_is_refused(
    oidc: Any, provider: LocalProvider, client: Client
) -> None:
    callback = start(client, provider, person(ANNA))
    parts = urlsplit(callback)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    forged = client.get(parts.path, {"code": query["code"], "state": "forged-state"})
    page = assert_refused(forged, client, "state_mismatch", ANNA)
    assert "expired or was already used" in page
    assert provider.token_requests == []  # the code never reached the token endpoint


def test_a_state_from_another_browser_is_refused(
    oidc: Any, provider: LocalProvider, client: Client
) -> None:
    """Login CSRF: a callback started in the attacker's browser, opened in the victim's."""
    callback = start(Client(), provider, person(BEN, sub="attacker"))
    client.get("/accounts/login/")
    client.get("/oidc/authenticate/")  # the victim's session holds a state of its own
    response = client.get(callback)
    assert_refused(response, client, "state_mismatch", BEN)


def test_a_cancelled_sign_in_at_the_provider_is_refused(
    oidc: Any, provider: LocalProvider, client: Client
) -> None:
    client.get("/oidc/authenticate/")
    response = client.get("/oidc/callback/", {"error": "access_denied", "state": "x"})
    assert_refused(response, client, "provider_error")


def test_an_identity_of_an_official_cannot_be_opened_with_the_national_identity(
    oidc: Any, provider: LocalProvider, client: Client, make_member: Any
) -> None:
    official = make_member("handler")
    CitizenIdentity.objects.create(
        user=official, subject=subject_for(ANNA), sealed_number=seal(ANNA), source="admin"
    )
    response = sign_in(client, provider, person(ANNA))
    page = assert_refused(response, client, "account_not_citizen", ANNA)
    assert "second factor" in page


def test_an_identity_of_a_closed_account_cannot_be_opened(
    oidc: Any, provider: LocalProvider, client: Client
) -> None:
    sign_in(client, provider, person(ANNA))
    user = signed_in_user(client)
    client.logout()
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    response = sign_in(client, provider, person(ANNA))
    assert_refused(response, client, "account_inactive", ANNA)


def test_a_provider_that_does_not_answer_is_a_clear_refusal(
    oidc: Any, provider: LocalProvider, client: Client, settings: Any
) -> None:
    callback = start(client, provider, person(ANNA))
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{provider.issuer}/nowhere"
    response = client.get(callback)
    page = assert_refused(response, client, "unavailable", ANNA)
    assert "not possible just now" in page


def test_a_locked_address_cannot_sign_in_with_the_national_identity(
    oidc: Any, provider: LocalProvider, client: Client, settings: Any
) -> None:
    settings.DATALUX_LOGIN_ADDRESS_FAILURE_LIMIT = 2
    for _ in range(2):
        client.post("/accounts/login/", {"username": "nobody", "password": "wrong-password"})
    response = sign_in(client, provider, person(ANNA))
    assert response.status_code == 429
    assert signed_in_user(client) is None
    assert not CitizenIdentity.objects.exists()


# -- on and off ---------------------------------------------------------------------------------


def test_off_unless_configured(client: Client) -> None:
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/", {"code": "c", "state": "s"}).status_code == 404
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with your national identity" not in page


def test_the_sign_in_page_offers_the_national_identity_when_configured(
    oidc: Any, client: Client
) -> None:
    page = client.get("/accounts/login/?next=/me/").content.decode()
    assert "Sign in with your national identity" in page
    assert 'href="/oidc/authenticate/?next=/me/"' in page or "next=%2Fme%2F" in page
