"""Quality profiles of protected datasets show coarsened ranges of quasi-identifiers and
sensitive variables only; new variables are quasi-identifiers until a steward decides
(issue 10, item 6)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.urls import reverse

from datalux.catalogue.dictionary import parse_table_schema
from datalux.catalogue.forms_dictionary import VariableForm
from datalux.catalogue.models import DatasetVersion, Variable
from datalux.catalogue.vocabularies import AccessRights, PrivacyRole
from datalux.dataplane.profile import coarse_range, publishable
from datalux.holdings.models import DataFile
from tests.factories.catalogue import DatasetFactory, VariableFactory

DASH = "\u2013"  # between the ends of a range on the page

# --- the rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "low", "high", "expected"),
    [
        ("integer", 18, 65, (15, 70)),  # ages: 5-year bands
        ("integer", 0, 103, (0, 120)),
        ("year", 1921, 2004, (1920, 2010)),  # decades
        ("integer", 7, 7, (7, 8)),  # a constant is never shown as itself
        ("integer", 0, 0, (0, 1)),
        ("integer", -12, 30, (-15, 35)),
        ("number", 1234.5, 987654.0, (0.0, 1000000.0)),
        ("number", 0.12, 0.87, (0.1, 0.9)),
        ("date", "1931-02-11", "2024-07-30", ("1931-01-01", "2024-12-31")),
        ("datetime", "2020-03-04T05:06:07", "2021-01-01T00:00:00", ("2020-01-01", "2021-12-31")),
        ("time", "07:41:00", "18:05:00", ("07:00:00", "19:00:00")),
        ("time", "00:10:00", "23:30:00", ("00:00:00", "23:59:59")),
        ("integer", None, 5, (None, None)),
        ("number", "not a number", 5, (None, None)),
    ],
)
def test_coarse_range_rounds_outwards(type_: str, low: Any, high: Any, expected: Any) -> None:
    assert coarse_range(type_, low, high) == expected


def test_the_coarse_range_always_contains_the_exact_one() -> None:
    for low, high in [(3, 4), (18, 65), (1, 1000), (-7, -2), (99, 101), (2024, 2024)]:
        bottom, top = coarse_range("integer", low, high)
        assert bottom <= low and top > high, (low, high)
        assert (bottom, top) != (low, high)


def _stored(**variables: dict[str, Any]) -> dict[str, Any]:
    """A profile as stored by an older rule: exact extremes for variables of role 'other'."""
    return {
        "version": 1,
        "computed_at": "2025-02-01T00:00:00+00:00",
        "uploaded_at": "2025-02-01T00:00:00+00:00",
        "rows": 500,
        "columns": len(variables),
        "kpis": {
            "completeness": 1.0,
            "validity": 1.0,
            "uniqueness": 1.0,
            "duplicate_rows": 0,
            "latest_date": "2025-01-17",
            "days_since_latest": 15,
            "days_since_upload": 0,
        },
        "variables": [
            {"name": name, "present": True, "distinct": 10, "latest": None, **v}
            for name, v in variables.items()
        ],
    }


STORED = _stored(
    age={"type": "integer", "privacy_role": "other", "min": 18, "max": 97},
    admitted={
        "type": "date", "privacy_role": "other",
        "min": "2019-03-02", "max": "2025-01-17", "latest": "2025-01-17",
    },
    cost={"type": "number", "privacy_role": "other", "min": 12.5, "max": 9870.25},
    nid={"type": "string", "privacy_role": "other", "min": None, "max": None},
)  # fmt: skip
ROLES = {
    "age": "quasi_identifier",
    "admitted": "sensitive",
    "cost": "other",
    "nid": "direct_identifier",
}


def test_publishable_coarsens_by_the_current_dictionary() -> None:
    shown = publishable(STORED, roles=ROLES, protected=True)
    by = {v["name"]: v for v in shown["variables"]}
    assert (by["age"]["min"], by["age"]["max"], by["age"]["coarsened"]) == (10, 100, True)
    assert (by["admitted"]["min"], by["admitted"]["max"]) == ("2019-01-01", "2025-12-31")
    assert by["admitted"]["latest"] == "2025-01-01"
    assert (by["cost"]["min"], by["cost"]["max"]) == (12.5, 9870.25)  # role other: exact
    assert by["nid"]["privacy_role"] == "direct_identifier" and by["nid"]["min"] is None
    assert shown["kpis"]["latest_date"] == "2025-01-01"
    assert shown["kpis"]["days_since_latest"] == 31
    text = json.dumps(shown)
    for exact in ("2019-03-02", "2025-01-17", '"max": 97'):
        assert exact not in text
    assert publishable(shown, roles=ROLES, protected=True) == shown  # applied twice: the same
    assert STORED["variables"][0]["min"] == 18  # the stored profile is not changed


def test_publishable_keeps_exact_figures_of_open_datasets() -> None:
    shown = publishable(STORED, roles=ROLES, protected=False)
    by = {v["name"]: v for v in shown["variables"]}
    assert (by["age"]["min"], by["age"]["max"]) == (18, 97)
    assert by["admitted"]["latest"] == "2025-01-17"
    assert shown["kpis"]["latest_date"] == "2025-01-17"
    assert by["nid"]["min"] is None


# --- the pages and the API --------------------------------------------------------------------


def _version(access_rights: str) -> DatasetVersion:
    dataset = DatasetFactory(access_rights=access_rights)
    for position, (name, type_) in enumerate(
        [("age", "integer"), ("admitted", "date"), ("cost", "number"), ("nid", "string")], 1
    ):
        VariableFactory(
            dataset=dataset, position=position, name=name, type=type_, privacy_role=ROLES[name]
        )
    data_file = DataFile.objects.create(
        organisation=dataset.publisher, table=dataset.slug, title=dataset.slug,
        relative_path=f"{dataset.slug}.parquet", rows=500, sha256="0" * 64, size_bytes=1,
    )  # fmt: skip
    return DatasetVersion.objects.create(
        dataset=dataset, number=1, data_file=data_file, quality=STORED
    )


@pytest.mark.django_db
def test_the_dataset_page_and_the_api_show_coarsened_ranges_of_a_protected_dataset(
    client: Any,
) -> None:
    version = _version(AccessRights.RESTRICTED)
    pid = version.dataset.pid
    html = client.get(reverse("catalogue:dataset", args=[pid])).content.decode()
    assert f"10 {DASH} 100" in html and "rounded outwards" in html
    assert f"2019-01-01 {DASH} 2025-12-31" in html
    assert "2019-03-02" not in html and f"18 {DASH} 97" not in html
    assert f"12.5 {DASH} 9870.25" in html  # role other: exact

    base = f"/api/v1/catalogue/datasets/{pid}/versions"
    quality = client.get(f"{base}/1/quality").json()
    by = {v["name"]: v for v in quality["variables"]}
    assert (by["age"]["min"], by["age"]["max"]) == (10, 100)
    assert quality["kpis"]["latest_date"] == "2025-01-01"
    listed = client.get(base).json()
    assert listed[0]["kpis"]["latest_date"] == "2025-01-01"
    turtle = client.get(f"{base}/1/quality.ttl").content.decode()
    assert "2025-01-17" not in turtle


@pytest.mark.django_db
def test_an_open_dataset_page_shows_exact_ranges(client: Any) -> None:
    version = _version(AccessRights.PUBLIC)
    html = client.get(reverse("catalogue:dataset", args=[version.dataset.pid])).content.decode()
    assert f"18 {DASH} 97" in html and "rounded outwards" not in html


# --- the default role -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_new_variable_is_a_quasi_identifier_until_a_steward_decides() -> None:
    assert Variable._meta.get_field("privacy_role").default == PrivacyRole.QUASI_IDENTIFIER
    variable = VariableFactory()
    assert variable.privacy_role == PrivacyRole.QUASI_IDENTIFIER
    assert VariableForm().fields["privacy_role"].initial == PrivacyRole.QUASI_IDENTIFIER
    parsed = parse_table_schema({"fields": [{"name": "age", "type": "integer"}]})
    assert parsed[0].privacy_role == PrivacyRole.QUASI_IDENTIFIER


def test_the_migration_changes_the_default_only() -> None:
    from importlib import import_module

    from django.db import migrations

    module = import_module("datalux.catalogue.migrations.0007_variable_privacy_role_default")
    (operation,) = module.Migration.operations
    assert isinstance(operation, migrations.AlterField)
    assert operation.field.default == PrivacyRole.QUASI_IDENTIFIER  # no RunPython: rows kept
