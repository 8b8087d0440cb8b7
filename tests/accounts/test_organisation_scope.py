"""Organisation-scoped roles see their own organisation's objects only."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from datalux.accounts.models import Membership
from datalux.accounts.permissions import has_permission
from datalux.accounts.roles import OrganisationKind, Permission
from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.audit.models import AuditEvent
from datalux.holdings.models import DataFile
from tests.factories.accounts import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db


def _file(org: Any, table: str) -> DataFile:
    return DataFile.objects.create(
        organisation=org,
        table=table,
        title=table,
        relative_path=f"{table}.parquet",
        rows=1,
        sha256="0" * 64,
        size_bytes=1,
    )


def test_steward_sees_only_own_holder_files(make_member: Any) -> None:
    org_a, org_b = OrganisationFactory(), OrganisationFactory()
    file_a, file_b = _file(org_a, "a"), _file(org_b, "b")
    steward = make_member("steward", organisation=org_a)
    visible = DataFile.objects.restrict(steward, Permission.VIEW_HOLDINGS)
    assert list(visible) == [file_a]
    assert has_permission(steward, Permission.MANAGE_HOLDINGS, file_a)
    assert not has_permission(steward, Permission.MANAGE_HOLDINGS, file_b)
    ttp = make_member("ttp_operator")
    assert set(DataFile.objects.restrict(ttp, Permission.VIEW_HOLDINGS)) == {file_a, file_b}
    applicant = make_member("applicant")
    assert not DataFile.objects.restrict(applicant, Permission.VIEW_HOLDINGS).exists()


def test_steward_sees_only_own_organisation_audit_events(make_member: Any) -> None:
    org_a, org_b = OrganisationFactory(), OrganisationFactory()
    mine = record(EventKind.DATAFILE_REGISTERED, organisation=org_a)
    record(EventKind.DATAFILE_REGISTERED, organisation=org_b)
    steward = make_member("steward", organisation=org_a)
    assert list(AuditEvent.objects.restrict(steward)) == [mine]
    admin = make_member("platform_admin")
    assert AuditEvent.objects.restrict(admin).count() == 2


def test_inactive_membership_and_inactive_user_grant_nothing(make_member: Any) -> None:
    steward = make_member("steward")
    Membership.objects.filter(user=steward).update(active=False)
    steward.refresh_from_db()
    assert not has_permission(steward, Permission.MANAGE_HOLDINGS)
    other = make_member("decider")
    other.is_active = False
    assert not has_permission(other, Permission.DECIDE_APPLICATIONS)


@pytest.mark.parametrize(
    ("role", "kind", "message"),
    [
        ("steward", OrganisationKind.APPLICANT, "can only be held in"),
        ("decider", OrganisationKind.DATA_HOLDER, "can only be held in"),
        ("citizen", OrganisationKind.DATA_HOLDER, "without an organisation"),
    ],
)
def test_roles_only_in_organisations_of_the_right_kind(role: str, kind: str, message: str) -> None:
    membership = Membership(
        user=UserFactory(), organisation=OrganisationFactory(kind=kind), role=role
    )
    with pytest.raises(ValidationError, match=message):
        membership.full_clean()


def test_reviewer_decides_nothing(make_member: Any) -> None:
    reviewer = make_member("reviewer")
    assert has_permission(reviewer, Permission.REVIEW_APPLICATIONS)
    assert not has_permission(reviewer, Permission.DECIDE_APPLICATIONS)


def test_steward_may_act_for_own_organisation_only(make_member: Any) -> None:
    org_a, org_b = OrganisationFactory(), OrganisationFactory()
    steward = make_member("steward", organisation=org_a)
    assert has_permission(steward, Permission.MANAGE_HOLDINGS, org_a)
    assert not has_permission(steward, Permission.MANAGE_HOLDINGS, org_b)
