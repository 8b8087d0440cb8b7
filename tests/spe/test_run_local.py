"""``datalux spe run-local``: the shipped sample project runs at home on dummy data, in the
same sandbox, with the status of each action (issue 12, item 6)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from click.testing import CliRunner

from datalux.cli import main
from datalux.dataplane.dummy import ColumnSpec, DummySpec, TableSpec, write_dummy

SAMPLE = Path(__file__).parents[2] / "src" / "datalux" / "spe" / "sample_project"


def _dummy(folder: Path) -> Path:
    stays = TableSpec(
        "health-hospital-stays",
        "health-hospital-stays.parquet",
        800,
        (
            ColumnSpec("person_id", person=True),
            ColumnSpec("admission_date", "date", low="2022-01-01", high="2024-12-31"),
            ColumnSpec("discharge_date", "date", after="admission_date", max_gap=40),
            ColumnSpec("primary_diagnosis", values=("E11.9", "I10", "J45.0", "S72.0")),
            ColumnSpec("commune_of_residence", values=("Luxembourg", "Esch-sur-Alzette")),
        ),
    )
    register = TableSpec(
        "civil-population-register",
        "civil-population-register.parquet",
        300,
        (ColumnSpec("person_id", person=True, unique=True), ColumnSpec("sex", values=("F", "M"))),
    )
    write_dummy(DummySpec((stays, register), seed=3, reference_day=date(2026, 1, 1)), folder)
    return folder


def test_the_sample_project_runs_on_dummy_data(tmp_path: Path) -> None:
    data = _dummy(tmp_path / "dummy")
    work = tmp_path / "work"
    result = CliRunner().invoke(
        main, ["spe", "run-local", str(SAMPLE), "--data", str(data), "--work", str(work)]
    )
    assert result.exit_code == 0, result.output
    assert "describe: succeeded" in result.output
    assert "stays: succeeded" in result.output
    assert "length_of_stay: succeeded" in result.output
    with (work / "length_of_stay" / "output" / "length_of_stay_by_chapter.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert {r["icd10_chapter"] for r in rows} == {"E", "I", "J", "S"}
    assert (work / "length_of_stay" / "output" / "length_of_stay_by_chapter.png").stat().st_size
    tables = (work / "describe" / "output" / "tables.csv").read_text()
    assert "health-hospital-stays,800,5" in tables
    assert not (SAMPLE / "output").exists()  # the project folder itself is left as it was


def test_a_failing_action_exits_1_and_stops_what_needs_it(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "analysis").mkdir(parents=True)
    (project / "project.yaml").write_text(
        "version: 1\nactions:\n"
        "  first:\n    run: python analysis/first.py\n"
        "    outputs: {highly_sensitive: {x: output/x.csv}}\n"
        "  second:\n    run: python analysis/first.py\n    needs: [first]\n"
        "    outputs: {moderately_sensitive: {y: output/y.csv}}\n"
    )
    (project / "analysis" / "first.py").write_text("import sys\nsys.exit('no data here')\n")
    result = CliRunner().invoke(
        main, ["spe", "run-local", str(project), "--data", str(_dummy(tmp_path / "d"))]
    )
    assert result.exit_code == 1
    assert "first: nonzero_exit (exit code 1)" in result.output
    assert "second: not run (an action it needs failed)" in result.output
    log = (project / ".datalux-run" / "first" / "log.txt").read_text()
    assert "no data here" in log


def test_a_wrong_project_is_explained(tmp_path: Path) -> None:
    (tmp_path / "project.yaml").write_text("version: 1\nactions: {}\n")
    result = CliRunner().invoke(main, ["spe", "run-local", str(tmp_path), "--data", str(tmp_path)])
    assert result.exit_code == 1 and "'actions' must map" in result.output
