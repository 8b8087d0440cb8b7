"""Issue 10, item 7: failed sign-ins lock an account (from any address) and an address (for any
account), for a fixed time, audited; the client address comes from the proxy only behind it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import reverse

from datalux.accounts.actions import create_api_token
from datalux.accounts.throttling import client_ip
from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

PASSWORD = "orbit-lantern-fjord-92"


@pytest.fixture(autouse=True)
def _limits(settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 3  # per account
    settings.DATALUX_LOGIN_ADDRESS_FAILURE_LIMIT = 5  # per address
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(datetime(2030, 3, 4, 9, 0, tzinfo=UTC), tick=False) as traveller:
        yield traveller


@pytest.fixture
def stella(make_member: Any) -> Any:
    user = make_member("steward", username="stella")
    user.set_password(PASSWORD)
    user.save()
    return user


def sign_in(client: Any, username: str, password: str, ip: str = "192.0.2.10", **meta: Any) -> Any:
    return client.post(
        reverse("accounts:login"),
        {"username": username, "password": password},
        REMOTE_ADDR=ip,
        **meta,
    )


def signed_in(client: Any) -> bool:
    return "_auth_user_id" in client.session


def lock_events() -> list[dict[str, Any]]:
    return [e.details for e in AuditEvent.objects.filter(kind=EventKind.USER_LOCKED_OUT)]


def test_an_account_locks_after_its_limit_from_any_address(
    client: Any, stella: Any, make_member: Any
) -> None:
    other = make_member("applicant", username="olga")
    other.set_password(PASSWORD)
    other.save()
    answers = [sign_in(client, "stella", "wrong", ip=f"192.0.2.{i}").status_code for i in (1, 2, 3)]
    assert answers == [200, 200, 429]  # the third failure reaches the limit
    refused = sign_in(client, "stella", PASSWORD, ip="198.51.100.7")  # right password, new address
    assert refused.status_code == 429 and not signed_in(client)
    page = refused.content.decode()
    assert "too many failed sign-ins to this account" in page and "assistance desk" in page
    assert 0 < int(refused["Retry-After"]) <= 15 * 60
    [event] = lock_events()  # one lock, however many attempts are refused during it
    assert event["scope"] == ["account"] and event["username_tried"] == "stella"
    assert event["account_failures"] == 3 and event["ip"] == "192.0.2.3" and event["until"]
    locked = AuditEvent.objects.get(kind=EventKind.USER_LOCKED_OUT)
    assert locked.object_id == str(stella.pk)
    # the refused attempt is audited as a failed sign-in, its password never
    failed = AuditEvent.objects.filter(kind=EventKind.USER_LOGIN_FAILED)
    assert failed.count() == 4 and all(PASSWORD not in e.details_json for e in failed)
    # another account signs in from the same address
    assert sign_in(client, "olga", PASSWORD, ip="192.0.2.3").status_code == 302


def test_an_address_locks_after_its_limit_for_any_account(client: Any, stella: Any) -> None:
    answers = [
        sign_in(client, f"guess{i}", "wrong", ip="203.0.113.9").status_code for i in range(5)
    ]
    assert answers == [200, 200, 200, 200, 429]
    refused = sign_in(client, "stella", PASSWORD, ip="203.0.113.9")
    assert refused.status_code == 429 and not signed_in(client)
    assert "from your network address" in refused.content.decode()
    [event] = lock_events()
    assert event["scope"] == ["address"] and event["address_failures"] == 5
    assert event["ip"] == "203.0.113.9"
    assert sign_in(client, "stella", PASSWORD, ip="203.0.113.10").status_code == 302


def test_the_lock_lasts_the_cool_off_and_is_not_extended_by_attempts(
    client: Any, stella: Any, clock: Any
) -> None:
    for _ in range(3):
        sign_in(client, "stella", "wrong")
    clock.shift(timedelta(minutes=14))
    during = sign_in(client, "stella", "wrong")
    assert during.status_code == 429 and int(during["Retry-After"]) == 60
    clock.shift(timedelta(minutes=1, seconds=1))
    assert sign_in(client, "stella", PASSWORD).status_code == 302
    assert len(lock_events()) == 1


def test_a_wrong_password_page_still_says_so_below_the_limit(client: Any, stella: Any) -> None:
    response = sign_in(client, "stella", "wrong")
    assert response.status_code == 200 and b"did not match" in response.content


def test_behind_the_proxy_the_address_is_the_one_the_proxy_appended(settings: Any) -> None:
    factory = RequestFactory()
    spoofed = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 203.0.113.9"}
    settings.DATALUX_BEHIND_PROXY = False
    assert client_ip(factory.post("/", **spoofed)) == "127.0.0.1"  # the header is not believed
    settings.DATALUX_BEHIND_PROXY = True
    assert client_ip(factory.post("/", **spoofed)) == "203.0.113.9"  # not the client's 6.6.6.6
    assert client_ip(factory.post("/", REMOTE_ADDR="127.0.0.1")) == "127.0.0.1"
    junk = factory.post("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, junk")
    assert client_ip(junk) == "127.0.0.1"


def test_behind_the_proxy_a_forged_header_does_not_escape_the_address_lock(
    client: Any, stella: Any, settings: Any
) -> None:
    settings.DATALUX_BEHIND_PROXY = True
    for i in range(5):
        forged = {"HTTP_X_FORWARDED_FOR": f"10.9.9.{i}, 203.0.113.9"}
        sign_in(client, f"guess{i}", "wrong", ip="127.0.0.1", **forged)
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.9"}
    forged = {"HTTP_X_FORWARDED_FOR": "10.9.9.99, 203.0.113.9"}
    assert sign_in(client, "stella", PASSWORD, ip="127.0.0.1", **forged).status_code == 429
    other = {"HTTP_X_FORWARDED_FOR": "203.0.113.10"}
    assert sign_in(client, "stella", PASSWORD, ip="127.0.0.1", **other).status_code == 302


def test_an_operator_reset_unlocks_and_is_audited(client: Any, stella: Any) -> None:
    for _ in range(3):
        sign_in(client, "stella", "wrong")
    assert sign_in(client, "stella", PASSWORD).status_code == 429
    call_command("axes_reset_username", "stella")
    reset = AuditEvent.objects.get(kind=EventKind.USER_LOCKOUT_RESET)
    assert reset.details["username"] == "stella" and reset.details["attempts_cleared"] == 1
    assert reset.object_id == str(stella.pk)
    assert sign_in(client, "stella", PASSWORD).status_code == 302


def test_the_admin_signs_in_through_the_throttled_sign_in(
    client: Any, stella: Any, make_member: Any
) -> None:
    to_admin = client.get("/admin/login/?next=/admin/accounts/user/")
    assert to_admin.status_code == 302
    assert to_admin["Location"] == "/accounts/login/?next=/admin/accounts/user/"
    # the admin's own form is gone: posting credentials to it signs nobody in
    posted = client.post("/admin/login/", {"username": "stella", "password": PASSWORD})
    assert posted.status_code == 302 and not signed_in(client)
    stella.is_staff = True
    stella.save()
    for _ in range(3):
        sign_in(client, "stella", "wrong")
    assert sign_in(client, "stella", PASSWORD).status_code == 429  # the admin's user too
    # signed in without admin rights: a refusal, not a redirect loop
    client.force_login(make_member("applicant"))
    assert client.get("/admin/login/?next=/admin/").status_code == 403


def test_api_tokens_are_not_throttled_by_sign_in_locks(client: Any, stella: Any) -> None:
    _, secret = create_api_token(user=stella, name="script")
    for _ in range(3):
        sign_in(client, "stella", "wrong")
    assert sign_in(client, "stella", PASSWORD).status_code == 429
    me = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert me.status_code == 200 and me.json()["username"] == "stella"
    before = AccessAttempt.objects.count()
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer dlx_x_y").status_code == 401
    assert AccessAttempt.objects.count() == before  # a bad token is not a password guess
