"""project.yaml: actions, needs and declared outputs (issue 12, item 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from datalux.spe.project import ProjectError, Sensitivity, glob_match, load, parse

GOOD = """
version: 1
actions:
  describe:
    run: python analysis/describe.py --by canton
    needs: [cohort]
    outputs:
      moderately_sensitive:
        table: output/counts.csv
        figures: output/figures/**/*.png
  cohort:
    run: python analysis/cohort.py
    outputs:
      highly_sensitive:
        cohort: output/cohort.parquet
"""


def _project(tmp_path: Path, text: str = GOOD) -> Path:
    (tmp_path / "analysis").mkdir()
    (tmp_path / "analysis" / "cohort.py").write_text("print('cohort')\n")
    (tmp_path / "analysis" / "describe.py").write_text("print('describe')\n")
    (tmp_path / "project.yaml").write_text(text)
    return tmp_path


def test_a_project_is_read_in_running_order(tmp_path: Path) -> None:
    project = load(_project(tmp_path), runtimes=["python"])
    assert [a.name for a in project.actions] == ["cohort", "describe"]
    describe = project.action("describe")
    assert (describe.runtime, describe.script, describe.args) == (
        "python", "analysis/describe.py", ("--by", "canton"),
    )  # fmt: skip
    assert describe.needs == ("cohort",)
    table = describe.output_for("output/counts.csv")
    assert table is not None and table.sensitivity is Sensitivity.MODERATELY_SENSITIVE
    assert describe.output_for("output/figures/a/b/x.png") is not None
    assert describe.output_for("output/figures/x.png") is not None
    assert describe.output_for("output/cohort.parquet") is None
    assert [a.name for a in project.with_needs(["describe"])] == ["cohort", "describe"]
    assert [a.name for a in project.with_needs(["cohort"])] == ["cohort"]


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("output/*.csv", "output/a.csv", True),
        ("output/*.csv", "output/sub/a.csv", False),
        ("output/**/*.csv", "output/sub/deep/a.csv", True),
        ("output/**/*.csv", "output/a.csv", True),
        ("output/t?.csv", "output/t1.csv", True),
        ("output/a.csv", "output/a.csvx", False),
    ],
)
def test_glob_match(pattern: str, path: str, expected: bool) -> None:
    assert glob_match(pattern, path) is expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a list", "must be a mapping"),
        ("version: 2\nactions: {a: {}}", "'version' must be 1"),
        ("version: 1\nactions: {}", "'actions' must map"),
        ("version: 1\nextra: 1\nactions: {}", "unknown key"),
        ("version: 1\nactions:\n  Bad Name:\n    run: python analysis/cohort.py", "lower-case"),
        ("version: 1\nactions:\n  a:\n    run: python\n    outputs: {}", "a runtime and a script"),
        (
            "version: 1\nactions:\n  a:\n    run: rscript analysis/cohort.py\n"
            "    outputs: {highly_sensitive: {x: output/x}}",
            "runtime 'rscript' is not allowed here",
        ),
        (
            "version: 1\nactions:\n  a:\n    run: python ../etc/passwd\n"
            "    outputs: {highly_sensitive: {x: output/x}}",
            "relative path inside the project",
        ),
        (
            "version: 1\nactions:\n  a:\n    run: python analysis/missing.py\n"
            "    outputs: {highly_sensitive: {x: output/x}}",
            "is not in the project",
        ),
        (
            "version: 1\nactions:\n  a:\n    run: python analysis/cohort.py\n"
            "    outputs: {highly_sensitive: {x: results/x.csv}}",
            "must lie under output/",
        ),
        (
            "version: 1\nactions:\n  a:\n    run: python analysis/cohort.py\n"
            "    outputs: {secret: {x: output/x.csv}}",
            "unknown output level 'secret'",
        ),
        (
            "version: 1\nactions:\n  a:\n    run: python analysis/cohort.py\n    needs: [b]\n"
            "    outputs: {highly_sensitive: {x: output/x}}",
            "needs 'b', which is not declared",
        ),
        (
            "version: 1\nactions:\n"
            "  a:\n    run: python analysis/cohort.py\n    needs: [b]\n"
            "    outputs: {highly_sensitive: {x: output/a}}\n"
            "  b:\n    run: python analysis/cohort.py\n    needs: [a]\n"
            "    outputs: {highly_sensitive: {x: output/b}}",
            "in a circle",
        ),
        (
            "version: 1\nactions:\n"
            "  a:\n    run: python analysis/cohort.py\n"
            "    outputs: {highly_sensitive: {x: output/same.csv}}\n"
            "  b:\n    run: python analysis/cohort.py\n"
            "    outputs: {moderately_sensitive: {y: output/same.csv}}",
            "both declare 'output/same.csv'",
        ),
        ("version: 1\nactions: [\n", "not valid YAML at line"),
    ],
)
def test_a_wrong_project_says_what_to_fix(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ProjectError, match=message):
        load(_project(tmp_path, text), runtimes=["python"])


def test_missing_project_file(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match=r"no project\.yaml"):
        load(tmp_path)


def test_unknown_action_is_named() -> None:
    project = parse(
        {"version": 1, "actions": {"a": {"run": "python a.py",
                                          "outputs": {"highly_sensitive": {"x": "output/x"}}}}}
    )  # fmt: skip
    with pytest.raises(ProjectError, match=r"no action 'b' in project\.yaml"):
        project.action("b")
