"""docs/onceonly.md holds the protocol's state diagram generated from its transition table."""

from __future__ import annotations

from pathlib import Path

from datalux.access import diagram
from datalux.onceonly import diagram as protocol_diagram
from datalux.onceonly.states import PROTOCOL_TRANSITIONS

DOC = Path(__file__).resolve().parents[2] / "docs" / "onceonly.md"


def test_the_doc_holds_exactly_the_generated_diagram() -> None:
    block = diagram.generated_block(DOC.read_text(encoding="utf-8"))
    assert block == protocol_diagram.mermaid(), (
        "docs/onceonly.md is stale: run `python -m datalux.onceonly.diagram docs/onceonly.md`"
    )


def test_every_transition_is_an_arrow() -> None:
    text = protocol_diagram.mermaid()
    for (source, action), targets in PROTOCOL_TRANSITIONS.items():
        for target in targets:
            arrow = [
                line
                for line in text.splitlines()
                if line.strip().startswith(f"{source.value} --> {target.value}:")
            ]
            assert arrow and action.value.replace("_", " ") in arrow[0]
