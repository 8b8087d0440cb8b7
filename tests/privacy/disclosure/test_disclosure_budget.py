"""The privacy-budget accountant: sequential composition, refusal, tamper-evident ledger."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datalux.privacy.disclosure import (
    BudgetExceededError,
    LedgerError,
    LedgerFile,
    MemoryBudget,
    Spend,
)
from datalux.privacy.errors import InputError


def test_spends_add_up_and_refuse_past_total() -> None:
    b = MemoryBudget("p1", epsilon=1.0)
    b.charge(Spend(0.3))
    b.charge(Spend(0.3))
    with pytest.raises(BudgetExceededError, match=r"only 0\.4 of 1 is left"):
        b.charge(Spend(0.5))
    b.charge(Spend(0.4))  # reaching the total exactly is allowed
    assert b.state().epsilon_spent == pytest.approx(1.0)
    assert b.state().epsilon_remaining == pytest.approx(0.0)
    with pytest.raises(BudgetExceededError):
        b.charge(Spend(1e-6))


def test_delta_is_accounted_separately() -> None:
    b = MemoryBudget("p1", epsilon=10.0, delta=1e-6)
    b.charge(Spend(0.1, delta=6e-7))
    with pytest.raises(BudgetExceededError, match="delta"):
        b.charge(Spend(0.1, delta=6e-7))
    assert len(b.state().spends) == 1


def test_ledger_file_persists_and_refuses(tmp_path: Path) -> None:
    path = tmp_path / "budget.jsonl"
    LedgerFile.create(path, project="p1", epsilon=1.0)
    LedgerFile(path).charge(Spend(0.7, query="count"))
    # a new object (another process) sees the earlier spend
    with pytest.raises(BudgetExceededError):
        LedgerFile(path).charge(Spend(0.4))
    state = LedgerFile(path).state()
    assert state.epsilon_spent == pytest.approx(0.7)
    assert [s.query for s in state.spends] == ["count"]
    assert len(path.read_text().splitlines()) == 2  # the refused spend wrote nothing


def test_ledger_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "b.jsonl"
    LedgerFile.create(path, project="p1", epsilon=1.0)
    with pytest.raises(LedgerError, match="already exists"):
        LedgerFile.create(path, project="p1", epsilon=5.0)
    assert LedgerFile(path).state().epsilon_total == 1.0


def test_edited_or_deleted_line_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "b.jsonl"
    LedgerFile.create(path, project="p1", epsilon=1.0)
    ledger = LedgerFile(path)
    ledger.charge(Spend(0.5))
    ledger.charge(Spend(0.2))
    lines = path.read_text().splitlines(keepends=True)
    # lower a recorded spend
    rec = json.loads(lines[1])
    rec["epsilon"] = 0.01
    path.write_text(lines[0] + json.dumps(rec, sort_keys=True) + "\n" + lines[2])
    with pytest.raises(LedgerError, match="line 3 does not chain"):
        ledger.state()
    # delete a spend
    path.write_text(lines[0] + lines[2])
    with pytest.raises(LedgerError, match="line 2 does not chain"):
        ledger.state()
    # raise the total in the header
    head = json.loads(lines[0])
    head["epsilon"] = 100.0
    path.write_text(json.dumps(head, sort_keys=True) + "\n" + "".join(lines[1:]))
    with pytest.raises(LedgerError, match="line 2 does not chain"):
        ledger.state()


def test_bad_files_and_amounts(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="not found"):
        LedgerFile(tmp_path / "none.jsonl").state()
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(LedgerError, match="empty"):
        LedgerFile(empty).state()
    junk = tmp_path / "junk.jsonl"
    junk.write_text("not json\n")
    with pytest.raises(LedgerError, match="line 1 is not JSON"):
        LedgerFile(junk).state()
    with pytest.raises(InputError, match="total epsilon"):
        MemoryBudget("p", epsilon=0)
    with pytest.raises(InputError, match="epsilon"):
        Spend(-0.1)


def test_a_new_total_is_one_more_line_the_spends_kept(tmp_path: Path) -> None:
    path = tmp_path / "budget.jsonl"
    ledger = LedgerFile.create(path, project="p1", epsilon=1.0)
    ledger.charge(Spend(0.6, query="q1"))
    raised = ledger.set_totals(epsilon=2.0, delta=1e-6, reason="permit version 2")
    assert raised.epsilon_total == 2.0 and raised.epsilon_spent == pytest.approx(0.6)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["kind"] for r in lines] == ["budget", "spend", "total"]
    assert lines[0]["epsilon"] == 1.0  # the header keeps the first total
    state = LedgerFile(path).state()
    assert (state.epsilon_total, state.delta_total) == (2.0, 1e-6)
    assert [s.query for s in state.spends] == ["q1"]
    ledger.charge(Spend(1.4))  # the raised total is what the next spend may reach
    assert ledger.state().epsilon_remaining == pytest.approx(0.0)
    # the same totals again append nothing
    ledger.set_totals(epsilon=2.0, delta=1e-6)
    assert len(path.read_text().splitlines()) == 4


def test_a_total_is_never_set_below_what_is_spent(tmp_path: Path) -> None:
    path = tmp_path / "budget.jsonl"
    ledger = LedgerFile.create(path, project="p1", epsilon=1.0)
    ledger.charge(Spend(0.6))
    with pytest.raises(BudgetExceededError, match=r"below what is spent: epsilon 0\.6"):
        ledger.set_totals(epsilon=0.5, delta=0.0)
    lowered = ledger.set_totals(epsilon=0.7, delta=0.0)
    assert lowered.epsilon_remaining == pytest.approx(0.1)
    for bad in (0.0, float("nan"), float("inf"), -1.0):
        with pytest.raises(InputError):
            ledger.set_totals(epsilon=bad, delta=0.0)
    assert LedgerFile(path).state().epsilon_total == 0.7


def test_an_edited_total_line_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "budget.jsonl"
    ledger = LedgerFile.create(path, project="p1", epsilon=1.0)
    ledger.set_totals(epsilon=2.0, delta=0.0)
    ledger.charge(Spend(0.1))
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace('"epsilon": 2.0', '"epsilon": 20.0')
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(LedgerError, match="does not chain"):
        LedgerFile(path).state()
