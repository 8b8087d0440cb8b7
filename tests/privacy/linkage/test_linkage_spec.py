"""The linkage spec: valid forms, and clear errors for malformed specs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from datalux.privacy.errors import InputError, PrivacyError
from datalux.privacy.linkage import Kind, SpecError, load_spec, parse_spec
from datalux.privacy.linkage.spec import BlockingKey

BASE: dict[str, Any] = {
    "left": {"id": "rec_id", "name": "hospital"},
    "right": {"id": "pid", "name": "registry"},
    "columns": [
        {"column": "nn", "kind": "identifier"},
        {"column": "given", "kind": "given_name"},
        {"left": "dob", "right": "birth", "kind": "date", "format": "%d/%m/%Y"},
    ],
}


def test_full_spec_is_parsed() -> None:
    spec = parse_spec(
        {
            **BASE,
            "blocking_rules": [["given", "dob"], [{"column": "given", "prefix": 3}]],
            "thresholds": {"match": 0.95, "review": 0.4},
        }
    )
    assert (spec.left.id, spec.left.name, spec.right.id, spec.right.name) == (
        "rec_id",
        "hospital",
        "pid",
        "registry",
    )
    assert [c.kind for c in spec.columns] == [Kind.IDENTIFIER, Kind.GIVEN_NAME, Kind.DATE]
    dob = spec.column("dob")
    assert (dob.left, dob.right, dob.date_format) == ("dob", "birth", "%d/%m/%Y")
    assert spec.blocking_rules == (
        (BlockingKey("given"), BlockingKey("dob")),
        (BlockingKey("given", 3),),
    )
    assert (spec.thresholds.match, spec.thresholds.review) == (0.95, 0.4)


def test_columns_as_mapping_and_right_defaults_to_left_id() -> None:
    spec = parse_spec({"left": "id", "columns": {"a": "surname", "b": "postcode"}})
    assert spec.right.id == "id"
    assert spec.left.name != spec.right.name
    assert [(c.name, c.kind) for c in spec.columns] == [("a", Kind.SURNAME), ("b", Kind.POSTCODE)]


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"colums": []}, "unknown spec key(s) 'colums'"),
        ({"left": None}, "missing 'left'"),
        ({"left": {"name": "x"}}, "'left.id'"),
        ({"columns": []}, "'columns' must be a non-empty list"),
        ({"columns": [{"column": "a", "kind": "shoe_size"}]}, "kind must be one of"),
        ({"columns": [{"kind": "surname"}]}, "needs 'column'"),
        ({"columns": [{"column": "a", "kind": "surname", "format": "%Y"}]}, "only for kind 'date'"),
        ({"columns": [{"column": "a", "kind": "date", "format": "%Y-%m"}]}, "%Y, %m and %d"),
        ({"columns": [{"column": "a", "kind": "date", "format": "%Y'%m%d"}]}, "%Y, %m and %d"),
        ({"columns": {"a": "surname"}, "blocking_rules": [["b"]]}, "refers to 'b'"),
        ({"thresholds": {"match": 0.5, "review": 0.9}}, "must not exceed"),
        ({"thresholds": {"match": 1.5}}, "'thresholds.match' must be a number in (0, 1)"),
        ({"max_records_per_identifier": 0}, "must be an integer >= 1"),
        ({"right": {"id": "x", "name": "hospital"}}, "must differ"),
    ],
)
def test_malformed_spec_names_the_problem(change: dict[str, Any], fragment: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_spec({**BASE, **change})
    assert fragment in str(err.value)
    assert isinstance(err.value, PrivacyError)


def test_spec_must_be_an_object() -> None:
    with pytest.raises(SpecError, match="JSON object"):
        parse_spec(["left"])


def test_load_spec_reports_json_syntax_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "spec.json"
    bad.write_text('{"left": "id",\n "columns": }', encoding="utf-8")
    with pytest.raises(SpecError, match=r"not valid JSON: .* line 2"):
        load_spec(bad)
    with pytest.raises(InputError, match="spec file not found"):
        load_spec(tmp_path / "absent.json")
    good = tmp_path / "good.json"
    good.write_text(json.dumps(BASE), encoding="utf-8")
    assert load_spec(good).left.id == "rec_id"
