"""Linking an account to a person: checked, pseudonymised, sealed, audited without the number."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from datalux.accounts.permissions import has_permission
from datalux.accounts.roles import Permission
from datalux.audit.models import AuditEvent
from datalux.citizens import identity
from datalux.citizens.actions_identity import IdentityConflict, link_identity
from datalux.citizens.models import CitizenIdentity
from datalux.privacy import InvalidNationalId
from tests.citizens.own_pages import ANNA, MARC, ttp_key
from tests.factories.accounts import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ttp_key")]
__all__ = ["ttp_key"]


def test_linking_keeps_the_pseudonym_and_the_sealed_number_and_grants_the_role() -> None:
    user = UserFactory()
    linked = link_identity(user=user, national_number=f" {ANNA} ", source="demo")
    assert linked.subject == identity.subject_for(ANNA)
    assert identity.unseal(linked.sealed_number) == ANNA
    assert ANNA not in linked.sealed_number
    assert has_permission(user, Permission.VIEW_OWN_DATA)
    event = AuditEvent.objects.get(kind="citizen.identity_linked")
    assert event.object_id == str(linked.pk)
    for event in AuditEvent.objects.all():
        assert ANNA not in f"{event.details_json} {event.object_id} {event.actor_label}"
    again = link_identity(user=user, national_number=ANNA, source="demo")  # safe to repeat
    assert again.pk == linked.pk and CitizenIdentity.objects.count() == 1
    assert AuditEvent.objects.filter(kind="citizen.identity_linked").count() == 1


def test_an_invalid_number_is_refused_without_echoing_it() -> None:
    bad = ANNA[:-1] + str((int(ANNA[-1]) + 1) % 10)
    with pytest.raises(InvalidNationalId) as refused:
        link_identity(user=UserFactory(), national_number=bad, source="demo")
    assert bad not in str(refused.value)
    assert not CitizenIdentity.objects.exists()


def test_one_account_per_person_and_one_person_per_account() -> None:
    first, second = UserFactory(), UserFactory()
    link_identity(user=first, national_number=ANNA, source="demo")
    with pytest.raises(IdentityConflict):
        link_identity(user=second, national_number=ANNA, source="demo")
    with pytest.raises(IdentityConflict):
        link_identity(user=first, national_number=MARC, source="demo")
    assert CitizenIdentity.objects.count() == 1


def test_only_an_operator_may_link_another_account(make_member: Any) -> None:
    with pytest.raises(PermissionDenied):
        link_identity(
            user=UserFactory(), national_number=ANNA, source="admin", by=make_member("handler")
        )
    admin = make_member("platform_admin")
    linked = link_identity(user=UserFactory(), national_number=MARC, source="admin", by=admin)
    assert linked.source == "admin"
