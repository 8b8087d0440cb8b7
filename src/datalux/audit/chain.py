"""The hash chain: canonical serialisation of an event and its SHA-256 (no Django import).

``hash = SHA-256(canonical_json(fields + prev_hash))``, where canonical JSON has sorted keys,
no insignificant whitespace and UTF-8 text. The first event's ``prev_hash`` is GENESIS.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64

# Keys that must never appear in event details: audit events describe, they never copy data.
FORBIDDEN_DETAIL_KEYS = frozenset(
    {
        "national_id",
        "matricule",
        "given_name",
        "surname",
        "name_of_person",
        "birth_date",
        "address",
        "password",
        "token",
        "secret",
        "key",
        "master_key",
    }
)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def check_details(details: dict[str, Any]) -> None:
    """Refuse details that could carry protected values or are not plain JSON."""

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if not isinstance(key, str):
                    raise ValueError(f"audit detail keys must be strings (at {path})")
                if key.lower() in FORBIDDEN_DETAIL_KEYS:
                    raise ValueError(
                        f"audit details must not contain {key!r} (at {path}): "
                        "record a reference to the object, never protected values"
                    )
                walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}[{i}]")
        elif isinstance(node, float):
            raise ValueError(f"audit details hold no floats (at {path}): use a string or int")
        elif not (node is None or isinstance(node, str | int | bool)):
            raise ValueError(f"audit details must be plain JSON (at {path}: {type(node).__name__})")

    walk(details, "details")


def timestamp(value: datetime) -> str:
    """UTC ISO-8601 with microseconds: the same text on SQLite and PostgreSQL."""
    if value.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(
    *,
    seq: int,
    occurred_at: datetime,
    kind: str,
    actor_id: int | None,
    actor_label: str,
    organisation_id: int | None,
    object_type: str,
    object_id: str,
    details_json: str,
    prev_hash: str,
) -> str:
    payload = canonical_json(
        {
            "seq": seq,
            "occurred_at": timestamp(occurred_at),
            "kind": kind,
            "actor_id": actor_id,
            "actor": actor_label,
            "organisation_id": organisation_id,
            "object_type": object_type,
            "object_id": object_id,
            "details": details_json,
            "prev_hash": prev_hash,
        }
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
