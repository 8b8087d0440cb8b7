"""The trusted third party's person-use index: a prepared extract records each person it
included (their keyed pseudonym under the exchange log's key, with the datasets), nobody
else, nothing in the extract's folder, and nothing a project could match to its pseudonyms.

The world's permit grants ``age`` and ``diagnosis`` of the hospital stays for 2020-2024, adults
only (tests/spe/test_plan.py); 200 stays of 200 persons.
"""

from __future__ import annotations

import hmac
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.conf import settings

from datalux.audit.models import AuditEvent
from datalux.citizens import uses_index
from datalux.citizens.models import PersonUse
from datalux.dataplane.extract import PERSON_ID, table_key
from datalux.onceonly import keys as exchange_keys
from datalux.privacy import pseudonym
from datalux.privacy.keys import MasterKey
from datalux.spe.plan import plan_for, project_domain, table_name
from datalux.spe.prepare import extract_folder, prepare_permit
from tests.access.conftest import world
from tests.access.world import World
from tests.spe.conftest import workspace_key
from tests.spe.test_plan import _permit, _rows, _store

__all__ = ["workspace_key", "world"]

pytestmark = pytest.mark.django_db
MASTER = MasterKey(b"m" * 32)


def _included(rows: list[dict[str, Any]]) -> set[str]:
    return {
        r["national_id"]
        for r in rows
        if r["age"] >= 18 and date(2020, 1, 1) <= r["admission_date"] <= date(2024, 12, 31)
    }


def _subject(number: str) -> str:
    return pseudonym(number, exchange_keys.pseudonym_keys())


def test_the_persons_of_the_extract_get_a_use_with_their_datasets(world: World) -> None:
    _store(world)
    permit = _permit(world)
    prepared = prepare_permit(permit, master_key=MASTER)
    assert prepared.new
    included = _included(_rows())
    assert 0 < len(included) < 200
    uses = list(PersonUse.objects.all())
    assert {u.subject for u in uses} == {_subject(n) for n in included}
    assert len(uses) == len(included)
    assert all(u.datasets == [world.stays.pid] for u in uses)
    assert all(u.permit_id == permit.pk and u.version == permit.version for u in uses)
    assert not any(u.on_consent for u in uses)  # the permit rests on Art. 6(1)(e)/9(2)(j)
    # persons filtered out (period, age) have none
    excluded = {r["national_id"] for r in _rows()} - included
    assert not PersonUse.objects.filter(subject__in=[_subject(n) for n in excluded]).exists()
    event = AuditEvent.objects.get(kind="citizen.uses_recorded")
    assert event.details == {"version": permit.version, "persons": len(included)}
    # the TTP's list of whom it included is gone once indexed
    assert not uses_index.persons_folder(permit).exists()


def test_persons_who_opted_out_get_no_use(world: World) -> None:
    _store(world)
    included = sorted(_included(_rows()))
    opted_out = included[:3]
    path = Path(settings.DATALUX_STORAGE) / "ttp" / "opt_outs.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"national_id": opted_out}), path)
    prepare_permit(_permit(world), master_key=MASTER)
    subjects = set(PersonUse.objects.values_list("subject", flat=True))
    assert subjects == {_subject(n) for n in included[3:]}
    assert not subjects & {_subject(n) for n in opted_out}


def test_the_extract_folder_holds_no_subject_and_no_national_number(world: World) -> None:
    _store(world)
    permit = _permit(world)
    prepare_permit(permit, master_key=MASTER)
    folder = extract_folder(permit)
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files
    content = b"".join(p.read_bytes() for p in files)
    subjects = list(PersonUse.objects.values_list("subject", flat=True))
    assert subjects
    assert not [s for s in subjects if s.encode() in content]
    assert not [n for n in (r["national_id"] for r in _rows()) if n.encode() in content]
    # nor anywhere beside it (staging, linking) once prepared
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name]


def test_a_projects_pseudonym_cannot_be_derived_from_the_subject(world: World) -> None:
    _store(world)
    permit = _permit(world)
    prepare_permit(permit, master_key=MASTER)
    plan = plan_for(permit)
    [table] = plan.tables
    written = pq.read_table(extract_folder(permit) / f"{table_name(world.stays)}.parquet")
    person_ids = set(written.column(PERSON_ID).to_pylist())
    subjects = set(PersonUse.objects.values_list("subject", flat=True))
    assert person_ids and subjects and not person_ids & subjects
    # the two are HMACs of the same number under unrelated keys (the exchange log's own key,
    # the project domain's key from the TTP's master key)
    key = table_key(MASTER.domain_keys(project_domain(permit)).hmac_key, plan, table)
    assert exchange_keys.pseudonym_keys().hmac_key != key
    assert {hmac.new(key, s.encode(), "sha256").hexdigest() for s in subjects} & person_ids == set()


def test_a_re_preparation_of_the_same_version_writes_nothing_twice(world: World) -> None:
    _store(world)
    permit = _permit(world)
    prepare_permit(permit, master_key=MASTER)
    count = PersonUse.objects.count()
    again = prepare_permit(permit, master_key=MASTER)
    assert not again.new
    assert PersonUse.objects.count() == count
    assert AuditEvent.objects.filter(kind="citizen.uses_recorded").count() == 1


def test_an_index_interrupted_after_the_extract_is_completed_by_the_next_run(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _store(world)
    permit = _permit(world)
    real = uses_index.record_uses
    calls: list[int] = []

    def crash_once(**kwargs: Any) -> int:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("killed")
        return real(**kwargs)

    monkeypatch.setattr(uses_index, "record_uses", crash_once)
    with pytest.raises(RuntimeError):
        prepare_permit(permit, master_key=MASTER)
    assert not PersonUse.objects.exists()
    assert uses_index.persons_folder(permit).exists()  # the extract is in place, the list too
    prepare_permit(permit, master_key=MASTER)
    assert PersonUse.objects.count() == len(_included(_rows()))
    assert not uses_index.persons_folder(permit).exists()


def test_record_uses_merges_the_datasets_of_a_person(world: World, tmp_path: Path) -> None:
    _store(world)
    permit = _permit(world)
    folder = tmp_path / "persons"
    folder.mkdir()
    pq.write_table(pa.table({"national_id": ["1", "2"]}), folder / "a.parquet")
    pq.write_table(pa.table({"national_id": ["2", "3"]}), folder / "b.parquet")
    count = uses_index.record_uses(
        permit=permit, version=1, folder=folder, datasets={"a": "PID-A", "b": "PID-B", "c": "X"}
    )
    assert count == 3
    got = {u.subject: u.datasets for u in PersonUse.objects.all()}
    assert got == {
        _subject("1"): ["PID-A"],
        _subject("2"): ["PID-A", "PID-B"],
        _subject("3"): ["PID-B"],
    }
    assert not folder.exists()


@pytest.mark.parametrize(
    ("art6", "art9", "expected"),
    [("6.1.a", "", True), ("6.1.e", "9.2.a", True), ("6.1.e", "9.2.j", False)],
)
def test_a_use_on_consent_is_marked(
    world: World, tmp_path: Path, art6: str, art9: str, expected: bool
) -> None:
    permit = _permit(world)
    application = permit.application
    application.legal_basis_art6, application.legal_basis_art9 = art6, art9
    application.save(update_fields=["legal_basis_art6", "legal_basis_art9"])
    folder = tmp_path / "persons"
    folder.mkdir()
    pq.write_table(pa.table({"national_id": ["1"]}), folder / "a.parquet")
    uses_index.record_uses(permit=permit, version=1, folder=folder, datasets={"a": "PID-A"})
    assert PersonUse.objects.get().on_consent is expected
