"""``datalux spe prepare|show`` as the trusted third party's operator runs them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent
from datalux.cli import main
from datalux.privacy.keys import MASTER_KEY_ENV_VAR, MasterKey
from datalux.spe.plan import table_name
from tests.access.world import World
from tests.spe.test_plan import _permit, _rows, _store

pytestmark = pytest.mark.django_db


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> MasterKey:
    master = MasterKey(b"c" * 32)
    monkeypatch.setenv(MASTER_KEY_ENV_VAR, master.to_base64())
    return master


def run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_prepare_then_show_then_prepare_again(world: World, key: MasterKey) -> None:
    source = _store(world)
    permit = _permit(world)
    result = run("spe", "prepare", permit.number)
    assert result.exit_code == 0, result.output
    steps = [line for line in result.stderr.splitlines() if line]
    name = table_name(world.stays)
    assert steps[:3] == [f"extracting: {name}", f"pseudonymising: {name}", "verifying"]
    folder = Path(steps[-1].removeprefix("ready: "))
    printed = json.loads(result.stdout)
    assert printed["tables"][0]["name"] == name
    assert folder.name == f"v{permit.version}" and folder.parent.name == permit.number
    written = pq.read_table(folder / f"{table_name(world.stays)}.parquet")
    assert "national_id" not in written.column_names
    assert not set(written.column("person_id").to_pylist()) & {r["national_id"] for r in _rows()}

    shown = json.loads(run("spe", "show", permit.number).output)
    assert shown["tables"][0]["rows"] == written.num_rows
    assert shown["domain"] == f"project:{permit.number.lower()}"
    event = AuditEvent.objects.get(kind=EventKind.EXTRACT_PREPARED)
    assert event.details["tables"][0]["rows"] == written.num_rows
    assert str(source) not in json.dumps(event.details)  # no paths, no values

    again = run("spe", "prepare", permit.number)
    assert again.exit_code == 0 and "already prepared: " in again.stderr
    assert json.loads(again.stdout) == printed
    assert AuditEvent.objects.filter(kind=EventKind.EXTRACT_PREPARED).count() == 1


def test_a_killed_run_leaves_a_hidden_folder_that_the_next_run_removes(
    world: World, key: MasterKey
) -> None:
    _store(world)
    permit = _permit(world)
    from datalux.spe.prepare import extract_folder

    folder = extract_folder(permit)
    stale = folder.with_name(f".{folder.name}.partial-1-2")
    stale.mkdir(parents=True)
    (stale / "half.parquet").write_bytes(b"PAR1")
    assert run("spe", "show", permit.number).exit_code == 1  # nothing visible
    assert run("spe", "prepare", permit.number).exit_code == 0
    assert not stale.exists() and (folder / "manifest.json").exists()


def test_refusals_say_what_to_fix_and_are_audited(world: World, key: MasterKey) -> None:
    permit = _permit(world)  # no stored data
    result = CliRunner().invoke(main, ["spe", "prepare", permit.number])
    assert result.exit_code == 1 and "has no stored data version" in result.output
    event = AuditEvent.objects.get(kind=EventKind.EXTRACT_REFUSED)
    assert "has no stored data version" in event.details["reason"]
    unknown = CliRunner().invoke(main, ["spe", "prepare", "DLX-P-1999-00009"])
    assert unknown.exit_code == 1 and "no permit DLX-P-1999-00009" in unknown.output
    shown = CliRunner().invoke(main, ["spe", "show", permit.number])
    assert shown.exit_code == 1 and "has no extract yet" in shown.output


def test_without_the_master_key_nothing_is_prepared(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(MASTER_KEY_ENV_VAR, raising=False)
    _store(world)
    permit = _permit(world)
    result = CliRunner().invoke(main, ["spe", "prepare", permit.number])
    assert result.exit_code == 1 and "no master key" in result.output
    assert not AuditEvent.objects.filter(kind=EventKind.EXTRACT_PREPARED).exists()
