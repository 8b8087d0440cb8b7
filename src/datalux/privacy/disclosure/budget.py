"""A per-project privacy-budget accountant under sequential composition.

A project gets a total ``epsilon`` (and ``delta``); every differentially private release
spends some. Under basic sequential composition the spends add up: a release is refused with
:class:`BudgetExceededError` when ``spent + asked`` would pass the total, **before** any noise
is drawn, and recorded **before** the result is returned (a crash after recording loses
budget, never the other way round).

Storage sits behind the small :class:`BudgetStore` interface (``state`` and an atomic
``charge``) so the web app can back it with its database later. Two stores here:

* :class:`LedgerFile` — an append-only JSON-lines file: a header line with the totals, then
  one line per spend. Each line carries the SHA-256 of the line before it, so an edited or
  deleted line is detected on the next read. ``charge`` holds an exclusive ``flock`` while it
  re-reads, checks and appends, so two processes cannot overspend together. A change of the
  totals (:meth:`LedgerFile.set_totals`) is one more line (``kind: total``), never an edit of
  the header: the spends stay, and a total is never set below what is spent.
* :class:`MemoryBudget` — the same rules in memory (tests, notebooks).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from datalux.privacy.errors import InputError, PrivacyError

#: Slack for floating-point sums of spends (a spend that reaches the total exactly is allowed).
_SLACK = 1e-12


class BudgetExceededError(PrivacyError):
    """A release would spend more privacy budget than the project has left."""


class LedgerError(PrivacyError):
    """A budget ledger file that is missing, malformed or was altered."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _check_amount(name: str, value: float, *, positive: bool) -> float:
    v = float(value)
    if not math.isfinite(v) or v < 0 or (positive and v == 0):
        need = "> 0" if positive else ">= 0"
        raise InputError(f"{name} must be a finite number {need}, got {value!r}")
    return v


@dataclass(frozen=True)
class Spend:
    """One release's privacy loss and what it was."""

    epsilon: float
    delta: float = 0.0
    query: str = ""
    mechanism: str = ""
    at: str = field(default_factory=_now)

    def __post_init__(self) -> None:
        _check_amount("epsilon", self.epsilon, positive=False)
        _check_amount("delta", self.delta, positive=False)
        if self.delta >= 1:
            raise InputError(f"delta must be below 1, got {self.delta}")


@dataclass(frozen=True)
class BudgetState:
    """A project's totals and the spends so far."""

    project: str
    epsilon_total: float
    delta_total: float = 0.0
    spends: tuple[Spend, ...] = ()

    @property
    def epsilon_spent(self) -> float:
        return math.fsum(s.epsilon for s in self.spends)

    @property
    def delta_spent(self) -> float:
        return math.fsum(s.delta for s in self.spends)

    @property
    def epsilon_remaining(self) -> float:
        return max(0.0, self.epsilon_total - self.epsilon_spent)

    @property
    def delta_remaining(self) -> float:
        return max(0.0, self.delta_total - self.delta_spent)

    def check(self, spend: Spend) -> None:
        """Raise :class:`BudgetExceededError` if ``spend`` would pass a total."""
        eps_after = self.epsilon_spent + spend.epsilon
        delta_after = self.delta_spent + spend.delta
        if eps_after > self.epsilon_total + _SLACK:
            raise BudgetExceededError(
                f"privacy budget of project {self.project!r} exceeded: this release needs "
                f"epsilon={spend.epsilon:.6g} but only {self.epsilon_remaining:.6g} of "
                f"{self.epsilon_total:.6g} is left; use a smaller epsilon or ask the data "
                "authority for more budget"
            )
        if delta_after > self.delta_total + _SLACK:
            raise BudgetExceededError(
                f"privacy budget of project {self.project!r} exceeded: this release needs "
                f"delta={spend.delta:.3g} but only {self.delta_remaining:.3g} of "
                f"{self.delta_total:.3g} is left; use a pure-DP mechanism (laplace) or a "
                "smaller delta"
            )

    def summary(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "epsilon_total": self.epsilon_total,
            "epsilon_spent": self.epsilon_spent,
            "epsilon_remaining": self.epsilon_remaining,
            "delta_total": self.delta_total,
            "delta_spent": self.delta_spent,
            "delta_remaining": self.delta_remaining,
            "releases": len(self.spends),
        }


class BudgetStore(Protocol):
    """Where a project's budget lives. ``charge`` must check and record atomically."""

    def state(self) -> BudgetState: ...

    def charge(self, spend: Spend) -> BudgetState: ...


def _new_state(project: str, epsilon: float, delta: float) -> BudgetState:
    if not project or not project.strip():
        raise InputError("a budget needs a project name")
    eps = _check_amount("total epsilon", epsilon, positive=True)
    dlt = _check_amount("total delta", delta, positive=False)
    if dlt >= 1:
        raise InputError(f"total delta must be below 1, got {delta}")
    return BudgetState(project=project, epsilon_total=eps, delta_total=dlt)


class MemoryBudget:
    """A budget kept in memory."""

    def __init__(self, project: str, epsilon: float, delta: float = 0.0) -> None:
        self._state = _new_state(project, epsilon, delta)

    def state(self) -> BudgetState:
        return self._state

    def charge(self, spend: Spend) -> BudgetState:
        self._state.check(spend)
        self._state = BudgetState(
            self._state.project,
            self._state.epsilon_total,
            self._state.delta_total,
            (*self._state.spends, spend),
        )
        return self._state


def _digest(line: bytes) -> str:
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


class LedgerFile:
    """An append-only, hash-chained JSON-lines budget ledger at ``path``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @classmethod
    def create(
        cls, path: str | os.PathLike[str], *, project: str, epsilon: float, delta: float = 0.0
    ) -> LedgerFile:
        """Start a new ledger; refuses to overwrite an existing file."""
        state = _new_state(project, epsilon, delta)
        p = Path(path)
        if not p.parent.is_dir():
            raise InputError(f"folder of the budget file does not exist: {p.parent}")
        header = {
            "kind": "budget",
            "project": state.project,
            "epsilon": state.epsilon_total,
            "delta": state.delta_total,
            "at": _now(),
            "prev": "",
        }
        line = (json.dumps(header, sort_keys=True) + "\n").encode()
        tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "xb") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
            os.link(tmp, p)  # fails if the ledger exists: never overwrite spends
        except FileExistsError as exc:
            raise LedgerError(
                f"budget file already exists: {p}; use it as is or choose another path"
            ) from exc
        finally:
            tmp.unlink(missing_ok=True)
        return cls(p)

    def _parse(self, raw: bytes) -> BudgetState:
        lines = raw.splitlines(keepends=True)
        if not lines:
            raise LedgerError(f"budget file is empty: {self.path}; create it with budget init")
        records: list[dict[str, Any]] = []
        prev = ""
        for n, line in enumerate(lines, start=1):
            if not line.endswith(b"\n"):
                raise LedgerError(f"budget file {self.path} line {n} is incomplete (torn write)")
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise LedgerError(f"budget file {self.path} line {n} is not JSON") from exc
            if not isinstance(rec, dict) or rec.get("prev") != prev:
                raise LedgerError(
                    f"budget file {self.path} line {n} does not chain to the line before: "
                    "the ledger was edited or a line removed; restore it from backup"
                )
            records.append(rec)
            prev = _digest(line)
        head, rest = records[0], records[1:]
        if head.get("kind") != "budget":
            raise LedgerError(f"budget file {self.path} does not start with a budget header")
        try:
            state = _new_state(str(head["project"]), head["epsilon"], head["delta"])
            epsilon, delta = state.epsilon_total, state.delta_total
            spends: list[Spend] = []
            for r in rest:
                if r.get("kind") == "spend":
                    spends.append(
                        Spend(
                            epsilon=r["epsilon"],
                            delta=r["delta"],
                            query=r.get("query", ""),
                            mechanism=r.get("mechanism", ""),
                            at=r.get("at", ""),
                        )
                    )
                elif r.get("kind") == "total":  # the totals changed from here on
                    changed = _new_state(state.project, r["epsilon"], r["delta"])
                    epsilon, delta = changed.epsilon_total, changed.delta_total
                else:
                    raise LedgerError(f"budget file {self.path} has a record of unknown kind")
        except (KeyError, TypeError, InputError) as exc:
            raise LedgerError(f"budget file {self.path} has a malformed record: {exc}") from exc
        return BudgetState(state.project, epsilon, delta, tuple(spends))

    def state(self) -> BudgetState:
        if not self.path.is_file():
            raise LedgerError(f"budget file not found: {self.path}; create it with budget init")
        return self._parse(self.path.read_bytes())

    def charge(self, spend: Spend) -> BudgetState:
        if not self.path.is_file():
            raise LedgerError(f"budget file not found: {self.path}; create it with budget init")
        with open(self.path, "r+b") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                raw = fh.read()
                state = self._parse(raw)
                state.check(spend)
                last = raw.splitlines(keepends=True)[-1]
                record = {"kind": "spend", **asdict(spend), "prev": _digest(last)}
                fh.seek(0, os.SEEK_END)
                fh.write((json.dumps(record, sort_keys=True) + "\n").encode())
                fh.flush()
                os.fsync(fh.fileno())
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return BudgetState(
            state.project, state.epsilon_total, state.delta_total, (*state.spends, spend)
        )

    def set_totals(self, *, epsilon: float, delta: float, reason: str = "") -> BudgetState:
        """Change the project's totals from now on: one more line (``kind: total``), the spends
        kept. Refused (:class:`BudgetExceededError`) below what is already spent; the same
        totals again append nothing."""
        eps = _check_amount("total epsilon", epsilon, positive=True)
        dlt = _check_amount("total delta", delta, positive=False)
        if dlt >= 1:
            raise InputError(f"total delta must be below 1, got {delta}")
        if not self.path.is_file():
            raise LedgerError(f"budget file not found: {self.path}; create it with budget init")
        with open(self.path, "r+b") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                raw = fh.read()
                state = self._parse(raw)
                if (eps, dlt) == (state.epsilon_total, state.delta_total):
                    return state
                if eps + _SLACK < state.epsilon_spent or dlt + _SLACK < state.delta_spent:
                    raise BudgetExceededError(
                        f"the totals of project {state.project!r} cannot be set below what is "
                        f"spent: epsilon {state.epsilon_spent:.6g} and delta "
                        f"{state.delta_spent:.3g} are spent already"
                    )
                last = raw.splitlines(keepends=True)[-1]
                record = {"kind": "total", "epsilon": eps, "delta": dlt, "reason": reason[:500],
                          "at": _now(), "prev": _digest(last)}  # fmt: skip
                fh.seek(0, os.SEEK_END)
                fh.write((json.dumps(record, sort_keys=True) + "\n").encode())
                fh.flush()
                os.fsync(fh.fileno())
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return BudgetState(state.project, eps, dlt, state.spends)
