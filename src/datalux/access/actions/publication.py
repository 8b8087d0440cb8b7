"""The publication obligation of a permit and its reminders (issue 13, item 4).

A permit with the standard condition ``publish-results`` ("publish the results and the code
within 12 months of the end of the permit") has a publication deadline: its end date plus 12
months (29 February gives 28 February). The obligation is met once a data product carries the
permit's number (:func:`datalux.spe.publication.publish` registers one).

:func:`send_publication_reminders` (the scheduled task ``access.publication_reminders``, hourly)
tells the applicant and the named persons with an account, in their inbox and by e-mail:

- once when the deadline is :data:`REMIND_DAYS_BEFORE` days away or nearer (mark ``30d``);
- once when it has passed (mark ``overdue``).

Each reminder is an audit event ``permit.publication_reminded`` with the mark and the deadline;
a reminder whose event exists for the same deadline is never sent again (an extension of the
permit moves the deadline, and the reminders start afresh). A permit that was revoked, or whose
results are published, gets no reminder. Safe to run as often as you like.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy, ngettext_lazy

from datalux.access.actions.common import Text, notify, people_of
from datalux.access.clock import add_months
from datalux.access.models import Permit
from datalux.access.states import PermitState
from datalux.audit.kinds import EventKind
from datalux.audit.log import record

CONDITION = "publish-results"
MONTHS = 12
REMIND_DAYS_BEFORE = 30
SOON, OVERDUE = "30d", "overdue"


def deadline_for(ends_on: date) -> date:
    """``ends_on`` plus 12 months (the month's last day when that day does not exist)."""
    return add_months(datetime.combine(ends_on, datetime.min.time()), MONTHS).date()


def has_publication_condition(permit: Permit) -> bool:
    return permit.conditions.filter(code=CONDITION).exists()


def publication_deadline(permit: Permit) -> date | None:
    """The end date plus 12 months, for a permit that must publish its results; else None."""
    if not has_publication_condition(permit):
        return None
    return deadline_for(permit.ends_on)


def is_published(permit: Permit) -> bool:
    from datalux.catalogue.models import DataProduct

    return DataProduct.objects.filter(permit_number=permit.number).exists()


def _sent(permit: Permit, deadline: date) -> set[str]:
    """The marks already sent for this deadline (read from the audit chain)."""
    from datalux.audit.models import AuditEvent

    events = AuditEvent.objects.filter(
        kind=EventKind.PERMIT_PUBLICATION_REMINDED,
        object_type=permit._meta.label_lower,
        object_id=str(permit.pk),
    ).only("details_json")
    return {
        str(e.details.get("mark"))
        for e in events
        if e.details.get("deadline") == deadline.isoformat()
    }


def _due(today: date, deadline: date) -> str | None:
    if today > deadline:
        return OVERDUE
    if today >= deadline - timedelta(days=REMIND_DAYS_BEFORE):
        return SOON
    return None


def _texts(permit: Permit, mark: str, deadline: date, today: date) -> tuple[Text, Text]:
    facts: dict[str, Any] = {
        "permit": permit.number,
        "title": permit.application.title,
        "date": deadline,
    }
    if mark == OVERDUE:
        subject = Text(gettext_lazy("%(permit)s: the results are due for publication"), facts)
        body = Text(
            gettext_lazy(
                "The permit %(permit)s (“%(title)s”) asks you to publish the results and the "
                "code within 12 months of its end: that was by %(date)s, and no data product "
                "has been published from it yet. Publish a released request from the secure "
                "workspace, or tell the data authority why you cannot."
            ),
            facts,
        )
        return subject, body
    facts["n"] = (deadline - today).days
    subject = Text(
        ngettext_lazy(
            "%(permit)s: publish the results within %(n)d day",
            "%(permit)s: publish the results within %(n)d days",
            "n",
        ),
        facts,
    )
    body = Text(
        ngettext_lazy(
            "The permit %(permit)s (“%(title)s”) asks you to publish the results and the code "
            "by %(date)s, in %(n)d day. Publish a released request from the secure workspace: "
            "it becomes a data product in the catalogue.",
            "The permit %(permit)s (“%(title)s”) asks you to publish the results and the code "
            "by %(date)s, in %(n)d days. Publish a released request from the secure workspace: "
            "it becomes a data product in the catalogue.",
            "n",
        ),
        facts,
    )
    return subject, body


def send_publication_reminders(*, now: datetime | None = None) -> list[dict[str, str]]:
    """Remind the people of every permit whose publication deadline is near or passed and
    whose results are not published (once per mark and deadline); return what was sent."""
    today = timezone.localdate(now or timezone.now())
    sent: list[dict[str, str]] = []
    permits = (
        Permit.objects.filter(conditions__code=CONDITION)
        .exclude(state=PermitState.REVOKED)
        .select_related("application", "organisation")
        .distinct()
        .order_by("pk")
    )
    for candidate in permits:
        with transaction.atomic():
            permit = Permit.objects.select_for_update().get(pk=candidate.pk)
            deadline = deadline_for(permit.ends_on)
            mark = _due(today, deadline)
            if mark is None or mark in _sent(permit, deadline) or is_published(permit):
                continue
            people = people_of(permit.application)
            subject, body = _texts(permit, mark, deadline, today)
            notes = notify(people, subject=subject, body=body, application=permit.application)
            record(
                EventKind.PERMIT_PUBLICATION_REMINDED,
                organisation=permit.organisation,
                obj=permit,
                details={
                    "permit": permit.number,
                    "mark": mark,
                    "deadline": deadline.isoformat(),
                    "recipients": len(notes),
                },
            )
            sent.append({"permit": permit.number, "mark": mark, "deadline": deadline.isoformat()})
    return sent
