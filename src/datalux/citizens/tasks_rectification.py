"""The scheduled job of correction requests (enqueued hourly by ``datalux scheduler``)."""

from __future__ import annotations

from django_tasks import task

from datalux.audit.kinds import EventKind
from datalux.audit.log import record


@task()
def send_rectification_reminders() -> dict[str, object]:
    """Remind the holders' stewards of correction requests due within a week, and once of
    those overdue (each once per deadline); safe to run as often as you like."""
    from datalux.citizens.rectification import send_reminders

    sent = send_reminders()
    record(
        EventKind.TASK_FINISHED,
        object_type="task",
        object_id="citizens.rectification_reminders",
        details={"reminders": len(sent), "requests": sent[:100]},
    )
    return {"reminders": sent}
