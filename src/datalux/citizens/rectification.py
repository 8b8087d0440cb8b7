"""Correction requests (GDPR Art. 16): a citizen asks the holder of an authentic source to
correct one item it holds about them; a steward of that holder answers within the deadline.

States, as data (:data:`TRANSITIONS`)::

    submitted --extend--> extended          (once, with a reason, before the deadline)
    submitted|extended --accept--> accepted (the correction is a new version of the source)
    submitted|extended --reject--> rejected (with an answer)
    submitted|extended --withdraw--> withdrawn (the citizen)

Every action is keyword-only, runs in ``transaction.atomic``, checks who may do it, changes
the state and writes its audit event together; a refused action leaves only its refusal
event (``access.denied`` or ``citizen.rectification_refused``). Events name the request, the
source and the item, never the person's national number nor any value (old or proposed).

Deadlines are calendar months on the local calendar (:func:`datalux.access.clock.deadline`)
from ``timezone.now()`` - the clock the tests freeze with ``time_machine``: one month from
the request, extendable once by up to two further months (Art. 12(3)).

Accepting writes the correction through the catalogue's own upload path
(:func:`datalux.catalogue.uploads.upload_version`): the current version's Parquet file is
read, the item is changed in the person's one row (found by the source's national-number
item), and the whole file is checked against the data dictionary and stored as the next
version. A value the dictionary refuses is refused with the validator's message, and nothing
changes (the new version, the request's state and the event are one transaction).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from enum import StrEnum
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from datalux.access.actions.common import _message
from datalux.access.clock import deadline
from datalux.access.states import TransitionError
from datalux.accounts.permissions import has_permission
from datalux.accounts.roles import Permission
from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.citizens import identity as identities
from datalux.citizens.models import CitizenIdentity, Rectification, RectificationState
from datalux.onceonly import lookup
from datalux.onceonly.models import AuthenticSource

S = RectificationState
F = TypeVar("F", bound=Callable[..., Any])

MAX_EXTENSION_MONTHS = 2  # GDPR Art. 12(3): "by two further months"
REMIND_DAYS_BEFORE = 7
MAX_EXPLANATION = 4000


class RectificationAction(StrEnum):
    EXTEND = "extend"
    ACCEPT = "accept"
    REJECT = "reject"
    WITHDRAW = "withdraw"


A = RectificationAction
OPEN: frozenset[str] = frozenset({"submitted", "extended"})

#: (state, action) -> the state it leads to. Anything absent is refused.
TRANSITIONS: dict[tuple[str, RectificationAction], str] = {
    ("submitted", A.EXTEND): "extended",
    **{(state, A.ACCEPT): "accepted" for state in sorted(OPEN, reverse=True)},
    **{(state, A.REJECT): "rejected" for state in sorted(OPEN, reverse=True)},
    **{(state, A.WITHDRAW): "withdrawn" for state in sorted(OPEN, reverse=True)},
}


def allowed_actions(state: str) -> list[str]:
    return [a.value for (s, a) in TRANSITIONS if s == state]


def check(state: str, action: RectificationAction) -> str:
    """The state ``action`` leads to from ``state``; TransitionError names both otherwise."""
    target = TRANSITIONS.get((state, action))
    if target is None:
        raise TransitionError(
            "correction request", str(state), action.value, allowed_actions(state)
        )
    return target


# --- who may do what ------------------------------------------------------------------------


def is_steward_for(user: Any, rectification: Rectification) -> bool:
    """A steward of the source's holder (the dataset's publisher): nobody else answers."""
    return has_permission(user, Permission.MANAGE_HOLDINGS, rectification.source.dataset)


def for_steward(user: Any) -> Any:
    """The requests a steward may see: those on sources of their own organisations."""
    from datalux.accounts.permissions import organisations_with

    _platform, orgs = organisations_with(user, Permission.MANAGE_HOLDINGS)
    # stewards are organisation-scoped: a platform-wide grant gives no look at persons here
    return Rectification.objects.filter(source__dataset__publisher_id__in=orgs).select_related(
        "source__dataset__publisher", "identity"
    )


def _require_citizen(by: Any, identity: CitizenIdentity) -> None:
    if by is None or not has_permission(by, Permission.VIEW_OWN_DATA, identity):
        raise PermissionDenied(_("only the person concerned can do this"))


def _require_steward(by: Any, rectification: Rectification) -> None:
    if by is None or not is_steward_for(by, rectification):
        raise PermissionDenied(
            _("only stewards of %(holder)s can answer this request")
            % {"holder": rectification.source.dataset.publisher}
        )


def audited_refusals(action: str) -> Callable[[F], F]:
    """Record a refusal after the rollback (``access.denied`` for permission, otherwise
    ``citizen.rectification_refused``), then re-raise. Messages of this module never hold a
    value or a national number."""

    def decorator(func: F) -> F:
        @wraps(func)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except (PermissionDenied, ValidationError, TransitionError) as exc:
                target = kwargs.get("rectification")
                is_target = isinstance(target, Rectification) and target.pk is not None
                record(
                    EventKind.ACCESS_DENIED
                    if isinstance(exc, PermissionDenied)
                    else EventKind.CITIZEN_RECTIFICATION_REFUSED,
                    actor=kwargs.get("by"),
                    obj=target if is_target else None,
                    object_type="" if is_target else "citizens.rectification",
                    object_id="" if is_target else action,
                    details={"action": action, "reason": _message(exc)[:500]},
                )
                raise

        return wrapped  # type: ignore[return-value]

    return decorator


def _lock(rectification: Rectification) -> Rectification:
    fresh = Rectification.objects.select_for_update().get(pk=rectification.pk)
    rectification.__dict__.update(
        {k: v for k, v in fresh.__dict__.items() if not k.startswith("_")}
    )
    return rectification


def _facts(rectification: Rectification) -> dict[str, Any]:
    return {
        "reference": rectification.reference,
        "identity": rectification.identity_id,
        "dataset": rectification.source.dataset.pid,
        "item": rectification.item,
    }


# --- the person's record ---------------------------------------------------------------------


def published_items(source: AuthenticSource) -> list[str]:
    """The items a person may ask to correct: the source's items still in its dictionary,
    never the national number it finds persons by."""
    return [item for item, present in source.current_items() if present and item != source.key_item]


def current_record(source: AuthenticSource, identity: CitizenIdentity) -> dict[str, Any] | None:
    """What the source's current version holds about the person (its published items), or
    None when it holds no row for them. Raises ``lookup.SourceUnavailable``."""
    number = identities.unseal(identity.sealed_number)
    found = lookup.index(source.dataset_id, source.key_item)
    items = [name for name in published_items(source) if name in found.table.column_names]
    return found.record(number, items)


def _record_or_refuse(source: AuthenticSource, identity: CitizenIdentity) -> dict[str, Any]:
    try:
        found = current_record(source, identity)
    except lookup.SourceUnavailable:
        raise ValidationError(
            {"source": _("this source's data cannot be read just now: try again later")}
        ) from None
    if found is None:
        raise ValidationError(
            {"source": _("this source holds no record about you: there is nothing to correct")}
        )
    return found


# --- the actions -----------------------------------------------------------------------------


def _steward_url(rectification: Rectification) -> str:
    return f"/me/stewards/corrections/{rectification.reference}/"


def _citizen_url(rectification: Rectification) -> str:
    return f"/me/corrections/{rectification.reference}/"


def _stewards(rectification: Rectification) -> list[Any]:
    from datalux.access.actions.procedure import users_with

    return users_with(Permission.MANAGE_HOLDINGS, rectification.source.dataset.publisher)


def _notify(
    users: list[Any], rectification: Rectification, subject: Any, body: Any, url: str
) -> None:
    from datalux.access.actions.common import Text, notify

    facts = {
        "ref": rectification.reference,
        "source": rectification.source.dataset.display_title,
        "item": rectification.item,
        "date": rectification.due_on,
        "answer": rectification.answer,
        "reason": rectification.extension_reason,
    }
    notify(users, subject=Text(subject, facts), body=Text(body, facts), url=url)


def _tell_citizen(rectification: Rectification, subject: Any, body: Any) -> None:
    _notify(
        [rectification.identity.user], rectification, subject, body, _citizen_url(rectification)
    )


def _clean_text(value: Any, field: str, message: str, limit: int) -> str:
    text = str(value or "").strip()
    if not text:
        raise ValidationError({field: message})
    if len(text) > limit:
        raise ValidationError({field: _("keep it under %(n)d characters") % {"n": limit}})
    return text


@audited_refusals("request")
def request_rectification(
    *,
    identity: CitizenIdentity,
    source: AuthenticSource,
    item: str,
    proposed_value: str,
    explanation: str,
    by: Any,
) -> Rectification:
    """The citizen asks for ``item`` of ``source`` to read ``proposed_value``. The item must
    be one of the source's published items and the source must hold a row about the person.
    Due one calendar month from now; the holder's stewards are told."""
    _require_citizen(by, identity)
    item = str(item or "").strip()
    items = published_items(source)
    if item not in items:
        raise ValidationError(
            {
                "item": _(
                    "%(item)s is not an item of this source you can correct; it holds: %(known)s"
                )
                % {"item": repr(item[:100]), "known": ", ".join(items) or _("nothing")}
            }
        )
    proposed = _clean_text(
        proposed_value,
        "proposed_value",
        _("write the value the source should hold"),
        Rectification._meta.get_field("proposed_value").max_length or 500,
    )
    why = _clean_text(
        explanation,
        "explanation",
        _("explain why the value is wrong (a document you can show helps the holder)"),
        MAX_EXPLANATION,
    )
    held = _record_or_refuse(source, identity)
    current = held.get(item)
    if current is not None and str(current) == proposed:
        raise ValidationError(
            {"proposed_value": _("the source already holds this value: nothing to correct")}
        )
    with transaction.atomic():
        already = (
            Rectification.objects.select_for_update()
            .filter(identity=identity, source=source, item=item, state__in=OPEN)
            .first()
        )
        if already is not None:
            raise ValidationError(
                {
                    "item": _(
                        "you already asked for this item to be corrected (%(ref)s): wait for "
                        "the answer, or withdraw that request first"
                    )
                    % {"ref": already.reference}
                }
            )
        now = timezone.now()
        due = deadline(now, months=1)
        rectification = Rectification.objects.create(
            reference=f"tmp-{uuid.uuid4().hex[:16]}",
            identity=identity,
            source=source,
            item=item,
            proposed_value=proposed,
            explanation=why,
            submitted_at=now,
            due_on=due.date() if due is not None else now.date(),
        )
        year = timezone.localtime(now).year
        rectification.reference = f"DLX-R-{year}-{rectification.pk:05d}"
        rectification.save(update_fields=["reference"])
        record(
            EventKind.CITIZEN_RECTIFICATION_REQUESTED,
            actor=by,
            organisation=source.dataset.publisher,
            obj=rectification,
            details={**_facts(rectification), "due_on": rectification.due_on.isoformat()},
        )
        _notify(
            _stewards(rectification),
            rectification,
            gettext_lazy("%(ref)s: a person asks for a correction in %(source)s"),
            gettext_lazy(
                "A person asks for the item “%(item)s” of %(source)s to be corrected. Answer "
                "by %(date)s: accept the correction (it becomes a new version of the source), "
                "extend the deadline once with a reason, or reject it with an answer."
            ),
            _steward_url(rectification),
        )
    return rectification


@audited_refusals("extend")
def extend(
    *,
    rectification: Rectification,
    reason: str,
    by: Any,
    months: int = MAX_EXTENSION_MONTHS,
) -> Rectification:
    """Move the deadline once, by ``months`` (1 or 2) further months counted from the
    request, with a reason the citizen is told; only before the deadline has passed."""
    _require_steward(by, rectification)
    reason = _clean_text(
        reason,
        "reason",
        _("give the reason for the extension: the person is told"),
        MAX_EXPLANATION,
    )
    if months not in range(1, MAX_EXTENSION_MONTHS + 1):
        raise ValidationError(
            {"months": _("extend by one or two further months (GDPR Art. 12(3))")}
        )
    with transaction.atomic():
        _lock(rectification)
        target = check(rectification.state, A.EXTEND)
        if timezone.localdate() > rectification.due_on:
            raise ValidationError(
                {"reason": _("the deadline has passed: it can only be extended before it")}
            )
        previous = rectification.due_on
        due = deadline(rectification.submitted_at, months=1 + months)
        rectification.due_on = due.date() if due is not None else previous
        rectification.state = target
        rectification.extension_reason = reason
        rectification.save(update_fields=["due_on", "state", "extension_reason"])
        record(
            EventKind.CITIZEN_RECTIFICATION_EXTENDED,
            actor=by,
            organisation=rectification.source.dataset.publisher,
            obj=rectification,
            details={
                **_facts(rectification),
                "previous_due_on": previous.isoformat(),
                "due_on": rectification.due_on.isoformat(),
            },
        )
        _tell_citizen(
            rectification,
            gettext_lazy("%(ref)s: the answer to your correction request will take longer"),
            gettext_lazy(
                "The holder of %(source)s needs more time to answer your request to correct "
                "“%(item)s”. The new deadline is %(date)s.\n\nReason: %(reason)s"
            ),
        )
    return rectification


def _position_of(table: Any, key_item: str, number: str) -> int:
    import pyarrow as pa
    import pyarrow.compute as pc

    if key_item not in table.column_names:
        raise ValidationError(
            {
                "source": _(
                    "the source's current data have no national-number column to find the person by"
                )
            }
        )
    keys = table.column(key_item)
    if not pa.types.is_string(keys.type):
        keys = pc.cast(keys, pa.string())
    positions = pc.indices_nonzero(pc.fill_null(pc.equal(keys, number), False)).to_pylist()
    if not positions:
        raise ValidationError(
            {"source": _("the source's current data hold no record about the person any more")}
        )
    if len(positions) > 1:
        raise ValidationError(
            {
                "source": _(
                    "the source's current data hold %(n)d records about the person: correct "
                    "them with a regular upload of the data"
                )
                % {"n": len(positions)}
            }
        )
    return int(positions[0])


def _corrected_file(rectification: Rectification, folder: Path) -> tuple[Path, int]:
    """The current version with the item changed in the person's row, as a staging Parquet
    file in ``folder``; and the person's row (from 0). The changed column is written as text:
    the upload's checks parse it by the dictionary like any uploaded value."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    from django.conf import settings

    source = rectification.source
    current = lookup.current_version(source.dataset_id)
    if current is None:
        raise ValidationError({"source": _("the source has no data uploaded yet")})
    _number, relative_path, _sha = current
    try:
        table = pq.read_table(Path(settings.DATALUX_STORAGE) / relative_path)
    except (OSError, pa.ArrowInvalid):
        raise ValidationError(
            {"source": _("the source's current data cannot be read: try again later")}
        ) from None
    position = _position_of(
        table, source.key_item, identities.unseal(rectification.identity.sealed_number)
    )
    if rectification.item not in table.column_names:
        raise ValidationError(
            {"item": _("the source's current data have no column for this item any more")}
        )
    index = table.column_names.index(rectification.item)
    column = table.column(index)
    if not pa.types.is_string(column.type):
        column = pc.cast(column, pa.string())
    mask = np.zeros(table.num_rows, dtype=bool)
    mask[position] = True
    changed = pc.if_else(
        pa.array(mask), pa.scalar(rectification.proposed_value, pa.string()), column
    )
    table = table.set_column(index, pa.field(rectification.item, pa.string()), changed)
    staged = folder / f".rectification-{secrets.token_hex(8)}.parquet"
    pq.write_table(table, staged)
    staged.chmod(0o600)
    return staged, position


def _refusal(report: Any, position: int) -> ValidationError:
    """The validator's verdict in words for the steward (never a value)."""
    mine = [p for p in report.errors if p.row == position + 1]
    if mine:
        problem = mine[0]
        return ValidationError(
            {
                "proposed_value": _(
                    "the corrected value does not fit the data dictionary: %(problem)s "
                    "(%(fix)s). Nothing was changed."
                )
                % {"problem": problem.message, "fix": problem.fix}
            }
        )
    return ValidationError(
        {
            "source": _(
                "the source's current data do not pass its data dictionary's checks (%(summary)s): "
                "correct the data or the dictionary first. Nothing was changed."
            )
            % {"summary": report.summary()}
        }
    )


@audited_refusals("accept")
def accept(*, rectification: Rectification, answer: str = "", by: Any) -> Rectification:
    """Correct the source: its next version (through the catalogue's upload, so the data
    dictionary checks it) has the proposed value in the person's row; records
    ``applied_version``. Steps, in one transaction (a refusal leaves nothing behind):
    lock the request, check the state, write the corrected file, upload it, answer."""
    from datalux.catalogue.uploads import UploadRejected, dataset_folder, upload_version
    from datalux.dataplane.storage import private_folder

    _require_steward(by, rectification)
    answer = str(answer or "").strip()
    if len(answer) > MAX_EXPLANATION:
        raise ValidationError(
            {"answer": _("keep it under %(n)d characters") % {"n": MAX_EXPLANATION}}
        )
    dataset = rectification.source.dataset
    folder = private_folder(dataset_folder(dataset))
    staged: Path | None = None
    position = -1
    try:
        with transaction.atomic():
            _lock(rectification)
            target = check(rectification.state, A.ACCEPT)
            staged, position = _corrected_file(rectification, folder)
            version = upload_version(
                dataset=dataset,
                source=staged,
                filename=f"correction-{rectification.reference}.parquet",
                by=by,
            )
            rectification.state = target
            rectification.answer = answer or str(
                _("The correction was made: the source holds the corrected value.")
            )
            rectification.answered_at = timezone.now()
            rectification.answered_by = by
            rectification.applied_version = version.number
            rectification.save(
                update_fields=["state", "answer", "answered_at", "answered_by", "applied_version"]
            )
            record(
                EventKind.CITIZEN_RECTIFICATION_ACCEPTED,
                actor=by,
                organisation=dataset.publisher,
                obj=rectification,
                details={**_facts(rectification), "version": version.number},
            )
            _tell_citizen(
                rectification,
                gettext_lazy("%(ref)s: your data were corrected"),
                gettext_lazy(
                    "The holder of %(source)s accepted your request: “%(item)s” is corrected."
                    "\n\n%(answer)s"
                ),
            )
    except UploadRejected as exc:
        raise _refusal(exc.report, position) from None
    finally:
        if staged is not None:
            staged.unlink(missing_ok=True)
    return rectification


@audited_refusals("reject")
def reject(*, rectification: Rectification, answer: str, by: Any) -> Rectification:
    """Refuse the correction, with an answer the citizen reads (why, and their remedies)."""
    _require_steward(by, rectification)
    answer = _clean_text(
        answer,
        "answer",
        _("write the answer to the person: why the data are not changed"),
        MAX_EXPLANATION,
    )
    with transaction.atomic():
        _lock(rectification)
        rectification.state = check(rectification.state, A.REJECT)
        rectification.answer = answer
        rectification.answered_at = timezone.now()
        rectification.answered_by = by
        rectification.save(update_fields=["state", "answer", "answered_at", "answered_by"])
        record(
            EventKind.CITIZEN_RECTIFICATION_REJECTED,
            actor=by,
            organisation=rectification.source.dataset.publisher,
            obj=rectification,
            details=_facts(rectification),
        )
        _tell_citizen(
            rectification,
            gettext_lazy("%(ref)s: your correction request was rejected"),
            gettext_lazy(
                "The holder of %(source)s did not correct “%(item)s”.\n\nTheir answer: "
                "%(answer)s\n\nYou may complain to the data protection authority (CNPD)."
            ),
        )
    return rectification


@audited_refusals("withdraw")
def withdraw(*, rectification: Rectification, by: Any) -> Rectification:
    """The citizen takes the request back while it is open; the stewards are told."""
    _require_citizen(by, rectification.identity)
    with transaction.atomic():
        _lock(rectification)
        rectification.state = check(rectification.state, A.WITHDRAW)
        rectification.answered_at = timezone.now()
        rectification.save(update_fields=["state", "answered_at"])
        record(
            EventKind.CITIZEN_RECTIFICATION_WITHDRAWN,
            actor=by,
            organisation=rectification.source.dataset.publisher,
            obj=rectification,
            details=_facts(rectification),
        )
        _notify(
            _stewards(rectification),
            rectification,
            gettext_lazy("%(ref)s: the correction request was withdrawn"),
            gettext_lazy("The person withdrew their request to correct “%(item)s” of %(source)s."),
            _steward_url(rectification),
        )
    return rectification


# --- reminders -------------------------------------------------------------------------------


def reminder_due(rectification: Rectification, today: date) -> str | None:
    """Which reminder is due on ``today``: "soon" (within a week of the deadline), "overdue"
    (after it), each once per deadline (``reminded_on`` is the last one's day), or None."""
    if rectification.state not in OPEN:
        return None
    last = rectification.reminded_on
    if today > rectification.due_on:
        return "overdue" if last is None or last <= rectification.due_on else None
    soon_from = rectification.due_on - timedelta(days=REMIND_DAYS_BEFORE)
    if today >= soon_from and (last is None or last < soon_from):
        return "soon"
    return None


def send_reminders(*, today: date | None = None) -> list[str]:
    """Remind the holder's stewards of open requests a week before their deadline and once
    it has passed; safe to run as often as you like. Returns the references reminded."""
    today = today or timezone.localdate()
    sent: list[str] = []
    for rectification in Rectification.objects.filter(state__in=OPEN).select_related(
        "source__dataset__publisher"
    ):
        if reminder_due(rectification, today) is None:
            continue
        with transaction.atomic():
            _lock(rectification)
            mark = reminder_due(rectification, today)  # again, under the lock
            if mark is None:
                continue
            rectification.reminded_on = today
            rectification.save(update_fields=["reminded_on"])
            record(
                EventKind.CITIZEN_RECTIFICATION_REMINDER,
                organisation=rectification.source.dataset.publisher,
                obj=rectification,
                details={
                    **_facts(rectification),
                    "mark": mark,
                    "due_on": rectification.due_on.isoformat(),
                },
            )
            if mark == "overdue":
                subject = gettext_lazy("%(ref)s: the deadline to answer has passed")
                body = gettext_lazy(
                    "The deadline (%(date)s) to answer the request to correct “%(item)s” of "
                    "%(source)s has passed: answer it now."
                )
            else:
                subject = gettext_lazy("%(ref)s: answer the correction request by %(date)s")
                body = gettext_lazy(
                    "The request to correct “%(item)s” of %(source)s is due on %(date)s: "
                    "accept it, extend the deadline with a reason, or reject it with an answer."
                )
            _notify(
                _stewards(rectification), rectification, subject, body, _steward_url(rectification)
            )
        sent.append(rectification.reference)
    return sent


__all__ = [
    "OPEN",
    "TRANSITIONS",
    "RectificationAction",
    "accept",
    "allowed_actions",
    "check",
    "current_record",
    "extend",
    "for_steward",
    "is_steward_for",
    "published_items",
    "reject",
    "reminder_due",
    "request_rectification",
    "send_reminders",
    "withdraw",
]
