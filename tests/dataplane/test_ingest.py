"""ingest: a CSV or Parquet file checked against the data dictionary, stored atomically."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datalux.dataplane import ingest as ingest_module
from datalux.dataplane.codelists import NATIONAL_ID, UnknownCodeList, code_list
from datalux.dataplane.errors import StorageError
from datalux.dataplane.ingest import FieldRule, IngestSpecError, ingest
from datalux.privacy.national_id import make_national_id

NID_1 = make_national_id(dt.date(1980, 5, 17), 12)
NID_2 = make_national_id(dt.date(1992, 2, 29), 3)
# The same number with its last (Verhoeff) digit changed: invalid.
NID_BAD = NID_1[:-1] + str((int(NID_1[-1]) + 1) % 10)

RULES = [
    FieldRule("id", "integer", required=True),
    FieldRule("national_id", national_id=True, privacy_role="direct_identifier"),
    FieldRule("born", "date", missing_values=("", "NA"), privacy_role="quasi_identifier"),
    FieldRule("commune", code_list="communes-lu"),
    FieldRule("score", "number", missing_values=("", "-99")),
    FieldRule("active", "boolean"),
]
HEADER = "id,national_id,born,commune,score,active"


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A folder of this test's own (the shared conftest puts a storage root in tmp_path)."""
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


def problems(report: Any, kind: str) -> list[Any]:
    return [p for p in report.errors if p.problem == kind]


def test_a_valid_csv_is_stored_as_typed_parquet(work: Path) -> None:
    src = write(
        work / "in.csv",
        f"{HEADER}\n"
        f"1,{NID_1},1980-05-17,Luxembourg,3.5,true\n"
        f"2,{NID_2},NA,Dippach,-99,0\n"
        f"3,,,Esch-sur-Alzette,,FALSE\n",
    )
    out = work / "out.parquet"
    report = ingest(src, RULES, output=out)
    assert report.ok, report.to_dict()
    assert report.stored
    assert report.rows_read == 3
    table = pq.read_table(out)
    assert table.column_names == [r.name for r in RULES]
    assert table.schema.field("id").type == pa.int64()
    assert table.schema.field("born").type == pa.date32()
    assert table.schema.field("score").type == pa.float64()
    assert table.schema.field("active").type == pa.bool_()
    assert table.column("id").to_pylist() == [1, 2, 3]
    assert table.column("born").to_pylist() == [dt.date(1980, 5, 17), None, None]
    assert table.column("score").to_pylist() == [3.5, None, None]  # -99 is a missing code
    assert table.column("active").to_pylist() == [True, False, False]
    assert table.column("national_id").to_pylist() == [NID_1, NID_2, None]
    assert {p.name for p in work.iterdir()} == {"in.csv", "out.parquet"}  # no temp file


def test_without_output_nothing_is_written(work: Path) -> None:
    src = write(work / "in.csv", f"{HEADER}\n1,{NID_1},1980-05-17,Luxembourg,1,true\n")
    report = ingest(src, RULES)
    assert report.ok and not report.stored
    assert {p.name for p in work.iterdir()} == {"in.csv"}


def test_semicolon_separated_files_are_read(work: Path) -> None:
    src = write(work / "in.csv", f"{HEADER.replace(',', ';')}\n1;;;Dippach;2.5;1\n")
    report = ingest(src, RULES)
    assert report.ok, report.to_dict()


def test_malformed_rows_are_reported_with_their_line(work: Path) -> None:
    src = write(
        work / "in.csv",
        f"{HEADER}\n"  # line 1
        "1,,,Dippach,1,true\n"  # line 2: fine
        "2,,,Dippach\n"  # line 3: too few fields
        "3,,,Dippach,1,true,surplus\n"  # line 4: too many
        "4,,,Dippach,oops,true\n",  # line 5: fine structurally, wrong number
    )
    report = ingest(src, RULES, output=work / "out.parquet")
    assert not report.ok
    assert [(p.line, p.row) for p in problems(report, "too_few_fields")] == [(3, 2)]
    assert [(p.line, p.row) for p in problems(report, "too_many_fields")] == [(4, 3)]
    # the rows left out do not shift the numbers of the rows after them
    wrong = problems(report, "wrong_type")
    assert [(p.line, p.row, p.column, p.value_excerpt) for p in wrong] == [(5, 4, "score", "oops")]
    assert report.rows_read == 4
    assert not (work / "out.parquet").exists()


def test_unclosed_quote_and_bad_encoding(work: Path) -> None:
    text = (HEADER + "\n1,,,Dippach,1,true\n2,,,").encode() + b"\xff\xfex,1,true\n"
    src = write(work / "in.csv", text)
    report = ingest(src, RULES)
    encoding = problems(report, "bad_encoding")
    assert [(p.line, p.column) for p in encoding] == [(3, "commune")]
    assert "UTF-8" in encoding[0].fix

    src = write(work / "q.csv", f'{HEADER}\n1,,,"Dippach,1,true\n')
    report = ingest(src, RULES)
    assert not report.ok
    assert {p.problem for p in report.errors} & {"bad_quoting", "too_few_fields"}
    assert all(p.line == 2 for p in report.errors if p.row is not None)


def test_a_header_that_is_not_utf8(work: Path) -> None:
    src = write(work / "in.csv", "communé,id\n".encode("latin-1") + b"x,1\n")
    report = ingest(src, RULES)
    assert [p.problem for p in report.errors] == ["bad_encoding"]
    assert report.errors[0].line == 1


def test_wrong_types_are_parsed_strictly(work: Path) -> None:
    rules = [
        FieldRule("n", "integer"),
        FieldRule("x", "number"),
        FieldRule("d", "date"),
        FieldRule("b", "boolean"),
        FieldRule("t", "datetime"),
        FieldRule("y", "year"),
        FieldRule("ym", "yearmonth"),
    ]
    src = write(
        work / "in.csv",
        "n,x,d,b,t,y,ym\n"
        "42,3.5,2024-03-31,true,2024-03-31T14:05:00Z,2024,2024-03\n"  # row 1: fine
        '42.5,"3,5",31/12/2024,yes,yesterday,24,2024-13\n'  # row 2: all wrong
        "1 000,1e3,2024-02-30,0,2024-03-31 14:05,1999,1999-12\n"  # row 3: n and d wrong
        "0x10,-INF,2024-1-5,FALSE,2024-03-31T14:05:00+02:00,2000,2000-01\n",  # row 4: n wrong
    )
    out = work / "out.parquet"
    report = ingest(src, rules, output=out)
    wrong = {(p.row, p.column) for p in problems(report, "wrong_type")}
    assert wrong == {
        (2, "n"), (2, "x"), (2, "d"), (2, "b"), (2, "t"), (2, "y"), (2, "ym"),
        (3, "n"), (3, "d"),
        (4, "n"),
    }  # fmt: skip
    assert report.counts[("n", "wrong_type")] == 3
    fixes = {p.column: p.fix for p in problems(report, "wrong_type")}
    assert "YYYY-MM-DD" in fixes["d"]
    assert "dot" in fixes["x"]
    assert not out.exists()


def test_datetimes_with_offsets_are_stored_in_utc(work: Path) -> None:
    src = write(work / "in.csv", "t\n2024-03-31T14:05:00+02:00\n2024-03-31 10:00:00\n")
    out = work / "out.parquet"
    assert ingest(src, [FieldRule("t", "datetime")], output=out).ok
    assert pq.read_table(out).column("t").to_pylist() == [
        dt.datetime(2024, 3, 31, 12, 5),
        dt.datetime(2024, 3, 31, 10, 0),
    ]


def test_unknown_codes_allowed_values_and_required(work: Path) -> None:
    rules = [
        FieldRule("id", "integer", required=True, missing_values=("", "NA")),
        FieldRule("commune", code_list="communes-lu"),
        FieldRule("sex", code_list="sex"),
        FieldRule("nace", code_list="nace2"),
        FieldRule("icd", code_list="icd10"),
        FieldRule("level", "integer", allowed_values=(1, 2, 3)),
    ]
    src = write(
        work / "in.csv",
        "id,commune,sex,nace,icd,level\n"
        "1,Luxembourg,F,62.01,E11.9,1\n"
        "NA,Atlantis,X,04,diabetes,7\n"
        ",Dippach,M,C,I10,3\n",
    )
    report = ingest(src, rules)
    found = {(p.row, p.column, p.problem) for p in report.errors}
    assert found == {
        (2, "id", "required"),
        (3, "id", "required"),
        (2, "commune", "unknown_code"),
        (2, "sex", "unknown_code"),
        (2, "nace", "unknown_code"),
        (2, "icd", "unknown_code"),
        (2, "level", "not_allowed"),
    }
    commune = next(p for p in report.errors if p.column == "commune")
    assert commune.value_excerpt == "Atlantis"
    assert "communes of Luxembourg" in commune.fix
    level = next(p for p in report.errors if p.column == "level")
    assert "1, 2, 3" in level.fix


def test_national_numbers_are_checked_and_never_shown(work: Path) -> None:
    rules = [
        FieldRule("nid", code_list=NATIONAL_ID),
        FieldRule("name", privacy_role="direct_identifier", code_list="sex"),
    ]
    src = write(
        work / "in.csv",
        f"nid,name\n{NID_1},M\n{NID_BAD},Jean Dupont\n12345,F\n",
    )
    report = ingest(src, rules)
    bad = problems(report, "bad_national_id")
    assert [p.row for p in bad] == [2, 3]
    assert {p.value_excerpt for p in bad} == {"hidden"}
    name = problems(report, "unknown_code")
    assert [(p.row, p.value_excerpt) for p in name] == [(2, "hidden")]
    text = str(report.to_dict()) + report.summary()
    assert NID_BAD not in text and "12345" not in text and "Dupont" not in text


def test_columns_that_do_not_match_the_dictionary(work: Path) -> None:
    src = write(
        work / "in.csv",
        "ID,national_id,born,commune,score,active,remarks,remarks\n1,,,Dippach,1,true,a,b\n",
    )
    report = ingest(src, RULES)
    by_kind = {p.problem: p for p in report.errors}
    assert by_kind["missing_column"].column == "id"
    assert "rename the column 'ID' to 'id'" in by_kind["missing_column"].fix
    assert by_kind["duplicate_column"].column == "remarks"
    assert [p.column for p in problems(report, "extra_column")] == ["remarks"]
    assert all(p.line == 1 for p in report.errors)


def test_the_error_list_is_capped_but_counts_are_complete(work: Path) -> None:
    rows = "".join(f"{i},,,Nowhere,x,true\n" for i in range(1, 301))
    src = write(work / "in.csv", f"{HEADER}\n{rows}")
    report = ingest(src, RULES, max_errors=50)
    assert report.counts[("commune", "unknown_code")] == 300
    assert report.counts[("score", "wrong_type")] == 300
    assert report.total_errors == 600
    assert len(report.errors) == 50
    assert report.truncated and report.to_dict()["truncated"]
    # both columns show examples: one bad column does not hide another
    assert {p.column for p in report.errors} == {"commune", "score"}


def test_values_are_cut_to_an_excerpt(work: Path) -> None:
    src = write(work / "in.csv", "n\n" + "9" * 30 + "x" * 100 + "\n")
    report = ingest(src, [FieldRule("n", "integer")])
    excerpt = report.errors[0].value_excerpt
    assert excerpt is not None and len(excerpt) <= 40 and excerpt.endswith("…")


def test_file_level_problems(work: Path) -> None:
    big = write(work / "big.csv", f"{HEADER}\n" + "1,,,Dippach,1,true\n" * 100)
    report = ingest(big, RULES, output=work / "out.parquet", max_bytes=100)
    assert [p.problem for p in report.errors] == ["too_large"]
    assert not (work / "out.parquet").exists()

    empty = write(work / "empty.csv", "")
    assert [p.problem for p in ingest(empty, RULES).errors] == ["empty_file"]

    header_only = write(work / "header.csv", f"{HEADER}\n")
    assert [p.problem for p in ingest(header_only, RULES).errors] == ["no_rows"]

    not_parquet = write(work / "fake.parquet", b"PAR1 this is not parquet")
    assert [p.problem for p in ingest(not_parquet, RULES).errors] == ["unreadable"]

    with pytest.raises(StorageError, match="does not exist"):
        ingest(work / "absent.csv", RULES)
    with pytest.raises(StorageError, match=r"\*\.csv or \*\.parquet"):
        ingest(write(work / "data.xlsx", "x"), RULES)


def test_parquet_input_keeps_native_types(work: Path) -> None:
    src = work / "in.parquet"
    pq.write_table(
        pa.table(
            {
                "id": pa.array([1.0, 2.0, 2.5]),  # a float column holding whole numbers
                "born": pa.array(
                    [dt.datetime(1980, 1, 1), dt.datetime(1990, 6, 1, 12, 0), None],
                    pa.timestamp("us"),
                ),
                "isco": pa.array([2221, 5120, 99999], pa.int32()),
                "flag": pa.array([1, 0, 2], pa.int8()),
            }
        ),
        src,
    )
    rules = [
        FieldRule("id", "integer"),
        FieldRule("born", "date"),
        FieldRule("isco", "string", code_list="isco08"),
        FieldRule("flag", "boolean"),
    ]
    report = ingest(src, rules)
    found = {(p.row, p.column, p.problem) for p in report.errors}
    assert found == {
        (3, "id", "wrong_type"),  # 2.5 is not whole
        (2, "born", "wrong_type"),  # a timestamp with a time is not a date
        (3, "isco", "unknown_code"),  # 5 digits
        (3, "flag", "wrong_type"),  # 2 is not a boolean
    }
    assert all(p.line is None for p in report.errors)

    ok = work / "ok.parquet"
    pq.write_table(pa.table({"id": pa.array([1.0, 2.0]), "isco": pa.array([2221, 5120])}), ok)
    out = work / "out.parquet"
    report = ingest(
        ok, [FieldRule("id", "integer"), FieldRule("isco", code_list="isco08")], output=out
    )
    assert report.ok, report.to_dict()
    stored = pq.read_table(out)
    assert stored.column("id").to_pylist() == [1, 2]
    assert stored.column("isco").to_pylist() == ["2221", "5120"]


def test_an_interrupted_write_leaves_nothing_and_keeps_the_previous_file(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = work / "out.parquet"
    out.write_bytes(b"previous version")

    def broken(relation: Any, path: Path) -> None:
        path.write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(ingest_module, "_write_parquet", broken)
    src = write(work / "in.csv", f"{HEADER}\n1,,,Dippach,1,true\n")
    with pytest.raises(OSError, match="disk full"):
        ingest(src, RULES, output=out)
    assert out.read_bytes() == b"previous version"
    assert {p.name for p in work.iterdir()} == {"in.csv", "out.parquet"}


def test_a_rejected_file_does_not_replace_the_previous_one(work: Path) -> None:
    out = work / "out.parquet"
    out.write_bytes(b"previous version")
    src = write(work / "in.csv", f"{HEADER}\nnot a number,,,Dippach,1,true\n")
    assert not ingest(src, RULES, output=out).ok
    assert out.read_bytes() == b"previous version"


def test_odd_column_names_and_values_are_data_not_sql(work: Path) -> None:
    rules = [FieldRule('we"ird', "string", allowed_values=("a'b", "c")), FieldRule("n", "integer")]
    src = write(work / "in.csv", '"we""ird",n\na\'b,1\n"\'); DROP TABLE raw; --",2\n')
    out = work / "out.parquet"
    report = ingest(src, rules, output=out)
    assert [(p.row, p.problem) for p in report.errors] == [(2, "not_allowed")]
    assert report.errors[0].value_excerpt == "'); DROP TABLE raw; --"


def test_rules_that_cannot_be_applied_raise(work: Path) -> None:
    src = write(work / "in.csv", "a\n1\n")
    with pytest.raises(IngestSpecError, match="no variables"):
        ingest(src, [])
    with pytest.raises(IngestSpecError, match="described twice"):
        ingest(src, [FieldRule("a"), FieldRule("a")])
    with pytest.raises(IngestSpecError, match="type 'text'"):
        ingest(src, [FieldRule("a", "text")])
    with pytest.raises(IngestSpecError, match="unknown code list 'planets'"):
        ingest(src, [FieldRule("a", code_list="planets")])
    with pytest.raises(IngestSpecError, match="privacy role"):
        ingest(src, [FieldRule("a", privacy_role="secret")])
    with pytest.raises(IngestSpecError, match="not of type integer"):
        ingest(src, [FieldRule("a", "integer", allowed_values=("one", 2))])


def test_code_lists() -> None:
    nace = code_list("nace2")
    assert all(nace.contains(c) for c in ["A", "U", "01", "62", "62.0", "62.01", "99"])
    assert not any(nace.contains(c) for c in ["V", "04", "04.1", "1", "620", "62.001"])
    communes = code_list("communes-lu")
    assert len(communes.values) == 100  # the shipped list: every commune of Luxembourg
    assert communes.contains("Esch-sur-Alzette") and not communes.contains("Paris")
    atc = code_list("atc")
    assert atc.contains("A02BC01") and atc.contains("N") and not atc.contains("E02BC01")
    assert code_list("iso3166").contains("LU") and not code_list("iso3166").contains("XX")
    assert code_list("icd10").contains("Z38.0") and not code_list("icd10").contains("Z38.")
    with pytest.raises(UnknownCodeList, match="use one of"):
        code_list("planets")
