"""The citizens' choices in real preparations (datalux.spe.prepare.prepare_permit on DuckDB):
an opt-out leaves the person out of the next extract, a permit on consent holds only persons
whose consent in force covers it, a withdrawal leaves them out of the next one."""

from __future__ import annotations

import hmac
from typing import Any

import pyarrow.parquet as pq
import pytest

from datalux.access import actions
from datalux.access.models import Application, Permit
from datalux.citizens import choices
from datalux.citizens.models import AltruismPurpose
from datalux.dataplane.extract import PERSON_ID, ExtractError, table_key
from datalux.privacy.keys import MasterKey
from datalux.spe.keys import project_keys
from datalux.spe.plan import plan_for, table_name
from datalux.spe.prepare import extract_folder, prepare_permit
from tests.access.conftest import world
from tests.access.world import World
from tests.citizens.choices_world import citizen, give, numbers, store_stays
from tests.spe.conftest import workspace_key

__all__ = ["workspace_key", "world"]

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("workspace_key")]
MASTER = MasterKey(b"m" * 32)


def _persons(permit: Permit) -> set[str]:
    """The national numbers whose pseudonyms the permit's current extract holds."""
    plan = plan_for(permit)
    [table] = plan.tables
    key = table_key(project_keys(MASTER, plan.domain).hmac_key, plan, table)
    by_pseudonym = {hmac.new(key, n.encode(), "sha256").hexdigest(): n for n in numbers()}
    path = extract_folder(permit) / f"{table_name(permit.datasets.get().dataset)}.parquet"
    return {by_pseudonym[p] for p in pq.read_table(path).column(PERSON_ID).to_pylist()}


def _prepare(permit: Permit, world: World) -> set[str]:
    prepare_permit(permit, master_key=MASTER)
    return _persons(permit)


def _amend(permit: Permit, world: World) -> Permit:
    """A new version of the permit: a new preparation."""
    actions.amend_permit(permit=permit, by=world.decider, reason="A new preparation.")
    return Permit.objects.get(pk=permit.pk)


def _permit(world: World, *, consent: bool = False) -> Permit:
    store_stays(world)
    permit = world.approved().permit
    if consent:
        Application.objects.filter(pk=permit.application_id).update(
            legal_basis_art6="6.1.a", legal_basis_art9="9.2.a"
        )
        permit.refresh_from_db()
        permit.application.refresh_from_db()
    return permit  # type: ignore[no-any-return]


def test_a_citizen_who_opts_out_is_absent_from_the_next_extract(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    ana = citizen(numbers()[0], "ana-citizen")
    permit = _permit(world)
    assert _prepare(permit, world) == set(numbers())  # present before
    with django_capture_on_commit_callbacks(execute=True):
        choices.opt_out(identity=ana, by=ana.user)
    permit = _amend(permit, world)
    assert _prepare(permit, world) == set(numbers()) - {numbers()[0]}
    with django_capture_on_commit_callbacks(execute=True):
        choices.revoke_opt_out(identity=ana, by=ana.user)
    permit = _amend(permit, world)
    assert _prepare(permit, world) == set(numbers())


def test_a_consent_based_extract_holds_only_consenting_persons_until_withdrawal(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    ana = citizen(numbers()[0], "ana-citizen")
    ben = citizen(numbers()[1], "ben-citizen")
    cleo = citizen(numbers()[2], "cleo-citizen")
    citizen(numbers()[3], "dan-citizen")  # a citizen without consent
    consent = give(world, ana)
    give(world, ben)
    give(world, cleo, purposes=[AltruismPurpose.CLIMATE])  # another purpose: not covered
    permit = _permit(world, consent=True)
    assert _prepare(permit, world) == {numbers()[0], numbers()[1]}
    choices.withdraw_consent(consent=consent, by=ana.user)
    permit = _amend(permit, world)
    assert _prepare(permit, world) == {numbers()[1]}
    # the opt-out wins over a consent
    with django_capture_on_commit_callbacks(execute=True):
        choices.opt_out(identity=ben, by=ben.user)
    permit = _amend(permit, world)
    assert _prepare(permit, world) == set()


def test_a_person_without_consent_is_never_in_a_consent_based_extract(world: World) -> None:
    citizen(numbers()[0], "ana-citizen")
    permit = _permit(world, consent=True)
    assert _prepare(permit, world) == set()
    manifest = prepare_permit(permit, master_key=MASTER).manifest
    assert manifest.tables[0].consented_only


def test_an_expired_consent_or_one_for_other_data_does_not_count(world: World) -> None:
    ana = citizen(numbers()[0], "ana-citizen")
    ben = citizen(numbers()[1], "ben-citizen")
    expired = give(world, ana)
    type(expired).objects.filter(pk=expired.pk).update(valid_until="2020-01-01")
    world.jobs.variables.filter(name="national_id").update(code_list="national-id")
    give(world, ben, datasets=[world.jobs])
    permit = _permit(world, consent=True)
    assert _prepare(permit, world) == set()


def test_a_permit_on_consent_for_a_purpose_no_consent_covers_is_refused(world: World) -> None:
    permit = _permit(world, consent=True)
    Application.objects.filter(pk=permit.application_id).update(purpose_category="innovation")
    permit.application.refresh_from_db()
    with pytest.raises(ExtractError, match="not an objective of general interest") as refused:
        plan_for(permit)
    assert refused.value.code == "consent-purpose-not-covered"


def test_a_permit_not_on_consent_has_no_consent_table(world: World) -> None:
    citizen(numbers()[0], "ana-citizen")
    permit = _permit(world)
    assert all(t.consents is None for t in plan_for(permit).tables)
