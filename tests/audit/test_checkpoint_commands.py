"""Checkpoints from the outside: the hourly task, the public API operation, the CLI an auditor
runs with a checkpoint file kept elsewhere, the key's generation and production's start-up."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.test import Client
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from datalux.audit.actions import write_checkpoint
from datalux.audit.apps import check_signing_key
from datalux.audit.checkpoints import Checkpoint, sign_head
from datalux.audit.kinds import EventKind
from datalux.audit.log import head, record
from datalux.audit.models import AuditCheckpoint
from datalux.audit.signing import generate, key_id, public_pem
from datalux.audit.tasks import verify_chain
from datalux.audit.tasks import write_checkpoint as write_checkpoint_task
from datalux.cli import main
from datalux.core.env import SettingsError
from tests.audit.test_checkpoints import _rewrite_history

ROOT = Path(__file__).resolve().parents[2]


def _events(n: int) -> None:
    for i in range(n):
        record(EventKind.ORGANISATION_CREATED, object_type="test", object_id=i)


def _run_worker(monkeypatch: Any) -> None:
    # The worker closes connections between tasks, which would end the test's transaction.
    import django_tasks_db.management.commands.db_worker as db_worker

    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    call_command("db_worker", batch=True, no_startup_delay=True, reload=False, verbosity=0)


@pytest.mark.django_db
def test_the_hourly_task_writes_a_checkpoint_and_the_nightly_one_checks_it(
    monkeypatch: Any,
) -> None:
    _events(3)
    queued = write_checkpoint_task.enqueue()
    _run_worker(monkeypatch)
    stored = DBTaskResult.objects.get(id=queued.id)
    assert stored.status == TaskResultStatus.SUCCESSFUL
    assert stored.return_value == {"ok": True, "written": True, "seq": 3}
    assert AuditCheckpoint.objects.get().seq == 3
    idle = write_checkpoint_task.enqueue()  # an hour without news: its task.finished is none
    _run_worker(monkeypatch)
    assert DBTaskResult.objects.get(id=idle.id).return_value["written"] is False
    assert AuditCheckpoint.objects.count() == 1

    nightly = verify_chain.enqueue()
    _run_worker(monkeypatch)
    assert DBTaskResult.objects.get(id=nightly.id).return_value["checkpoint_seq"] == 3
    _rewrite_history(2, {"forged": True})
    again = verify_chain.enqueue()
    _run_worker(monkeypatch)
    outcome = DBTaskResult.objects.get(id=again.id).return_value
    assert outcome["ok"] is False and "signed checkpoint #3" in outcome["problem"]
    refused = write_checkpoint_task.enqueue()
    _run_worker(monkeypatch)
    assert DBTaskResult.objects.get(id=refused.id).return_value["ok"] is False


@pytest.mark.django_db
def test_the_api_publishes_the_latest_checkpoint_and_its_key_to_everyone(tmp_path: Path) -> None:
    client = Client()
    empty = client.get("/api/v1/audit/checkpoint")
    assert empty.status_code == 200
    assert empty.json() == {"checkpoint": None, "public_key": None}

    _events(4)
    checkpoint, _ = write_checkpoint()
    assert checkpoint is not None
    answer = client.get("/api/v1/audit/checkpoint")  # anonymous: no session, no token
    assert answer.status_code == 200
    body = answer.json()
    assert body["checkpoint"] == checkpoint.document()
    assert body["checkpoint"]["statement"]["seq"] == 4
    assert body["public_key"]["key_id"] == checkpoint.key_id
    assert body["public_key"]["algorithm"] == "Ed25519"

    # What an auditor keeps: the checkpoint as a file and the key; they verify the platform.
    kept = tmp_path / "kept.json"
    kept.write_text(json.dumps(body["checkpoint"]))
    key = tmp_path / "audit.pem"
    key.write_text(body["public_key"]["pem"])
    ok = CliRunner().invoke(
        main, ["audit", "verify", "--checkpoint", str(kept), "--public-key", str(key)]
    )
    assert ok.exit_code == 0, ok.output
    assert "it contains signed checkpoint #4" in ok.output


@pytest.mark.django_db
def test_the_verify_operation_checks_the_latest_checkpoint(make_member: Any) -> None:
    _events(3)
    write_checkpoint()
    _rewrite_history(1, {"forged": True})
    client = Client()
    client.force_login(make_member("platform_admin"))
    answer = client.post("/api/v1/audit/verify")
    assert answer.status_code == 200, answer.content
    assert answer.json()["ok"] is False and answer.json()["checkpoint_seq"] == 3


@pytest.mark.django_db
def test_cli_verify_against_a_kept_checkpoint_file(tmp_path: Path, settings: Any) -> None:
    _events(5)
    runner = CliRunner()
    made = runner.invoke(main, ["audit", "checkpoint"])
    assert made.exit_code == 0, made.output
    assert "signed checkpoint #5" in made.output
    assert runner.invoke(main, ["audit", "checkpoint"]).output.startswith(
        "no new events since checkpoint #5"
    )
    kept = tmp_path / "kept.json"  # the auditor's copy, outside the platform
    kept.write_bytes((Path(settings.DATALUX_AUDIT_CHECKPOINT_DIR) / "00000005.json").read_bytes())
    assert runner.invoke(main, ["audit", "verify", "--checkpoint", str(kept)]).exit_code == 0

    # The attacker rewrites event 2 and every later hash, and empties the checkpoint folder.
    _rewrite_history(2, {"forged": True})
    for path in Path(settings.DATALUX_AUDIT_CHECKPOINT_DIR).glob("*.json"):
        path.unlink()
    AuditCheckpoint.objects.all().delete()
    assert (
        runner.invoke(main, ["audit", "verify", "--anchor", ":".join(map(str, head()))]).exit_code
        == 0
    )
    broken = runner.invoke(main, ["audit", "verify", "--checkpoint", str(kept)])
    assert broken.exit_code == 1
    assert "BROKEN at event #5" in broken.output
    assert "differs from signed checkpoint #5" in broken.output

    # ... and signs a checkpoint of the rewritten chain with a key of their own.
    seq, digest = head()
    forged = sign_head(
        Ed25519PrivateKey.generate(), seq=seq, head_hash=digest, event_count=seq, at=_now()
    )
    fake = tmp_path / "forged.json"
    fake.write_text(forged.to_json())
    refused = runner.invoke(main, ["audit", "verify", "--checkpoint", str(fake)])
    assert refused.exit_code == 1
    assert "audit checkpoint REFUSED" in refused.output
    assert f"signed with key {forged.key_id}" in refused.output


@pytest.mark.django_db
def test_cli_verify_refuses_a_wrong_public_key_and_bad_files(tmp_path: Path) -> None:
    _events(2)
    checkpoint, _ = write_checkpoint()
    assert checkpoint is not None
    kept = tmp_path / "kept.json"
    kept.write_text(checkpoint.to_json())
    other = tmp_path / "other.pem"
    other.write_text(public_pem(Ed25519PrivateKey.generate().public_key()))
    runner = CliRunner()
    wrong = runner.invoke(
        main, ["audit", "verify", "--checkpoint", str(kept), "--public-key", str(other)]
    )
    assert wrong.exit_code == 1 and "not a trusted public key" in wrong.output

    garbage = tmp_path / "garbage.json"
    garbage.write_text('{"statement": {"seq": 1}}')
    bad = runner.invoke(main, ["audit", "verify", "--checkpoint", str(garbage)])
    assert bad.exit_code == 1 and "is not a datalux audit checkpoint" in bad.output
    missing = runner.invoke(main, ["audit", "verify", "--checkpoint", str(tmp_path / "no.json")])
    assert missing.exit_code == 1 and "cannot read the checkpoint file" in missing.output
    not_a_key = runner.invoke(
        main, ["audit", "verify", "--checkpoint", str(kept), "--public-key", str(kept)]
    )
    assert not_a_key.exit_code == 1 and "is not a PEM public key" in not_a_key.output
    both = runner.invoke(
        main, ["audit", "verify", "--anchor", f"1:{'0' * 64}", "--checkpoint", str(kept)]
    )
    assert both.exit_code == 2 and "not both" in both.output


@pytest.mark.django_db
def test_cli_verify_uses_the_latest_checkpoint_by_default() -> None:
    _events(3)
    write_checkpoint()
    runner = CliRunner()
    ok = runner.invoke(main, ["audit", "verify"])
    assert ok.exit_code == 0 and "signed checkpoint #3" in ok.output
    _rewrite_history(1, {"forged": True})
    broken = runner.invoke(main, ["audit", "verify"])
    assert broken.exit_code == 1 and "signed checkpoint #3" in broken.output


def test_keygen_makes_a_private_key_0600_and_its_public_key(tmp_path: Path) -> None:
    target = tmp_path / "keys" / "audit.key"
    runner = CliRunner()
    made = runner.invoke(main, ["audit", "keygen", "--out", str(target)])
    assert made.exit_code == 0, made.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    public = target.with_name("audit.key.pub")
    assert public.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert stat.S_IMODE(public.stat().st_mode) == 0o644
    assert "key id " in made.output
    again = runner.invoke(main, ["audit", "keygen", "--out", str(target)])
    assert again.exit_code == 1 and "already exists" in again.output


def test_keygen_writes_the_configured_key_file(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("DATALUX_AUDIT_SIGNING_KEY", str(tmp_path / "configured.key"))
    made = CliRunner().invoke(main, ["audit", "keygen"])
    assert made.exit_code == 0, made.output
    assert (tmp_path / "configured.key").exists()


def test_production_refuses_to_start_without_the_signing_key(settings: Any, tmp_path: Path) -> None:
    settings.DATALUX_MODE = "production"
    settings.DATALUX_AUDIT_SIGNING_KEY = tmp_path / "absent.key"
    with pytest.raises(SettingsError) as missing:
        check_signing_key()
    assert missing.value.name == "DATALUX_AUDIT_SIGNING_KEY"
    assert "does not exist" in str(missing.value) and "datalux audit keygen" in missing.value.hint
    key = tmp_path / "audit.key"
    generate(key)
    settings.DATALUX_AUDIT_SIGNING_KEY = key
    check_signing_key()  # a usable key: no error
    key.chmod(0o644)
    with pytest.raises(SettingsError, match="chmod 600"):
        check_signing_key()


def test_development_makes_the_key_on_first_use(settings: Any) -> None:
    from datalux.audit.checkpoints import signing_key

    path = Path(settings.DATALUX_AUDIT_SIGNING_KEY)
    assert not path.exists()
    first = signing_key()
    assert path.exists() and key_id(signing_key().public_key()) == key_id(first.public_key())


def test_a_production_process_stops_at_start_up_with_the_fix(tmp_path: Path) -> None:
    """The real start-up: `datalux manage check` in production mode, without then with a key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATALUX_", "DJANGO_"))}
    env |= {
        "DATALUX_MODE": "production",
        "DATALUX_SECRET_KEY": "start-up-test-" + "k" * 40,
        "DATALUX_ALLOWED_HOSTS": "data.example.lu",
        "DATALUX_BASE_URI": "https://data.example.lu",
        "DATABASE_URL": "postgresql://datalux@127.0.0.1:9/datalux",  # never connected to
        "DATALUX_VAR": str(tmp_path / "var"),
        "DATALUX_AUDIT_SIGNING_KEY": str(tmp_path / "audit.key"),
    }
    datalux = [sys.executable, "-c", "from datalux.cli import main; main()"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603
            [*datalux, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
        )

    refused = run("manage", "check")
    assert refused.returncode == 1
    assert "configuration error: DATALUX_AUDIT_SIGNING_KEY:" in refused.stderr
    assert "fix: make it once with `datalux audit keygen" in refused.stderr
    made = run("audit", "keygen")  # runs without the settings that refused to load
    assert made.returncode == 0, made.stderr
    started = run("manage", "check")
    assert started.returncode == 0, started.stderr


def _now() -> Any:
    from django.utils import timezone

    return timezone.now()


def test_a_checkpoint_document_round_trips() -> None:
    private = Ed25519PrivateKey.generate()
    checkpoint = sign_head(private, seq=7, head_hash="a" * 64, event_count=7, at=_now())
    assert Checkpoint.parse(json.loads(checkpoint.to_json()), source="x") == checkpoint
