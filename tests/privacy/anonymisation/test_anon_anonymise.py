"""End to end: the release satisfies k, l and t by an independent SQL checker; bad input is
refused with an error naming the problem."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pyarrow as pa
import pytest

from datalux.privacy.anonymisation import (
    DistinctLDiversity,
    EntropyLDiversity,
    Hierarchy,
    HierarchySpec,
    KAnonymity,
    TCloseness,
    anonymise,
    build_report,
)
from datalux.privacy.errors import InputError, PrivacyError

QIS = ["age", "zip", "sex"]


def _reference(table: pa.Table, column: str) -> dict[str, float]:
    counts = Counter(table.column(column).to_pylist())
    return {v: c / table.num_rows for v, c in counts.items()}


@pytest.mark.parametrize("mode", ["drop", "mask"])
def test_k_anonymity_verified_independently(
    small: pa.Table, small_hierarchies: dict[str, Hierarchy], checker: Any, oracle: Any, mode: Any
) -> None:
    result = anonymise(
        small,
        quasi_identifiers=QIS,
        hierarchies=small_hierarchies,
        models=[KAnonymity(5)],
        max_suppression=0.05,
        suppression_mode=mode,
    )
    released = result.table
    assert result.records_suppressed > 0  # the limit is used: the check below is not vacuous
    if mode == "drop":
        assert released.num_rows == small.num_rows - result.records_suppressed
        kept = released
    else:
        assert released.num_rows == small.num_rows
        star = [
            all(released.column(q)[i].as_py() == "*" for q in QIS) for i in range(released.num_rows)
        ]
        assert sum(star) >= result.records_suppressed
        kept = released.filter(pa.array([not s for s in result.suppressed_mask]))
    c = checker(kept, QIS)
    assert c.min_class_size() >= 5
    # non-quasi-identifier columns are released unchanged, in the same order
    assert kept.column("id").to_pylist() == [
        v
        for v, s in zip(small.column("id").to_pylist(), result.suppressed_mask, strict=True)
        if not s
    ]
    levels = {t.attribute: t.level for t in result.transformation}
    if mode == "drop":
        loss = oracle.independent_loss(released, small_hierarchies, levels, small.num_rows)
        assert result.utility.loss == pytest.approx(loss, abs=1e-12)


def test_l_diversity_and_t_closeness_verified_independently(
    small: pa.Table, small_hierarchies: dict[str, Hierarchy], checker: Any
) -> None:
    reference = _reference(small, "diagnosis")
    distinct = anonymise(
        small,
        quasi_identifiers=QIS,
        hierarchies=small_hierarchies,
        models=[KAnonymity(3), DistinctLDiversity(3)],
        sensitive="diagnosis",
        max_suppression=0.05,
    )
    c = checker(distinct.table, QIS, "diagnosis")
    assert c.min_class_size() >= 3
    assert c.min_distinct() >= 3

    entropy = anonymise(
        small,
        quasi_identifiers=QIS,
        hierarchies=small_hierarchies,
        models=[KAnonymity(3), EntropyLDiversity(2.5)],
        sensitive="diagnosis",
        max_suppression=0.05,
    )
    c = checker(entropy.table, QIS, "diagnosis")
    assert c.min_entropy_l() >= 2.5 - 1e-9

    close = anonymise(
        small,
        quasi_identifiers=QIS,
        hierarchies=small_hierarchies,
        models=[KAnonymity(2), TCloseness(0.15)],
        sensitive="diagnosis",
        max_suppression=0.05,
    )
    c = checker(close.table, QIS, "diagnosis")
    assert c.max_t_distance(reference, ordered=False) <= 0.15 + 1e-9
    observed = close.verification.checks[1].observed["largest_distance"]
    assert observed == pytest.approx(c.max_t_distance(reference, ordered=False), abs=1e-9)


def test_t_closeness_ordered_distance_on_numbers(
    small: pa.Table, small_hierarchies: dict[str, Hierarchy], checker: Any
) -> None:
    result = anonymise(
        small,
        quasi_identifiers=QIS,
        hierarchies=small_hierarchies,
        models=[KAnonymity(2), TCloseness(0.1)],
        sensitive="income",
    )
    assert result.verification.checks[1].model["distance"] == "auto"
    c = checker(result.table, QIS, "income")
    reference = _reference(small, "income")
    ordered = c.max_t_distance(reference, ordered=True)
    assert ordered <= 0.1 + 1e-9
    assert result.verification.checks[1].observed["largest_distance"] == pytest.approx(ordered)


def test_builtin_hierarchy_specs_and_report(small: pa.Table, checker: Any) -> None:
    result = anonymise(
        small,
        quasi_identifiers=QIS,
        hierarchies={
            "age": HierarchySpec("interval", "10,20,40"),
            "zip": HierarchySpec("prefix", "1"),
            "sex": Hierarchy.from_rows([["F", "*"], ["M", "*"]]),
        },
        models=[KAnonymity(4)],
        max_suppression=0.02,
    )
    assert checker(result.table, QIS).min_class_size() >= 4
    report = build_report(result, file="small.csv")
    assert report["input"]["records"] == small.num_rows
    assert set(report["transformation"]) == set(QIS)
    assert report["transformation"]["age"]["hierarchy"] == "interval:10,20,40"
    assert report["suppression"]["records_suppressed"] == result.records_suppressed
    assert report["verification"]["satisfied"] is True
    assert report["search"]["optimal"] is True
    assert report["risk"]["after"]["prosecutor"]["highest"] <= 1 / 4
    assert report["risk"]["before"]["prosecutor"]["highest"] == 1.0
    assert 0 <= report["utility"]["loss"] <= 1
    # the report carries no data values (ids, ages...), only names and figures
    text = repr(report)
    assert "r17" not in text and "75014" not in text


def test_zero_suppression_releases_every_record(
    small: pa.Table, small_hierarchies: dict[str, Hierarchy], checker: Any
) -> None:
    result = anonymise(
        small, quasi_identifiers=QIS, hierarchies=small_hierarchies, models=[KAnonymity(10)]
    )
    assert result.records_suppressed == 0
    assert result.table.num_rows == small.num_rows
    assert checker(result.table, QIS).min_class_size() >= 10


def _run(table: pa.Table, hierarchies: Any, **kw: Any) -> Any:
    options: dict[str, Any] = {"quasi_identifiers": QIS, "models": [KAnonymity(2)]}
    options.update(kw)
    return anonymise(table, hierarchies=hierarchies, **options)


def test_bad_input_is_refused(small: pa.Table, small_hierarchies: dict[str, Hierarchy]) -> None:
    with pytest.raises(InputError, match="unknown column 'agee'"):
        _run(small, small_hierarchies, quasi_identifiers=["agee", "sex"])
    with pytest.raises(InputError, match="no hierarchy for quasi-identifier 'zip'"):
        _run(small, {k: v for k, v in small_hierarchies.items() if k != "zip"})
    with pytest.raises(InputError, match="not a quasi-identifier"):
        _run(small, {**small_hierarchies, "id": small_hierarchies["sex"]})
    with pytest.raises(InputError, match="impossible k: k=241"):
        _run(small, small_hierarchies, models=[KAnonymity(241)])
    with pytest.raises(InputError, match="impossible l: l=5"):
        _run(small, small_hierarchies, models=[DistinctLDiversity(5)], sensitive="diagnosis")
    with pytest.raises(InputError, match="needs a sensitive attribute"):
        _run(small, small_hierarchies, models=[TCloseness(0.2)])
    with pytest.raises(InputError, match="both a quasi-identifier and the sensitive"):
        _run(small, small_hierarchies, models=[DistinctLDiversity(2)], sensitive="sex")
    with pytest.raises(InputError, match="no records"):
        _run(small.slice(0, 0), small_hierarchies)
    with pytest.raises(InputError, match="listed twice"):
        _run(small, small_hierarchies, quasi_identifiers=["age", "age"])
    with pytest.raises(InputError, match="max suppression"):
        _run(small, small_hierarchies, max_suppression=1.5)
    with pytest.raises(InputError, match="no privacy model"):
        _run(small, small_hierarchies, models=[])


def test_hierarchy_that_does_not_cover_a_value(
    small: pa.Table, small_hierarchies: dict[str, Hierarchy]
) -> None:
    partial = Hierarchy.from_rows([["F", "*"]], source="sex.csv")
    with pytest.raises(InputError) as err:
        _run(small, {**small_hierarchies, "sex": partial})
    message = str(err.value)
    assert "sex.csv does not cover 1 distinct value(s) of column 'sex'" in message
    assert "first at data row" in message
    assert "'M'" not in message  # the value itself is not echoed


def test_infeasible_models_raise_privacy_error(small_hierarchies: dict[str, Hierarchy]) -> None:
    # every record has the same diagnosis but one: entropy l-diversity of 1.5 cannot hold
    table = pa.table(
        {
            "age": ["30", "31", "32", "33"],
            "zip": ["75014"] * 4,
            "sex": ["F", "M", "F", "M"],
            "diagnosis": ["flu", "flu", "flu", "asthma"],
        }
    )
    hierarchies = {
        "age": small_hierarchies["age"],
        "zip": Hierarchy.from_rows([["75014", "*"]]),
        "sex": small_hierarchies["sex"],
    }
    with pytest.raises(PrivacyError, match="no transformation satisfies"):
        anonymise(
            table,
            quasi_identifiers=QIS,
            hierarchies=hierarchies,
            models=[EntropyLDiversity(1.9)],
            sensitive="diagnosis",
        )
