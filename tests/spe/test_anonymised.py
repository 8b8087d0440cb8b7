"""The anonymised form: no pseudonym, the quasi-identifiers generalised until k-anonymity and
l-diversity hold (the permit's parameters or the authority's defaults), checked again by an
independent query on the written file; the aggregate form gets no microdata at all."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import duckdb
import pytest
from django.conf import settings
from django.core.exceptions import ValidationError

from datalux.access import actions
from datalux.dataplane.extract import ExtractError
from datalux.privacy.keys import MASTER_KEY_ENV_VAR, MasterKey
from datalux.spe import jobs
from datalux.spe.models import PreparationState
from datalux.spe.plan import plan_for
from datalux.spe.prepare import extract_folder
from tests.access.world import World
from tests.spe.test_plan import _rows, _store

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MASTER_KEY_ENV_VAR, MasterKey(b"n" * 32).to_base64())
    monkeypatch.setattr(settings, "DATALUX_TTP_KEY_FILE", None)


def _permit(world: World, form: str, **permit: Any) -> Any:
    application = world.under_review(data_form=form)
    actions.decide(
        application=application, by=world.decider, outcome="approved",
        reasons="Meets the criteria of Art. 5.", permit=permit or None,
    )  # fmt: skip
    application.refresh_from_db()
    return application.permit


def _prepared(permit: Any) -> Any:
    preparation = jobs.request_preparation(permit, enqueue=False)
    return jobs.run_preparation(preparation.pk)


def _classes(path: Any) -> dict[str, list[str]]:
    """The equivalence classes of the written file, by an independent query."""
    rows = duckdb.sql(f"SELECT age, diagnosis FROM read_parquet('{path}')").fetchall()  # noqa: S608
    classes: dict[str, list[str]] = defaultdict(list)
    for age, diagnosis in rows:
        classes[age].append(diagnosis)
    return classes


def test_the_anonymised_extract_holds_k_and_l_and_no_pseudonym(world: World) -> None:
    _store(world)
    permit = _permit(world, "anonymised")
    [table] = plan_for(permit).tables
    assert table.anonymise is not None and table.anonymise.quasi_identifiers == ("age",)
    assert (table.anonymise.k, table.anonymise.l) == (5, 2)  # the authority's defaults
    preparation = _prepared(permit)
    assert preparation.state == PreparationState.READY, preparation.message
    [written] = preparation.manifest["tables"]
    assert written["columns"] == ["age", "diagnosis"]  # no person_id, no national number
    classes = _classes(extract_folder(permit) / written["file"])
    assert min(len(v) for v in classes.values()) >= 5
    assert min(len(set(v)) for v in classes.values()) >= 2
    permitted = [
        r for r in _rows()
        if r["age"] >= 18 and date(2020, 1, 1) <= r["admission_date"] <= date(2024, 12, 31)
    ]  # fmt: skip
    report = written["anonymisation"]
    assert report["records"] == len(permitted)
    assert written["rows"] == len(permitted) - report["records_suppressed"]
    assert report["records_suppressed"] <= 0.05 * len(permitted)
    assert report["transformation"][0]["attribute"] == "age"
    assert report["transformation"][0]["level"] >= 1  # generalised: no exact age left
    assert report["verification"]["checks"][0]["satisfied"]
    assert (
        report["risk_after"]["prosecutor"]["highest"]
        <= 1 / 5
        < report["risk_before"]["prosecutor"]["highest"]
    )


def test_the_permit_sets_its_own_k(world: World) -> None:
    _store(world)
    permit = _permit(world, "anonymised", output_rules={"k": 20})
    preparation = _prepared(permit)
    assert preparation.state == PreparationState.READY, preparation.message
    [written] = preparation.manifest["tables"]
    classes = _classes(extract_folder(permit) / written["file"])
    assert min(len(v) for v in classes.values()) >= 20
    assert written["anonymisation"]["models"][0] == {"model": "k-anonymity", "k": 20}


def test_an_impossible_anonymisation_names_the_fix(world: World) -> None:
    _store(world)
    permit = _permit(world, "anonymised", output_rules={"k": 150, "max_suppression": 0.0})
    preparation = _prepared(permit)
    assert preparation.state == PreparationState.FAILED
    assert preparation.code == "anonymisation-impossible"
    assert "relax the parameters" in preparation.message
    assert not extract_folder(permit).exists()


def test_bad_anonymisation_parameters_are_refused_at_the_decision(world: World) -> None:
    with pytest.raises(ValidationError, match="k must be a whole number"):
        _permit(world, "anonymised", output_rules={"k": 0})


def test_the_aggregate_form_gets_no_microdata(world: World) -> None:
    _store(world)
    permit = _permit(world, "aggregate")
    with pytest.raises(ExtractError, match="no microdata is prepared") as refused:
        plan_for(permit)
    assert refused.value.code == "form-not-supported"
    preparation = _prepared(permit)
    assert preparation.state == PreparationState.FAILED and not extract_folder(permit).exists()
