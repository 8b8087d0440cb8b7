"""upload_version: checked, stored atomically as a new version, profiled, audited; and DQV."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from rdflib import Graph, URIRef

from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent
from datalux.catalogue import uploads
from datalux.catalogue.dqv import DQV, LDQD, metric_uri, quality_graph, quality_turtle, version_uri
from datalux.catalogue.models import DatasetVersion
from datalux.catalogue.uploads import UploadRejected, dataset_folder, upload_version
from datalux.dataplane import ingest as ingest_module
from datalux.holdings.models import DataFile
from tests.catalogue.upload_fixtures import HEADER, NIDS, csv_text, make_dataset
from tests.factories.accounts import OrganisationFactory
from tests.factories.catalogue import DatasetFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset(db: Any) -> Any:
    return make_dataset()


@pytest.fixture
def steward(make_member: Any, dataset: Any) -> Any:
    return make_member("steward", organisation=dataset.publisher)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def files_in(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def test_an_upload_becomes_version_1(dataset: Any, steward: Any, tmp_path: Path) -> None:
    src = write(tmp_path, "stays.csv", csv_text(5))
    version = upload_version(dataset=dataset, source=src, filename="stays.csv", by=steward)

    assert version.number == 1
    assert version.uploaded_by == steward and version.source_name == "stays.csv"
    folder = dataset_folder(dataset)
    assert folder.parent.name == dataset.publisher.slug and folder.parent.parent.name == "holders"
    assert files_in(folder) == {"v1.parquet"}  # no staging file left
    stored = pq.read_table(folder / "v1.parquet")
    assert stored.column("stay_id").to_pylist() == [1, 2, 3, 4, 5]
    assert stored.column("admitted").to_pylist()[2] is None  # "NA" is a missing-value code
    assert stored.schema.field("cost").type == pa.float64()

    data_file = version.data_file
    assert data_file.organisation == dataset.publisher
    assert (data_file.rows, data_file.version) == (5, 1)
    assert data_file.path == folder / "v1.parquet"
    assert [c["name"] for c in data_file.columns][:2] == ["stay_id", "national_id"]

    quality = version.quality
    assert quality["rows"] == 5
    admitted = next(v for v in quality["variables"] if v["name"] == "admitted")
    assert admitted["completeness"] == pytest.approx(4 / 5)
    assert quality["kpis"]["validity"] == 1.0
    assert quality["kpis"]["days_since_upload"] == 0

    event = AuditEvent.objects.get(kind=EventKind.DATASET_VERSION_UPLOADED)
    details = json.loads(event.details_json)
    assert details["version"] == 1 and details["rows"] == 5 and details["pid"] == dataset.pid
    assert details["sha256"] == data_file.sha256
    assert event.actor_id == steward.pk and event.organisation_id == dataset.publisher_id


def test_a_second_upload_is_version_2_and_version_1_is_kept(
    dataset: Any, steward: Any, tmp_path: Path
) -> None:
    first = upload_version(
        dataset=dataset, source=write(tmp_path, "a.csv", csv_text(3)), filename="a.csv", by=steward
    )
    upload = SimpleUploadedFile("b.csv", csv_text(7).encode(), content_type="text/csv")
    second = upload_version(dataset=dataset, source=upload, filename="b.csv", by=steward)

    assert (first.number, second.number) == (1, 2)
    assert [v.number for v in dataset.versions.all()] == [2, 1]
    assert dataset.versions.first() == second
    folder = dataset_folder(dataset)
    assert files_in(folder) == {"v1.parquet", "v2.parquet"}
    assert pq.read_metadata(folder / "v1.parquet").num_rows == 3
    assert pq.read_metadata(folder / "v2.parquet").num_rows == 7
    assert DataFile.objects.filter(organisation=dataset.publisher).count() == 2


def test_parquet_uploads(dataset: Any, steward: Any, tmp_path: Path) -> None:
    src = tmp_path / "stays.parquet"
    pq.write_table(
        pa.table(
            {
                "stay_id": pa.array([1, 2], pa.int32()),
                "national_id": pa.array(NIDS[:2]),
                "commune": pa.array(["Dippach", "Garnich"]),
                "admitted": pa.array(["2024-01-02", None]),
                "cost": pa.array([10, 20]),
            }
        ),
        src,
    )
    version = upload_version(dataset=dataset, source=src, filename="stays.parquet", by=steward)
    assert version.data_file.rows == 2
    assert pq.read_schema(version.data_file.path).field("stay_id").type == pa.int64()


def test_a_rejected_file_stores_nothing_and_is_audited(
    dataset: Any, steward: Any, tmp_path: Path
) -> None:
    upload_version(
        dataset=dataset,
        source=write(tmp_path, "ok.csv", csv_text(3)),
        filename="ok.csv",
        by=steward,
    )
    bad_nid = NIDS[1][:-1] + str((int(NIDS[1][-1]) + 1) % 10)
    text = (
        f"{HEADER}\n"
        f"1,{NIDS[0]},Atlantis,2024-01-01,1.5\n"  # unknown commune
        f"two,{bad_nid},Dippach,31/12/2024,2\n"  # wrong type, bad number, wrong date
        "3,,Dippach,2024-01-03\n"  # too few fields
    )
    with pytest.raises(UploadRejected) as caught:
        upload_version(
            dataset=dataset, source=write(tmp_path, "bad.csv", text), filename="bad.csv", by=steward
        )
    report = caught.value.report
    found = {(p.line, p.column, p.problem) for p in report.errors}
    assert found == {
        (2, "commune", "unknown_code"),
        (3, "stay_id", "wrong_type"),
        (3, "national_id", "bad_national_id"),
        (3, "admitted", "wrong_type"),
        (4, None, "too_few_fields"),
    }
    # the previous version is untouched and still the latest
    assert [v.number for v in dataset.versions.all()] == [1]
    assert files_in(dataset_folder(dataset)) == {"v1.parquet"}
    event = AuditEvent.objects.get(kind=EventKind.DATASET_UPLOAD_REJECTED)
    details = json.loads(event.details_json)
    assert details["problems"] == 5 and details["file"] == "bad.csv"
    assert {"column": "commune", "problem": "unknown_code", "count": 1} in details["counts"]
    assert bad_nid not in event.details_json and "Atlantis" not in event.details_json


def test_an_interrupted_write_keeps_the_previous_version(
    dataset: Any, steward: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = write(tmp_path, "stays.csv", csv_text(4))
    upload_version(dataset=dataset, source=src, filename="stays.csv", by=steward)

    def broken(relation: Any, path: Path) -> None:
        path.write_bytes(b"PAR1 half")
        raise OSError("no space left on device")

    monkeypatch.setattr(ingest_module, "_write_parquet", broken)
    with pytest.raises(OSError, match="no space left"):
        upload_version(dataset=dataset, source=src, filename="stays.csv", by=steward)
    assert files_in(dataset_folder(dataset)) == {"v1.parquet"}
    assert DatasetVersion.objects.filter(dataset=dataset).count() == 1
    assert pq.read_metadata(dataset.versions.get().data_file.path).num_rows == 4


def test_a_failure_while_registering_removes_the_new_file(
    dataset: Any, steward: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = write(tmp_path, "stays.csv", csv_text(4))
    upload_version(dataset=dataset, source=src, filename="stays.csv", by=steward)

    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("database went away")

    monkeypatch.setattr(uploads, "register_data_file", broken)
    with pytest.raises(RuntimeError, match="database went away"):
        upload_version(dataset=dataset, source=src, filename="stays.csv", by=steward)
    assert files_in(dataset_folder(dataset)) == {"v1.parquet"}
    assert DatasetVersion.objects.filter(dataset=dataset).count() == 1


@pytest.mark.parametrize("who", ["applicant", "other_steward", "anonymous"])
def test_only_stewards_of_the_publisher_may_upload(
    dataset: Any, make_member: Any, tmp_path: Path, who: str
) -> None:
    from django.contrib.auth.models import AnonymousUser

    if who == "applicant":
        user = make_member("applicant")
    elif who == "other_steward":
        user = make_member("steward", organisation=OrganisationFactory())
    else:
        user = AnonymousUser()
    src = write(tmp_path, "stays.csv", csv_text(2))
    with pytest.raises(PermissionDenied):
        upload_version(dataset=dataset, source=src, filename="stays.csv", by=user)
    assert not dataset_folder(dataset).exists()
    assert not DatasetVersion.objects.exists()


def test_a_dataset_without_dictionary_refuses_uploads(make_member: Any, tmp_path: Path) -> None:
    bare = DatasetFactory()
    user = make_member("steward", organisation=bare.publisher)
    with pytest.raises(ValidationError, match="no data dictionary"):
        upload_version(
            dataset=bare, source=write(tmp_path, "x.csv", "a\n1\n"), filename="x.csv", by=user
        )


def test_oversized_and_unknown_formats_are_refused(
    dataset: Any, steward: Any, tmp_path: Path, settings: Any
) -> None:
    settings.DATALUX_MAX_UPLOAD_MB = 1
    big = write(tmp_path, "big.csv", csv_text(2) + "x" * (1024 * 1024))
    with pytest.raises(UploadRejected) as caught:
        upload_version(dataset=dataset, source=big, filename="big.csv", by=steward)
    assert caught.value.too_large
    assert [p.problem for p in caught.value.report.errors] == ["too_large"]

    with pytest.raises(UploadRejected) as caught:
        upload_version(
            dataset=dataset, source=write(tmp_path, "x.xlsx", "x"), filename="x.xlsx", by=steward
        )
    assert [p.problem for p in caught.value.report.errors] == ["unsupported_format"]
    assert not DatasetVersion.objects.exists()
    assert AuditEvent.objects.filter(kind=EventKind.DATASET_UPLOAD_REJECTED).count() == 2
    assert files_in(dataset_folder(dataset)) == set()


def test_quality_as_dqv(dataset: Any, steward: Any, tmp_path: Path, settings: Any) -> None:
    src = write(tmp_path, "stays.csv", csv_text(5))
    version = upload_version(dataset=dataset, source=src, filename="stays.csv", by=steward)
    graph = Graph().parse(data=quality_turtle(version), format="turtle")
    node = version_uri(version)
    assert str(node) == f"{settings.DATALUX_BASE_URI}/id/dataset/{dataset.pid}/version/1"
    assert str(metric_uri("completeness")).startswith(settings.DATALUX_BASE_URI)

    def value(target: URIRef, metric: str) -> Any:
        rows = graph.query(
            "SELECT ?v WHERE { ?m a dqv:QualityMeasurement ; dqv:computedOn ?t ; "
            "dqv:isMeasurementOf ?metric ; dqv:value ?v }",
            initNs={"dqv": DQV},
            initBindings={"t": target, "metric": metric_uri(metric)},
        )
        values = [r[0].toPython() for r in rows]  # type: ignore[index]
        assert len(values) == 1, (target, metric, values)
        return values[0]

    assert value(node, "rows") == 5
    assert value(node, "completeness") == pytest.approx(version.quality["kpis"]["completeness"])
    assert value(node, "validity") == 1.0
    column = URIRef(f"{node}/variable/admitted")
    assert value(column, "variableCompleteness") == pytest.approx(0.8)
    assert (metric_uri("completeness"), DQV.inDimension, LDQD.completeness) in graph
    assert (node, URIRef("http://www.w3.org/ns/dcat#isVersionOf"), URIRef(dataset.uri)) in graph
    # no value of the data appears in the export
    assert not any(nid in quality_turtle(version) for nid in NIDS)
    assert len(quality_graph(version)) == len(graph)
