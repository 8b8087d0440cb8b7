"""The quality profile of a stored table: completeness, validity, uniqueness, timeliness."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datalux.dataplane.errors import StorageError
from datalux.dataplane.ingest import FieldRule
from datalux.dataplane.profile import profile_parquet, timeliness
from datalux.privacy.national_id import make_national_id

NOW = dt.datetime(2025, 1, 31, 12, 0, tzinfo=dt.UTC)
NID_1 = make_national_id(dt.date(1980, 5, 17), 12)
NID_2 = make_national_id(dt.date(1975, 1, 2), 7)
NID_BAD = NID_1[:-1] + str((int(NID_1[-1]) + 1) % 10)

RULES = [
    FieldRule("id", "integer"),
    FieldRule("nid", national_id=True, privacy_role="direct_identifier"),
    FieldRule("born", "date", privacy_role="quasi_identifier"),
    FieldRule("visit", "date", privacy_role="sensitive"),
    FieldRule("commune", code_list="communes-lu", privacy_role="quasi_identifier"),
    FieldRule("wage", "number"),
    FieldRule("income", "number", privacy_role="sensitive"),
]


@pytest.fixture
def table_path(tmp_path: Path) -> Path:
    """Five rows: the last two are identical; one unknown commune, one bad national number."""
    path = tmp_path / "v1.parquet"
    pq.write_table(
        pa.table(
            {
                "id": pa.array([1, 2, 3, 4, 4]),
                "nid": pa.array([NID_1, NID_BAD, None, NID_2, NID_2]),
                "born": pa.array([dt.date(1980, 5, 17), dt.date(2024, 12, 1), None, None, None]),
                "visit": pa.array(
                    [dt.date(2024, 1, 1), dt.date(2025, 1, 21), dt.date(2024, 6, 1), None, None]
                ),
                "commune": pa.array(["Dippach", "Atlantis", "Garnich", None, None]),
                "wage": pa.array([2500.0, 3100.5, None, 4000.0, 4000.0]),
                "income": pa.array([1.0, 2.0, 3.0, 4.0, 4.0]),
            }
        ),
        path,
    )
    return path


def test_kpis_and_variables(table_path: Path) -> None:
    uploaded = NOW - dt.timedelta(days=3, hours=1)
    profile = profile_parquet(table_path, RULES, uploaded_at=uploaded, now=NOW)
    json.dumps(profile)  # JSON-able as it is
    assert profile["rows"] == 5 and profile["columns"] == 7
    by_name = {v["name"]: v for v in profile["variables"]}
    assert [v["name"] for v in profile["variables"]] == [r.name for r in RULES]

    nid = by_name["nid"]
    assert (nid["non_null"], nid["valid"], nid["distinct"]) == (4, 3, 3)
    assert nid["completeness"] == pytest.approx(4 / 5)
    assert nid["validity"] == pytest.approx(3 / 4)
    assert nid["uniqueness"] == pytest.approx(3 / 4)
    commune = by_name["commune"]
    assert (commune["non_null"], commune["valid"]) == (3, 2)
    assert by_name["id"]["uniqueness"] == pytest.approx(4 / 5)

    # 35 cells; nulls: nid 1, born 3, visit 2, commune 2, wage 1 -> 26 filled
    kpis = profile["kpis"]
    assert kpis["completeness"] == pytest.approx(26 / 35)
    assert kpis["validity"] == pytest.approx(24 / 26)  # one bad number, one unknown commune
    assert kpis["duplicate_rows"] == 1
    assert kpis["uniqueness"] == pytest.approx(4 / 5)


def test_extremes_exact_for_role_other_coarsened_for_the_rest(table_path: Path) -> None:
    """A protected dataset (the default): quasi-identifiers and sensitive variables get a
    range rounded outwards only; identifiers none (issue 10, item 6)."""
    profile = profile_parquet(table_path, RULES, now=NOW)
    by_name = {v["name"]: v for v in profile["variables"]}
    assert (by_name["wage"]["min"], by_name["wage"]["max"]) == (2500.0, 4000.0)
    assert (by_name["id"]["min"], by_name["id"]["max"]) == (1, 4)
    assert (by_name["born"]["min"], by_name["born"]["max"]) == ("1980-01-01", "2024-12-31")
    assert (by_name["visit"]["min"], by_name["visit"]["max"]) == ("2024-01-01", "2025-12-31")
    assert (by_name["income"]["min"], by_name["income"]["max"]) == (1.0, 4.5)
    for name in ("born", "visit", "income"):
        assert by_name[name]["coarsened"] is True, name
    for name in ("nid", "commune"):
        assert by_name[name]["min"] is None and by_name[name]["max"] is None, name
    assert "coarsened" not in by_name["wage"]
    text = json.dumps(profile)
    assert NID_1 not in text and "1980-05-17" not in text and "2025-01-21" not in text


def test_an_open_dataset_keeps_exact_extremes(table_path: Path) -> None:
    profile = profile_parquet(table_path, RULES, now=NOW, protected=False)
    by_name = {v["name"]: v for v in profile["variables"]}
    assert (by_name["born"]["min"], by_name["born"]["max"]) == ("1980-05-17", "2024-12-01")
    assert (by_name["income"]["min"], by_name["income"]["max"]) == (1.0, 4.0)
    assert by_name["nid"]["min"] is None


def test_timeliness_uses_dates_that_single_out_nobody(table_path: Path) -> None:
    uploaded = NOW - dt.timedelta(days=3, hours=1)
    profile = profile_parquet(table_path, RULES, uploaded_at=uploaded, now=NOW, protected=False)
    kpis = profile["kpis"]
    # the latest birth date (quasi-identifier, 2024-12-01) is not used; the visits are
    assert kpis["latest_date"] == "2025-01-21"
    assert kpis["days_since_latest"] == 10
    assert kpis["days_since_upload"] == 3
    later = timeliness(profile, NOW + dt.timedelta(days=30))
    assert later == {
        "latest_date": "2025-01-21",
        "days_since_latest": 40,
        "days_since_upload": 33,
    }
    # A protected dataset: the latest sensitive date is given to the month only.
    protected = profile_parquet(table_path, RULES, uploaded_at=uploaded, now=NOW)
    assert protected["kpis"]["latest_date"] == "2025-01-01"
    assert protected["kpis"]["days_since_latest"] == 30


def test_values_not_of_the_dictionary_type_are_invalid(tmp_path: Path) -> None:
    path = tmp_path / "legacy.parquet"
    pq.write_table(pa.table({"n": pa.array(["1", "x", "3.5", None])}), path)
    profile = profile_parquet(path, [FieldRule("n", "integer"), FieldRule("gone", "date")], now=NOW)
    n, gone = profile["variables"]
    assert (n["non_null"], n["valid"]) == (3, 1)
    assert gone["present"] is False and gone["completeness"] == 0.0
    assert profile["kpis"]["completeness"] == pytest.approx(3 / 8)
    assert profile["kpis"]["latest_date"] is None
    assert profile["kpis"]["days_since_latest"] is None


def test_missing_file_is_a_storage_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="does not exist"):
        profile_parquet(tmp_path / "absent.parquet", RULES)
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet")
    with pytest.raises(StorageError, match=r"cannot profile bad\.parquet"):
        profile_parquet(bad, RULES)
