"""Who may open a citizen's page: a signed-in user holding the citizen role whose account is
linked to a person (:class:`~datalux.citizens.models.CitizenIdentity`). Every citizen page
reads only that identity's rows; anyone else gets a 403 (audited by the refusal handler)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from datalux.accounts.permissions import has_permission
from datalux.accounts.roles import Permission
from datalux.citizens.models import CitizenIdentity


def identity_of(user: Any) -> CitizenIdentity | None:
    """The user's citizen identity, when they hold the citizen role and have one."""
    if not getattr(user, "is_authenticated", False):
        return None
    if not has_permission(user, Permission.VIEW_OWN_DATA):
        return None
    return CitizenIdentity.objects.filter(user=user).first()


def citizen_required(
    view: Callable[..., HttpResponse],
) -> Callable[..., HttpResponse]:
    """The view gets ``identity`` (the signed-in citizen's) as its second argument."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        identity = identity_of(request.user)
        if identity is None:
            raise PermissionDenied(
                _("These pages are for citizens signed in with their national identity.")
            )
        return view(request, identity, *args, **kwargs)

    return wrapped


__all__ = ["citizen_required", "identity_of"]
