"""The one permission check and the one queryset restriction used everywhere (STYLE.md 6).

``has_permission(user, perm, obj=None)`` answers whether ``user`` may do ``perm`` (on ``obj``).
``Model.objects.restrict(user, perm)`` returns only the rows ``user`` may see for ``perm``.
Both read the user's memberships once per request (cached on the user object).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import models

from datalux.accounts.roles import ROLES, Permission, Role, Scope

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from datalux.accounts.models import User


@dataclass(frozen=True)
class Grant:
    role: Role
    organisation_id: int | None


def grants(user: User | AnonymousUser | None) -> list[Grant]:
    """The (role, organisation) pairs the user holds now; [] for anonymous or inactive users."""
    if user is None or not user.is_authenticated or not user.is_active:
        return []
    cached: list[Grant] | None = getattr(user, "_datalux_grants", None)
    if cached is None:
        from datalux.accounts.models import Membership

        cached = [
            Grant(ROLES[m.role], m.organisation_id)
            for m in Membership.objects.filter(user_id=user.pk, active=True).only(
                "role", "organisation_id"
            )
            if m.role in ROLES
        ]
        user._datalux_grants = cached  # type: ignore[union-attr]
    return cached


def forget_grants(user: Any) -> None:
    if hasattr(user, "_datalux_grants"):
        del user._datalux_grants


def organisation_of(obj: Any) -> int | None:
    """The organisation an object belongs to, by convention ``obj.organisation_id``."""
    if obj is None:
        return None
    if hasattr(obj, "owning_organisation_id"):
        return obj.owning_organisation_id()
    return getattr(obj, "organisation_id", None)


def has_permission(user: Any, perm: Permission, obj: Any = None) -> bool:
    """True when one of the user's roles grants ``perm``, in the organisation of ``obj`` if given.

    Platform-scoped roles act on every organisation's objects; organisation-scoped roles only
    on objects of the organisation where the role is held; self-scoped roles (citizen) only on
    objects that belong to the user (``obj.user_id``).
    """
    for grant in grants(user):
        if perm not in grant.role.permissions:
            continue
        if obj is None or grant.role.scope is Scope.PLATFORM:
            return True
        if grant.role.scope is Scope.ORGANISATION and grant.organisation_id is not None:
            if organisation_of(obj) == grant.organisation_id:
                return True
        if grant.role.scope is Scope.SELF and getattr(obj, "user_id", None) == user.pk:
            return True
    return False


def organisations_with(user: Any, perm: Permission) -> tuple[bool, set[int]]:
    """(platform-wide?, organisation ids) where the user holds ``perm``."""
    platform = False
    orgs: set[int] = set()
    for grant in grants(user):
        if perm in grant.role.permissions:
            if grant.role.scope is Scope.PLATFORM:
                platform = True
            elif grant.organisation_id is not None:
                orgs.add(grant.organisation_id)
    return platform, orgs


class RestrictedQuerySet(models.QuerySet):
    """Querysets of organisation-owned models; ``restrict`` filters to what a user may see.

    Models name the path to their organisation in ``restrict_organisation_field`` (default
    ``organisation``). Models with other rules override ``restrict``.
    """

    def restrict(self, user: Any, perm: Permission) -> RestrictedQuerySet:
        platform, orgs = organisations_with(user, perm)
        if platform:
            return self.all()
        if not orgs:
            return self.none()
        field = getattr(self.model, "restrict_organisation_field", "organisation")
        return self.filter(**{f"{field}__in": orgs})
