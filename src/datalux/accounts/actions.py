"""State changes on organisations, memberships and tokens: each writes its audit event."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from datalux.accounts.models import (
    ApiToken,
    Membership,
    Organisation,
    TokenScope,
    User,
    hash_token_secret,
)
from datalux.accounts.permissions import forget_grants, has_permission
from datalux.accounts.roles import OrganisationKind, Permission, get_role
from datalux.audit.kinds import EventKind
from datalux.audit.log import record


def _require(by: Any, perm: Permission, obj: Any = None) -> None:
    """System actions (by=None: CLI, seeding, migrations) are allowed; users need ``perm``."""
    if by is not None and not has_permission(by, perm, obj):
        raise PermissionDenied(
            _("you do not have the permission %(perm)s") % {"perm": repr(perm.value)}
        )


def create_organisation(
    *, name: str, kind: OrganisationKind | str, by: Any = None, **fields: Any
) -> Organisation:
    _require(by, Permission.MANAGE_ORGANISATIONS)
    with transaction.atomic():
        organisation = Organisation(name=name, kind=OrganisationKind(kind), **fields)
        organisation.slug = organisation.slug or slugify(name)[:80]
        organisation.full_clean()
        organisation.save()
        record(
            EventKind.ORGANISATION_CREATED,
            actor=by,
            organisation=organisation,
            obj=organisation,
            details={"kind": organisation.kind},
        )
    return organisation


def grant_role(
    *, user: User, role: str, organisation: Organisation | None, by: Any = None
) -> Membership:
    _require(by, Permission.MANAGE_ORGANISATIONS)
    role_def = get_role(role)
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(
            user=user, organisation=organisation, role=role_def.slug, defaults={"active": True}
        )
        if not created and membership.active:
            return membership
        membership.active = True
        membership.full_clean()
        membership.save()
        record(
            EventKind.ROLE_GRANTED,
            actor=by,
            organisation=organisation,
            obj=membership,
            details={"user_id": user.pk, "role": role_def.slug},
        )
    forget_grants(user)
    return membership


def revoke_role(*, membership: Membership, by: Any = None) -> Membership:
    _require(by, Permission.MANAGE_ORGANISATIONS)
    with transaction.atomic():
        membership.active = False
        membership.save(update_fields=["active"])
        record(
            EventKind.ROLE_REVOKED,
            actor=by,
            organisation=membership.organisation,
            obj=membership,
            details={"user_id": membership.user_id, "role": membership.role},
        )
    forget_grants(membership.user)
    return membership


TOKEN_DEFAULT_DAYS = 90  # a token without an expiry date given expires after this
TOKEN_MAX_DAYS = 366


def create_api_token(
    *, user: User, name: str, expires_at: datetime | None = None, scope: str = TokenScope.READ
) -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns (token, secret string shown once, never stored).
    It expires after ``expires_at`` (default in 90 days, at most a year) and is read-only
    unless ``scope`` is "write"."""
    if not has_permission(user, Permission.USE_API_TOKENS):
        raise PermissionDenied(_("API tokens are for members of an organisation"))
    name = name.strip()
    if not name:
        raise ValidationError(
            {"name": _("give the token a name, e.g. the script that will use it")}
        )
    if scope not in TokenScope.values:
        raise ValidationError(
            {
                "scope": _("the scope must be one of: %(scopes)s")
                % {"scopes": ", ".join(TokenScope.values)}
            }
        )
    now = timezone.now()
    if expires_at is None:
        expires_at = now + timedelta(days=TOKEN_DEFAULT_DAYS)
    if expires_at <= now:
        raise ValidationError({"expires_at": _("the expiry date must be in the future")})
    if expires_at > now + timedelta(days=TOKEN_MAX_DAYS):
        raise ValidationError(
            {"expires_at": _("a token lives at most a year: choose an earlier expiry date")}
        )
    key_id, secret, full = ApiToken.new_material()
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name[:100],
            key_id=key_id,
            secret_hash=hash_token_secret(secret),
            expires_at=expires_at,
            scope=scope,
        )
        record(
            EventKind.API_TOKEN_CREATED,
            actor=user,
            obj=token,
            details={"name": token.name, "key_id": key_id, "scope": scope},
        )
    return token, full


def revoke_api_token(*, token: ApiToken, by: User) -> ApiToken:
    if token.user_id != by.pk:
        raise PermissionDenied(_("you can only revoke your own API tokens"))
    with transaction.atomic():
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            record(
                EventKind.API_TOKEN_REVOKED,
                actor=by,
                obj=token,
                details={"key_id": token.key_id},
            )
    return token


def authenticate_token(raw: str) -> User | None:
    """The active user of a valid, unrevoked, unexpired token, else None (for reads: writes
    go through ``find_token`` so that the token's scope can be checked)."""
    token = find_token(raw)
    return token.user if token is not None else None


def find_token(raw: str) -> ApiToken | None:
    """Return a valid, unrevoked, unexpired token of an active user (its ``user`` loaded),
    else None. Records the last use (at most once a minute)."""
    import hmac

    from datalux.accounts.models import TOKEN_PREFIX

    if not raw.startswith(TOKEN_PREFIX):
        return None
    try:
        key_id, secret = raw[len(TOKEN_PREFIX) :].split("_", 1)
    except ValueError:
        return None
    token = ApiToken.objects.select_related("user").filter(key_id=key_id).first()
    if token is None or not hmac.compare_digest(token.secret_hash, hash_token_secret(secret)):
        return None
    if not token.is_usable or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
