"""Cleaning expressions, the model built from kinds, and the blocking-recall formula."""

from __future__ import annotations

import duckdb
import pytest

from datalux.privacy.linkage import Kind, parse_spec
from datalux.privacy.linkage.model import build_plan, clean_sql
from datalux.privacy.linkage.report import model_blocking_recall


def _clean(value: object, kind: Kind, duck_type: str = "VARCHAR", fmt: str | None = None) -> object:
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t AS SELECT CAST(? AS {duck_type}) AS x", [value])
    sql = f"SELECT {clean_sql('x', kind, duck_type, fmt)} FROM t"  # noqa: S608
    return con.execute(sql).fetchall()[0][0]


@pytest.mark.parametrize(
    ("value", "fmt", "expected"),
    [
        ("1938-11-13", "%Y-%m-%d", "19381113"),
        ("13/11/1938", "%d/%m/%Y", "19381113"),
        ("3/1/1938", "%d/%m/%Y", "19380103"),
        ("19381113", "%Y%m%d", "19381113"),
        # Impossible dates keep their digits in YYYYMMDD order (for the Levenshtein level).
        ("31/11/1938", "%d/%m/%Y", "19381131"),
        ("19381131", "%Y%m%d", "19381131"),
        ("unknown", "%d/%m/%Y", None),
        ("  ", "%Y-%m-%d", None),
    ],
)
def test_dates_are_cleaned_to_yyyymmdd(value: str, fmt: str, expected: str | None) -> None:
    assert _clean(value, Kind.DATE, fmt=fmt) == expected


def test_typed_dates_and_other_kinds_are_normalised() -> None:
    assert _clean("1938-11-13", Kind.DATE, "DATE") == "19381113"
    # a country prefix goes: registers write "L-1234", school secretariats "1234"
    assert _clean(" l-1234 ", Kind.POSTCODE) == _clean("1234", Kind.POSTCODE) == "1234"
    assert _clean("D - 54290", Kind.POSTCODE) == "54290"
    assert _clean("SW1A 1AA", Kind.POSTCODE) == "SW1A1AA"  # letters of the code itself stay
    assert _clean("  Éloïse   Marie ", Kind.GIVEN_NAME) == "eloise marie"
    assert _clean("", Kind.SURNAME) is None
    assert _clean(" NSW ", Kind.CATEGORICAL) == "nsw"
    assert _clean(" AbC ", Kind.IDENTIFIER) == "AbC"
    assert _clean(17, Kind.EXACT, "INTEGER") == "17"


def test_default_plan_blocks_on_pairs_and_trains_on_two_tight_rules() -> None:
    spec = parse_spec(
        {
            "left": "id",
            "columns": {
                "nn": "identifier",
                "g": "given_name",
                "s": "surname",
                "d": "date",
                "p": "postcode",
                "sex": "categorical",
            },
        }
    )
    plan = build_plan(spec)
    labels = [r.label for r in plan.prediction_rules]
    # every pair of the blockable columns, plus swapped names; no identifier, no categorical
    assert labels == ["g+s", "g+d", "g+p", "s+d", "s+p", "d+p", "g<->s swapped"]
    assert [r.label for r in plan.training_rules] == ["g+s", "d"]
    assert [r.label for r in plan.deterministic_rules] == ["g+s+d"]
    assert plan.identifiers == [plan.canonical["nn"]]
    assert len(plan.comparisons) == len(spec.columns)
    swapped = plan.prediction_rules[-1]
    g, s = plan.canonical["g"], plan.canonical["s"]
    assert swapped.sql() == f'(l."{g}" = r."{s}" AND l."{s}" = r."{g}")'


def test_expert_rules_replace_the_defaults() -> None:
    spec = parse_spec(
        {
            "left": "id",
            "columns": {"g": "given_name", "s": "surname"},
            "blocking_rules": [[{"column": "s", "prefix": 2}]],
            "training_rules": [["g"], ["s"]],
        }
    )
    plan = build_plan(spec)
    assert plan.expert_blocking
    assert [r.label for r in plan.prediction_rules] == ["s[:2]"]
    s = plan.canonical["s"]
    assert plan.prediction_rules[0].sql() == f'(substr(l."{s}", 1, 2) = substr(r."{s}", 1, 2))'
    assert [r.label for r in plan.training_rules] == ["g", "s"]


def test_model_blocking_recall_matches_hand_computation() -> None:
    agree = {"a": 0.9, "b": 0.8, "c": 0.5}
    assert model_blocking_recall([["a"]], agree) == pytest.approx(0.9)
    assert model_blocking_recall([["a", "b"]], agree) == pytest.approx(0.72)
    assert model_blocking_recall([["a"], ["b"]], agree) == pytest.approx(1 - 0.1 * 0.2)
    # any two of three agree
    two_of_three = 0.9 * 0.8 + 0.9 * 0.5 + 0.8 * 0.5 - 2 * 0.9 * 0.8 * 0.5
    assert model_blocking_recall([["a", "b"], ["a", "c"], ["b", "c"]], agree) == pytest.approx(
        two_of_three
    )
    assert model_blocking_recall([["a", "zzz"]], agree) is None
