"""``datalux privacy synthesise`` through click's test runner."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from datalux.cli.privacy import privacy
from datalux.privacy.disclosure import LedgerFile

SCHEMA = {
    "fields": [
        {
            "name": "region",
            "type": "string",
            "constraints": {"enum": ["north", "south"], "required": True},
        },
        {
            "name": "age",
            "type": "integer",
            "constraints": {"minimum": 0, "maximum": 99, "required": True},
        },
        {"name": "note", "type": "string"},
    ]
}


@pytest.fixture
def people(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    rows = 1200
    region = rng.choice(["north", "south"], rows)
    age = np.where(region == "north", rng.integers(20, 40, rows), rng.integers(60, 90, rows))
    path = tmp_path / "people.parquet"
    pq.write_table(pa.table({"region": region, "age": age, "note": ["free text"] * rows}), path)
    (tmp_path / "schema.json").write_text(json.dumps(SCHEMA))
    return path


def _run(*args: str) -> object:
    return CliRunner().invoke(privacy, ["synthesise", *args])


def test_synthesise_writes_the_twin_and_its_report_and_charges_the_budget(
    people: Path, tmp_path: Path
) -> None:
    ledger = tmp_path / "budget.jsonl"
    LedgerFile.create(ledger, project="P-7", epsilon=2.0, delta=1e-6)
    out, report = tmp_path / "twin.csv", tmp_path / "twin.json"
    result = _run(
        str(people), "--epsilon", "1", "--columns", "region,age", "--schema",
        str(tmp_path / "schema.json"), "--budget", str(ledger), "--seed", "4", "--out", str(out),
        "--report", str(report), "--rows", "500",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    twin = pacsv.read_csv(out).to_pandas()
    assert len(twin) == 500 and list(twin.columns) == ["region", "age"]
    assert set(twin["region"]) <= {"north", "south"} and twin["age"].between(0, 99).all()
    north = twin[twin["region"] == "north"]["age"].mean()
    south = twin[twin["region"] == "south"]["age"].mean()
    assert south - north > 20  # the relation survived
    doc = json.loads(report.read_text())
    assert doc["version"] == 1 and doc["meta"]["epsilon"] == 1.0
    assert "tvd_2way_mean" in doc["fidelity"] and "membership_inference" in doc["privacy"]
    assert LedgerFile(ledger).state().epsilon_spent == 1.0
    assert "500 synthetic rows" in result.output


def test_an_exhausted_budget_writes_nothing(people: Path, tmp_path: Path) -> None:
    ledger = tmp_path / "budget.jsonl"
    LedgerFile.create(ledger, project="P-7", epsilon=0.5)
    out, report = tmp_path / "twin.parquet", tmp_path / "twin.json"
    result = _run(
        str(people), "--epsilon", "1", "--columns", "region,age", "--schema",
        str(tmp_path / "schema.json"), "--budget", str(ledger), "--out", str(out),
        "--report", str(report),
    )  # fmt: skip
    assert result.exit_code == 1
    assert "privacy budget" in result.output and "exceeded" in result.output
    assert not out.exists() and not report.exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "give --schema"),
        (["--schema", "SCHEMA", "--columns", "note"], "free text cannot be synthesised"),
        (["--schema", "SCHEMA", "--columns", "income"], "does not describe"),
        (["--schema", "SCHEMA", "--columns", "region", "--epsilon", "0"], "epsilon must be"),
    ],
)
def test_bad_input_is_refused_with_what_to_fix(
    people: Path, tmp_path: Path, extra: list[str], message: str
) -> None:
    args = [a.replace("SCHEMA", str(tmp_path / "schema.json")) for a in extra]
    if "--epsilon" not in args:
        args += ["--epsilon", "1"]
    result = _run(
        str(people), *args, "--out", str(tmp_path / "t.csv"), "--report", str(tmp_path / "r.json")
    )
    assert result.exit_code == 1
    assert message in result.output
    assert not (tmp_path / "t.csv").exists()
