"""Issue 10, item 10: an API upload over the size limit is cut off while it arrives (as the page's
is), and CSV and Parquet files are capped in rows and decoded bytes while they are read
(decompression bombs), with a clear refusal naming the cap and nothing stored."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client

from datalux.accounts.actions import create_api_token
from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent
from datalux.catalogue.models import DatasetVersion
from datalux.catalogue.uploads import UploadRejected, dataset_folder, upload_version
from datalux.dataplane.ingest import ValidationReport, _parquet_within_caps
from tests.catalogue.upload_fixtures import HEADER, NIDS, csv_text, make_dataset

pytestmark = pytest.mark.django_db

API = "/api/v1/catalogue/datasets"
MIB = 1024 * 1024
RECEIVED: list[int] = []


class Recorder(FileUploadHandler):
    """Stands behind the size limit: counts the bytes of each file that reach the handlers
    that store it (Django's temporary-file handler comes next)."""

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        RECEIVED.append(0)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        RECEIVED[-1] += len(raw_data)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


@pytest.fixture
def dataset(db: Any) -> Any:
    return make_dataset()


@pytest.fixture
def steward(make_member: Any, dataset: Any) -> Any:
    return make_member("steward", organisation=dataset.publisher)


@pytest.fixture
def recorded(settings: Any) -> list[int]:
    RECEIVED.clear()
    settings.FILE_UPLOAD_HANDLERS = [
        f"{__name__}.Recorder",
        "django.core.files.uploadhandler.TemporaryFileUploadHandler",
    ]
    return RECEIVED


def bearer(user: Any) -> dict[str, str]:
    _, secret = create_api_token(user=user, name="limit tests", scope="write")
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def nothing_stored(dataset: Any) -> bool:
    folder = dataset_folder(dataset)
    return not DatasetVersion.objects.exists() and not (folder.exists() and any(folder.iterdir()))


# --- the API cuts an oversized file off while it arrives ----------------------------------------


@pytest.mark.parametrize("auth", ["token", "session"])
def test_api_cuts_off_an_oversized_upload_while_it_arrives(
    dataset: Any, steward: Any, settings: Any, recorded: list[int], auth: str
) -> None:
    settings.DATALUX_MAX_UPLOAD_MB = 1
    big = SimpleUploadedFile("stays.csv", (csv_text(3) + "9" * (3 * MIB)).encode())
    url = f"{API}/{dataset.pid}/versions"
    if auth == "token":
        response = Client().post(url, {"file": big}, **bearer(steward))
    else:
        # A CSRF-checking client: the check reads the body before the view does.
        client = Client(enforce_csrf_checks=True)
        client.force_login(steward)
        token = _get_new_csrf_string()
        client.cookies["csrftoken"] = token
        response = client.post(url, {"file": big}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 413, response.content
    assert response.json() == {
        "error": {
            "code": "too_large",
            "message": response.json()["error"]["message"],
            "details": response.json()["error"]["details"],
        }
    }
    error = response.json()["error"]
    assert "more than 1 MB (at least" in error["message"]
    assert "uploads are limited to 1 MB" in error["message"]
    assert error["details"]["counts"] == [{"column": None, "problem": "too_large", "count": 1}]
    # The handlers that store the file saw at most the limit, not the 3 MB sent.
    assert recorded and max(recorded) <= MIB
    assert nothing_stored(dataset)
    assert AuditEvent.objects.filter(kind=EventKind.DATASET_UPLOAD_REJECTED).count() == 1


def test_api_upload_without_a_file_is_a_clear_422(dataset: Any, steward: Any) -> None:
    response = Client().post(f"{API}/{dataset.pid}/versions", {}, **bearer(steward))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid" and "field 'file'" in error["message"]


def test_a_file_under_the_limit_still_arrives_whole(
    dataset: Any, steward: Any, recorded: list[int]
) -> None:
    body = csv_text(4).encode()
    response = Client().post(
        f"{API}/{dataset.pid}/versions",
        {"file": SimpleUploadedFile("stays.csv", body)},
        **bearer(steward),
    )
    assert response.status_code == 201, response.content
    assert recorded == [len(body)]


# --- decompression bombs -----------------------------------------------------------------------


def zeros_parquet(path: Path, rows: int, *, row_group_size: int | None = None) -> Path:
    """A Parquet file of the dataset's five columns, ``rows`` rows of the same values: a few
    kilobytes on disk whatever ``rows`` is."""
    table = pa.table(
        {
            "stay_id": pa.array([1] * rows, pa.int64()),
            "national_id": pa.array([NIDS[0]] * rows),
            "commune": pa.array(["Dippach"] * rows),
            "admitted": pa.array(["2024-01-02"] * rows),
            "cost": pa.array([0.0] * rows),
        }
    )
    pq.write_table(table, path, compression="zstd", row_group_size=row_group_size)
    return path


def refusal(dataset: Any, steward: Any, path: Path) -> UploadRejected:
    with pytest.raises(UploadRejected) as refused:
        upload_version(dataset=dataset, source=path, filename=path.name, by=steward)
    return refused.value


def test_a_parquet_file_of_too_many_rows_is_refused_by_its_metadata(
    dataset: Any, steward: Any, tmp_path: Path, settings: Any
) -> None:
    settings.DATALUX_UPLOAD_MAX_ROWS = 100_000
    path = zeros_parquet(tmp_path / "bomb.parquet", 2_000_000, row_group_size=250_000)
    assert path.stat().st_size < 200_000  # small on disk
    report = refusal(dataset, steward, path).report
    assert [(p.problem, p.message) for p in report.errors] == [
        (
            "too_many_rows",
            "the file has more than 100,000 rows; uploads are limited to 100,000 rows",
        )
    ]
    assert "DATALUX_UPLOAD_MAX_ROWS" in report.errors[0].fix
    assert nothing_stored(dataset)
    event = AuditEvent.objects.get(kind=EventKind.DATASET_UPLOAD_REJECTED)
    assert event.details["counts"] == [{"column": "", "problem": "too_many_rows", "count": 1}]


def test_a_parquet_file_that_expands_too_much_is_refused(
    dataset: Any, steward: Any, tmp_path: Path, settings: Any
) -> None:
    settings.DATALUX_UPLOAD_MAX_EXPANDED_MB = 1
    path = zeros_parquet(tmp_path / "bomb.parquet", 200_000)
    report = refusal(dataset, steward, path).report
    [problem] = report.errors
    assert problem.problem == "too_expanded"
    assert problem.message == (
        "the file holds more than 1 MB of data once decompressed; uploads are limited to "
        "1 MB of data"
    )
    assert nothing_stored(dataset)


def test_a_dictionary_bomb_that_its_metadata_hides_is_counted_while_read(
    dataset: Any, steward: Any, tmp_path: Path, settings: Any
) -> None:
    """One 100 kB text repeated 3,000 times: 300 MB once decoded, about 100 kB of dictionary
    and a few bytes of indices in the file (and in its metadata's uncompressed sizes)."""
    settings.DATALUX_UPLOAD_MAX_EXPANDED_MB = 50
    rows = 3_000
    path = tmp_path / "dictionary-bomb.parquet"
    table = pa.table(
        {
            "stay_id": pa.array(range(rows), pa.int64()),
            "national_id": pa.array([NIDS[0]] * rows),
            "commune": pa.array(["L" * 100_000] * rows),
            "admitted": pa.array(["2024-01-02"] * rows),
            "cost": pa.array([0.0] * rows),
        }
    )
    pq.write_table(table, path, compression="zstd", use_dictionary=True)
    del table
    meta = pq.read_metadata(path)
    declared = sum(
        meta.row_group(i).column(j).total_uncompressed_size
        for i in range(meta.num_row_groups)
        for j in range(meta.num_columns)
    )
    assert declared < 50 * MIB  # the metadata alone would let it through
    [problem] = refusal(dataset, steward, path).report.errors
    assert problem.problem == "too_expanded" and "limited to 50 MB of data" in problem.message
    assert nothing_stored(dataset)


def test_a_csv_file_of_too_many_rows_is_refused_while_read(
    dataset: Any, steward: Any, tmp_path: Path, settings: Any
) -> None:
    settings.DATALUX_UPLOAD_MAX_ROWS = 1_000
    path = tmp_path / "stays.csv"
    line = f"1,{NIDS[0]},Dippach,2024-01-02,1.5\n"
    path.write_text(HEADER + "\n" + line * 5_000, encoding="utf-8")
    report = refusal(dataset, steward, path).report
    assert [p.problem for p in report.errors] == ["too_many_rows"]
    assert report.rows_read == 1_001  # the read stopped one row past the cap
    assert nothing_stored(dataset)


def test_a_csv_file_at_the_cap_is_stored(
    dataset: Any, steward: Any, tmp_path: Path, settings: Any
) -> None:
    settings.DATALUX_UPLOAD_MAX_ROWS = 5
    path = tmp_path / "stays.csv"
    path.write_text(csv_text(5), encoding="utf-8")
    version = upload_version(dataset=dataset, source=path, filename="stays.csv", by=steward)
    assert version.data_file.rows == 5


def test_a_gzip_file_named_csv_is_never_decompressed(
    dataset: Any, steward: Any, tmp_path: Path
) -> None:
    path = tmp_path / "stays.csv"
    path.write_bytes(gzip.compress(csv_text(3).encode() + b"9,1,Dippach,2024-01-02,1\n" * 10_000))
    report = refusal(dataset, steward, path).report
    assert report.rows_read < 10  # read as the bytes it is: not UTF-8, nothing expanded
    assert {p.problem for p in report.errors} & {"bad_encoding", "unreadable"}
    assert nothing_stored(dataset)


def test_the_api_names_the_cap(
    client: Any, dataset: Any, steward: Any, tmp_path: Path, settings: Any
) -> None:
    settings.DATALUX_UPLOAD_MAX_ROWS = 10
    path = zeros_parquet(tmp_path / "many.parquet", 1_000)
    response = client.post(
        f"{API}/{dataset.pid}/versions",
        {"file": SimpleUploadedFile("many.parquet", path.read_bytes())},
        **bearer(steward),
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "upload_rejected"
    [problem] = error["details"]["errors"]
    assert problem["problem"] == "too_many_rows"
    assert "limited to 10 rows" in problem["message"]


def test_a_parquet_file_that_cannot_be_counted_through_is_refused(
    dataset: Any, steward: Any, tmp_path: Path
) -> None:
    """Readable metadata, damaged data pages: the caps are not skipped, the file is refused."""
    path = zeros_parquet(tmp_path / "damaged.parquet", 50_000)
    data = bytearray(path.read_bytes())
    footer = int.from_bytes(data[-8:-4], "little") + 8
    for i in range(8, len(data) - footer, 7):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    assert pq.read_metadata(path).num_rows == 50_000  # the footer still reads
    # the counting itself refuses (it does not leave the file to a reader without caps)
    counted = ValidationReport(source="damaged.parquet", format="parquet")
    assert not _parquet_within_caps(path, counted, 10**9, 10**12)
    assert [p.problem for p in counted.errors] == ["unreadable"]
    report = refusal(dataset, steward, path).report
    assert [p.problem for p in report.errors] == ["unreadable"]
    assert nothing_stored(dataset)
