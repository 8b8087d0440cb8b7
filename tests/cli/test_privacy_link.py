"""``datalux privacy link`` through click's runner."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from datalux.cli.privacy import privacy
from datalux.privacy import MASTER_KEY_ENV_VAR

LEFT = (
    "rec,nn,first,last,born,zip\n"
    "h1,N100,anna,meyer,1980-01-02,1234\n"
    "h2,,paul,weber,1975-05-06,4321\n"
    "h3,N300,lea,klein,1990-03-04,5555\n"
)
RIGHT = (
    "pid,nn,first,last,born,zip\n"
    "r1,N100,ana,meier,1980-01-02,1234\n"
    "r2,,paul,weber,1975-05-06,4321\n"
    "r9,N999,ida,roth,2001-01-01,9999\n"
)
SPEC = {
    "left": {"id": "rec", "name": "hospital"},
    "right": {"id": "pid", "name": "registry"},
    "columns": [
        {"column": "nn", "kind": "identifier"},
        {"column": "first", "kind": "given_name"},
        {"column": "last", "kind": "surname"},
        {"column": "born", "kind": "date"},
        {"column": "zip", "kind": "postcode"},
    ],
    "thresholds": {"match": 0.9, "review": 0.5},
}


@pytest.fixture
def work(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "left.csv").write_text(LEFT)
    (folder / "right.csv").write_text(RIGHT)
    (folder / "spec.json").write_text(json.dumps(SPEC))
    return folder


def _run(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(privacy, ["link", *args], env=env or {MASTER_KEY_ENV_VAR: ""})
    return result.exit_code, result.output


def test_link_two_csv_files(work: Path) -> None:
    code, output = _run(
        [
            str(work / "left.csv"),
            str(work / "right.csv"),
            "--spec",
            str(work / "spec.json"),
            "--out",
            str(work / "links.csv"),
            "--report",
            str(work / "report.json"),
        ]
    )
    assert code == 0, output
    links = pacsv.read_csv(work / "links.csv").to_pylist()
    pairs = {(r["left_id"], r["right_id"]): r for r in links}
    assert pairs[("h1", "r1")]["rule"] == "identifier"
    assert pairs[("h1", "r1")]["band"] == "match"
    # three records a side cannot train a model: the identical pair is found, and goes to
    # the match or (untrained model) the clerical-review band
    assert pairs[("h2", "r2")]["rule"] == "probabilistic"
    assert not any(r == "r9" for _, r in pairs)
    clusters = pacsv.read_csv(work / "links.clusters.csv").to_pylist()
    assert len(clusters) == 6
    person = {(r["source"], r["id"]): r["person_pseudonym"] for r in clusters}
    assert person[("hospital", "h1")] == person[("registry", "r1")]
    assert person[("hospital", "h3")] != person[("registry", "r9")]
    report = json.loads((work / "report.json").read_text())
    assert report["identifier_links"] == 1
    assert "linkage report (link)" in output
    assert "estimated blocking recall" in output


def test_dedupe_parquet_with_key_file(work: Path) -> None:
    (work / "both.csv").write_text(LEFT + RIGHT.split("\n", 1)[1])
    key = work / "ttp.key"
    key.write_text(base64.b64encode(bytes(range(32))).decode() + "\n")
    key.chmod(0o600)
    spec = {**SPEC, "left": {"id": "rec", "name": "all"}}
    spec.pop("right")
    (work / "dedupe.json").write_text(json.dumps(spec))
    code, output = _run(
        [
            str(work / "both.csv"),
            "--dedupe",
            "--spec",
            str(work / "dedupe.json"),
            "--out",
            str(work / "dups.parquet"),
            "--key-file",
            str(key),
            "--domain",
            "study:1",
        ]
    )
    assert code == 0, output
    links = pq.read_table(work / "dups.parquet").to_pylist()
    found = {(r["left_id"], r["right_id"]): r["rule"] for r in links}
    assert found[("h1", "r1")] == "identifier"
    assert found[("h2", "r2")] == "probabilistic"
    clusters = pq.read_table(work / "dups.clusters.parquet").to_pylist()
    assert all(re.fullmatch(r"[0-9a-f]{32}", r["person_pseudonym"]) for r in clusters)
    assert "hmac-sha256 in domain 'study:1'" in output


@pytest.mark.parametrize(
    ("left", "spec", "fragment"),
    [
        (
            "rec,nn,first,surname,born,zip\nh1,N1,a,b,1980-01-02,1\n",
            None,
            "unknown column(s) 'last'",
        ),
        ("", None, "is an empty file"),
        (None, '{"left": "rec", "columns": [}', "not valid JSON"),
        (None, '{"left": "rec", "columns": {"nn": "ssn"}}', "kind must be one of"),
    ],
)
def test_bad_input_exits_1_without_output(
    work: Path, left: str | None, spec: str | None, fragment: str
) -> None:
    if left is not None:
        (work / "left.csv").write_text(left)
    if spec is not None:
        (work / "spec.json").write_text(spec)
    before = sorted(p.name for p in work.iterdir())
    code, output = _run(
        [
            str(work / "left.csv"),
            str(work / "right.csv"),
            "--spec",
            str(work / "spec.json"),
            "--out",
            str(work / "links.csv"),
        ]
    )
    assert code == 1
    assert fragment in output
    assert "Traceback" not in output
    assert sorted(p.name for p in work.iterdir()) == before  # nothing written, no temp left


def test_wrong_number_of_inputs_is_a_usage_error(work: Path) -> None:
    code, output = _run(
        [str(work / "left.csv"), "--spec", str(work / "spec.json"), "--out", str(work / "o.csv")]
    )
    assert code == 2
    assert "give two input files" in output
    code, output = _run(
        [
            str(work / "left.csv"),
            str(work / "right.csv"),
            "--dedupe",
            "--spec",
            str(work / "spec.json"),
            "--out",
            str(work / "o.csv"),
        ]
    )
    assert code == 2
    assert "exactly one input" in output
