from __future__ import annotations

from pathlib import Path

import pytest
from tests.privacy.anonymisation.conftest import ADULT

from datalux.privacy.anonymisation import (
    Hierarchy,
    HierarchySpec,
    date_hierarchy,
    interval_hierarchy,
    parse_hierarchy_spec,
    prefix_hierarchy,
    read_hierarchy_csv,
)
from datalux.privacy.errors import InputError


def test_reads_arx_hierarchy_file() -> None:
    h = read_hierarchy_csv(ADULT / "adult_hierarchy_age.csv")
    assert h.height == 5
    assert len(h.rows) == 100
    assert h.generalise("39", 1) == "35-39"
    assert h.generalise("39", 3) == "20-39"
    assert h.generalise("39", 4) == "*"
    assert h.source == "adult_hierarchy_age.csv"


def test_file_errors_name_the_problem(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(InputError, match="does not exist"):
        read_hierarchy_csv(missing)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="empty"):
        read_hierarchy_csv(empty)
    single = tmp_path / "single.csv"
    single.write_text("a\nb\n")
    with pytest.raises(InputError, match="single column"):
        read_hierarchy_csv(single)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a;x;*\nb;*\n")
    with pytest.raises(InputError, match="row 2: 2 levels"):
        read_hierarchy_csv(ragged)


def test_levels_must_nest() -> None:
    with pytest.raises(InputError, match="must nest"):
        Hierarchy.from_rows([["a", "x", "p"], ["b", "x", "q"], ["c", "y", "q"]])
    with pytest.raises(InputError, match="listed twice"):
        Hierarchy.from_rows([["a", "*"], ["a", "*"]])


def test_interval_hierarchy_nests_and_labels() -> None:
    h = interval_hierarchy(["17", "39", "40", "90", None], [5, 10, 20])
    assert h.height == 5
    assert h.generalise("39", 1) == "35-39"
    assert h.generalise("39", 2) == "30-39"
    assert h.generalise("40", 3) == "40-59"
    assert h.generalise("90", 4) == "*"
    decimals = interval_hierarchy(["1.5", "2.25"], [0.5, 1])
    assert decimals.generalise("2.25", 1) == "[2.0, 2.5)"
    negative = interval_hierarchy(["-3", "4"], [5])
    assert negative.generalise("-3", 1) == "-5--1"


@pytest.mark.parametrize(
    ("widths", "message"),
    [([], "at least one width"), ([5, 7], "multiple"), ([10, 5], "grow"), ([0, 5], "positive")],
)
def test_interval_widths_are_checked(widths: list[float], message: str) -> None:
    with pytest.raises(InputError, match=message):
        interval_hierarchy(["1", "2"], widths)


def test_interval_on_text_is_refused() -> None:
    with pytest.raises(InputError, match="non-numeric"):
        interval_hierarchy(["12", "abc"], [5])


def test_date_hierarchy() -> None:
    h = date_hierarchy(["1987-03-14", "1991-12-01"])
    assert [h.generalise("1987-03-14", lv) for lv in range(h.height)] == [
        "1987-03-14",
        "1987-03",
        "1987",
        "1980-1989",
        "*",
    ]
    with pytest.raises(InputError, match="not an ISO date"):
        date_hierarchy(["14/03/1987"])
    with pytest.raises(InputError, match="unknown date level"):
        date_hierarchy(["1987-03-14"], ["week"])
    with pytest.raises(InputError, match="fine to coarse"):
        date_hierarchy(["1987-03-14"], ["year", "month"])


def test_prefix_hierarchy() -> None:
    h = prefix_hierarchy(["75014", "75015", "6900"], 2)
    assert [h.generalise("75014", lv) for lv in range(h.height)] == [
        "75014",
        "750**",
        "7****",
        "*",
    ]
    assert h.generalise("6900", 2) == "****"
    with pytest.raises(InputError, match="positive"):
        prefix_hierarchy(["1"], 0)


def test_spec_parsing() -> None:
    assert parse_hierarchy_spec("age=interval:5,10") == ("age", HierarchySpec("interval", "5,10"))
    assert parse_hierarchy_spec("zip = prefix:2") == ("zip", HierarchySpec("prefix", "2"))
    assert parse_hierarchy_spec("dob=date") == ("dob", HierarchySpec("date", ""))
    assert parse_hierarchy_spec("sex=h/sex.csv") == ("sex", HierarchySpec("file", "h/sex.csv"))
    for bad in ["age", "=x.csv", "age=", "age=interval"]:
        with pytest.raises(InputError, match="hierarchy"):
            parse_hierarchy_spec(bad)
    with pytest.raises(InputError, match="not numbers"):
        HierarchySpec("interval", "5,x").build(["1"])
    with pytest.raises(InputError, match="not a number"):
        HierarchySpec("prefix", "two").build(["1"])
