"""Issue 10, item 7: an optional TOTP second factor, asked after the password, required of the
authority, output-checker, TTP-operator and admin users in production (DATALUX_REQUIRE_2FA)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from datalux.accounts.actions import create_api_token
from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

PASSWORD = "orbit-lantern-fjord-92"


@pytest.fixture
def clock() -> Iterator[Any]:
    """Frozen time, moved on by hand: a TOTP code is accepted once per 30-second step."""
    with time_machine.travel(datetime(2030, 3, 4, 9, 0, tzinfo=UTC), tick=False) as traveller:
        yield traveller


def code_of(device: TOTPDevice) -> str:
    device.refresh_from_db()
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, drift=device.drift):06d}"


def wrong_code(device: TOTPDevice) -> str:
    return f"{(int(code_of(device)) + 1) % 1_000_000:06d}"


def with_password(make_member: Any, role: str, username: str) -> Any:
    user = make_member(role, username=username)
    user.set_password(PASSWORD)
    user.save()
    return user


def enrolled(user: Any) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="app", confirmed=True)


def kinds() -> list[str]:
    return list(AuditEvent.objects.order_by("seq").values_list("kind", flat=True))


def signed_in(client: Any) -> bool:
    return "_auth_user_id" in client.session


def test_a_user_sets_up_an_authenticator_app(client: Any, make_member: Any, clock: Any) -> None:
    user = make_member("steward")
    client.force_login(user)
    page = client.get(reverse("accounts:second_factor"))
    assert page.status_code == 200 and page["Cache-Control"].startswith("max-age=0")
    html = page.content.decode()
    main = html[html.index("<main") : html.index("</main>")]
    assert '<svg width="' in main and 'class="qr"' in main and "<script" not in main  # no JS
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert " ".join(page.context["secret_groups"]).replace(" ", "") in html.replace(" ", "")
    assert (
        client.get(reverse("accounts:second_factor")).context["secret_groups"]
        == page.context["secret_groups"]
    )  # reloading shows the same secret
    refused = client.post(reverse("accounts:second_factor"), {"code": wrong_code(device)})
    assert refused.status_code == 200 and "not valid" in refused.content.decode()
    failed = AuditEvent.objects.get(kind=EventKind.SECOND_FACTOR_FAILED)
    assert failed.details == {"stage": "set-up", "throttled": False}
    clock.shift(timedelta(seconds=5))  # past django-otp's 1 s back-off after a failure
    done = client.post(reverse("accounts:second_factor"), {"code": code_of(device)})
    assert done.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    event = AuditEvent.objects.get(kind=EventKind.SECOND_FACTOR_ENROLLED)
    assert event.details == {"device": device.pk, "type": "totp"}
    assert device.key not in event.details_json and code_of(device) not in event.details_json
    assert "enrolled" in client.get(reverse("accounts:second_factor")).context


def test_sign_in_asks_the_code_after_the_password(
    client: Any, make_member: Any, clock: Any
) -> None:
    user = with_password(make_member, "steward", "stella")
    device = enrolled(user)
    workspace = reverse("accounts:workspace", args=["steward"])
    first = client.post(
        f"{reverse('accounts:login')}?next={workspace}",
        {"username": "stella", "password": PASSWORD},
    )
    assert first.status_code == 302 and first["Location"] == reverse("accounts:login_verify")
    assert not signed_in(client)  # the password alone signs nobody in
    assert client.get(workspace).status_code == 302
    wrong = client.post(reverse("accounts:login_verify"), {"code": wrong_code(device)})
    assert wrong.status_code == 200 and not signed_in(client)
    failed = AuditEvent.objects.get(kind=EventKind.SECOND_FACTOR_FAILED)
    assert failed.details["stage"] == "sign-in" and failed.object_id == str(user.pk)
    assert not AuditEvent.objects.filter(kind=EventKind.USER_LOGIN_FAILED).exists()
    clock.shift(timedelta(seconds=5))
    ok = client.post(reverse("accounts:login_verify"), {"code": code_of(device)})
    assert ok.status_code == 302 and ok["Location"] == workspace
    assert signed_in(client) and client.get(workspace).status_code == 200
    assert kinds().count(EventKind.USER_LOGGED_IN) == 1
    # the same code cannot be used twice
    client.post(reverse("accounts:logout"))
    client.post(reverse("accounts:login"), {"username": "stella", "password": PASSWORD})
    again = client.post(reverse("accounts:login_verify"), {"code": code_of(device)})
    assert again.status_code == 200 and not signed_in(client)


def test_the_second_step_expires_and_needs_the_password_first(
    client: Any, make_member: Any, clock: Any
) -> None:
    user = with_password(make_member, "steward", "stella")
    device = enrolled(user)
    assert client.get(reverse("accounts:login_verify")).status_code == 302  # no password yet
    client.post(reverse("accounts:login"), {"username": "stella", "password": PASSWORD})
    clock.shift(timedelta(minutes=6))
    late = client.post(reverse("accounts:login_verify"), {"code": code_of(device)})
    assert late.status_code == 302 and late["Location"] == reverse("accounts:login")
    assert not signed_in(client)


def test_wrong_codes_count_towards_the_account_lock(
    client: Any, make_member: Any, settings: Any, clock: Any
) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    user = with_password(make_member, "steward", "stella")
    device = enrolled(user)
    client.post(reverse("accounts:login"), {"username": "stella", "password": PASSWORD})
    answers = []
    for _ in range(3):
        clock.shift(timedelta(seconds=20))  # past django-otp's growing back-off
        answers.append(
            client.post(reverse("accounts:login_verify"), {"code": wrong_code(device)}).status_code
        )
    assert answers == [200, 200, 429]
    clock.shift(timedelta(seconds=60))
    right = client.post(reverse("accounts:login_verify"), {"code": code_of(device)})
    assert right.status_code == 429 and not signed_in(client)  # locked: the code is not tried
    [lock] = AuditEvent.objects.filter(kind=EventKind.USER_LOCKED_OUT)
    assert lock.details["scope"] == ["account"]


def test_a_session_that_skipped_the_second_step_is_signed_out(
    client: Any, make_member: Any
) -> None:
    user = make_member("steward")
    enrolled(user)
    client.force_login(user)  # e.g. a session opened before the device was set up
    response = client.get(reverse("accounts:tokens"))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not signed_in(client)
    client.force_login(user)
    api = client.get("/api/v1/me")
    assert api.status_code == 401 and api.json()["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize(
    "role",
    [
        "assistant",
        "decider",
        "handler",
        "reviewer",
        "output_checker",
        "ttp_operator",
        "platform_admin",
    ],
)
def test_required_roles_must_set_up_a_second_factor(
    client: Any, make_member: Any, settings: Any, role: str, clock: Any
) -> None:
    settings.DATALUX_REQUIRE_2FA = True
    user = make_member(role)
    client.force_login(user)
    workspace = reverse("accounts:workspace", args=[role])
    sent = client.get(workspace)
    assert sent.status_code == 302
    assert (
        sent["Location"]
        == f"{reverse('accounts:second_factor')}?next={workspace.replace('/', '%2F')}"
    )
    page = client.get(sent["Location"])
    assert page.status_code == 200 and "requires a second factor" in page.content.decode()
    api = client.get("/api/v1/me")
    assert api.status_code == 403
    assert api.json() == {
        "error": {
            "code": "second_factor_required",
            "message": "Your role requires a second factor: set it up at "
            "/accounts/second-factor/ first.",
            "details": None,
        }
    }
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    done = client.post(sent["Location"], {"code": code_of(device), "next": workspace})
    assert done.status_code == 302 and done["Location"] == workspace
    assert client.get(workspace).status_code == 200  # verified in this session


def test_other_roles_and_development_need_no_second_factor(
    client: Any, make_member: Any, settings: Any
) -> None:
    settings.DATALUX_REQUIRE_2FA = True
    client.force_login(make_member("steward"))
    assert client.get(reverse("accounts:workspace", args=["steward"])).status_code == 200
    settings.DATALUX_REQUIRE_2FA = False
    client.force_login(make_member("decider"))
    assert client.get(reverse("accounts:workspace", args=["decider"])).status_code == 200


def test_staff_must_set_up_a_second_factor_for_the_admin(
    client: Any, make_member: Any, settings: Any
) -> None:
    settings.DATALUX_REQUIRE_2FA = True
    admin_user = make_member("steward", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:second_factor"))


def test_tokens_of_a_required_role_keep_working(
    client: Any, make_member: Any, settings: Any
) -> None:
    settings.DATALUX_REQUIRE_2FA = True
    user = make_member("decider")
    _, secret = create_api_token(user=user, name="script")
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200


def test_a_user_removes_the_second_factor_with_a_current_code(
    client: Any, make_member: Any, clock: Any
) -> None:
    user = with_password(make_member, "steward", "stella")
    device = enrolled(user)
    client.post(reverse("accounts:login"), {"username": "stella", "password": PASSWORD})
    client.post(reverse("accounts:login_verify"), {"code": code_of(device)})
    assert signed_in(client)
    clock.shift(timedelta(seconds=30))
    refused = client.post(reverse("accounts:second_factor_remove"), {"code": wrong_code(device)})
    assert refused.status_code == 302 and TOTPDevice.objects.filter(user=user).exists()
    assert AuditEvent.objects.get(kind=EventKind.SECOND_FACTOR_FAILED).details["stage"] == "removal"
    clock.shift(timedelta(seconds=30))
    removed = client.post(reverse("accounts:second_factor_remove"), {"code": code_of(device)})
    assert removed.status_code == 302 and not TOTPDevice.objects.filter(user=user).exists()
    event = AuditEvent.objects.get(kind=EventKind.SECOND_FACTOR_REMOVED)
    assert event.details == {"devices": 1} and event.actor_id == user.pk
    assert client.get(reverse("accounts:tokens")).status_code == 200  # still signed in


def test_an_operator_resets_a_lost_second_factor(make_member: Any) -> None:
    user = make_member("decider", username="dora")
    operator = make_member("platform_admin", username="ops")
    enrolled(user)
    with pytest.raises(CommandError, match="--reason"):
        call_command("reset_second_factor", "dora", "--reason", "  ")
    with pytest.raises(CommandError, match="no user 'nobody'"):
        call_command("reset_second_factor", "nobody", "--reason", "x")
    assert TOTPDevice.objects.filter(user=user).exists()
    out = StringIO()
    call_command(
        "reset_second_factor", "dora", "--reason", "lost phone, ID checked at the desk",
        "--by", "ops", stdout=out,
    )  # fmt: skip
    assert "removed 1 second-factor device(s) of dora" in out.getvalue()
    assert not TOTPDevice.objects.filter(user=user).exists()
    event = AuditEvent.objects.get(kind=EventKind.SECOND_FACTOR_RESET)
    assert event.details == {"devices": 1, "reason": "lost phone, ID checked at the desk"}
    assert event.actor_id == operator.pk and event.object_id == str(user.pk)
