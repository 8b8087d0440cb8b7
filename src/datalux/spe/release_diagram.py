"""The release request's state diagram, generated from its transition table (STYLE.md 5).

``docs/outputs.md`` holds the output between the markers of :mod:`datalux.access.diagram`; a
test checks it is current. Regenerate with ``python -m datalux.spe.release_diagram
docs/outputs.md``.
"""

from __future__ import annotations

from pathlib import Path

from datalux.access import diagram
from datalux.access.diagram import _state_diagram
from datalux.spe.release_states import RELEASE_TRANSITIONS, ReleaseState


def mermaid() -> str:
    return _state_diagram(
        "Release request",
        RELEASE_TRANSITIONS,  # type: ignore[arg-type]
        ReleaseState.DRAFT,
        list(ReleaseState),
    )


def write(path: Path) -> bool:
    """Replace the generated block of ``path``; return True when it changed."""
    return diagram.write(path, render=mermaid)


if __name__ == "__main__":
    diagram.main(mermaid)
