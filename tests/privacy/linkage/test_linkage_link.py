"""Linkage runs: precision and recall on labelled data, identifiers, pseudonyms, bad input."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from datalux.privacy.errors import InputError
from datalux.privacy.keys import MasterKey
from datalux.privacy.linkage import LinkResult, dedupe, link, write_result

Scores = Callable[[set[tuple[str, str]], set[tuple[str, str]]], tuple[float, float]]


def _matches(result: LinkResult) -> set[tuple[str, str]]:
    rows = result.links.to_pylist()
    return {(r["left_id"], r["right_id"]) for r in rows if r["band"] == "match"}


def _febrl_spec(columns: list[dict[str, str]], *, ssn: bool) -> dict[str, Any]:
    cols = ([{"column": "soc_sec_id", "kind": "identifier"}] if ssn else []) + columns
    return {
        "left": {"id": "rec_id", "name": "a"},
        "right": {"id": "rec_id", "name": "b"},
        "columns": cols,
    }


@pytest.fixture(scope="module")
def febrl_without_ssn(febrl4: Any, febrl_columns: list[dict[str, str]]) -> LinkResult:
    return link(febrl4.left, febrl4.right, _febrl_spec(febrl_columns, ssn=False), threads=2)


@pytest.fixture(scope="module")
def febrl_with_ssn(febrl4: Any, febrl_columns: list[dict[str, str]]) -> LinkResult:
    return link(febrl4.left, febrl4.right, _febrl_spec(febrl_columns, ssn=True), threads=2)


def test_febrl4_without_identifier_precision_and_recall(
    febrl_without_ssn: LinkResult, febrl4: Any, pair_scores: Scores
) -> None:
    precision, recall = pair_scores(_matches(febrl_without_ssn), febrl4.truth)
    assert precision >= 0.998
    assert recall >= 0.995
    report = febrl_without_ssn.report
    assert report.identifier_links == 0
    assert report.blocking_recall_method == "model"
    assert report.blocking_recall is not None and report.blocking_recall > 0.99
    assert report.candidate_pairs > len(febrl4.truth)
    assert report.links_in_match_band == len(_matches(febrl_without_ssn))


def test_febrl4_with_identifier_is_perfect(
    febrl_with_ssn: LinkResult, febrl4: Any, pair_scores: Scores
) -> None:
    precision, recall = pair_scores(_matches(febrl_with_ssn), febrl4.truth)
    assert (precision, recall) == (1.0, 1.0)
    report = febrl_with_ssn.report
    rules = {r["rule"] for r in febrl_with_ssn.links.to_pylist()}
    assert rules == {"identifier", "probabilistic"}
    assert report.identifier_links > 4000  # most pairs share an exact soc_sec_id
    # the identifier-linked pairs measure the probabilistic blocking's recall directly
    assert report.blocking_recall_method == "identifier"
    assert report.blocking_recall is not None and report.blocking_recall > 0.99
    for row in febrl_with_ssn.links.to_pylist():
        if row["rule"] == "identifier":
            assert row["match_probability"] == 1.0 and row["rule_detail"] == "soc_sec_id"


def test_febrl4_clusters_hold_one_record_of_each_side(febrl_with_ssn: LinkResult) -> None:
    clusters = febrl_with_ssn.clusters.to_pylist()
    assert len(clusters) == 10_000
    by_person: dict[str, list[str]] = {}
    for row in clusters:
        by_person.setdefault(row["person_pseudonym"], []).append(row["source"])
    assert sorted(set(map(len, by_person.values()))) == [2]
    assert all(sorted(v) == ["a", "b"] for v in by_person.values())
    assert febrl_with_ssn.report.clusters is not None
    assert febrl_with_ssn.report.clusters.spanning_both == 5000


def test_dedupe_noisy_people_precision_and_recall(
    noisy_people: tuple[pa.Table, dict[str, int]], noisy_spec: dict[str, Any]
) -> None:
    table, truth = noisy_people
    result = dedupe(table, noisy_spec, threads=2)
    clusters: dict[str, list[str]] = {}
    for row in result.clusters.to_pylist():
        clusters.setdefault(row["person_pseudonym"], []).append(row["id"])
    predicted = {(a, b) for members in clusters.values() for a in members for b in members if a < b}
    persons: dict[int, list[str]] = {}
    for rec, person in truth.items():
        persons.setdefault(person, []).append(rec)
    true_pairs = {(a, b) for m in persons.values() for a in m for b in m if a < b}
    tp = len(predicted & true_pairs)
    assert tp / len(predicted) >= 0.97
    assert tp / len(true_pairs) >= 0.93
    # the link table itself lists each pair once, lower id first
    assert all(r["left_id"] < r["right_id"] for r in result.links.to_pylist())
    assert result.report.sides[0].date_formats == {"dob": "%d/%m/%Y"}  # detected


def _people(rows: list[tuple[str, str | None, str, str, str]]) -> pa.Table:
    keys = ("id", "nn", "given", "family", "dob")
    return pa.table({k: [r[i] for r in rows] for i, k in enumerate(keys)})


SMALL_SPEC: dict[str, Any] = {
    "left": {"id": "id", "name": "h"},
    "right": {"id": "id", "name": "r"},
    "columns": {"nn": "identifier", "given": "given_name", "family": "surname", "dob": "date"},
}


def test_identifier_join_links_equal_values_and_skips_placeholders() -> None:
    left = _people(
        [
            ("1", "N1", "anna", "meyer", "1980-01-02"),
            ("2", "N2", "paul", "weber", "1975-05-06"),
            ("3", "000", "lea", "klein", "1990-03-04"),
            ("4", "000", "tom", "wolf", "1960-07-08"),
            ("5", None, "eva", "braun", "1970-09-10"),
        ]
    )
    right = _people(
        [
            ("a", "N1", "ana", "meier", "1980-01-02"),
            ("b", "N2", "totally", "different", "2001-12-12"),
            ("c", "000", "lea", "klein", "1990-03-04"),
            ("d", None, "eva", "braun", "1970-09-10"),
        ]
    )
    spec = {**SMALL_SPEC, "max_records_per_identifier": 1}
    result = link(left, right, spec, threads=1)
    rows = {(r["left_id"], r["right_id"]): r for r in result.links.to_pylist()}
    assert rows[("1", "a")]["rule"] == "identifier"
    # an equal identifier wins over disagreeing names: exact join first
    assert rows[("2", "b")]["rule"] == "identifier"
    assert rows[("2", "b")]["match_probability"] == 1.0
    # "000" is held by two left records: a placeholder, never joined exactly
    assert ("3", "c") not in rows or rows[("3", "c")]["rule"] == "probabilistic"
    assert result.report.identifier_links == 2
    assert result.report.identifier_placeholder_values == 1


def test_keyed_pseudonyms_are_stable_and_domain_bound() -> None:
    left = _people(
        [("1", "N1", "anna", "meyer", "1980-01-02"), ("2", "N2", "paul", "weber", "1975-05-06")]
    )
    right = _people(
        [("a", "N1", "anna", "meyer", "1980-01-02"), ("z", "N9", "ida", "roth", "1999-01-01")]
    )
    key = MasterKey(b"k" * 32)
    first = link(left, right, SMALL_SPEC, keys=key.domain_keys("persons"), threads=1)
    again = link(left, right, SMALL_SPEC, keys=key.domain_keys("persons"), threads=1)
    other = link(left, right, SMALL_SPEC, keys=key.domain_keys("study:7"), threads=1)

    def by_record(result: LinkResult) -> dict[tuple[str, str], str]:
        return {(r["source"], r["id"]): r["person_pseudonym"] for r in result.clusters.to_pylist()}

    p1, p2, p3 = by_record(first), by_record(again), by_record(other)
    assert p1 == p2
    assert p1[("h", "1")] == p1[("r", "a")]  # one person, one pseudonym
    assert len({p1[("h", "2")], p1[("r", "z")], p1[("h", "1")]}) == 3
    assert all(re.fullmatch(r"[0-9a-f]{32}", v) for v in p1.values())
    assert not set(p1.values()) & set(p3.values())
    assert first.report.pseudonym_scheme == "hmac-sha256 in domain 'persons'"
    unkeyed = link(left, right, SMALL_SPEC, threads=1)
    assert all(v.startswith("seq-") for v in by_record(unkeyed).values())


def _write_csv(path: Path, table: pa.Table) -> Path:
    pacsv.write_csv(table, path)
    return path


def test_csv_ids_keep_leading_zeros_and_outputs_are_written(tmp_path: Path) -> None:
    tmp_path = tmp_path / "work"
    tmp_path.mkdir()
    rows = [
        ("007", "N1", "anna", "meyer", "1980-01-02"),
        ("008", "N2", "paul", "weber", "1975-05-06"),
    ]
    left = _write_csv(tmp_path / "l.csv", _people(rows))
    right = pq.write_table(_people(rows), tmp_path / "r.parquet")
    result = link(left, tmp_path / "r.parquet", SMALL_SPEC, threads=1)
    assert right is None
    assert {r["left_id"] for r in result.links.to_pylist()} == {"007", "008"}
    out, clusters, report = tmp_path / "links.parquet", tmp_path / "c.csv", tmp_path / "r.json"
    write_result(result, out, clusters_path=clusters, report_path=report)
    assert pq.read_table(out).num_rows == 2
    assert pacsv.read_csv(clusters).num_rows == 4
    assert '"identifier_links": 2' in report.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "c.csv",
        "l.csv",
        "links.parquet",
        "r.json",
        "r.parquet",
    ]


def test_failed_write_leaves_no_output(tmp_path: Path) -> None:
    tmp_path = tmp_path / "work"
    tmp_path.mkdir()
    rows = [("1", "N1", "anna", "meyer", "1980-01-02")]
    result = link(_people(rows), _people(rows), SMALL_SPEC, threads=1)
    with pytest.raises(InputError, match="output folder does not exist"):
        write_result(result, tmp_path / "links.csv", clusters_path=tmp_path / "no" / "c.csv")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("", "is an empty file"),
        ("id,nn,given,family,dob\n", "has no data rows"),
        ("id,nn,given,surname,dob\n1,N1,anna,meyer,1980-01-02\n", "unknown column(s) 'family'"),
        (
            "id,nn,given,family,dob\n1,N1,anna,secretname,1980-01-02\n1,N2,x,y,1980-01-02\n",
            "1 duplicate",
        ),
        ("id,nn,given,family,dob\n,N1,anna,secretname,1980-01-02\n", "empty id column 'id'"),
        (
            "id,nn,given,family,dob\n1,N1,anna,secretname,someday\n",
            "could not recognise the date format",
        ),
    ],
)
def test_bad_input_is_named_without_data_values(
    tmp_path: Path, content: str, fragment: str
) -> None:
    bad = tmp_path / "left.csv"
    bad.write_text(content, encoding="utf-8")
    good = _write_csv(tmp_path / "right.csv", _people([("a", "N1", "anna", "meyer", "1980-01-02")]))
    with pytest.raises(InputError) as err:
        link(bad, good, SMALL_SPEC, threads=1)
    message = str(err.value)
    assert fragment in message
    assert "secretname" not in message and "N1" not in message


def test_unsupported_or_missing_files_are_named(tmp_path: Path) -> None:
    good = _people([("a", "N1", "anna", "meyer", "1980-01-02")])
    with pytest.raises(InputError, match=re.escape("unsupported file extension '.xlsx'")):
        link(tmp_path / "x.xlsx", good, SMALL_SPEC)
    with pytest.raises(InputError, match="file not found"):
        link(tmp_path / "absent.csv", good, SMALL_SPEC)


def test_an_em_session_that_fails_is_skipped_and_the_other_trains(tmp_path: Path) -> None:
    """On the demo's 2,000-person population, EM on given name + surname makes an m
    probability of exactly 0, which Splink refuses: that session is skipped, its parameters
    restored, and the session on the date trains the model."""
    from datalux.demo.population.generator import generate

    population = generate(tmp_path, persons=2000, seed=2030)
    columns = ["given_name", "surname", "birth_date", "sex", "street_address", "postcode",
               "commune"]  # fmt: skip
    register = pq.read_table(population.table("population_register").path,
                             columns=["national_id", *columns])  # fmt: skip
    school = pq.read_table(population.table("school_enrolments").path,
                           columns=["record_id", *columns])  # fmt: skip
    kinds = ["given_name", "surname", "date", "categorical", "address", "postcode", "city"]
    spec = {
        "left": {"id": "record_id", "name": "school"},
        "right": {"id": "national_id", "name": "register"},
        "columns": [{"column": c, "kind": k} for c, k in zip(columns, kinds, strict=True)],
    }
    result = link(school, register, spec)
    assert result.report.training_skipped == ["given_name+surname"]
    truth = pq.read_table(population.table("school_enrolments").truth_path)
    true_pairs = set(zip(truth.column("record_id").to_pylist(),
                         truth.column("national_id").to_pylist(), strict=True))  # fmt: skip
    matched = result.links.filter(pc.equal(result.links["band"], "match"))
    found = set(zip(matched.column("left_id").to_pylist(),
                    matched.column("right_id").to_pylist(), strict=True))  # fmt: skip
    found = {(int(left), right) for left, right in found}
    in_register = {p for p in true_pairs if p[1] in set(register.column("national_id").to_pylist())}
    assert len(found & in_register) / len(found) > 0.97
    assert len(found & in_register) / len(in_register) > 0.9
