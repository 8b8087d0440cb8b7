"""Sessions end after ``DATALUX_SESSION_IDLE_MINUTES`` of inactivity (30 in production).

``SESSION_COOKIE_AGE`` is that many minutes, counted from the session's last save; this
middleware saves an active session again (which moves its expiry, in the database and on the
cookie) at most once a minute, instead of writing the session on every request as
``SESSION_SAVE_EVERY_REQUEST`` would. A session idle for the whole period is gone: the next
request is anonymous and a page that needs sign-in sends the person to the login page.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

SEEN_KEY = "datalux_seen"
REFRESH_SECONDS = 60


class IdleSessionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None and session.session_key is not None:
            now = int(time.time())
            seen = session.get(SEEN_KEY)  # loads it: the key is None if it expired
            alive = session.session_key is not None
            if alive and (not isinstance(seen, int) or now - seen >= REFRESH_SECONDS):
                session[SEEN_KEY] = now  # modified: saved with a new expiry on the way out
        return self.get_response(request)
