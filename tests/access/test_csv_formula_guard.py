"""Issue 10, item 12: the CSV exports (permit register, metrics) cannot run formulas in a
spreadsheet, also when it splits the file at ';' (French and German settings, Luxembourg's)
or at tabs instead of the commas the file is written with."""

from __future__ import annotations

import csv
import io

import pytest

from datalux.access.views_public import csv_response

FORMULA = ("=", "+", "-", "@", "\t", "\r")
VALUES = [
    "=1+2 sum trick",
    'Research Lab; =HYPERLINK("http://evil.example","x")',
    "Health Directorate; Social Security",
    "a;@SUM(A1:A9)",
    "b;\"=cmd|' /C calc'!A0",
    "c; +1",
    "d\t-2",
    "plain text, with a comma",
]


def cells(text: str, delimiter: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(text), delimiter=delimiter) for c in row]


def runs(cell: str) -> bool:
    return cell.lstrip(' "').startswith(FORMULA)


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_no_cell_starts_a_formula_however_the_file_is_split(delimiter: str) -> None:
    text = csv_response([["id", "value"], *[[i, v] for i, v in enumerate(VALUES)]], "x.csv")
    body = text.content.decode()
    assert [c for c in cells(body, delimiter) if runs(c)] == []


def test_harmless_values_are_kept_as_they_are() -> None:
    body = csv_response([["Health Directorate; Social Security", "a - b", 12, -3]], "x.csv")
    assert cells(body.content.decode(), ",") == [
        "Health Directorate; Social Security",
        "a - b",
        "12",
        "-3",  # numbers are numbers, not text a spreadsheet would evaluate
    ]
    guarded = cells(csv_response([["x;=1+2"]], "x.csv").content.decode(), ",")
    assert guarded == ["x;'=1+2"]
