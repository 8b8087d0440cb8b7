"""``datalux privacy anonymise`` and ``datalux privacy risk`` through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from datalux.cli.privacy import privacy

ADULT = Path(__file__).resolve().parents[1] / "data" / "adult"
QIS = [
    "sex",
    "age",
    "race",
    "marital-status",
    "education",
    "native-country",
    "workclass",
    "occupation",
]


def _adult_args() -> list[str]:
    args = [str(ADULT / "adult.csv"), "--qi", ",".join(QIS)]
    for q in QIS:
        args += ["--hierarchy", f"{q}={ADULT / f'adult_hierarchy_{q}.csv'}"]
    return args


@pytest.fixture
def small_csv(tmp_path: Path) -> Path:
    lines = ["id;age;zip;sex;diagnosis"]
    diagnoses = ["flu", "asthma", "diabetes"]
    for i in range(60):
        lines.append(f"r{i};{20 + i % 40};{75010 + i % 6};{'FM'[i % 2]};{diagnoses[i % 3]}")
    path = tmp_path / "small.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _small_args(path: Path) -> list[str]:
    return [
        str(path),
        "--qi",
        "age,zip,sex",
        "--hierarchy",
        "age=interval:5,10,20",
        "--hierarchy",
        "zip=prefix:1",
        "--hierarchy",
        "sex=prefix:1",
    ]


def _min_class(path: Path, qis: list[str], delimiter: str) -> int:
    cols = ", ".join('"' + q.replace('"', '""') + '"' for q in qis)
    table = pacsv.read_csv(path, parse_options=pacsv.ParseOptions(delimiter=delimiter))
    con = duckdb.connect()
    con.register("t", table)
    rows = con.execute(
        f"SELECT min(n) FROM (SELECT count(*) AS n FROM t GROUP BY {cols})"  # noqa: S608
    ).fetchall()
    con.close()
    return int(rows[0][0])


def test_anonymise_adult_writes_release_and_report(tmp_path: Path) -> None:
    out, report = tmp_path / "adult-k5.csv", tmp_path / "report.json"
    result = CliRunner().invoke(
        privacy,
        [
            "anonymise",
            *_adult_args(),
            "--k",
            "5",
            "--max-suppression",
            "0.01",
            "--out",
            str(out),
            "--report",
            str(report),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "optimal" in result.output
    data = json.loads(report.read_text())
    assert data["utility"]["loss"] <= 0.404
    assert data["suppression"]["records_suppressed"] <= 301
    assert data["verification"]["satisfied"] is True
    assert set(data["transformation"]) == set(QIS)
    assert all(0 <= t["level"] < t["levels"] for t in data["transformation"].values())
    assert data["search"]["optimal"] is True
    assert {"prosecutor", "journalist", "marketer", "sample_uniques"} <= set(data["risk"]["after"])
    # the release keeps Adult's ';' and is 5-anonymous by an independent count
    assert out.read_text().splitlines()[0].count(";") == 8
    assert _min_class(out, QIS, ";") >= 5
    assert (
        data["suppression"]["records_released"] == 30162 - data["suppression"]["records_suppressed"]
    )


def test_anonymise_with_l_and_t_and_parquet(small_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "small.parquet"
    result = CliRunner().invoke(
        privacy,
        [
            "anonymise",
            *_small_args(small_csv),
            "--sensitive",
            "diagnosis",
            "--k",
            "3",
            "--l",
            "2",
            "--t",
            "0.3",
            "--max-suppression",
            "0.05",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert out.is_file()
    assert "k-anonymity, distinct-l-diversity, t-closeness" in result.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--qi", "age,nope"], "unknown column 'nope'"),
        (["--k", "61"], "impossible k: k=61"),
        (["--k", "0"], "impossible k"),
        (["--hierarchy", "zip"], "malformed hierarchy spec"),
        (["--hierarchy", "age=interval:5,7"], "two hierarchies for 'age'"),
        (["--qi", "age,,zip"], "malformed --qi"),
        (["--l", "2"], "needs a sensitive attribute"),
        (["--sensitive", "diagnosis", "--l", "4"], "impossible l"),
        (["--max-suppression", "2"], "max suppression"),
    ],
)
def test_bad_input_is_a_clear_error_and_writes_nothing(
    small_csv: Path, tmp_path: Path, extra: list[str], message: str
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    out, report = folder / "out.csv", folder / "out.json"
    args = ["anonymise", *_small_args(small_csv), "--k", "2", "--out", str(out)]
    args += ["--report", str(report), *extra]
    result = CliRunner().invoke(privacy, args)
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert list(folder.iterdir()) == []  # no output, no report, no temporary file


def test_hierarchy_file_that_does_not_cover_a_value(small_csv: Path, tmp_path: Path) -> None:
    sex = tmp_path / "sex.csv"
    sex.write_text("F;*\n")
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(
        privacy,
        [
            "anonymise",
            str(small_csv),
            "--qi",
            "sex",
            "--hierarchy",
            f"sex={sex}",
            "--k",
            "2",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 1
    assert "sex.csv does not cover 1 distinct value(s) of column 'sex'" in result.output
    assert not out.exists()


def test_empty_and_header_only_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    header = tmp_path / "header.csv"
    header.write_text("age;sex\n")
    for path, message in [(empty, "is empty"), (header, "no records")]:
        out = tmp_path / "out.csv"
        result = CliRunner().invoke(
            privacy,
            [
                "anonymise",
                str(path),
                "--qi",
                "age",
                "--hierarchy",
                "age=interval:5",
                "--k",
                "2",
                "--out",
                str(out),
            ],
        )
        assert result.exit_code == 1
        assert message in result.output
        assert not out.exists()
    result = CliRunner().invoke(privacy, ["risk", str(empty), "--qi", "age"])
    assert result.exit_code == 1 and "is empty" in result.output


def test_missing_input_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        privacy,
        [
            "anonymise",
            str(tmp_path / "no.csv"),
            "--qi",
            "a",
            "--k",
            "2",
            "--out",
            str(tmp_path / "o.csv"),
        ],
    )
    assert result.exit_code == 1 and "does not exist" in result.output


def test_risk_command(small_csv: Path, tmp_path: Path) -> None:
    report = tmp_path / "risk.json"
    result = CliRunner().invoke(
        privacy, ["risk", str(small_csv), "--qi", "age,zip,sex", "--report", str(report)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data == json.loads(report.read_text())
    assert data["records"] == 60
    # age = 20 + i % 40, zip = 75010 + i % 6, sex = i % 2: rows i and j collide only when
    # i = j mod 120, so all 60 rows are sample uniques
    assert data["sample_uniques"] == 60
    assert data["prosecutor"]["highest"] == 1.0
    bad = CliRunner().invoke(privacy, ["risk", str(small_csv), "--qi", "age,nope"])
    assert bad.exit_code == 1 and "unknown column 'nope'" in bad.output


def test_risk_command_through_the_duckdb_engine(small_csv: Path, tmp_path: Path) -> None:
    parquet = tmp_path / "small.parquet"
    pq.write_table(
        pacsv.read_csv(small_csv, parse_options=pacsv.ParseOptions(delimiter=";")), parquet
    )
    local = CliRunner().invoke(privacy, ["risk", str(small_csv), "--qi", "zip,sex"])
    on_engine = CliRunner().invoke(
        privacy, ["risk", str(parquet), "--qi", "zip,sex", "--engine", "duckdb"]
    )
    assert on_engine.exit_code == 0, on_engine.output
    expected = {k: v for k, v in json.loads(local.output).items() if k != "input"}
    got = {k: v for k, v in json.loads(on_engine.output).items() if k != "input"}
    assert got == expected
    assert got["classes"] == 6  # sex = i % 2 follows from zip = i % 6
    refused = CliRunner().invoke(
        privacy, ["risk", str(small_csv), "--qi", "zip", "--engine", "duckdb"]
    )
    assert refused.exit_code == 1 and "Parquet" in refused.output
