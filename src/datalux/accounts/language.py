"""A signed-in user's language: the one they last used on the site.

Notifications and e-mails are written in the recipient's language, not the actor's: the
middleware keeps ``User.language`` equal to the language of the user's last page (one UPDATE
when it changes), and ``in_language_of`` renders a text for a given user.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.utils import translation


def language_of(user: Any) -> str:
    """The user's language, else the site's default."""
    codes = {code for code, _name in settings.LANGUAGES}
    language = getattr(user, "language", "") or ""
    return language if language in codes else settings.LANGUAGE_CODE[:2]


@contextmanager
def in_language_of(user: Any) -> Iterator[str]:
    language = language_of(user)
    with translation.override(language):
        yield language


class RememberLanguageMiddleware:
    """After LocaleMiddleware and AuthenticationMiddleware: store the language a user reads in."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        language = (getattr(request, "LANGUAGE_CODE", "") or "")[:2]
        if (
            user is not None
            and user.is_authenticated
            and language
            and getattr(user, "language", language) != language
            and request.method in ("GET", "HEAD")
            and response.status_code == 200
        ):
            get_user_model().objects.filter(pk=user.pk).update(language=language)
            user.language = language
        return response
