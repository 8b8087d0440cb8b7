"""View guards: one decorator that checks a permission, audits refusals and answers 403."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from datalux.accounts.permissions import has_permission
from datalux.accounts.roles import Permission
from datalux.audit.kinds import EventKind
from datalux.audit.log import record


def deny(request: HttpRequest, perm: Permission | str, reason: str = "") -> PermissionDenied:
    """Record the refusal in the audit chain and return the exception to raise."""
    record(
        EventKind.ACCESS_DENIED,
        actor=request.user,
        object_type="path",
        object_id=request.path[:64],
        details={"permission": str(perm), "method": request.method or "", "reason": reason},
    )
    return PermissionDenied(reason or _("you need the permission %(perm)s") % {"perm": perm})


def require_permission(perm: Permission) -> Callable[..., Any]:
    """Anonymous users go to the login page; signed-in users without ``perm`` get 403."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_permission(request.user, perm):
                raise deny(request, perm)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
