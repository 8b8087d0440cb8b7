"""A citizen's consent and objection: who may act, what is recorded (history, audit without
the national number), and the trusted third party's exclusion list kept in step."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from datalux.audit.models import AuditEvent
from datalux.citizens import choices, ttp_lists
from datalux.citizens.models import AltruismPurpose, SecondaryUseChoice
from datalux.spe.plan import opt_out_table
from tests.access.conftest import world
from tests.access.world import World
from tests.citizens.choices_world import citizen, give, numbers
from tests.spe.conftest import workspace_key

__all__ = ["workspace_key", "world"]

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("workspace_key")]


def _excluded() -> list[str]:
    path = opt_out_table()
    assert path is not None
    return pq.read_table(path).column("national_id").to_pylist()


def test_a_consent_records_the_form_terms_with_a_reference(world: World) -> None:
    ana = citizen(numbers()[0], "ana-citizen")
    consent = give(
        world, ana, purposes=[AltruismPurpose.SCIENTIFIC_RESEARCH, AltruismPurpose.HEALTH_CARE]
    )
    assert consent.reference == f"DLX-C-{timezone.now().year}-{consent.pk:05d}"
    assert consent.purposes == ["health_care", "scientific_research"]
    assert list(consent.datasets.all()) == [world.stays]
    assert consent.organisation == world.authority
    assert consent.form_version == choices.FORM_VERSION
    assert choices.consent_in_force(consent)
    event = AuditEvent.objects.get(kind="citizen.consent_given")
    assert event.details["reference"] == consent.reference
    assert event.details["identity"] == ana.pk
    assert event.details["datasets"] == [world.stays.pid]
    assert numbers()[0] not in str(event.details)


def test_withdrawal_sets_the_date_keeps_the_row_and_is_audited(world: World) -> None:
    ana = citizen(numbers()[0], "ana-citizen")
    consent = give(world, ana)
    choices.withdraw_consent(consent=consent, by=ana.user)
    consent.refresh_from_db()
    assert consent.withdrawn_at is not None and not choices.consent_in_force(consent)
    event = AuditEvent.objects.get(kind="citizen.consent_withdrawn")
    assert event.details == {"reference": consent.reference, "identity": ana.pk}
    with pytest.raises(ValidationError, match="already withdrawn"):
        choices.withdraw_consent(consent=consent, by=ana.user)


def test_a_consent_past_its_end_is_not_in_force(world: World) -> None:
    ana = citizen(numbers()[0], "ana-citizen")
    consent = give(world, ana)
    assert choices.consent_in_force(consent, today=consent.valid_until)
    assert not choices.consent_in_force(consent, today=consent.valid_until + timedelta(days=1))
    later = consent.valid_until + timedelta(days=1)
    assert not ttp_lists.consents_in_force(later).exists()
    assert ttp_lists.consents_in_force(consent.valid_until).get() == consent


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"purposes": []}, "purposes", "at least one purpose"),
        ({"purposes": ["marketing"]}, "purposes", "not marketing"),
        ({"datasets": []}, "datasets", "at least one set of data"),
        ({"valid_until": timezone.localdate()}, "valid_until", "after today"),
        (
            {"valid_until": timezone.localdate() + timedelta(days=choices.MAX_DURATION_DAYS + 1)},
            "valid_until",
            "no later than",
        ),
    ],
)
def test_a_bad_consent_says_what_to_fix(
    world: World, fields: dict[str, Any], field: str, message: str
) -> None:
    ana = citizen(numbers()[0], "ana-citizen")
    with pytest.raises(ValidationError, match=message) as refused:
        give(world, ana, **fields)
    assert field in refused.value.message_dict
    assert not ana.altruism_consents.exists()


def test_only_data_about_persons_and_the_authority_may_be_named(world: World) -> None:
    ana = citizen(numbers()[0], "ana-citizen")
    world.jobs.variables.all().delete()  # no national-number column: not about persons
    with pytest.raises(ValidationError, match="only data about persons"):
        give(world, ana, datasets=[world.jobs])
    with pytest.raises(ValidationError, match="data altruism organisation"):
        give(world, ana, organisation=world.lab)
    with pytest.raises(ValidationError, match="form has changed"):
        give(world, ana, form_version="an-old-form")
    assert world.stays in choices.donatable_datasets()
    organisations = set(choices.altruism_organisations())
    assert world.authority in organisations and world.lab not in organisations


def test_nobody_else_may_give_withdraw_or_object(world: World) -> None:
    ana = citizen(numbers()[0], "ana-citizen")
    ben = citizen(numbers()[1], "ben-citizen")
    consent = give(world, ana)
    for by in (ben.user, world.handler, world.decider, None):
        with pytest.raises(PermissionDenied, match="Only the person themself"):
            give(world, ana, by=by)
        with pytest.raises(PermissionDenied):
            choices.withdraw_consent(consent=consent, by=by)
        with pytest.raises(PermissionDenied):
            choices.opt_out(identity=ana, by=by)
    consent.refresh_from_db()
    assert consent.withdrawn_at is None and ana.altruism_consents.count() == 1
    assert not SecondaryUseChoice.objects.exists()
    refusals = AuditEvent.objects.filter(kind="citizen.choice_refused")
    assert refusals.count() == 12
    assert {e.details["reason"] for e in refusals} == {"not-the-person"}


def test_a_citizen_without_the_role_may_not_act(world: World) -> None:
    ana = citizen(numbers()[0], "ana-citizen")
    ana.user.memberships.update(active=False)
    with pytest.raises(PermissionDenied):
        choices.opt_out(identity=ana, by=ana.user)


def test_each_change_is_a_new_row_and_the_list_follows(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    ana = citizen(numbers()[0], "ana-citizen")
    ben = citizen(numbers()[1], "ben-citizen")
    with django_capture_on_commit_callbacks(execute=True):
        choices.opt_out(identity=ana, by=ana.user)
    assert _excluded() == [numbers()[0]]
    with django_capture_on_commit_callbacks(execute=True):
        choices.opt_out(identity=ben, by=ben.user)
    assert _excluded() == sorted(numbers()[:2])
    with django_capture_on_commit_callbacks(execute=True):
        choices.revoke_opt_out(identity=ana, by=ana.user)
    assert _excluded() == [numbers()[1]]
    with django_capture_on_commit_callbacks(execute=True):
        choices.opt_out(identity=ana, by=ana.user)
    assert _excluded() == sorted(numbers()[:2])
    assert [c.opted_out for c in ana.secondary_use_choices.order_by("at", "pk")] == [
        True,
        False,
        True,
    ]
    assert choices.current_choice(ana).opted_out  # type: ignore[union-attr]
    kinds = list(
        AuditEvent.objects.filter(kind__startswith="citizen.opt").values_list("kind", flat=True)
    )
    assert kinds.count("citizen.opted_out") == 3 and kinds.count("citizen.opt_out_revoked") == 1
    for event in AuditEvent.objects.filter(kind__startswith="citizen."):
        assert not {numbers()[0], numbers()[1]} & set(str(event.details).split("'"))


def test_a_repeated_choice_is_refused_and_changes_nothing(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    ana = citizen(numbers()[0], "ana-citizen")
    with pytest.raises(ValidationError, match="no objection to revoke"):
        choices.revoke_opt_out(identity=ana, by=ana.user)
    with django_capture_on_commit_callbacks(execute=True):
        choices.opt_out(identity=ana, by=ana.user)
    with pytest.raises(ValidationError, match="already objected"):
        choices.opt_out(identity=ana, by=ana.user)
    assert ana.secondary_use_choices.count() == 1


def test_a_rolled_back_choice_never_reaches_the_list(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    from django.db import transaction

    ana = citizen(numbers()[0], "ana-citizen")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            choices.opt_out(identity=ana, by=ana.user)
            raise RuntimeError("the request failed later")
    assert callbacks == [] and opt_out_table() is None


def test_the_rebuilt_list_equals_the_incremental_one(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    persons = [citizen(n, f"citizen-{i}") for i, n in enumerate(numbers(6))]
    with django_capture_on_commit_callbacks(execute=True):
        for who in persons[:4]:
            choices.opt_out(identity=who, by=who.user)
        choices.revoke_opt_out(identity=persons[1], by=persons[1].user)
    path = ttp_lists.opt_out_path()
    assert path == opt_out_table()
    incremental = path.read_bytes()
    assert _excluded() == sorted(numbers(6)[i] for i in (0, 2, 3))
    path.unlink()
    result = CliRunner().invoke(_cli(), ["citizens", "exclusions", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "3 person(s) on the exclusion list" in result.output
    assert not any(n in result.output for n in numbers(6))
    assert path.read_bytes() == incremental
    assert AuditEvent.objects.get(kind="citizen.exclusions_rebuilt").details == {"persons": 3}
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_the_list_is_rebuilt_whole_when_it_is_missing(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    ana = citizen(numbers()[0], "ana-citizen")
    ben = citizen(numbers()[1], "ben-citizen")
    SecondaryUseChoice.objects.create(identity=ana, opted_out=True)  # e.g. a lost update
    with django_capture_on_commit_callbacks(execute=True):
        choices.opt_out(identity=ben, by=ben.user)
    assert _excluded() == sorted(numbers()[:2])


def _cli() -> Any:
    from datalux.cli import main

    return main


def test_the_purpose_mapping_names_only_known_values() -> None:
    from datalux.access.vocabularies import PurposeCategory

    assert set(ttp_lists.ALTRUISM_PURPOSE_OF) <= set(PurposeCategory.values)
    assert set(ttp_lists.ALTRUISM_PURPOSE_OF.values()) <= set(AltruismPurpose.values)
    assert "innovation" not in ttp_lists.ALTRUISM_PURPOSE_OF
