"""The release request's state diagram, generated from its transition table (STYLE.md 5).

``docs/outputs.md`` holds the output between the markers of :mod:`datalux.access.diagram`; a
test checks it is current. Regenerate with ``python -m datalux.spe.release_diagram
docs/outputs.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from datalux.access.diagram import BEGIN, END, _state_diagram
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
    text = path.read_text(encoding="utf-8")
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"{path}: add the lines {BEGIN!r} and {END!r} where the diagram goes")
    new = text[: start + len(BEGIN)] + "\n" + mermaid() + "\n" + text[end:]
    if new == text:
        return False
    path.write_text(new, encoding="utf-8")
    return True


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(mermaid())
    else:
        target = Path(sys.argv[1])
        print(f"{target}: {'updated' if write(target) else 'already current'}")
