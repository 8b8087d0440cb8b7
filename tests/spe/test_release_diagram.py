"""docs/outputs.md holds the release request's state diagram generated from its transition
table: it cannot go stale."""

from __future__ import annotations

from pathlib import Path

from datalux.access.diagram import BEGIN, END, generated_block
from datalux.spe import release_diagram
from datalux.spe.release_states import RELEASE_TRANSITIONS

DOC = Path(__file__).resolve().parents[2] / "docs" / "outputs.md"


def test_docs_hold_exactly_the_generated_diagram() -> None:
    block = generated_block(DOC.read_text(encoding="utf-8"))
    assert block is not None, f"{DOC} lost its markers {BEGIN!r} … {END!r}"
    assert block == release_diagram.mermaid(), (
        "docs/outputs.md is stale: run `python -m datalux.spe.release_diagram docs/outputs.md`"
    )


def test_every_transition_is_an_arrow() -> None:
    text = release_diagram.mermaid()
    for (source, action), targets in RELEASE_TRANSITIONS.items():
        for target in targets:
            arrow = f"{source.value} --> {target.value}: "
            line = next(line for line in text.splitlines() if arrow in line)
            assert action.value.replace("_", " ") in line
