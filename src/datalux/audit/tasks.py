"""Background tasks of the audit app (run by the worker: ``datalux manage db_worker``)."""

from __future__ import annotations

from django_tasks import task

from datalux.audit.actions import run_verification
from datalux.audit.kinds import EventKind
from datalux.audit.log import record


@task()
def verify_chain() -> dict[str, object]:
    """Verify the audit chain in the background (scheduled nightly in production)."""
    result = run_verification()
    record(
        EventKind.TASK_FINISHED,
        object_type="task",
        object_id="audit.verify_chain",
        details={"ok": result.ok, "checked": result.checked},
    )
    return {"ok": result.ok, "checked": result.checked, "problem": result.problem}
