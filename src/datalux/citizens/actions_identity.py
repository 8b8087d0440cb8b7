"""Linking an account to the person it is (a :class:`~datalux.citizens.models.CitizenIdentity`).

One account per person, one person per account. The national number is checked, kept only
as the keyed pseudonym (``subject``, for look-ups) and sealed under the trusted third party's
key; the audit event names the identity and the account, never the number.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from datalux.accounts.actions import grant_role
from datalux.accounts.permissions import has_permission
from datalux.accounts.roles import Permission
from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.citizens import identity
from datalux.citizens.models import CitizenIdentity, IdentitySource

__all__ = ["IdentityConflict", "link_identity"]


class IdentityConflict(ValueError):
    """The account or the person is linked already (to another person, another account)."""


def link_identity(
    *, user: Any, national_number: str, source: IdentitySource | str, by: Any = None
) -> CitizenIdentity:
    """Link ``user`` to the person with ``national_number``; give them the citizen role.

    ``by=None`` is the system (the demo seed, the identity provider's sign-in); an operator
    needs the permission to manage accounts. Safe to repeat: linking the same account to the
    same person again returns the identity as it is (its ``last_verified_at`` refreshed).
    Raises :class:`datalux.privacy.InvalidNationalId` (its message says which check failed,
    never the value) and :class:`IdentityConflict`.
    """
    if by is not None and not has_permission(by, Permission.MANAGE_ORGANISATIONS):
        raise PermissionDenied(
            _("Only an operator of the platform may link an account to a person.")
        )
    source = IdentitySource(source)
    number = identity.checked(national_number)
    subject = identity.subject_for(number)
    with transaction.atomic():
        mine = CitizenIdentity.objects.select_for_update().filter(user=user).first()
        if mine is not None:
            if mine.subject != subject:
                raise IdentityConflict(_("This account is already linked to another person."))
            mine.last_verified_at = timezone.now()
            mine.save(update_fields=["last_verified_at"])
            _grant_citizen(user)
            return mine
        if CitizenIdentity.objects.filter(subject=subject).exists():
            raise IdentityConflict(_("This person is already linked to another account."))
        linked = CitizenIdentity.objects.create(
            user=user,
            subject=subject,
            sealed_number=identity.seal(number),
            source=source,
            last_verified_at=timezone.now(),
        )
        _grant_citizen(user)
        record(
            EventKind.CITIZEN_IDENTITY_LINKED,
            actor=by,
            obj=linked,
            details={"user_id": user.pk, "source": str(source)},
        )
    return linked


def _grant_citizen(user: Any) -> None:
    if not has_permission(user, Permission.VIEW_OWN_DATA):
        grant_role(user=user, role="citizen", organisation=None)
