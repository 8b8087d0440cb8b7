"""The actions of a project as a graph: an inline SVG drawn on the server (no script).

Each action is a box in the column of its depth (the longest chain of needs before it), its
class naming the state of its latest job (``state-succeeded``, ``state-failed``, ...), with an
arrow from each action it needs. The page's style sheet colours the states.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 180, 46, 60, 18, 10


def depths(actions: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Each action's column: 0 without needs, else one more than its deepest need."""
    by_name = {a["name"]: a for a in actions}
    depth: dict[str, int] = {}

    def visit(name: str) -> int:
        if name not in depth:
            needs = [n for n in by_name[name].get("needs", []) if n in by_name]
            depth[name] = 1 + max((visit(n) for n in needs), default=-1)
        return depth[name]

    for action in actions:
        visit(action["name"])
    return depth


def svg(actions: Sequence[Mapping[str, Any]], states: Mapping[str, tuple[str, str]]) -> str:
    """``states``: action name -> (state value, state label) of its latest job."""
    if not actions:
        return ""
    depth = depths(actions)
    columns: dict[int, list[str]] = {}
    for action in actions:
        columns.setdefault(depth[action["name"]], []).append(action["name"])
    place = {
        name: (PAD + col * (BOX_W + GAP_X), PAD + row * (BOX_H + GAP_Y))
        for col, names in columns.items()
        for row, name in enumerate(names)
    }
    width = PAD * 2 + (max(columns) + 1) * BOX_W + max(columns) * GAP_X
    height = PAD * 2 + max(len(n) for n in columns.values()) * (BOX_H + GAP_Y) - GAP_Y
    parts = [
        f'<svg class="action-graph" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"/>'
        "</marker></defs>",
    ]
    for action in actions:
        x2, y2 = place[action["name"]]
        for need in action.get("needs", []):
            if need in place:
                x1, y1 = place[need]
                parts.append(
                    f'<line class="edge" x1="{x1 + BOX_W}" y1="{y1 + BOX_H / 2}" x2="{x2}" '
                    f'y2="{y2 + BOX_H / 2}" marker-end="url(#arrow)"/>'
                )
    for action in actions:
        name = action["name"]
        x, y = place[name]
        state, label = states.get(name, ("none", ""))
        parts.append(
            f'<g class="node state-{escape(state)}"><title>{escape(name)}: {escape(label)}'
            f'</title><rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6"/>'
            f'<text x="{x + 10}" y="{y + 19}" class="name">{escape(name)}</text>'
            f'<text x="{x + 10}" y="{y + 37}" class="state">{escape(label)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)
