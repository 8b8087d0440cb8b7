"""API: who am I, the organisation directory, my API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema
from ninja.responses import Status

from datalux.accounts import actions
from datalux.accounts.models import ApiToken, Organisation
from datalux.accounts.permissions import grants
from datalux.accounts.roles import Permission

router = Router(tags=["accounts"])


class RoleOut(Schema):
    role: str
    title: str
    organisation_id: int | None


class MeOut(Schema):
    username: str
    display_name: str
    roles: list[RoleOut]


class OrganisationOut(Schema):
    id: int
    name: str
    slug: str
    kind: str
    sector: str


class TokenIn(Schema):
    name: str
    expires_at: datetime | None = None
    scope: Literal["read", "write"] = "read"


class TokenOut(Schema):
    key_id: str
    name: str
    created_at: datetime
    expires_at: datetime | None
    scope: str
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewTokenOut(TokenOut):
    token: str  # shown once


def _user(request: HttpRequest):  # type: ignore[no-untyped-def]
    from datalux.core.api import user_of

    return user_of(request)


@router.get("/me", response=MeOut)
def me(request: HttpRequest) -> dict:
    user = _user(request)
    return {
        "username": user.get_username(),
        "display_name": user.display_name,
        "roles": [
            {"role": g.role.slug, "title": str(g.role.title), "organisation_id": g.organisation_id}
            for g in grants(user)
        ],
    }


@router.get("/organisations", response=list[OrganisationOut], auth=None)
def organisations(request: HttpRequest):  # type: ignore[no-untyped-def]
    return Organisation.objects.restrict(request.user, Permission.VIEW_HOLDINGS)


@router.get("/tokens", response=list[TokenOut])
def list_tokens(request: HttpRequest):  # type: ignore[no-untyped-def]
    from datalux.core.api import require

    user = require(request, Permission.USE_API_TOKENS)
    return ApiToken.objects.restrict(user, Permission.USE_API_TOKENS)


@router.post("/tokens", response={201: NewTokenOut})
def create_token(request: HttpRequest, payload: TokenIn):  # type: ignore[no-untyped-def]
    from datalux.audit.kinds import EventKind
    from datalux.audit.log import record
    from datalux.core.api import ApiError, by_token, require

    user = require(request, Permission.USE_API_TOKENS)
    if by_token(request):  # a stolen token must not mint others that outlive its revocation
        record(
            EventKind.ACCESS_DENIED,
            actor=user,
            object_type="api",
            object_id=request.path[:64],
            details={"permission": Permission.USE_API_TOKENS.value, "method": "POST",
                     "reason": "token creating a token"},
        )  # fmt: skip
        raise ApiError(403, "forbidden", "a token cannot create tokens: sign in to create one")
    token, secret = actions.create_api_token(
        user=user, name=payload.name, expires_at=payload.expires_at, scope=payload.scope
    )
    return Status(201, {**TokenOut.from_orm(token).model_dump(), "token": secret})


@router.delete("/tokens/{key_id}", response=TokenOut)
def revoke_token(request: HttpRequest, key_id: str):  # type: ignore[no-untyped-def]
    from datalux.core.api import require

    user = require(request, Permission.USE_API_TOKENS)
    token = get_object_or_404(
        ApiToken.objects.restrict(user, Permission.USE_API_TOKENS), key_id=key_id
    )
    try:
        return actions.revoke_api_token(token=token, by=user)
    except PermissionDenied:  # pragma: no cover - restrict() hides others' tokens
        raise
