"""Sign-in with argon2 hashes, API tokens hashed at rest and shown once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from datalux.accounts.actions import create_api_token
from datalux.accounts.models import ApiToken, hash_token_secret
from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_login_uses_argon2_and_is_audited(client: Any, make_member: Any) -> None:
    user = make_member("steward", username="stella")
    user.set_password("a long passphrase 2030")
    user.save()
    assert user.password.startswith("argon2$")
    bad = client.post(reverse("accounts:login"), {"username": "stella", "password": "wrong"})
    assert bad.status_code == 200 and b"did not match" in bad.content
    ok = client.post(
        reverse("accounts:login"), {"username": "stella", "password": "a long passphrase 2030"}
    )
    assert ok.status_code == 302
    kinds = list(AuditEvent.objects.values_list("kind", flat=True))
    assert EventKind.USER_LOGIN_FAILED in kinds and EventKind.USER_LOGGED_IN in kinds
    failed = AuditEvent.objects.get(kind=EventKind.USER_LOGIN_FAILED)
    assert "wrong" not in failed.details_json  # the password tried is never recorded
    client.post(reverse("accounts:logout"))
    assert AuditEvent.objects.filter(kind=EventKind.USER_LOGGED_OUT).exists()


def test_token_is_shown_once_and_stored_hashed(client: Any, make_member: Any) -> None:
    user = make_member("steward")
    client.force_login(user)
    response = client.post(reverse("accounts:tokens"), {"name": "upload script"})
    assert response.status_code == 200
    secret = response.context["new_secret"]
    assert secret.startswith("dlx_")
    token = ApiToken.objects.get(user=user)
    assert secret not in token.secret_hash
    assert token.secret_hash == hash_token_secret(secret.split("_", 2)[2])
    again = client.get(reverse("accounts:tokens"))
    assert secret.encode() not in again.content


def test_bearer_token_authenticates_and_revocation_cuts_it(client: Any, make_member: Any) -> None:
    user = make_member("steward")
    token, secret = create_api_token(user=user, name="ci", scope="write")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    me = client.get("/api/v1/me", **auth)
    assert me.status_code == 200
    assert me.json()["username"] == user.username
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}x").status_code == 401
    revoke = client.delete(f"/api/v1/tokens/{token.key_id}", **auth)
    assert revoke.status_code == 200 and revoke.json()["revoked_at"]
    assert client.get("/api/v1/me", **auth).status_code == 401


def test_expired_token_is_refused(client: Any, make_member: Any) -> None:
    user = make_member("steward")
    token, secret = create_api_token(
        user=user, name="short", expires_at=timezone.now() + timedelta(hours=1)
    )
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401


def test_api_creates_token_and_cannot_touch_others(client: Any, make_member: Any) -> None:
    alice, bob = make_member("steward"), make_member("applicant")
    client.force_login(alice)
    created = client.post("/api/v1/tokens", {"name": "notebook"}, content_type="application/json")
    assert created.status_code == 201
    body = created.json()
    assert body["token"].startswith("dlx_")
    bobs, _ = create_api_token(user=bob, name="bob's")
    assert [t["key_id"] for t in client.get("/api/v1/tokens").json()] == [body["key_id"]]
    refused = client.delete(f"/api/v1/tokens/{bobs.key_id}")
    assert refused.status_code == 404
    bobs.refresh_from_db()
    assert bobs.revoked_at is None


def test_citizens_hold_no_api_tokens(client: Any, make_member: Any) -> None:
    client.force_login(make_member("citizen"))
    response = client.post("/api/v1/tokens", {"name": "x"}, content_type="application/json")
    assert response.status_code == 403


def test_token_needs_a_name(client: Any, make_member: Any) -> None:
    client.force_login(make_member("steward"))
    response = client.post("/api/v1/tokens", {"name": "   "}, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["error"]["details"]["name"]


def test_a_token_cannot_create_tokens(client: Any, make_member: Any) -> None:
    """Issue 10, item 8: a stolen token must not mint others that outlive its revocation."""
    user = make_member("steward")
    _, secret = create_api_token(user=user, name="script", scope="write")
    refused = client.post(
        "/api/v1/tokens", {"name": "another"}, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )  # fmt: skip
    assert refused.status_code == 403 and "sign in" in refused.json()["error"]["message"]
    assert ApiToken.objects.filter(user=user).count() == 1
    denied = AuditEvent.objects.filter(kind=EventKind.ACCESS_DENIED, object_id="/api/v1/tokens")
    assert denied.get().details["reason"] == "token creating a token"
    client.force_login(user)  # signed in: allowed
    made = client.post("/api/v1/tokens", {"name": "another"}, content_type="application/json")
    assert made.status_code == 201


def test_tokens_expire_in_90_days_by_default_and_within_a_year(make_member: Any) -> None:
    user = make_member("steward")
    token, _ = create_api_token(user=user, name="default")
    assert token.expires_at is not None
    days = (token.expires_at - timezone.now()).total_seconds() / 86400
    assert 89.9 < days <= 90
    with pytest.raises(ValidationError, match="at most a year"):
        create_api_token(user=user, name="forever", expires_at=timezone.now() + timedelta(days=400))
    assert ApiToken.objects.filter(user=user).count() == 1


def test_tokens_are_read_only_unless_given_the_write_scope(client: Any, make_member: Any) -> None:
    """Issue 10, item 8: a token has a scope; a read token is refused every write, audited."""
    user = make_member("steward")
    token, secret = create_api_token(user=user, name="dashboard")
    assert token.scope == "read"
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    assert client.get("/api/v1/me", **auth).status_code == 200
    refused = client.delete(f"/api/v1/tokens/{token.key_id}", **auth)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "token_scope"
    assert "read-only" in refused.json()["error"]["message"]
    token.refresh_from_db()
    assert token.revoked_at is None
    denied = AuditEvent.objects.get(kind=EventKind.ACCESS_DENIED, actor=user)
    assert denied.details["key_id"] == token.key_id and denied.details["method"] == "DELETE"
    writer, write_secret = create_api_token(user=user, name="uploader", scope="write")
    done = client.delete(
        f"/api/v1/tokens/{writer.key_id}", HTTP_AUTHORIZATION=f"Bearer {write_secret}"
    )
    assert done.status_code == 200


def test_scope_is_chosen_on_the_page_and_in_the_api(client: Any, make_member: Any) -> None:
    user = make_member("steward")
    client.force_login(user)
    made = client.post(
        "/api/v1/tokens", {"name": "ci", "scope": "write"}, content_type="application/json"
    )
    assert made.status_code == 201 and made.json()["scope"] == "write"
    wrong = client.post(
        "/api/v1/tokens", {"name": "ci", "scope": "admin"}, content_type="application/json"
    )
    assert wrong.status_code == 422
    page = client.post(reverse("accounts:tokens"), {"name": "notebook", "scope": "read"})
    assert page.status_code == 200
    assert ApiToken.objects.get(user=user, name="notebook").scope == "read"
    assert (
        AuditEvent.objects.filter(kind=EventKind.API_TOKEN_CREATED).last().details["scope"]
        == "read"
    )
    with pytest.raises(ValidationError, match="scope"):
        create_api_token(user=user, name="x", scope="admin")


def test_last_use_is_recorded_and_a_deactivated_user_tokens_stop(
    client: Any, make_member: Any
) -> None:
    """Revoking a person's access revokes their tokens' power: tokens of an inactive user fail.
    (Tokens cannot create tokens, so no token outlives the one revoked.)"""
    user = make_member("steward")
    token, secret = create_api_token(user=user, name="ci")
    assert token.last_used_at is None
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401
