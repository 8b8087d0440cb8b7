"""Automatic disclosure checks of output files (issue 13, items 2 and 6, first slice)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from datalux.cli import main
from datalux.privacy import make_national_id
from datalux.privacy.output_checks import FAIL, PASS, REVIEW, Rules, check_file

SAFE = "chapter,stays,mean_days\nE,40,5.1\nI,120,7.4\nJ,<10,\n"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _by_name(verdict: object) -> dict[str, object]:
    return {c.name: c for c in verdict.checks}  # type: ignore[attr-defined]


def test_a_safe_table_passes(tmp_path: Path) -> None:
    verdict = check_file(_write(tmp_path, "t.csv", SAFE), Rules(count_columns=("stays",)))
    assert verdict.status == PASS, verdict
    assert len(verdict.sha256) == 64


def test_small_counts_fail_naming_the_cells_not_the_values(tmp_path: Path) -> None:
    text = "chapter,stays\nE,40\nI,3\nJ,7\n"
    verdict = check_file(_write(tmp_path, "t.csv", text), Rules(count_columns=("stays",)))
    assert verdict.status == FAIL
    check = _by_name(verdict)["min_count"]
    assert check.cells == [{"row": 2, "column": "stays"}, {"row": 3, "column": "stays"}]
    assert "3" not in check.detail.replace("under 10", "")


def test_zeros_and_undeclared_small_numbers_go_to_a_checker(tmp_path: Path) -> None:
    text = "chapter,stays,beds\nE,40,2\nI,0,50\n"
    verdict = check_file(_write(tmp_path, "t.csv", text), Rules(count_columns=("stays",)))
    checks = _by_name(verdict)
    assert verdict.status == REVIEW
    assert checks["zeros"].cells == [{"row": 2, "column": "stays"}]
    assert checks["undeclared_counts"].cells == [{"row": 1, "column": "beds"}]
    safe = check_file(tmp_path / "t.csv", Rules(count_columns=("stays", "beds"), zeros_safe=True,
                                               min_count=2))  # fmt: skip
    assert safe.status == PASS


@pytest.mark.parametrize(
    "text",
    [
        "person_id,n\nabc,12\n",
        f"key,n\n{'ab' * 32},12\n",  # a pseudonym under another name
        f"who,n\n{make_national_id(__import__('datetime').date(1980, 1, 1), 1)},12\n",
    ],
)
def test_identifier_and_pseudonym_columns_fail(tmp_path: Path, text: str) -> None:
    verdict = check_file(_write(tmp_path, "t.csv", text))
    check = _by_name(verdict)["identifiers"]
    assert verdict.status == FAIL and check.status == FAIL and check.cells
    assert "ab" * 32 not in json.dumps(verdict.as_data())  # never the value


def test_row_level_data_type_and_size_caps(tmp_path: Path) -> None:
    long = "x,n\n" + "".join(f"a{i},20\n" for i in range(30))
    assert check_file(_write(tmp_path, "t.csv", long), Rules(max_rows=20)).status == FAIL
    assert check_file(_write(tmp_path, "model.pkl", "x")).status == FAIL
    assert check_file(_write(tmp_path, "big.txt", "x" * 100), Rules(max_bytes=50)).status == FAIL
    figure = tmp_path / "f.png"
    figure.write_bytes(b"\x89PNG....")
    assert check_file(figure).status == REVIEW


def test_rules_from_a_permit_or_a_file_are_checked() -> None:
    assert Rules.from_data({"min_count": 5, "count_columns": ["n"]}).count_columns == ("n",)
    with pytest.raises(ValueError, match="unknown output rule"):
        Rules.from_data({"threshold": 5})
    with pytest.raises(ValueError, match="whole number"):
        Rules.from_data({"min_count": 0})


def test_the_cli_prints_one_verdict_per_file_and_exits_0_only_when_all_pass(
    tmp_path: Path,
) -> None:
    safe = _write(tmp_path, "safe.csv", SAFE)
    rules = _write(tmp_path, "rules.json", json.dumps({"count_columns": ["stays"]}))
    ok = CliRunner().invoke(main, ["outputs", "check", str(safe), "--rules", str(rules)])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["status"] == "pass"
    bad = _write(tmp_path, "bad.csv", "chapter,stays\nE,3\n")
    both = CliRunner().invoke(
        main, ["outputs", "check", str(safe), str(bad), "--rules", str(rules)]
    )
    assert both.exit_code == 1
    assert [json.loads(line)["status"] for line in both.output.splitlines()] == ["pass", "fail"]
    wrong = _write(tmp_path, "wrong.json", json.dumps({"thresh": 3}))
    refused = CliRunner().invoke(main, ["outputs", "check", str(safe), "--rules", str(wrong)])
    assert refused.exit_code == 1 and "unknown output rule" in refused.output
