from __future__ import annotations

from typing import Any

from datalux.audit.kinds import EventKind
from datalux.audit.log import Verification, record, verify


def run_verification(*, by: Any = None, anchor: tuple[int, str] | None = None) -> Verification:
    """Verify the chain, then record the outcome as a new event (after reading the chain)."""
    result = verify(anchor=anchor)
    record(
        EventKind.AUDIT_VERIFIED,
        actor=by,
        details={"ok": result.ok, "checked": result.checked, "first_bad_seq": result.seq},
    )
    return result
