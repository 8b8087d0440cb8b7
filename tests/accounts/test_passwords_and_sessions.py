"""Issue 10, item 7: argon2 at a bounded memory cost (old hashes still verify and are upgraded),
passwords of at least 12 characters that are not common, sessions that end when idle, and
the sign-in settings' defaults."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.contrib import admin
from django.contrib.auth.hashers import check_password, identify_hasher, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from django.urls import reverse

from datalux import settings as project_settings
from datalux.accounts.hashers import DataluxArgon2PasswordHasher
from datalux.accounts.models import User
from datalux.core.config import load
from datalux.core.env import Env, SettingsError
from datalux.demo.seed import DEMO_PASSWORD
from tests.hashers import FastArgon2PasswordHasher

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DATALUX_MODE": "production",
    "DATALUX_BASE_URI": "https://data.example.lu",
    "DATALUX_SECRET_KEY": "k" * 50,
    "DATALUX_ALLOWED_HOSTS": "data.example.lu",
    "DATABASE_URL": "postgresql://u:p@db:5432/datalux",
}
PROJECT_HASHERS = project_settings.PASSWORD_HASHERS


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(datetime(2030, 3, 4, 9, 0, tzinfo=UTC), tick=False) as traveller:
        yield traveller


def test_the_project_hashes_with_argon2id_at_19_mib(settings: Any) -> None:
    settings.PASSWORD_HASHERS = PROJECT_HASHERS  # the suite's own hasher is a faster one
    assert PROJECT_HASHERS[0] == "datalux.accounts.hashers.DataluxArgon2PasswordHasher"
    encoded = make_password("orbit-lantern-fjord-92")
    assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    params = DataluxArgon2PasswordHasher().decode(encoded)
    assert (params["memory_cost"], params["time_cost"], params["parallelism"]) == (19456, 2, 1)


class _OlderArgon2(FastArgon2PasswordHasher):
    """Another argon2 parameter set, standing for hashes made before (e.g. Django's 100 MiB)."""

    memory_cost = 2048
    parallelism = 2


def test_an_older_argon2_hash_signs_in_and_is_upgraded(
    client: Any, make_member: Any, settings: Any
) -> None:
    settings.PASSWORD_HASHERS = PROJECT_HASHERS
    user = make_member("steward", username="stella")
    user.password = _OlderArgon2().encode("orbit-lantern-fjord-92", _OlderArgon2().salt())
    user.save()
    assert check_password("orbit-lantern-fjord-92", user.password)
    response = client.post(
        reverse("accounts:login"), {"username": "stella", "password": "orbit-lantern-fjord-92"}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert isinstance(identify_hasher(user.password), DataluxArgon2PasswordHasher)


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Xk2#vq9!mZ4", "at least 12 characters"),  # 11 characters
        ("q1w2e3r4t5y6", "too common"),  # 12 characters, on the list of common passwords
        ("password1234", "too common"),
    ],
)
def test_weak_passwords_are_refused(password: str, problem: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        validate_password(password)
    assert problem in " ".join(excinfo.value.messages)


def test_long_uncommon_passwords_and_the_demo_password_pass() -> None:
    validate_password("orbit-lantern-fjord-92")
    validate_password(DEMO_PASSWORD)  # demo users' password (17 characters) meets the policy


def test_the_admin_applies_the_policy_to_new_users(make_member: Any) -> None:
    request = RequestFactory().get("/admin/accounts/user/add/")
    request.user = make_member("platform_admin", is_staff=True, is_superuser=True)
    form_class = admin.site._registry[User].get_form(request, obj=None)
    form = form_class(
        data={"username": "newuser", "password1": "short-pw-1", "password2": "short-pw-1"}
    )
    assert not form.is_valid()
    assert "at least 12 characters" in " ".join(form.errors["password2"])


def test_a_session_ends_after_the_idle_time(
    client: Any, make_member: Any, settings: Any, clock: Any
) -> None:
    settings.SESSION_COOKIE_AGE = 30 * 60
    client.force_login(make_member("steward"))
    tokens = reverse("accounts:tokens")
    assert client.get(tokens).status_code == 200
    for _ in range(3):  # active every 20 minutes: 60 minutes and still signed in
        clock.shift(timedelta(minutes=20))
        assert client.get(tokens).status_code == 200
    clock.shift(timedelta(minutes=31))  # idle longer than 30 minutes: signed out
    idle = client.get(tokens)
    assert idle.status_code == 302 and idle["Location"].startswith("/accounts/login/")


def test_an_active_session_is_saved_at_most_once_a_minute(
    client: Any, make_member: Any, clock: Any
) -> None:
    from django.contrib.sessions.models import Session

    client.force_login(make_member("steward"))
    tokens = reverse("accounts:tokens")
    client.get(tokens)
    first = Session.objects.get().expire_date
    clock.shift(timedelta(seconds=30))
    client.get(tokens)
    assert Session.objects.get().expire_date == first  # not written again
    clock.shift(timedelta(seconds=31))
    client.get(tokens)
    assert Session.objects.get().expire_date == first + timedelta(seconds=61)


def test_sign_in_settings_defaults_in_development_and_production() -> None:
    development = load(Env({}), ROOT)
    assert development.session_idle_minutes == 8 * 60 and not development.require_2fa
    assert (development.login_failure_limit, development.login_address_failure_limit) == (5, 30)
    assert development.login_lockout_minutes == 15
    assert load(Env({"DATALUX_REQUIRE_2FA": "1"}), ROOT).require_2fa
    production = load(Env(PRODUCTION), ROOT)
    assert production.session_idle_minutes == 30 and production.require_2fa
    assert (
        load(Env({**PRODUCTION, "DATALUX_SESSION_IDLE_MINUTES": "15"}), ROOT).session_idle_minutes
        == 15
    )
    with pytest.raises(SettingsError) as excinfo:
        load(Env({**PRODUCTION, "DATALUX_REQUIRE_2FA": "0"}), ROOT)
    assert excinfo.value.name == "DATALUX_REQUIRE_2FA" and "unset" in excinfo.value.hint
    with pytest.raises(SettingsError):
        load(Env({"DATALUX_LOGIN_FAILURE_LIMIT": "0"}), ROOT)


def test_the_settings_follow_the_configuration() -> None:
    config = project_settings.CONFIG
    assert project_settings.SESSION_COOKIE_AGE == config.session_idle_minutes * 60
    assert project_settings.AXES_FAILURE_LIMIT == config.login_failure_limit
    assert project_settings.AXES_COOLOFF_TIME == timedelta(minutes=config.login_lockout_minutes)
    assert project_settings.AXES_LOCKOUT_PARAMETERS == ["username", "ip_address"]
    assert project_settings.DATALUX_REQUIRE_2FA == config.require_2fa
