"""Linkage across holders, end to end on the demo: the permit that links the hospital stays,
the population register and the school register (no national number there) is prepared by
the seed, and its extract is checked against the generator's truth."""

from __future__ import annotations

import hmac
import re
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from django.conf import settings

from datalux.access.models import Permit
from datalux.catalogue.models import Dataset
from datalux.dataplane.extract import ExtractError
from datalux.demo.seed import seed_demo
from datalux.spe.keys import configured_master_key, project_keys
from datalux.spe.models import PreparationState
from datalux.spe.plan import plan_for, project_domain
from datalux.spe.prepare import extract_folder

pytestmark = pytest.mark.django_db

TITLE = "Hospital stays of pupils by school level"


@pytest.fixture
def linked() -> Permit:
    seed_demo(persons=400, seed=3, echo=lambda _: None)
    return Permit.objects.get(application__title=TITLE)


def _table(permit: Permit, slug: str) -> Any:
    [table] = [t for t in permit.preparations.get().manifest["tables"] if t["name"].endswith(slug)]
    return table


def test_the_seed_prepares_the_linked_permit_across_three_holders(linked: Permit) -> None:
    preparation = linked.preparations.get()
    assert preparation.state == PreparationState.READY
    folder = extract_folder(linked)
    school = _table(linked, "school_enrolments")
    stays = _table(linked, "hospital_stays")
    register = _table(linked, "population_register")
    assert school["columns"] == ["person_id", "school_year", "level", "school"]
    assert school["linkage"]["method"] == "probabilistic"
    assert school["linkage"]["partner"] == register["name"]
    assert stays["linkage"]["method"] == register["linkage"]["method"] == "national number"
    assert (folder / school["linkage"]["report"]).exists()

    # against the truth: the pupils' national numbers, pseudonymised with the project's key
    keys = project_keys(configured_master_key(), project_domain(linked))
    storage = Path(settings.DATALUX_STORAGE) / "demo"
    [truth_path] = storage.glob("population-*/_truth/school_enrolments.parquet")
    truth = pq.read_table(truth_path)
    expected = {
        hmac.new(keys.hmac_key, n.encode(), "sha256").hexdigest()
        for n in truth.column("national_id").to_pylist()
    }
    written = pq.read_table(folder / school["file"]).column("person_id")
    linked_ids = set(written.drop_null().to_pylist())
    register_ids = set(pq.read_table(folder / register["file"]).column("person_id").to_pylist())
    assert linked_ids <= register_ids  # one pseudonym per person across the tables
    precision = len(linked_ids & expected) / len(linked_ids)
    recall = len(linked_ids & expected) / len(expected & register_ids)
    assert precision >= 0.95 and recall >= 0.85, (precision, recall)
    assert written.null_count == school["linkage"]["unlinked"]


def test_a_table_without_a_record_identifier_cannot_be_linked(linked: Permit) -> None:
    school = Dataset.objects.get(slug__endswith="school_enrolments")
    school.variables.filter(linkage_kind="record_id").update(linkage_kind="")
    with pytest.raises(ExtractError, match="marks no record identifier") as refused:
        plan_for(linked)
    assert refused.value.code == "linkage-impossible"


def test_without_a_partner_sharing_linkage_variables_the_fix_is_named(
    linked: Permit, settings: Any
) -> None:
    register = Dataset.objects.get(slug__endswith="population_register")
    register.variables.exclude(linkage_kind="").exclude(linkage_kind="birth_date").update(
        linkage_kind=""
    )
    settings.DATALUX_SPE_LINKAGE_SPINE = ""
    with pytest.raises(ExtractError, match=re.escape("set DATALUX_SPE_LINKAGE_SPINE")):
        plan_for(linked)
