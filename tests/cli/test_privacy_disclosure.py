"""``datalux privacy check-table | dp | budget`` through click's test runner."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from datalux.cli.privacy import privacy


@pytest.fixture
def micro(tmp_path: Path) -> Path:
    g, h, v = [], [], []
    layout = {("a", "x"): [95.0, 3.0, 2.0], ("a", "y"): [10.0] * 12, ("b", "x"): [5.0] * 15}
    layout |= {("b", "y"): [7.0] * 20, ("c", "x"): [3.0] * 11, ("c", "y"): [4.0] * 13}
    for (a, b), values in layout.items():
        g += [a] * len(values)
        h += [b] * len(values)
        v += values
    path = tmp_path / "micro.parquet"
    pq.write_table(pa.table({"g": g, "h": h, "v": v}), path)
    return path


def files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_check_table_writes_table_and_report(micro: Path, tmp_path: Path) -> None:
    out, report = tmp_path / "safe.csv", tmp_path / "report.json"
    result = CliRunner().invoke(
        privacy,
        [
            "check-table",
            str(micro),
            "--by",
            "g,h",
            "--value",
            "v",
            "--round",
            "5",
            "--out",
            str(out),
            "--report",
            str(report),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "1 primary and 3 secondary" in result.output
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert len(rows) == 6
    a_x = next(r for r in rows if (r["g"], r["h"]) == ("a", "x"))
    assert a_x["count"] == "" and a_x["sum"] == ""
    b_y = next(r for r in rows if (r["g"], r["h"]) == ("b", "y"))
    assert b_y["count"] == "20" and float(b_y["sum"]) == 140.0
    doc = json.loads(report.read_text())
    assert doc["summary"]["primary"] == 1 and doc["summary"]["secondary"] == 3
    assert doc["parameters"]["rounding"] == {"base": 5, "method": "conventional"}
    cell = next(c for c in doc["cells"] if c["key"] == {"g": "a", "h": "x"})
    assert set(cell["failed"]) == {"threshold", "nk_dominance", "p_percent"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--by", "g,zz"], "unknown grouping column(s) 'zz'"),
        (["--by", "g", "--nk", "2"], "--nk must be 'N,K'"),
        (["--by", "g", "--p", "abc"], "--p must be a fraction"),
        (["--by", "g", "--threshold", "0"], "threshold must be at least 1"),
    ],
)
def test_bad_input_fails_cleanly_without_outputs(
    micro: Path, tmp_path: Path, extra: list[str], message: str
) -> None:
    before = files(tmp_path)
    result = CliRunner().invoke(
        privacy,
        [
            "check-table",
            str(micro),
            *extra,
            "--out",
            str(tmp_path / "o.parquet"),
            "--report",
            str(tmp_path / "r.json"),
        ],
    )
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert files(tmp_path) == before  # no partial output, no temp file


def test_missing_and_empty_input(tmp_path: Path) -> None:
    empty = tmp_path / "e.csv"
    empty.write_text("")
    for path, message in ((tmp_path / "nope.csv", "not found"), (empty, "empty")):
        result = CliRunner().invoke(
            privacy,
            [
                "check-table",
                str(path),
                "--by",
                "g",
                "--out",
                str(tmp_path / "o.csv"),
                "--report",
                str(tmp_path / "r.json"),
            ],
        )
        assert result.exit_code == 1 and message in result.output


def test_dp_with_budget_ledger(micro: Path, tmp_path: Path) -> None:
    ledger = tmp_path / "budget.jsonl"
    runner = CliRunner()
    init = runner.invoke(
        privacy, ["budget", "init", str(ledger), "--project", "p1", "--epsilon", "1"]
    )
    assert init.exit_code == 0, init.output
    first = runner.invoke(
        privacy,
        [
            "dp",
            str(micro),
            "--stat",
            "sum",
            "--value",
            "v",
            "--bounds",
            "0,10",
            "--epsilon",
            "0.7",
            "--budget-file",
            str(ledger),
            "--out",
            str(tmp_path / "rel.json"),
        ],
    )
    assert first.exit_code == 0, first.output
    doc = json.loads((tmp_path / "rel.json").read_text())
    assert doc["release"]["epsilon"] == pytest.approx(0.7)
    assert doc["release"]["noise_scale"] == pytest.approx(10 / 0.7, rel=1e-4)
    assert doc["budget"]["epsilon_remaining"] == pytest.approx(0.3)
    refused = runner.invoke(
        privacy,
        [
            "dp",
            str(micro),
            "--stat",
            "count",
            "--epsilon",
            "0.5",
            "--budget-file",
            str(ledger),
            "--out",
            str(tmp_path / "rel2.json"),
        ],
    )
    assert refused.exit_code == 1
    assert "budget of project 'p1' exceeded" in refused.output
    assert not (tmp_path / "rel2.json").exists()
    show = runner.invoke(privacy, ["budget", "show", str(ledger)])
    assert json.loads(show.output)["releases"] == 1


def test_dp_errors(micro: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    ledger = tmp_path / "b.jsonl"
    no_ledger = runner.invoke(
        privacy,
        ["dp", str(micro), "--stat", "count", "--epsilon", "1", "--budget-file", str(ledger)],
    )
    assert no_ledger.exit_code == 1 and "budget file not found" in no_ledger.output
    runner.invoke(privacy, ["budget", "init", str(ledger), "--project", "p", "--epsilon", "1"])
    no_value = runner.invoke(
        privacy,
        ["dp", str(micro), "--stat", "mean", "--epsilon", "1", "--budget-file", str(ledger)],
    )
    assert no_value.exit_code == 1 and "needs --value" in no_value.output
    no_bounds = runner.invoke(
        privacy,
        [
            "dp",
            str(micro),
            "--stat",
            "sum",
            "--value",
            "v",
            "--epsilon",
            "1",
            "--budget-file",
            str(ledger),
        ],
    )
    assert no_bounds.exit_code == 1 and "clamping bounds" in no_bounds.output
    again = runner.invoke(
        privacy, ["budget", "init", str(ledger), "--project", "p", "--epsilon", "9"]
    )
    assert again.exit_code == 1 and "already exists" in again.output
