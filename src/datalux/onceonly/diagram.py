"""The exchange protocol's state diagram, generated from its transition table (STYLE.md 5).

``docs/onceonly.md`` holds the output between the markers of :mod:`datalux.access.diagram`; a
test checks it is current. Regenerate with ``python -m datalux.onceonly.diagram
docs/onceonly.md``.
"""

from __future__ import annotations

from pathlib import Path

from datalux.access import diagram
from datalux.access.diagram import _state_diagram
from datalux.onceonly.states import PROTOCOL_TRANSITIONS, ProtocolState


def mermaid() -> str:
    return _state_diagram(
        "Exchange protocol",
        PROTOCOL_TRANSITIONS,  # type: ignore[arg-type]
        ProtocolState.DRAFT,
        list(ProtocolState),
    )


def write(path: Path) -> bool:
    """Replace the generated block of ``path``; return True when it changed."""
    return diagram.write(path, render=mermaid)


if __name__ == "__main__":
    diagram.main(mermaid)
