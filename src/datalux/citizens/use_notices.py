"""Telling citizens that their data were used (issue 16, item 6): in the inbox and by e-mail.

* **A public body obtained your data**: when a once-only exchange delivers a person's data and
  the person may see it at once, :func:`on_exchange` runs after the log entry commits (the
  ``onceonly`` signal :data:`~datalux.onceonly.signals.tracker_records_visible`): one indexed
  query finds which of the entry's persons have an account; nobody else costs anything more.
  A deferred record is told only once it becomes visible, by the hourly job
  (:func:`notify_uses_task` -> :func:`notify_due_exchanges`), which also catches a record whose
  notice failed after commit.
* **A research project used your data**: when the trusted third party records a preparation's
  person uses (:mod:`datalux.citizens.uses_index`), :func:`notify_project_uses` tells each
  person with an account, in batches; the hourly job repeats it for anything left.

Each record is told once: its ``notified_at`` is set by a conditional ``UPDATE`` in the
transaction that writes the inbox entry (and queues the e-mail after commit). A person gets one
notice per run whatever the number of records. The texts name no body, project, dataset or
other person: the e-mail and the inbox say only that something happened and link to the page,
where the person, signed in, sees exactly what the page shows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, timedelta
from itertools import islice
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_tasks import task

from datalux.access.actions.common import Text, notify
from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.citizens.models import CitizenIdentity, PersonUse
from datalux.onceonly.models import TrackerRecord

logger = logging.getLogger("datalux.citizens")

__all__ = [
    "LOOKBACK_DAYS",
    "USES_URL",
    "notify_due_exchanges",
    "notify_project_uses",
    "notify_uses_task",
    "on_exchange",
]

USES_URL = "/me/uses/"  # the "who used my data" page
LOOKBACK_DAYS = 7  # the job tells of records that became visible this long ago at most
BATCH = 500  # identities per transaction

EXCHANGE_SUBJECT = _("A public body obtained your data")
EXCHANGE_BODY = _(
    "A public body obtained data about you from an authentic source. Sign in and open "
    "“Who used my data” to see which body, which data, why and when."
)
PROJECT_SUBJECT = _("A research project used your data")
PROJECT_BODY = _(
    "Records about you were included in the data prepared for an approved research project; "
    "the project does not learn who you are. Sign in and open “Who used my data” to see the "
    "project, its summary and which data."
)


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _tell(identity: CitizenIdentity, pending: QuerySet[Any], subject: Any, body: Any) -> bool:
    """Mark ``pending`` (the identity's records not yet told) told and write the notice, in
    one transaction; False when another run told them first."""
    with transaction.atomic():
        if not pending.filter(notified_at__isnull=True).update(notified_at=timezone.now()):
            return False
        notify([identity.user], subject=Text(subject), body=Text(body), url=USES_URL)
    return True


def _identities(subjects: Sequence[str]) -> Iterator[CitizenIdentity]:
    for chunk in _chunks(subjects, 900):  # bound the IN list (SQLite's variable limit)
        yield from CitizenIdentity.objects.filter(subject__in=chunk).select_related("user")


def on_exchange(sender: Any, *, entry_id: int, subjects: Sequence[str], **_kwargs: Any) -> None:
    """After a delivered exchange of public visibility commits: tell its persons who have an
    account (one indexed query when none has)."""
    for identity in _identities(subjects):
        records = TrackerRecord.objects.filter(entry_id=entry_id, subject=identity.subject)
        _tell(identity, records, EXCHANGE_SUBJECT, EXCHANGE_BODY)


def notify_due_exchanges(*, today: date | None = None, lookback_days: int = LOOKBACK_DAYS) -> int:
    """Tell each person with an account of their exchange records that became visible in the
    last ``lookback_days`` (deferred ones on or after their date) and were not told yet.
    Returns the number of persons told."""
    today = today or timezone.localdate()
    since = today - timedelta(days=lookback_days)
    recent = timezone.now() - timedelta(days=lookback_days)
    due = TrackerRecord.objects.filter(
        Q(visible_from__isnull=True, occurred_at__gte=recent)
        | Q(visible_from__gte=since, visible_from__lte=today),
        notified_at__isnull=True,
    )
    subjects = sorted(
        set(
            due.filter(subject__in=CitizenIdentity.objects.values("subject")).values_list(
                "subject", flat=True
            )
        )
    )
    told = 0
    for identity in _identities(subjects):
        pending = due.filter(subject=identity.subject)
        told += _tell(identity, pending, EXCHANGE_SUBJECT, EXCHANGE_BODY)
    return told


def notify_project_uses(
    *, permit: Any = None, version: int | None = None, lookback_days: int = LOOKBACK_DAYS
) -> int:
    """Tell each person with an account whose records a permit's extract included (the
    permit's ``version``; without a permit, every use recorded in the last ``lookback_days``
    not told yet). Returns the number of persons told."""
    pending = PersonUse.objects.filter(notified_at__isnull=True)
    if permit is not None:
        pending = pending.filter(permit=permit, version=version or permit.version)
    else:
        pending = pending.filter(prepared_at__gte=timezone.now() - timedelta(days=lookback_days))
    identities = (
        CitizenIdentity.objects.filter(subject__in=pending.values("subject"))
        .select_related("user")
        .order_by("pk")
    )
    told, last = 0, 0
    while chunk := list(identities.filter(pk__gt=last)[:BATCH]):  # pages: no open cursor
        last = chunk[-1].pk
        for identity in chunk:
            uses = pending.filter(subject=identity.subject)
            told += _tell(identity, uses, PROJECT_SUBJECT, PROJECT_BODY)
    return told


@task()
def notify_uses_task() -> dict[str, object]:
    """The hourly job: deferred exchange records now visible, and anything not told yet."""
    exchanges = notify_due_exchanges()
    projects = notify_project_uses()
    record(
        EventKind.TASK_FINISHED,
        object_type="task",
        object_id="citizens.notify_uses",
        details={"exchanges": exchanges, "projects": projects},
    )
    return {"exchanges": exchanges, "projects": projects}
