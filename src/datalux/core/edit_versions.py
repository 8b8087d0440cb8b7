"""Optimistic locking of edit forms: two tabs (or two people) editing one record must not
silently overwrite each other.

A form carries a *version token* of the record as it was shown: one short digest per field,
signed. On save, the action (under a row lock) compares the token with the record now:

- fields somebody else changed meanwhile and the user did not touch are *kept* (the form's
  stale copy is not written back);
- fields both changed, to different values, are a conflict: :class:`EditConflict` names them
  and nothing is saved; the page shows the user's typed values with what changed, and a new
  token, so saving again is a deliberate choice;
- without a token (API calls and scripts that send only what they change) every given field
  is written, as before.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from django.core import signing

SALT = "datalux.edit-version"


class EditConflict(Exception):
    """Somebody else saved the record since the form was shown; ``changed`` names the fields
    (or variables) both changed, or is empty when the token is unreadable."""

    def __init__(self, changed: list[str]) -> None:
        self.changed = changed
        super().__init__(
            "the record was changed by someone else since it was shown"
            + (f": {', '.join(changed)}" if changed else "")
        )


def _digest(value: Any) -> str:
    if isinstance(value, str):
        value = value.strip()
    text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def version_token(values: Mapping[str, Any]) -> str:
    """The token of a record's editable values, for the form's hidden ``version`` field."""
    return signing.dumps({k: _digest(v) for k, v in values.items()}, salt=SALT, compress=True)


def fields_to_write(
    token: str | None, current: Mapping[str, Any], submitted: Mapping[str, Any] | None = None
) -> set[str]:
    """The submitted fields to write, given the ``token`` the form was shown with and the
    record's ``current`` values; raise :class:`EditConflict` where both sides changed a field.

    ``submitted`` None means the whole record is replaced (a data dictionary): then any
    change by somebody else is a conflict.
    """
    given = set(submitted or {})
    if not token:
        return given
    try:
        original: dict[str, str] = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        raise EditConflict([]) from None
    keys = set(original) | set(current)
    others = {k for k in keys if original.get(k) != (_digest(current[k]) if k in current else None)}
    if submitted is None:
        if others:
            raise EditConflict(sorted(others))
        return given
    mine = {k for k in given if original.get(k) != _digest(submitted[k])}
    clash = {
        k for k in mine & others if k not in current or _digest(submitted[k]) != _digest(current[k])
    }
    if clash:
        raise EditConflict(sorted(clash))
    return mine


def changed_rows(
    changed: list[str], labels: Mapping[str, Any], current: Mapping[str, Any]
) -> list[dict[str, str]]:
    """What a conflict page lists: each field's label and its value now (shortened)."""
    rows = []
    for name in changed:
        value = current.get(name)
        if isinstance(value, dict):
            value = " / ".join(str(v) for v in value.values() if v)
        elif isinstance(value, list | tuple):
            value = ", ".join(str(v) for v in value)
        text = "" if value in (None, "") else str(value)
        rows.append(
            {
                "label": str(labels.get(name, name)),
                "now": text if len(text) <= 300 else text[:299] + "…",
            }
        )
    return rows
