"""Sign-in, failed sign-in and sign-out go into the audit chain (lockouts and second-factor
events: datalux.accounts.throttling and datalux.accounts.second_factor)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from datalux.accounts.second_factor import WRONG_CODE
from datalux.audit.kinds import EventKind
from datalux.audit.log import record


@receiver(user_logged_in)
def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record(EventKind.USER_LOGGED_IN, actor=user, obj=user)


@receiver(user_logged_out)
def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        record(EventKind.USER_LOGGED_OUT, actor=user, obj=user)


@receiver(user_login_failed)
def _login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    if credentials.get(WRONG_CODE):
        return  # a wrong second-factor code: audited as user.second_factor_failed
    username = str(credentials.get("username", ""))[:150]
    record(EventKind.USER_LOGIN_FAILED, details={"username_tried": username})
