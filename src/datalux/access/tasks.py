"""Background tasks of the data authority (enqueued by ``datalux scheduler``).

All are safe to run as often as you like: the actions they call change only what is due and
record what they did; each run also records a ``task.finished`` audit event.
"""

from __future__ import annotations

from django_tasks import task

from datalux.access import actions
from datalux.audit.kinds import EventKind
from datalux.audit.log import record


@task()
def expire_permits() -> dict[str, object]:
    """Expire every active permit whose end date has passed: access is cut, each audited."""
    expired = actions.expire_due_permits()
    record(
        EventKind.TASK_FINISHED,
        object_type="task",
        object_id="access.expire_permits",
        details={"expired": len(expired), "permits": expired[:100]},
    )
    return {"expired": expired}


@task()
def send_reminders() -> dict[str, object]:
    """Remind handlers and deciders of decision deadlines near or passed (once per mark)."""
    sent = actions.send_deadline_reminders()
    record(
        EventKind.TASK_FINISHED,
        object_type="task",
        object_id="access.send_reminders",
        details={"reminders": sent},
    )
    return {"reminders": sent}


@task()
def send_publication_reminders() -> dict[str, object]:
    """Remind the people of permits that must publish their results of the deadline (30 days
    before, and once passed), while no data product carries the permit's number."""
    from datalux.access.actions.publication import send_publication_reminders as send

    sent = send()
    record(
        EventKind.TASK_FINISHED,
        object_type="task",
        object_id="access.publication_reminders",
        details={"reminders": len(sent), "sent": sent[:100]},
    )
    return {"reminders": sent}
