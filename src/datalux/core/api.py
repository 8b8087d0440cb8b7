"""The JSON API root (OpenAPI at /api/v1/docs) and its one error shape (STYLE.md 8).

Every error is ``{"error": {"code": str, "message": str, "details": ...}}``. Internal failures
answer a fixed message and an id; the traceback goes to the log only.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer, SessionAuth

from datalux.accounts.actions import find_token
from datalux.accounts.models import TokenScope
from datalux.accounts.permissions import has_permission
from datalux.accounts.roles import Permission
from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.core.errors import Conflict

logger = logging.getLogger("datalux.api")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


class TokenAuth(HttpBearer):
    """``Authorization: Bearer dlx_<key id>_<secret>``."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = find_token(token)
        if found is None:
            return None
        request.datalux_token = True  # type: ignore[attr-defined]
        if found.scope != TokenScope.WRITE and request.method not in SAFE_METHODS:
            record(
                EventKind.ACCESS_DENIED,
                actor=found.user,
                object_type="api",
                object_id=request.path[:64],
                details={
                    "method": request.method or "",
                    "reason": "read-only token used to write",
                    "key_id": found.key_id,
                },
            )
            raise ApiError(
                403,
                "token_scope",
                "this token is read-only: create a token with the scope 'write' for changes",
            )
        return found.user


def by_token(request: HttpRequest) -> bool:
    """Whether the caller authenticated with an API token (not a signed-in session)."""
    return bool(getattr(request, "datalux_token", False))


def user_of(request: HttpRequest) -> Any:
    """The authenticated user, whether by session or by token."""
    auth = getattr(request, "auth", None)
    return auth if auth is not None else request.user


def require(request: HttpRequest, perm: Permission, obj: Any = None) -> Any:
    """Return the user if allowed; otherwise audit the refusal and raise a 403 ApiError."""
    user = user_of(request)
    if not has_permission(user, perm, obj):
        record(
            EventKind.ACCESS_DENIED,
            actor=user,
            object_type="api",
            object_id=request.path[:64],
            details={"permission": perm.value, "method": request.method or ""},
        )
        raise ApiError(403, "forbidden", f"you need the permission {perm.value!r} for this")
    return user


api = NinjaAPI(
    title="datalux API",
    version="1",
    description="National data access and reuse platform. Write operations need a token "
    "(Authorization: Bearer dlx_...) created under /accounts/tokens/.",
    auth=[TokenAuth(), SessionAuth()],
    urls_namespace="api",
)


def error_response(
    request: HttpRequest, status: int, code: str, message: str, details: Any = None
) -> HttpResponse:
    body = {"error": {"code": code, "message": message, "details": details}}
    return api.create_response(request, body, status=status)


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return error_response(request, exc.status, exc.code, exc.message, exc.details)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(
        request,
        401,
        "unauthenticated",
        "sign in or send a valid token: Authorization: Bearer dlx_...",
    )


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(request, 403, "forbidden", str(exc) or "not allowed")


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(request, 404, "not_found", "no such object, or not visible to you")


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    details = [
        {"loc": [str(p) for p in e.get("loc", [])], "msg": e.get("msg", "")} for e in exc.errors
    ]
    return error_response(request, 422, "invalid", "the request is not valid: see details", details)


@api.exception_handler(DjangoValidationError)
def _django_invalid(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    details = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    return error_response(request, 422, "invalid", "the request is not valid: see details", details)


@api.exception_handler(Conflict)
def _conflict(request: HttpRequest, exc: Conflict) -> HttpResponse:
    return error_response(request, 409, "invalid_state", str(exc))


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return error_response(request, exc.status_code, "http_error", str(exc))


@api.exception_handler(Exception)
def _internal(request: HttpRequest, exc: Exception) -> HttpResponse:
    error_id = uuid.uuid4().hex[:12]
    logger.exception("internal API error %s on %s %s", error_id, request.method, request.path)
    return error_response(
        request,
        500,
        "internal",
        "internal error: report this id to the operators",
        {"id": error_id},
    )


from datalux.access.api import router as access_router  # noqa: E402
from datalux.access.api_public import router as access_public_router  # noqa: E402
from datalux.accounts.api import router as accounts_router  # noqa: E402
from datalux.audit.api import router as audit_router  # noqa: E402
from datalux.catalogue.api import router as catalogue_router  # noqa: E402
from datalux.catalogue.api_harvest import router as harvest_router  # noqa: E402
from datalux.catalogue.api_upload import router as upload_router  # noqa: E402
from datalux.holdings.api import router as holdings_router  # noqa: E402
from datalux.onceonly.api import router as onceonly_router  # noqa: E402
from datalux.spe.api import router as spe_router  # noqa: E402
from datalux.spe.api_aggregate import router as aggregate_router  # noqa: E402
from datalux.spe.api_synthetic import router as synthetic_router  # noqa: E402

api.add_router("/", accounts_router)
api.add_router("/access", access_router)
api.add_router("/access", access_public_router)
api.add_router("/audit", audit_router)
api.add_router("/catalogue", catalogue_router)
api.add_router("/catalogue", upload_router)
api.add_router("/harvest", harvest_router)
api.add_router("/holdings", holdings_router)
api.add_router("/onceonly", onceonly_router)
api.add_router("/spe", spe_router)
api.add_router("/spe", aggregate_router)
api.add_router("/spe", synthetic_router)
