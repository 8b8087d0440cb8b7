"""What every access action shares: refusals audited, permission checks, notifications."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date, datetime
from functools import wraps
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from datalux.access.actions.conflicts import refusal_code
from datalux.access.models import Application, Notification, Permit
from datalux.access.states import TransitionError
from datalux.accounts.language import in_language_of
from datalux.accounts.permissions import has_permission
from datalux.accounts.roles import Permission
from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.core.absolute import base_url

F = TypeVar("F", bound=Callable[..., Any])
StrOrPromise = str | Promise


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
        return " ".join(exc.messages)
    return str(exc)


def audited_refusals(action: str) -> Callable[[F], F]:
    """Record every refusal of ``action`` in the audit chain (after the rollback), then re-raise.

    Permission refusals become ``access.denied``; state and rule refusals, and refusals for a
    conflict of interest (``details.code``: ``conflict_of_interest``), become
    ``application.action_refused``. The action's own changes are rolled back first, so the
    refusal event is the only trace it leaves.
    """

    def decorator(func: F) -> F:
        @wraps(func)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except (PermissionDenied, ValidationError, TransitionError) as exc:
                target = kwargs.get("application") or kwargs.get("permit")
                code = refusal_code(exc)
                kind = (
                    EventKind.ACCESS_DENIED
                    if isinstance(exc, PermissionDenied) and not code
                    else EventKind.APPLICATION_ACTION_REFUSED
                )
                details = {"action": action, "reason": _message(exc)[:500]}
                if code:
                    details["code"] = code
                record(
                    kind,
                    actor=kwargs.get("by"),
                    obj=target if isinstance(target, Application | Permit) else None,
                    object_type="" if target is not None else "access",
                    object_id="" if target is not None else action,
                    details=details,
                )
                raise

        return wrapped  # type: ignore[return-value]

    return decorator


def require(by: Any, perm: Permission, obj: Any = None, why: str = "") -> None:
    if not has_permission(by, perm, obj):
        raise PermissionDenied(
            why or _("you need the permission %(perm)s for this") % {"perm": repr(perm.value)}
        )


def require_applicant(by: Any, application: Application) -> None:
    if by is None or application.applicant_id != by.pk:
        raise PermissionDenied(
            _("only the applicant (%(applicant)s) can do this")
            % {"applicant": application.applicant.get_username()}
        )
    require(by, Permission.SUBMIT_APPLICATIONS, application.organisation)


def require_handler(by: Any, application: Application) -> None:
    require(
        by,
        Permission.HANDLE_APPLICATIONS,
        why=_("only case handlers of the data authority can do this"),
    )
    if application.handler_id != by.pk:
        holder = application.handler.get_username() if application.handler else _("nobody yet")
        raise PermissionDenied(
            _(
                "only the handler assigned to %(reference)s can do this "
                "(assigned: %(holder)s); assign yourself first"
            )
            % {"reference": application.reference, "holder": holder}
        )


L = TypeVar("L", Application, Permit)


def lock(obj: L) -> L:
    """Re-read an application or permit under a row lock (PostgreSQL) so that concurrent
    actions serialise; the object's fields are refreshed in place."""
    fresh = type(obj).objects.select_for_update().get(pk=obj.pk)
    obj.__dict__.update({k: v for k, v in fresh.__dict__.items() if not k.startswith("_")})
    return obj


def parse_date(value: Any, field: str) -> date | None:
    """A date from a form or JSON value (``YYYY-MM-DD``, a date or a datetime); None if empty."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError(
            {field: _("%(value)s is not a date: use YYYY-MM-DD") % {"value": repr(value)}}
        ) from None


@dataclass(frozen=True)
class Text:
    """A notification text written later, in each recipient's language.

    ``template`` is marked with ``gettext_lazy``; ``params`` fill its ``%(name)s`` placeholders
    and may be Texts themselves (rendered in the same language), dates (written out in that
    language) or plain values (stored data, shown as they are).
    """

    template: StrOrPromise
    params: dict[str, Any] = dataclass_field(default_factory=dict)

    def render(self) -> str:
        if not self.params:
            return str(self.template)
        # a lazy template formats in the active language (ngettext_lazy picks its plural here)
        return str(self.template % {k: _rendered(v) for k, v in self.params.items()})


def _rendered(value: Any) -> Any:
    if isinstance(value, Text):
        return value.render()
    if isinstance(value, Promise):
        return str(value)
    if isinstance(value, datetime):
        return formats.date_format(timezone.localtime(value), "d F Y")
    if isinstance(value, date):
        return formats.date_format(value, "d F Y")
    return value


def notify(
    users: Iterable[Any],
    *,
    subject: Text | str,
    body: Text | str,
    application: Application | None = None,
    url: str = "",
) -> list[Notification]:
    """One inbox entry per user (deduplicated) and the same text by e-mail after commit, each
    written in the recipient's language (``datalux.accounts.language``). ``url`` (a path on
    this site) is the entry's link; by default the application's page."""
    if not url and application is not None:
        url = f"/access/applications/{application.reference}/"
    seen: set[int] = set()
    made: list[Notification] = []
    for user in users:
        if user is None or user.pk in seen or not user.is_active:
            continue
        seen.add(user.pk)
        with in_language_of(user):
            subject_text = subject.render() if isinstance(subject, Text) else subject
            body_text = body.render() if isinstance(body, Text) else body
        made.append(
            Notification.objects.create(
                user=user,
                subject=subject_text[:200],
                body=body_text,
                url=url,
                application=application,
            )
        )

    def _send() -> None:
        base = base_url()  # the configured address, else the request's (datalux.core.absolute)
        for note in made:
            if note.user.email:
                send_mail(
                    f"[datalux] {note.subject}",
                    f"{note.body}\n\n{base}{note.url}" if note.url else note.body,
                    None,
                    [note.user.email],
                    fail_silently=True,
                )
                Notification.objects.filter(pk=note.pk).update(emailed=True)

    transaction.on_commit(_send)
    return made


def people_of(application: Application) -> list[Any]:
    """The applicant and the named persons who have accounts."""
    return [application.applicant, *(p.user for p in application.named_persons.all() if p.user)]
