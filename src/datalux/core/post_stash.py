"""A form sent after the session expired keeps what was typed.

When a POST from someone no longer signed in is answered with the redirect to the login page
(``login_required``), the submitted fields are kept in the new session (server-side, so a long
text fits; never passwords or the CSRF token), for :data:`STASH_SECONDS`, keyed to the address
the form was sent to. Signing in keeps the session's data (Django only rotates its key), and
the login redirect returns to that address: instead of the page, the user then sees what they
had typed with a button that sends it again (a normal POST with a fresh CSRF token, so the
view checks everything as usual, including the edit-version token of optimistic locking), or
a button to discard it. No JavaScript is needed. Files cannot be kept: the page says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.translation import gettext as _

SESSION_KEY = "datalux.post_stash"
STASH_SECONDS = 3600
MAX_BYTES = 512 * 1024
DISCARD = "discard-kept-form"
SKIPPED = ("csrfmiddlewaretoken",)


def _kept(name: str) -> bool:
    return name not in SKIPPED and "password" not in name.lower()


def _is_login_redirect(response: HttpResponse) -> bool:
    if response.status_code not in (301, 302, 303) or not response.has_header("Location"):
        return False
    login = urlsplit(resolve_url(settings.LOGIN_URL)).path
    return urlsplit(response["Location"]).path == login


class PostStashMiddleware:
    """Keep a POST refused for want of a session; offer it again after signing in."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        stash = request.session.get(SESSION_KEY)
        if stash and request.user.is_authenticated:
            answer = self._offer(request, stash)
            if answer is not None:
                return answer
        response = self.get_response(request)
        if (
            request.method == "POST"
            and not request.user.is_authenticated
            and _is_login_redirect(response)
        ):
            self._keep(request)
        return response

    def _keep(self, request: HttpRequest) -> None:
        fields = [[name, value] for name in request.POST for value in request.POST.getlist(name)]
        fields = [f for f in fields if _kept(f[0])]
        if not fields or sum(len(k) + len(v) for k, v in fields) > MAX_BYTES:
            return
        request.session[SESSION_KEY] = {
            "path": request.get_full_path(),
            "fields": fields,
            "files": sorted(request.FILES),
            "at": time.time(),
        }
        messages.info(
            request,
            _("Your session had expired. Sign in again: what you sent is kept, not lost."),
        )

    def _offer(self, request: HttpRequest, stash: dict) -> HttpResponse | None:
        path = stash.get("path")
        if time.time() - float(stash.get("at", 0)) > STASH_SECONDS:
            del request.session[SESSION_KEY]
            return None
        if request.method == "POST" and request.path == urlsplit(path).path:
            del request.session[SESSION_KEY]  # sent again, discarded, or another form of the page
            if DISCARD in request.POST:
                messages.info(request, _("What you had typed was discarded."))
                return redirect(path)
            return None
        if request.method != "GET" or request.get_full_path() != path:
            return None
        return render(
            request,
            "core/kept_form.html",
            {
                "action": path,
                "fields": stash["fields"],
                "shown": [f for f in stash["fields"] if f[1].strip() and f[0] != "edit_version"],
                "files": stash.get("files", []),
                "discard": DISCARD,
            },
        )
