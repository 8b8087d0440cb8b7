"""The Django admin signs in through the platform's sign-in page, not its own form.

The admin's own login form would skip the second step (the second-factor code) of
``datalux.accounts.views``; it is replaced by a redirect to ``accounts:login`` with the same
``next``, so admin sign-ins are throttled, audited and asked their code like every other.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _


def admin_login(request: HttpRequest, extra_context: Any = None) -> HttpResponse:
    target = request.GET.get(REDIRECT_FIELD_NAME, "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("admin:index")
    if request.user.is_authenticated:
        if request.user.is_active and request.user.is_staff:
            return redirect(target)
        # Signed in without admin rights: sending them to sign in would loop back here.
        raise PermissionDenied(_("The administration site is for platform operators only."))
    return redirect_to_login(target, login_url=reverse("accounts:login"))


def install() -> None:
    """Called from ``AccountsConfig.ready``, before the admin's URLs are built."""
    admin.site.login = admin_login  # type: ignore[method-assign]
