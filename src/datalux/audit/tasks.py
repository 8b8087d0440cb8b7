"""Background tasks of the audit app (run by the worker: ``datalux manage db_worker``)."""

from __future__ import annotations

from django_tasks import task

from datalux.audit.actions import CHECKPOINT_TASK, CheckpointRefused, run_verification
from datalux.audit.actions import write_checkpoint as write_checkpoint_now
from datalux.audit.kinds import EventKind
from datalux.audit.log import record


@task()
def verify_chain() -> dict[str, object]:
    """Verify the audit chain against its latest signed checkpoint (scheduled nightly)."""
    result = run_verification(latest_checkpoint=True)
    record(
        EventKind.TASK_FINISHED,
        object_type="task",
        object_id="audit.verify_chain",
        details={"ok": result.ok, "checked": result.checked},
    )
    return {
        "ok": result.ok,
        "checked": result.checked,
        "problem": result.problem,
        "checkpoint_seq": result.checkpoint_seq,
    }


@task()
def write_checkpoint() -> dict[str, object]:
    """Sign and publish a checkpoint of the chain's head (scheduled hourly).

    An idle hour signs nothing new: the task's own ``task.finished`` events do not count as
    news (:func:`datalux.audit.actions.write_checkpoint`). A missing signing key in production
    fails the task (and the start-up before it)."""
    try:
        checkpoint, written = write_checkpoint_now()
    except CheckpointRefused as exc:
        outcome: dict[str, object] = {
            "ok": False,
            "written": False,
            "problem": exc.verification.problem,
        }
    else:
        outcome = {"ok": True, "written": written, "seq": checkpoint.seq if checkpoint else 0}
    record(
        EventKind.TASK_FINISHED,
        object_type="task",
        object_id=CHECKPOINT_TASK,
        details={"ok": outcome["ok"], "written": outcome["written"]},
    )
    return outcome
