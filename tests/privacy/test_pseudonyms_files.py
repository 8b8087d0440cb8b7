"""pseudonymise_file: CSV/Parquet in and out, validation with rejects, nulls, atomic output."""

from __future__ import annotations

import datetime as dt
import hmac
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from datalux.privacy import InputError, MasterKey, make_national_id, pseudonymise_file

KEYS = MasterKey(bytes(range(50, 90))).domain_keys("holder:ccss")


def ref(value: str | None) -> str | None:
    return None if value is None else hmac.new(KEYS.hmac_key, value.encode(), "sha256").hexdigest()


def nin(i: int) -> str:
    return make_national_id(dt.date(1950, 1, 1) + dt.timedelta(days=i), i % 1000)


def corrupt_last_digit(value: str) -> str:
    return value[:-1] + str((int(value[-1]) + 1) % 10)


def test_csv_to_parquet_pseudonymises_listed_columns_only(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("nin,card,age\n0012,A-1,34\n1985073003328,,7\n,B-2,\n")
    out = tmp_path / "out.parquet"
    report = pseudonymise_file(src, out, columns=["nin", "card"], keys=KEYS)
    table = pq.read_table(out)
    assert table.column_names == ["nin", "card", "age"]
    # leading zeros survive: CSV columns are read as text
    assert table.column("nin").to_pylist() == [ref("0012"), ref("1985073003328"), None]
    assert table.column("card").to_pylist() == [ref("A-1"), None, ref("B-2")]
    assert table.column("age").to_pylist() == ["34", "7", None]
    assert (report.rows_in, report.rows_out, report.rejected_rows) == (3, 3, 0)
    assert report.nulls == {"nin": 1, "card": 1}
    assert report.pseudonymised_values == 4
    meta = json.loads(table.schema.metadata[b"datalux.pseudonyms"])
    assert meta == {
        "domain": "holder:ccss",
        "columns": ["nin", "card"],
        "encoding": "hmac-sha256-hex",
    }
    assert report.rejects is None


def test_parquet_to_csv_in_several_batches(tmp_path: Path) -> None:
    values = [f"{i:013d}" for i in range(2500)]
    src = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": values, "n": list(range(2500))}), src)
    out = tmp_path / "out.csv"
    report = pseudonymise_file(src, out, columns=["id"], keys=KEYS, batch_rows=1000)
    table = pacsv.read_csv(out)
    assert table.column("id").to_pylist() == [ref(v) for v in values]
    assert table.column("n").to_pylist() == list(range(2500))
    assert report.rows_out == 2500


def test_invalid_national_ids_are_rejected_counted_and_listed_by_row(tmp_path: Path) -> None:
    good = [nin(i) for i in range(2200)]
    values: list[str | None] = list(good)
    values[3] = corrupt_last_digit(good[3])  # bad Verhoeff
    values[1500] = good[1500][:12]  # too short
    values[2100] = "19851330" + good[2100][8:]  # month 13
    values[7] = None  # a null is kept and counted, not rejected
    src = tmp_path / "in.parquet"
    pq.write_table(pa.table({"nin": values, "row_id": list(range(2200))}), src)
    out = tmp_path / "out.parquet"
    report = pseudonymise_file(
        src, out, columns=["nin"], keys=KEYS, validate={"nin": "national-id"}, batch_rows=1000
    )
    assert report.rows_in == 2200
    assert report.rejected_rows == 3
    assert report.rows_out == 2197
    assert report.nulls == {"nin": 1}
    assert report.rejected_by_reason == {
        "nin: national-id:bad_verhoeff": 1,
        "nin: national-id:length": 1,
        "nin: national-id:impossible_date": 1,
    }
    table = pq.read_table(out)
    kept = [i for i in range(2200) if i not in (3, 1500, 2100)]
    assert table.column("row_id").to_pylist() == kept
    assert table.column("nin").to_pylist() == [ref(values[i]) for i in kept]
    assert report.rejects == tmp_path / "out.rejects.csv"
    rejects = pacsv.read_csv(report.rejects).to_pylist()
    assert rejects == [
        {"row": 4, "column": "nin", "reason": "national-id:bad_verhoeff"},
        {"row": 1501, "column": "nin", "reason": "national-id:length"},
        {"row": 2101, "column": "nin", "reason": "national-id:impossible_date"},
    ]
    # the rejects file names rows, never values
    assert values[3] not in report.rejects.read_text()


def test_rejects_path_can_be_chosen_and_is_written_even_when_empty(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(f"nin\n{nin(1)}\n")
    rejects = tmp_path / "r.csv"
    report = pseudonymise_file(
        src,
        tmp_path / "o.csv",
        columns=["nin"],
        keys=KEYS,
        validate={"nin": "national-id"},
        rejects=rejects,
    )
    assert report.rejected_rows == 0
    assert pacsv.read_csv(rejects).num_rows == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"columns": ["nope"]}, r"not in the input: nope; the input has: a, b"),
        ({"columns": []}, "at least one column"),
        ({"columns": ["a", "a"]}, "named twice"),
        ({"columns": ["a"], "validate": {"b": "national-id"}}, "--column b"),
        ({"columns": ["a"], "validate": {"a": "iban"}}, "unknown validation kind"),
    ],
)
def test_bad_arguments_raise_and_leave_no_output(
    tmp_path: Path, kwargs: dict[str, object], message: str
) -> None:
    src = tmp_path / "in.csv"
    src.write_text("a,b\n1,2\n")
    out = tmp_path / "out.parquet"
    with pytest.raises(InputError, match=message):
        pseudonymise_file(src, out, keys=KEYS, **kwargs)  # type: ignore[arg-type]
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["in.csv"]


def test_float_column_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    src = tmp_path / "in.parquet"
    pq.write_table(pa.table({"x": [1.5]}), src)
    with pytest.raises(InputError, match="type double"):
        pseudonymise_file(src, tmp_path / "o.parquet", columns=["x"], keys=KEYS)
    assert not (tmp_path / "o.parquet").exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "does not exist"),
        ("empty.csv", "", "is empty"),
        ("data.txt", "a\n1\n", "extension"),
        ("broken.parquet", "not parquet", "cannot read broken.parquet"),
    ],
)
def test_bad_input_files(tmp_path: Path, name: str, content: str | None, message: str) -> None:
    src = tmp_path / name
    if content is not None:
        src.write_text(content)
    with pytest.raises(InputError, match=message):
        pseudonymise_file(src, tmp_path / "o.parquet", columns=["a"], keys=KEYS)
    assert not (tmp_path / "o.parquet").exists()


def test_ragged_csv_fails_midway_and_leaves_no_partial_output(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("a,b\n" + "1,2\n" * 10 + "1,2,3\n")
    out = tmp_path / "o.parquet"
    with pytest.raises(InputError, match="cannot read"):
        pseudonymise_file(src, out, columns=["a"], keys=KEYS)
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == ["in.csv"]


def test_output_must_differ_from_input(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("a\n1\n")
    with pytest.raises(InputError, match="differ"):
        pseudonymise_file(src, src, columns=["a"], keys=KEYS)


def test_summary_names_counts_not_values(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    bad = corrupt_last_digit(nin(5))
    src.write_text(f"nin\n{nin(1)}\n{bad}\n\n")
    report = pseudonymise_file(
        src, tmp_path / "o.csv", columns=["nin"], keys=KEYS, validate={"nin": "national-id"}
    )
    text = "\n".join(report.summary_lines())
    assert "rows in:        2" in text
    assert "rejected:       1 rows" in text
    assert "nin: national-id:bad_verhoeff: 1" in text
    assert bad not in text and nin(1) not in text


def test_one_or_several_worker_threads_give_the_same_files(tmp_path: Path) -> None:
    values: list[str | None] = [nin(i) for i in range(3000)]
    for i in range(0, 3000, 97):
        values[i] = corrupt_last_digit(values[i] or "")
    values[5] = None
    src = tmp_path / "in.parquet"
    pq.write_table(pa.table({"nin": values, "i": list(range(3000))}), src)
    outputs = []
    for workers in (1, 3):
        out = tmp_path / f"out{workers}.parquet"
        report = pseudonymise_file(
            src,
            out,
            columns=["nin"],
            keys=KEYS,
            validate={"nin": "national-id"},
            batch_rows=256,
            workers=workers,
        )
        outputs.append((pq.read_table(out), pacsv.read_csv(report.rejects), report.rejected_rows))
    assert outputs[0][0].equals(outputs[1][0])
    assert outputs[0][1].equals(outputs[1][1])
    assert outputs[0][2] == outputs[1][2] == len(range(0, 3000, 97))
    assert outputs[0][1].column("row").to_pylist() == [i + 1 for i in range(0, 3000, 97)]
