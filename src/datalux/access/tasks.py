"""Background tasks of the data authority (enqueued hourly by ``datalux scheduler``).

Both are safe to run as often as you like: the actions they call change only what is due and
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
