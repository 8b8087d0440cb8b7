"""The task queue runs audit verification; `datalux audit verify` fails on tampering."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from django.core.management import call_command
from django.db import connection
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from datalux.audit.kinds import EventKind
from datalux.audit.log import head, record
from datalux.audit.models import AuditEvent
from datalux.audit.tasks import verify_chain
from datalux.cli import main

pytestmark = pytest.mark.django_db


def test_worker_runs_an_enqueued_task_from_the_database(monkeypatch: Any) -> None:
    # The worker closes connections between tasks, which would end the test's transaction.
    import django_tasks_db.management.commands.db_worker as db_worker

    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    result = verify_chain.enqueue()
    stored = DBTaskResult.objects.get(id=result.id)
    assert stored.status == TaskResultStatus.READY
    call_command("db_worker", batch=True, no_startup_delay=True, reload=False, verbosity=0)
    stored.refresh_from_db()
    assert stored.status == TaskResultStatus.SUCCESSFUL
    assert stored.return_value["ok"] is True
    assert AuditEvent.objects.filter(kind=EventKind.TASK_FINISHED).exists()


def _tamper() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER audit_no_update")
        else:
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
    AuditEvent.objects.filter(seq=2).update(object_id="forged")


def test_cli_verify_passes_then_fails_after_tampering() -> None:
    for i in range(3):
        record(EventKind.ORGANISATION_CREATED, object_type="test", object_id=i)
    runner = CliRunner()
    ok = runner.invoke(main, ["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "intact: 3 events" in ok.output
    _tamper()
    broken = runner.invoke(main, ["audit", "verify"])
    assert broken.exit_code == 1
    assert "BROKEN at event #2" in broken.output


def test_cli_anchor(capsys: Any) -> None:
    for i in range(2):
        record(EventKind.ORGANISATION_CREATED, object_type="test", object_id=i)
    seq, digest = head()
    runner = CliRunner()
    assert runner.invoke(main, ["audit", "head"]).output.strip() == f"{seq}:{digest}"
    assert runner.invoke(main, ["audit", "verify", "--anchor", f"{seq}:{digest}"]).exit_code == 0
    wrong = runner.invoke(main, ["audit", "verify", "--anchor", f"{seq}:{'0' * 64}"])
    assert wrong.exit_code == 1 and "anchor" in wrong.output
    bad = runner.invoke(main, ["audit", "verify", "--anchor", "nonsense"])
    assert bad.exit_code == 2 and "SEQ:HASH" in bad.output
