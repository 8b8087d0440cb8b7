"""Publication is refused, naming the columns, when the data dictionary no longer matches the
latest stored data version (column names and types); the page, the API and the audit say so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent
from datalux.catalogue import actions
from datalux.catalogue.dictionary import data_mismatches, to_table_schema
from datalux.catalogue.models import DatasetStatus
from datalux.catalogue.uploads import upload_version
from tests.catalogue.upload_fixtures import csv_text, make_dataset

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored(make_member: Any, tmp_path: Path) -> tuple[Any, Any]:
    """A draft with one stored data version that matches its dictionary, and its steward."""
    dataset = make_dataset(status=DatasetStatus.DRAFT)
    steward = make_member("steward", organisation=dataset.publisher)
    src = tmp_path / "stays.csv"
    src.write_text(csv_text(5), encoding="utf-8")
    upload_version(dataset=dataset, source=src, filename="stays.csv", by=steward)
    return dataset, steward


def change_dictionary(dataset: Any, steward: Any) -> None:
    schema = to_table_schema(dataset.variables.all())
    fields = {f["name"]: f for f in schema["fields"]}
    fields["cost"]["type"] = "string"  # stored as double
    fields["stay_id"]["name"] = "stay"  # renamed: stay_id is stored, stay is not
    actions.set_dictionary(dataset=dataset, by=steward, table_schema=schema)


def test_mismatches_name_each_column() -> None:
    columns = [{"name": "a", "type": "bigint"}, {"name": "b", "type": "varchar"}]
    assert data_mismatches([("a", "integer"), ("b", "string")], columns, 2) == []
    assert data_mismatches([("a", "number"), ("c", "date")], columns, 2) == [
        "a: the dictionary says number (double) but data version 2 stores bigint",
        "c: in the dictionary but not in data version 2",
        "b: in data version 2 but not in the dictionary",
    ]


def test_a_matching_dictionary_is_published(stored: tuple[Any, Any]) -> None:
    dataset, steward = stored
    assert actions.publish_dataset(dataset=dataset, by=steward).status == DatasetStatus.PUBLISHED


def test_a_changed_dictionary_is_refused_with_the_columns(stored: tuple[Any, Any]) -> None:
    dataset, steward = stored
    change_dictionary(dataset, steward)
    with pytest.raises(actions.DictionaryMismatch) as err:
        actions.publish_dataset(dataset=dataset, by=steward)
    assert err.value.problems == [
        "stay: in the dictionary but not in data version 1",
        "cost: the dictionary says string (varchar) but data version 1 stores double",
        "stay_id: in data version 1 but not in the dictionary",
    ]
    dataset.refresh_from_db()
    assert dataset.status == DatasetStatus.DRAFT
    event = AuditEvent.objects.filter(kind=EventKind.DATASET_PUBLICATION_REFUSED).get()
    assert event.details["version"] == 1 and len(event.details["mismatches"]) == 3


def test_the_page_and_the_api_say_which_columns(client: Any, stored: tuple[Any, Any]) -> None:
    dataset, steward = stored
    change_dictionary(dataset, steward)
    client.force_login(steward)
    response = client.post(reverse("catalogue:dataset_publish", args=[dataset.pid]), follow=True)
    html = response.content.decode()
    assert "Not published: the data dictionary no longer matches the stored data" in html
    assert "cost: the dictionary says string (varchar) but data version 1 stores double" in html
    response = client.post(f"/api/v1/catalogue/datasets/{dataset.pid}/publish")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "dictionary_mismatch"
    assert "stay_id: in data version 1 but not in the dictionary" in error["details"]
    dataset.refresh_from_db()
    assert dataset.status == DatasetStatus.DRAFT
