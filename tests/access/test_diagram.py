"""docs/access.md holds the state diagrams generated from the transition tables, and a permit
example with exactly the keys of ``Permit.spec()``: neither can go stale."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from datalux.access import diagram
from datalux.access.states import (
    APPLICATION_TRANSITIONS,
    PERMIT_TRANSITIONS,
    ApplicationState,
    PermitState,
)
from datalux.catalogue.pids import is_valid_pid
from tests.access.world import World

DOC = Path(__file__).resolve().parents[2] / "docs" / "access.md"


def test_docs_hold_exactly_the_generated_diagrams() -> None:
    block = diagram.generated_block(DOC.read_text(encoding="utf-8"))
    assert block is not None, f"{DOC} lost its markers {diagram.BEGIN!r} … {diagram.END!r}"
    assert block == diagram.mermaid(), (
        "docs/access.md is stale: run `python -m datalux.access.diagram docs/access.md`"
    )


@pytest.mark.parametrize(
    ("text", "transitions", "states"),
    [
        (diagram.application_diagram(), APPLICATION_TRANSITIONS, ApplicationState),
        (diagram.permit_diagram(), PERMIT_TRANSITIONS, PermitState),
    ],
)
def test_every_transition_is_an_arrow(text: str, transitions: dict, states: type) -> None:
    arrows = {
        (source, target): set(labels.split(" / "))
        for source, target, labels in re.findall(r"^\s+(\w+) --> (\w+): (.+)$", text, re.M)
    }
    expected: dict[tuple[str, str], set[str]] = {}
    for (source, action), targets in transitions.items():
        for target in targets:
            expected.setdefault((source.value, target.value), set()).add(
                action.value.replace("_", " ")
            )
    assert arrows == expected
    finals = set(re.findall(r"^\s+(\w+) --> \[\*\]$", text, re.M))
    assert finals == {s.value for s in states if not any(src == s for src, _ in transitions)}


def test_write_updates_only_the_generated_block(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(f"# Title\n\n{diagram.BEGIN}\nold\n{diagram.END}\n\nAfter.\n")
    assert diagram.write(page) is True
    text = page.read_text()
    assert text.startswith("# Title\n\n") and text.endswith(f"{diagram.END}\n\nAfter.\n")
    assert diagram.generated_block(text) == diagram.mermaid()
    assert diagram.write(page) is False
    (tmp_path / "bare.md").write_text("no markers")
    with pytest.raises(SystemExit, match="add the lines"):
        diagram.write(tmp_path / "bare.md")


def _keys(value: object) -> object:
    """The shape of a JSON value: dict keys, recursively; lists by their first item."""
    if isinstance(value, dict):
        return {k: _keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_keys(value[0])] if value else []
    return None


@pytest.mark.django_db
def test_the_permit_example_has_the_shape_of_a_real_spec(world: World) -> None:
    example_text = re.search(r"```json\n(.*?)\n```", DOC.read_text(encoding="utf-8"), re.S)
    assert example_text is not None
    example = json.loads(example_text.group(1))
    permit = world.approved(
        datasets={
            world.stays.pid: {
                "filters": [
                    {"variable": "age", "op": ">=", "value": 18},
                    {"variable": "age", "op": "<", "value": 65},
                ]
            }
        }
    ).permit
    spec = json.loads(json.dumps(permit.spec()))
    assert _keys(example) == _keys(spec)
    assert is_valid_pid(example["datasets"][0]["dataset"])
    assert example["output_rules"].keys() == spec["output_rules"].keys()
