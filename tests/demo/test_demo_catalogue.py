"""The demo catalogue: every holder table described and published, open data, a data service,
a harvested source; the whole export conforms to the official DCAT-AP 3.0.1 shapes."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import Graph

from datalux.catalogue.models import DataService, Dataset, DatasetStatus, HarvestSource
from datalux.catalogue.shacl import validate_graph
from datalux.catalogue.vocabularies import AccessRights, PrivacyRole
from datalux.cli import main
from datalux.demo.seed import seed_demo
from datalux.holdings.models import DataFile

pytestmark = pytest.mark.django_db


def test_demo_catalogue_is_rich_and_conforms(tmp_path: Path) -> None:
    seed_demo(persons=300, seed=11, echo=lambda _: None)
    local = Dataset.objects.filter(harvest_source__isnull=True)
    for slug in (
        "population_register",
        "hospital_stays",
        "prescriptions",
        "employment_spells",
        "school_enrolments",
    ):
        version = local.get(slug=slug).versions.get()  # uploaded: validated against the dictionary
        assert version.quality and version.data_file.rows > 0
    assert DataFile.objects.count() == 8  # five holder tables and three open aggregates
    assert all(d.status == DatasetStatus.PUBLISHED and d.shacl_conforms for d in local)
    register = local.get(slug="population_register")
    roles = dict(register.variables.values_list("name", "privacy_role"))
    assert roles["national_id"] == PrivacyRole.DIRECT_IDENTIFIER
    assert roles["birth_date"] == PrivacyRole.QUASI_IDENTIFIER
    assert local.filter(access_rights=AccessRights.PUBLIC, licence="CC-BY-4.0").exists()
    assert DataService.objects.filter(serves_datasets__isnull=False).exists()
    assert HarvestSource.objects.get().datasets.count() == 3

    out = tmp_path / "catalogue.ttl"
    result = CliRunner().invoke(
        main, ["catalogue", "export", "--format", "turtle", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    graph = Graph().parse(out, format="turtle")
    shacl = validate_graph(graph)
    violations = [f for f in shacl.findings if f["severity"] == "Violation"]
    assert shacl.conforms, violations[:5]
    assert len(list(graph.subjects(predicate=None, object=None))) > 100


def test_each_event_table_marks_the_date_a_permitted_period_applies_to() -> None:
    from datalux.catalogue.dictionary import parse_table_schema
    from datalux.demo.catalogue import table_schema
    from datalux.demo.population import holders

    marked = {
        spec.name: [f.name for f in parse_table_schema(table_schema(spec.columns)) if f.period]
        for spec in (
            holders.HOSPITAL_STAYS,
            holders.PRESCRIPTIONS,
            holders.EMPLOYMENT_SPELLS,
            holders.SCHOOL_ENROLMENTS,
        )
    }
    assert marked == {
        holders.HOSPITAL_STAYS.name: ["admission_date"],
        holders.PRESCRIPTIONS.name: ["dispensing_date"],
        holders.EMPLOYMENT_SPELLS.name: ["start_date"],
        holders.SCHOOL_ENROLMENTS.name: [],
    }
