"""Automatic disclosure checks of output files (issue 13, items 2 and 6)."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from click.testing import CliRunner

from datalux.cli import main
from datalux.privacy import InputError, make_national_id
from datalux.privacy.output_checks import (
    EVIDENCE_SUFFIX,
    FAIL,
    PASS,
    REVIEW,
    KeyedTable,
    Rules,
    check_file,
    check_files,
    differencing,
    evidence_path,
    write_table,
)

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


# --- rules from a permit or a file -------------------------------------------------------


def test_rules_from_a_permit_map_its_thresholds_and_ignore_its_other_rules() -> None:
    permit = {"threshold": 5, "dominance_n": 3, "dominance_k": 0.8, "p_percent": 0.15,
              "rounding_base": 5, "aggregate_only": True, "k": 5, "l": 2, "t": 0.2,
              "max_suppression": 0.05}  # fmt: skip
    rules = Rules.from_permit(permit)
    assert (rules.min_count, rules.nk, rules.p) == (5, (3, 0.8), 0.15)
    assert Rules.from_permit({}) == Rules()
    assert Rules.from_permit({"dominance_n": None, "p_percent": None}).nk is None
    assert Rules.from_permit({"dp_epsilon": 1.0}) == Rules()  # the permit's own business
    with pytest.raises(ValueError, match=r"permit's output rules: .*fraction"):
        Rules.from_permit({"p_percent": 10})


def test_rules_from_a_file_check_the_new_keys() -> None:
    rules = Rules.from_data({"nk": [3, 0.75], "p": None, "min_dof": 20,
                             "magnitude_columns": ["sum_income"]})  # fmt: skip
    assert (rules.nk, rules.p, rules.min_dof, rules.magnitude_columns) == (
        (3, 0.75), None, 20, ("sum_income",))  # fmt: skip
    for bad, match in [({"nk": [2]}, "pair"), ({"nk": "2,0.9"}, "pair"), ({"p": 1.5}, "fraction"),
                       ({"min_dof": 0}, "whole number"), ({"magnitude_columns": "x"}, "list"),
                       ({"zeros_safe": "yes"}, "true or false")]:  # fmt: skip
        with pytest.raises(ValueError, match=match):
            Rules.from_data(bad)


# --- dominance and p% through the evidence written beside a table --------------------------


def _incomes(dominant: float = 95_000.0) -> pa.Table:
    """Region N: one contributor holds 95% of the sum; region S: 15 equal contributions."""
    north = [dominant] + [5_000.0 / 11] * 11
    return pa.table({"region": ["N"] * 12 + ["S"] * 15, "income": north + [50.0] * 15})


def test_a_dominated_cell_is_refused_naming_the_rule_and_the_row(tmp_path: Path) -> None:
    table = write_table(_incomes(), ["region"], tmp_path / "income.csv", value="income")
    assert evidence_path(table).name == "income.csv" + EVIDENCE_SUFFIX
    verdict = check_file(table)
    checks = _by_name(verdict)
    assert verdict.status == FAIL
    assert checks["evidence"].status == PASS
    assert checks["min_count"].status == PASS  # the count column is known from the evidence
    nk = checks["nk_dominance"]
    assert nk.status == FAIL and nk.cells == [{"row": 1, "column": "sum_income"}]
    assert "(n,k)-dominance" in nk.detail and "row(s) 1" in nk.detail and "suppress" in nk.detail
    data = json.dumps(verdict.as_data())
    assert "95000" not in data and "100000" not in data  # never a contribution or a total
    evidence = evidence_path(table).read_text()
    assert "95000" not in evidence and "100000" not in evidence  # ratios and counts only


def test_the_p_percent_rule_alone_refuses_a_cell(tmp_path: Path) -> None:
    # two contributors near each other and little else: p% fails; (1, 0.9) dominance does not
    data = pa.table({"sector": ["A"] * 12, "turnover": [500.0, 480.0] + [1.0] * 10})
    table = write_table(data, ["sector"], tmp_path / "t.csv", value="turnover", statistic="mean")
    checks = _by_name(check_file(table, Rules(nk=(1, 0.9))))
    assert checks["nk_dominance"].status == PASS
    assert checks["p_percent"].status == FAIL
    assert checks["p_percent"].cells == [{"row": 1, "column": "mean_turnover"}]
    assert "p_percent" not in _by_name(check_file(table, Rules(p=None)))


def test_a_table_changed_after_its_evidence_was_written_fails(tmp_path: Path) -> None:
    table = write_table(_incomes(50.0), ["region"], tmp_path / "income.csv", value="income")
    assert check_file(table).status == PASS
    original = table.read_text()
    for tampered in (
        original.replace("S,15,750.0", "S,15,760.0"),
        original.replace("N,12,", "N,13,"),
    ):
        table.write_text(tampered)
        evidence = _by_name(check_file(table))["evidence"]
        assert evidence.status == FAIL
        assert "evidence does not match the table: rewrite both" in evidence.detail
        assert "write_table" in evidence.detail
    assert "S,15,750.0\n" in original
    evidence_path(table).write_text("{not json")
    assert "cannot be read" in _by_name(check_file(table))["evidence"].detail


def test_declared_magnitudes_without_evidence_go_to_a_checker(tmp_path: Path) -> None:
    table = _write(tmp_path, "t.csv", "region,n,sum_income\nN,12,100000\nS,15,750\n")
    verdict = check_file(table, Rules(count_columns=("n",), magnitude_columns=("sum_income",)))
    check = _by_name(verdict)["dominance_evidence"]
    assert verdict.status == REVIEW and check.status == REVIEW
    assert check.detail.startswith("no evidence for dominance: write the table with "
                                   "datalux.privacy.output_checks.write_table")  # fmt: skip
    assert "undeclared_counts" not in _by_name(verdict)  # a magnitude is not a small count
    missing = check_file(table, Rules(magnitude_columns=("mean_income",)))
    assert _by_name(missing)["dominance_evidence"].status == FAIL


def test_the_evidence_itself_is_never_released(tmp_path: Path) -> None:
    table = write_table(_incomes(50.0), ["region"], tmp_path / "income.csv", value="income")
    verdict = check_file(evidence_path(table))
    assert verdict.status == FAIL
    assert "stays in the workspace" in _by_name(verdict)["evidence_file"].detail
    renamed = tmp_path / "summary.json"
    shutil.copy(evidence_path(table), renamed)
    assert _by_name(check_file(renamed))["evidence_file"].status == FAIL


def test_write_table_suppresses_when_asked_and_the_rest_passes(tmp_path: Path) -> None:
    data = pa.table({"region": ["N"] * 12 + ["S"] * 15 + ["W"] * 3,
                     "income": [95_000.0] + [400.0] * 11 + [50.0] * 15 + [10.0] * 3})  # fmt: skip
    table = write_table(data, ["region"], tmp_path / "t.csv", value="income", statistic="mean",
                        suppress=Rules(), decimals=1)  # fmt: skip
    assert table.read_text() == "region,count,mean_income\nN,,\nS,15,50.0\nW,,\n"
    assert check_file(table).status == PASS


def test_negative_contributions_go_to_a_checker(tmp_path: Path) -> None:
    data = pa.table({"region": ["N"] * 12, "profit": [-5.0] + [10.0] * 11})
    checks = _by_name(check_file(write_table(data, ["region"], tmp_path / "t.csv", value="profit")))
    assert checks["negative_values"].status == REVIEW
    assert checks["negative_values"].cells == [{"row": 1, "column": "sum_profit"}]


@pytest.mark.parametrize("kind", ["arrow", "pandas", "duckdb"])
def test_write_table_takes_arrow_pandas_or_duckdb(tmp_path: Path, kind: str) -> None:
    data = _incomes(50.0)
    con = duckdb.connect()
    con.register("microdata", data)
    source = {"arrow": lambda: data, "pandas": data.to_pandas,
              "duckdb": lambda: con.sql("select * from microdata")}[kind]()  # fmt: skip
    table = write_table(source, ["region"], tmp_path / "t.csv")
    assert table.read_text() == "region,count\nN,12\nS,15\n"
    assert check_file(table).status == PASS


def test_write_table_explains_bad_calls(tmp_path: Path) -> None:
    data = pa.table({"region": ["N", "S"], "income": [1.0, None]})
    for kwargs, match in [({"value": "income"}, "missing values"),
                          ({"statistic": "mean"}, "needs the value column"),
                          ({"value": "wage"}, "not in the data"),
                          ({"value": "region"}, "also a grouping column")]:  # fmt: skip
        with pytest.raises(InputError, match=match):
            write_table(data, ["region"], tmp_path / "t.csv", **kwargs)
    with pytest.raises(InputError, match=r"name the table \*\.csv"):
        write_table(data, ["region"], tmp_path / "t.parquet")


# --- differencing against earlier releases --------------------------------------------------

ALL_AGES = "region,n\nCentre,120\nNord,45\nSud,80\n"


def test_differencing_between_two_releases_is_refused_naming_the_earlier_file(
    tmp_path: Path,
) -> None:
    earlier = _write(tmp_path, "stays_all_ages.csv", ALL_AGES)
    adults = _write(tmp_path, "stays_adults.csv", "region,n\nCentre,100\nNord,42\nSud,60\n")
    verdict = check_file(adults, Rules(count_columns=("n",)), earlier=[earlier])
    check = _by_name(verdict)["differencing"]
    assert verdict.status == FAIL and check.status == FAIL
    assert check.detail.startswith("differencing with stays_all_ages.csv: the difference of "
                                   "rows 2 isolates a group under 10")  # fmt: skip
    assert "release only one" in check.detail
    assert check.cells == [{"row": 2, "column": "n", "earlier": "stays_all_ages.csv"}]
    assert verdict.earlier[0]["file"] == "stays_all_ages.csv"
    # undeclared, the whole-number columns are taken as the counts
    assert check_file(adults, earlier=[earlier]).status == FAIL


def test_differencing_of_column_totals_is_refused(tmp_path: Path) -> None:
    earlier = _write(tmp_path, "before.csv", ALL_AGES)
    shifted = _write(tmp_path, "after.csv", "region,n\nCentre,132\nNord,35\nSud,80\n")
    check = _by_name(check_file(shifted, Rules(count_columns=("n",)), earlier=[earlier]))[
        "differencing"
    ]
    assert check.status == FAIL
    assert "the totals of n differ by less than 10 (a subgroup removed or added)" in check.detail
    assert check.cells == [{"column": "n", "earlier": "before.csv"}]


def test_tables_with_other_columns_are_not_compared(tmp_path: Path) -> None:
    earlier = _write(tmp_path, "by_sex.csv", "sex,n\nF,121\nM,44\n")
    same = _write(tmp_path, "same.csv", ALL_AGES)
    adults = _write(tmp_path, "adults.csv", "region,n\nCentre,100\nNord,42\nSud,60\n")
    verdict = check_file(adults, Rules(count_columns=("n",)), earlier=[earlier, adults])
    assert "differencing" not in _by_name(verdict) and verdict.status == PASS
    ok = check_file(same, Rules(count_columns=("n",)), earlier=[_write(tmp_path, "e.csv",
                    ALL_AGES)])  # fmt: skip
    assert _by_name(ok)["differencing"].status == PASS


def test_check_files_compares_each_table_with_the_earlier_releases(tmp_path: Path) -> None:
    earlier = write_table(pa.table({"region": ["N"] * 40 + ["S"] * 30}), ["region"],
                          tmp_path / "earlier.csv")  # fmt: skip
    now = write_table(pa.table({"region": ["N"] * 36 + ["S"] * 30}), ["region"],
                      tmp_path / "now.csv")  # fmt: skip
    [verdict] = check_files([now], earlier=[earlier])
    assert _by_name(verdict)["differencing"].cells[0] == {
        "row": 1, "column": "count", "earlier": "earlier.csv"}  # fmt: skip


# --- residual degrees of freedom ------------------------------------------------------------


def _ols_summary(n: int) -> str:
    import statsmodels.api as sm

    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 2))
    y = x @ [1.0, -2.0] + rng.normal(size=n)
    with warnings.catch_warnings():  # scipy warns that its normality tests want n >= 20
        warnings.simplefilter("ignore")
        return str(sm.OLS(y, sm.add_constant(x)).fit().summary().as_text())


def test_residual_degrees_of_freedom_of_a_statsmodels_summary(tmp_path: Path) -> None:
    few = _write(tmp_path, "model.txt", _ols_summary(9))  # 9 - 3 = 6 residual dof
    verdict = check_file(few)
    check = _by_name(verdict)["degrees_of_freedom"]
    assert verdict.status == FAIL and check.status == FAIL
    assert "fewer than 10 residual degrees of freedom" in check.detail
    assert check.cells and "row" in check.cells[0]
    many = check_file(_write(tmp_path, "model.md", _ols_summary(60)))
    assert _by_name(many)["degrees_of_freedom"].status == PASS and many.status == PASS
    assert "degrees_of_freedom" not in _by_name(check_file(_write(tmp_path, "n.txt", "notes")))


def test_residual_degrees_of_freedom_in_json(tmp_path: Path) -> None:
    text = json.dumps({"models": [{"name": "a", "df_resid": 4}, {"name": "b", "df_resid": 40}]})
    check = _by_name(check_file(_write(tmp_path, "fits.json", text)))["degrees_of_freedom"]
    assert check.status == FAIL and check.cells == [{"column": "models[0].df_resid"}]
    top = check_file(_write(tmp_path, "fit.json", json.dumps({"df_resid": 12})))
    assert top.status == PASS and _by_name(top)["degrees_of_freedom"].status == PASS
    assert check_file(_write(tmp_path, "fit.json", json.dumps({"df_resid": 12})),
                      Rules(min_dof=20)).status == FAIL  # fmt: skip


# --- class disclosure -----------------------------------------------------------------------


def test_class_disclosure_in_a_long_table(tmp_path: Path) -> None:
    text = "sex,diagnosis,n\nF,A,30\nM,A,0\nF,B,20\nM,B,25\n"
    verdict = check_file(_write(tmp_path, "t.csv", text), Rules(count_columns=("n",)))
    check = _by_name(verdict)["class_disclosure"]
    # all with diagnosis A are women (row 1); all men have diagnosis B (row 4)
    assert check.status == REVIEW
    assert check.cells == [{"row": 1, "column": "n"}, {"row": 4, "column": "n"}]
    assert "everyone in the group shares that trait" in check.detail
    assert _by_name(verdict)["zeros"].status == REVIEW  # beside the zeros review
    # an absent combination is an empty cell too
    implicit = "sex,diagnosis,n\nF,A,30\nF,B,20\nM,B,25\n"
    found = check_file(_write(tmp_path, "u.csv", implicit), Rules(count_columns=("n",)))
    assert _by_name(found)["class_disclosure"].cells == [
        {"row": 1, "column": "n"}, {"row": 3, "column": "n"}]  # fmt: skip
    safe = "sex,diagnosis,n\nF,A,30\nM,A,12\nF,B,20\nM,B,25\n"
    assert check_file(_write(tmp_path, "s.csv", safe), Rules(count_columns=("n",))).status == PASS


def test_class_disclosure_across_count_columns(tmp_path: Path) -> None:
    text = "commune,women,men\nEsch,0,14\nDiekirch,22,31\n"
    verdict = check_file(_write(tmp_path, "t.csv", text), Rules(count_columns=("women", "men")))
    # everyone in Esch is a man (row 1, men); every woman lives in Diekirch (row 2, women)
    assert _by_name(verdict)["class_disclosure"].cells == [
        {"row": 1, "column": "men"}, {"row": 2, "column": "women"}]  # fmt: skip


# --- the CLI --------------------------------------------------------------------------------


def test_the_cli_checks_differencing_against_earlier_files(tmp_path: Path) -> None:
    earlier = _write(tmp_path, "all.csv", ALL_AGES)
    other = _write(tmp_path, "other.csv", "sex,n\nF,121\nM,44\n")
    adults = _write(tmp_path, "adults.csv", "region,n\nCentre,100\nNord,42\nSud,60\n")
    args = ["outputs", "check", str(adults)]
    assert CliRunner().invoke(main, args).exit_code == 0
    result = CliRunner().invoke(main, [*args, "--earlier", str(other), "--earlier", str(earlier)])
    assert result.exit_code == 1, result.output
    verdict = json.loads(result.output)
    [check] = [c for c in verdict["checks"] if c["name"] == "differencing"]
    assert check["status"] == "fail" and "all.csv" in check["detail"]
    assert verdict["earlier"] == [{"file": "all.csv", "sha256": verdict["earlier"][0]["sha256"]}]
    assert "--earlier" in CliRunner().invoke(main, ["outputs", "check", "--help"]).output


def test_dominance_from_the_evidence_agrees_with_the_disclosure_rules(tmp_path: Path) -> None:
    """Small whole-number contributions put many cells exactly on the p% and (n,k) thresholds
    (e.g. a p-ratio of 0.1); the verdicts must be those of datalux.privacy.disclosure."""
    from datalux.privacy.disclosure import CellStats, RuleSet, evaluate

    rng = np.random.default_rng(7)
    cells = [list(rng.integers(1, 12, size=rng.integers(2, 14))) for _ in range(400)]
    data = pa.table({"cell": [f"c{i:03d}" for i, c in enumerate(cells) for _ in c],
                     "stay": [int(v) for c in cells for v in c]})  # fmt: skip
    table = write_table(data, ["cell"], tmp_path / "t.csv", value="stay")
    checks = _by_name(check_file(table, Rules(min_count=1)))
    expected = evaluate(CellStats.from_contributions(cells), RuleSet(threshold=1))
    for name in ("nk_dominance", "p_percent"):
        wanted = int(expected[name].sum())
        assert wanted > 0
        assert f" in {wanted} cell(s) of sum_stay " in checks[name].detail, name
        named = {c["row"] - 1 for c in checks[name].cells}
        assert all(expected[name][i] for i in named)


# --- differencing of tables in memory (the aggregate service's earlier queries) -------------


def _keyed(name: str, rows: list[dict[str, object]], *columns: str) -> KeyedTable:
    return KeyedTable(name, ("region", "count", *columns), rows)


def test_differencing_in_memory_is_the_same_check_as_for_files() -> None:
    before = _keyed("query 1", [{"region": "Centre", "count": 120}, {"region": "Nord", "count": 45},
                                {"region": "Sud", "count": None}])  # fmt: skip
    after = _keyed("query 2", [{"region": "Nord", "count": 40}, {"region": "Centre", "count": 120},
                               {"region": "Sud", "count": 15}])  # fmt: skip
    check = differencing(after, [before], keys=["region"], counts=["count"], rules=Rules())
    assert check is not None and check.status == FAIL
    assert check.detail.startswith("differencing with query 1: the difference of rows 1 ")
    assert check.cells[0] == {"row": 1, "column": "count", "earlier": "query 1"}  # Nord; Sud not
    same = differencing(before, [before], keys=["region"], counts=["count"], rules=Rules())
    assert same is not None and same.status == PASS
    other = _keyed("query 3", [{"region": "Nord", "count": 40, "sum": 9.0}], "sum")
    assert differencing(other, [before], keys=["region"], counts=["count"], rules=Rules()) is None


def test_a_magnitude_differing_behind_rounded_counts_fails() -> None:
    def table(name: str, total: float, count: int = 60) -> KeyedTable:
        return _keyed(name, [{"region": "Centre", "count": count, "sum": total}], "sum")

    def status(current: KeyedTable, magnitudes: tuple[str, ...] = ("sum",)) -> str | None:
        check = differencing(
            current, [table("q1", 6200.0)], keys=["region"], counts=["count"], rules=Rules(),
            magnitudes=magnitudes, rounding_base=5,
        )  # fmt: skip
        return None if check is None else check.status

    # the same rounded count (62 and 61 persons both show 60), sums one person apart
    check = differencing(
        table("q2", 6100.5), [table("q1", 6200.0)], keys=["region"], counts=["count"],
        rules=Rules(), magnitudes=["sum"], rounding_base=5,
    )  # fmt: skip
    assert check is not None and check.status == FAIL
    assert check.cells == [{"row": 1, "column": "sum", "earlier": "q1"}]
    # counts 10 apart after rounding may be 6 persons apart: still refused; 15 apart is not
    assert status(table("q2", 5000.0, 70)) == FAIL
    assert status(table("q2", 5000.0, 75)) == PASS
    # the same sum passes; without magnitudes only the counts are compared
    assert status(table("q2", 6200.0)) == PASS
    assert status(table("q2", 1.0), magnitudes=()) == PASS
