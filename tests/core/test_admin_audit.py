"""Every change through the Django admin writes ``admin.changed`` in the same transaction, with
old and new values of the fields changed; secrets never appear (issue 10, item 1)."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.utils import timezone

from datalux.accounts.actions import create_api_token
from datalux.accounts.models import Membership, Organisation, User
from datalux.accounts.roles import OrganisationKind
from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent
from datalux.core.admin_audit import AuditedModelAdmin
from tests.factories.accounts import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db


class _Form(HTMLParser):
    """The values a browser would submit from the page's main form (admin change forms)."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None
        self._text = ""

    def _add(self, name: str, value: str) -> None:
        self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self._add(name, a.get("value", "on" if a.get("type") == "checkbox" else ""))
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self._add(self._select, a.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            self._add(self._textarea, self._text.lstrip("\n"))
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self._text += data


def form_data(client: Any, url: str) -> dict[str, Any]:
    response = client.get(url)
    assert response.status_code == 200, url
    parser = _Form()
    parser.feed(response.content.decode())
    return {k: v if len(v) > 1 else v[0] for k, v in parser.data.items()}


def admin_events(model: str = "") -> list[AuditEvent]:
    events = AuditEvent.objects.filter(kind=EventKind.ADMIN_CHANGED).order_by("seq")
    return list(events.filter(object_type=model) if model else events)


def organisation(**fields: Any) -> Organisation:
    """An organisation as the admin form shows it (times to the second: a save through the
    form would otherwise really change the stored microseconds)."""
    return OrganisationFactory(created_at=timezone.now().replace(microsecond=0), **fields)


def every_detail() -> str:
    return " ".join(AuditEvent.objects.values_list("details_json", flat=True))


@pytest.fixture
def operator(client: Any) -> User:
    user = User.objects.create_superuser("operator", "ops@example.lu", "not-used-here")
    client.force_login(user)
    return user


def test_every_registered_admin_is_audited() -> None:
    assert admin.site._registry, "the admin has models"
    plain = [
        m._meta.label
        for m, a in admin.site._registry.items()
        if not isinstance(a, AuditedModelAdmin)
    ]
    assert plain == []
    assert isinstance(admin.site._registry[Group], AuditedModelAdmin)  # a third-party admin


def test_granting_a_decider_role_in_the_admin_is_audited(client: Any, operator: User) -> None:
    authority = OrganisationFactory(kind=OrganisationKind.DATA_AUTHORITY)
    target = UserFactory(
        email="person@example.lu", date_joined=timezone.now().replace(microsecond=0)
    )
    url = f"/admin/accounts/user/{target.pk}/change/"
    data = form_data(client, url)
    data.update(
        {
            "memberships-TOTAL_FORMS": "1",
            "memberships-0-organisation": str(authority.pk),
            "memberships-0-role": "decider",
            "memberships-0-active": "on",
            "memberships-0-user": str(target.pk),
        }
    )
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    membership = Membership.objects.get(user=target, role="decider")

    (event,) = admin_events("accounts.membership")
    assert event.actor_id == operator.pk
    assert event.organisation_id == authority.pk
    assert (event.object_type, event.object_id) == ("accounts.membership", str(membership.pk))
    details = event.details
    assert details["via"] == "admin" and details["action"] == "add"
    assert details["model"] == "accounts.membership"
    assert details["parent"] == f"accounts.user:{target.pk}"
    assert {"field": "role", "new": "decider"} in details["changes"]
    assert {"field": "organisation", "new": authority.pk} in details["changes"]

    # Revoking it by deleting the inline row is recorded with its old values.
    data = form_data(client, url)
    data["memberships-0-DELETE"] = "on"
    assert client.post(url, data).status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
    deleted = admin_events("accounts.membership")[-1]
    assert deleted.details["action"] == "delete"
    assert deleted.object_id == str(membership.pk)
    assert {"field": "role", "old": "decider"} in deleted.details["changes"]


def test_editing_an_organisation_records_old_and_new_values(client: Any, operator: User) -> None:
    org = organisation(name="Old name", kind=OrganisationKind.DATA_HOLDER)
    url = f"/admin/accounts/organisation/{org.pk}/change/"
    data = form_data(client, url)
    data.update({"name": "New name", "sector": "private"})
    assert client.post(url, data).status_code == 302
    (event,) = admin_events()
    assert event.details["action"] == "change"
    assert event.organisation_id == org.pk
    changes = event.details["changes"]
    assert {"field": "name", "old": "Old name", "new": "New name"} in changes
    assert {"field": "sector", "old": "public", "new": "private"} in changes
    assert not any(c["field"] == "kind" for c in changes)  # unchanged fields are not listed


def test_an_unchanged_save_writes_nothing(client: Any, operator: User) -> None:
    org = organisation()
    url = f"/admin/accounts/organisation/{org.pk}/change/"
    assert client.post(url, form_data(client, url)).status_code == 302
    assert admin_events() == []


def test_deleting_an_organisation_is_audited(client: Any, operator: User) -> None:
    org = OrganisationFactory(name="Gone Ltd", kind=OrganisationKind.APPLICANT)
    pk = org.pk
    response = client.post(f"/admin/accounts/organisation/{pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Organisation.objects.filter(pk=pk).exists()
    (event,) = admin_events()
    assert (event.object_type, event.object_id) == ("accounts.organisation", str(pk))
    assert event.organisation_id is None  # the audit table must not name a deleted organisation
    assert event.details["action"] == "delete"
    assert {"field": "name", "old": "Gone Ltd"} in event.details["changes"]
    assert {"field": "kind", "old": "applicant"} in event.details["changes"]


def test_delete_selected_records_each_object(client: Any, operator: User) -> None:
    orgs = [OrganisationFactory(), OrganisationFactory()]
    response = client.post(
        "/admin/accounts/organisation/",
        {"action": "delete_selected", "_selected_action": [o.pk for o in orgs], "post": "yes"},
    )
    assert response.status_code == 302
    assert not Organisation.objects.filter(pk__in=[o.pk for o in orgs]).exists()
    events = admin_events()
    assert sorted(e.object_id for e in events) == sorted(str(o.pk) for o in orgs)
    assert {e.details["action"] for e in events} == {"delete"}


def test_a_bulk_action_records_what_it_changed(
    client: Any, operator: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    def make_private(modeladmin: Any, request: Any, queryset: Any) -> None:
        queryset.update(sector="private")

    model_admin = admin.site._registry[Organisation]
    monkeypatch.setattr(model_admin, "actions", [make_private])
    org = OrganisationFactory(sector="public")
    response = client.post(
        "/admin/accounts/organisation/",
        {"action": "make_private", "_selected_action": [org.pk]},
    )
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.sector == "private"
    (event,) = admin_events()
    assert event.details["bulk_action"] == "make_private"
    assert event.details["changes"] == [{"field": "sector", "old": "public", "new": "private"}]


def test_the_event_is_written_in_the_transaction_of_the_change(
    client: Any, operator: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the event cannot be written, the change is rolled back with it."""
    org = organisation(name="Stays")
    url = f"/admin/accounts/organisation/{org.pk}/change/"
    data = form_data(client, url)
    data["name"] = "Should not stick"

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr("datalux.core.admin_audit.record", broken)
    with pytest.raises(RuntimeError):
        client.post(url, data)
    org.refresh_from_db()
    assert org.name == "Stays"


def test_an_api_token_cannot_be_unrevoked_or_widened_in_the_admin(
    client: Any, operator: User, make_member: Any
) -> None:
    owner = make_member("steward")
    token, _full = create_api_token(user=owner, name="ci")
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    url = f"/admin/accounts/apitoken/{token.pk}/change/"
    response = client.post(
        url,
        {"name": "ci", "user": owner.pk, "revoked_at_0": "", "revoked_at_1": "", "scope": "write"},
    )
    assert response.status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is not None and token.scope == "read"
    assert client.get("/admin/accounts/apitoken/add/").status_code == 403
    assert (
        client.post(f"/admin/accounts/apitoken/{token.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    page = client.get(url).content.decode()
    assert token.secret_hash not in page


def test_revoking_api_tokens_in_the_admin_is_audited(
    client: Any, operator: User, make_member: Any
) -> None:
    owner = make_member("steward")
    token, _full = create_api_token(
        user=owner, name="laptop", expires_at=timezone.now() + timedelta(days=5)
    )
    response = client.post(
        "/admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    event = AuditEvent.objects.filter(kind=EventKind.API_TOKEN_REVOKED).get()
    assert event.actor_id == operator.pk
    assert event.details == {"key_id": token.key_id, "user_id": owner.pk, "via": "admin"}
    assert admin_events() == []  # one typed event, not two
    assert token.secret_hash not in every_detail()


def test_secrets_never_appear_in_admin_events(client: Any, operator: User) -> None:
    """Adding a user and changing their password: the events say the password changed, never
    its value or hash; the user's e-mail address is not copied into the chain either."""
    response = client.post(
        "/admin/accounts/user/add/",
        {
            "username": "newcomer",
            "password1": "A-long-Passphrase-42!",
            "password2": "A-long-Passphrase-42!",
            "usable_password": "true",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    user = User.objects.get(username="newcomer")
    added = admin_events()[-1]
    assert added.details["action"] == "add" and added.object_id == str(user.pk)
    assert {"field": "password", "changed": True} in added.details["changes"]
    assert {"field": "username", "new": "newcomer"} in added.details["changes"]

    url = f"/admin/accounts/user/{user.pk}/change/"
    data = form_data(client, url)
    data["email"] = "private.person@example.lu"
    assert client.post(url, data).status_code == 302
    assert {"field": "email", "changed": True} in admin_events()[-1].details["changes"]

    response = client.post(
        f"/admin/accounts/user/{user.pk}/password/",
        {
            "password1": "Another-Passphrase-43?",
            "password2": "Another-Passphrase-43?",
            "set_usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    changed = admin_events()[-1]
    assert changed.details["changes"] == [{"field": "password", "changed": True}]

    user.refresh_from_db()
    details = every_detail()
    for secret in (
        "A-long-Passphrase-42!",
        "Another-Passphrase-43?",
        user.password,
        "private.person",
    ):
        assert secret not in details
    assert "argon2" not in details and "pbkdf2" not in details


def test_many_to_many_changes_are_recorded(client: Any, operator: User) -> None:
    """Django groups and permissions (a third-party admin, wrapped when the apps start)."""
    from django.contrib.auth.models import Permission

    perm = Permission.objects.get(codename="change_organisation")
    response = client.post(
        "/admin/auth/group/add/", {"name": "operators", "permissions": [perm.pk]}
    )
    assert response.status_code == 302
    group = Group.objects.get(name="operators")
    (event,) = admin_events("auth.group")
    assert event.details["action"] == "add" and event.object_id == str(group.pk)
    assert {"field": "permissions", "new": [perm.pk]} in event.details["changes"]

    target = UserFactory(date_joined=timezone.now().replace(microsecond=0))
    url = f"/admin/accounts/user/{target.pk}/change/"
    data = form_data(client, url)
    data.update({"groups": [str(group.pk)], "is_staff": "on"})
    assert client.post(url, data).status_code == 302
    (event,) = admin_events("accounts.user")
    changes = event.details["changes"]
    assert {"field": "groups", "old": [], "new": [group.pk]} in changes
    assert {"field": "is_staff", "old": False, "new": True} in changes


def test_which_fields_are_secret() -> None:
    from datalux.accounts.models import ApiToken
    from datalux.catalogue.models import Dataset
    from datalux.core.admin_audit import is_secret

    def secret(model: Any, name: str) -> bool:
        return is_secret(model, model._meta.get_field(name))

    assert secret(User, "password") and secret(ApiToken, "secret_hash")
    assert not secret(User, "username") and not secret(Dataset, "keywords")
    for model, _admin in admin.site._registry.items():
        for field in model._meta.concrete_fields:  # every key of a registered model (TOTP...)
            if field.name == "key" or field.name.endswith("_key"):
                assert is_secret(model, field), (model, field.name)
