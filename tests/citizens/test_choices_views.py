"""``/me/choices/``: the citizen's status, consents, history and the DGA Art. 20 records; give,
withdraw (confirmation first), object and revoke; nobody else's consent reachable."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from datalux.citizens import choices
from datalux.citizens.models import AltruismConsent, AltruismPurpose, PersonUse
from tests.access.conftest import world
from tests.access.world import World
from tests.citizens.choices_world import citizen, in_two_years, numbers
from tests.spe.conftest import workspace_key

__all__ = ["workspace_key", "world"]

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("workspace_key")]
PAGE = "/me/choices/"


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _give(world: World, who: Any) -> AltruismConsent:
    return choices.give_consent(
        identity=who, purposes=[AltruismPurpose.SCIENTIFIC_RESEARCH], datasets=[world.stays],
        organisation=world.authority, valid_until=in_two_years(), by=who.user,
    )  # fmt: skip


def test_the_page_shows_status_form_and_default_duration(world: World) -> None:
    ana = citizen(numbers()[0], "ana-citizen")
    assert reverse("citizens:choices") == PAGE
    page = _client(ana.user).get(PAGE)
    assert page.status_code == 200
    text = page.content.decode()
    assert "You have not objected" in text and "You have given no consent." in text
    assert world.stays.display_title in text and world.authority.name in text
    assert f'value="{in_two_years().isoformat()}"' in text
    assert numbers()[0] not in text


def test_a_consent_is_given_through_the_form(world: World) -> None:
    ana = citizen(numbers()[0], "ana-citizen")
    response = _client(ana.user).post(
        PAGE,
        {
            "purposes": ["scientific_research", "health_care"],
            "datasets": [world.stays.pk],
            "organisation": world.authority.pk,
            "valid_until": in_two_years().isoformat(),
            "form_version": choices.FORM_VERSION,
        },
    )
    assert response.status_code == 302
    consent = ana.altruism_consents.get()
    assert consent.purposes == ["health_care", "scientific_research"]
    page = _client(ana.user).get(PAGE).content.decode()
    assert consent.reference in page and "in force" in page


def test_a_bad_form_says_what_to_fix(world: World) -> None:
    ana = citizen(numbers()[0], "ana-citizen")
    response = _client(ana.user).post(
        PAGE,
        {"datasets": [world.stays.pk], "organisation": world.authority.pk,
         "valid_until": "2000-01-01", "form_version": choices.FORM_VERSION},
    )  # fmt: skip
    assert response.status_code == 200 and not ana.altruism_consents.exists()


def test_withdrawal_asks_for_confirmation_then_withdraws(world: World) -> None:
    ana = citizen(numbers()[0], "ana-citizen")
    consent = _give(world, ana)
    url = reverse("citizens:withdraw_consent", args=[consent.reference])
    client = _client(ana.user)
    assert "Withdraw this consent?" in client.get(url).content.decode()
    consent.refresh_from_db()
    assert consent.withdrawn_at is None  # a GET changes nothing
    assert client.post(url).status_code == 302
    consent.refresh_from_db()
    assert consent.withdrawn_at is not None
    page = client.get(PAGE).content.decode()
    assert "withdrawn" in page and f"You withdrew consent {consent.reference}." in page


def test_another_persons_consent_cannot_be_withdrawn(world: World) -> None:
    ana = citizen(numbers()[0], "ana-citizen")
    ben = citizen(numbers()[1], "ben-citizen")
    consent = _give(world, ana)
    url = reverse("citizens:withdraw_consent", args=[consent.reference])
    assert _client(ben.user).post(url).status_code == 404
    assert _client(world.handler).post(url).status_code == 403
    assert Client().post(url).status_code == 302  # anonymous: to the sign-in page
    consent.refresh_from_db()
    assert consent.withdrawn_at is None


@pytest.mark.parametrize("name", ["choices", "opt_out", "revoke_opt_out"])
def test_nobody_but_a_citizen_opens_the_pages(world: World, name: str) -> None:
    url = reverse(f"citizens:{name}")
    assert _client(world.applicant).get(url).status_code == 403
    assert Client().get(url).status_code == 302


def test_objection_and_revocation_with_history(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    ana = citizen(numbers()[0], "ana-citizen")
    client = _client(ana.user)
    assert "Object to the secondary use" in client.get(reverse("citizens:opt_out")).content.decode()
    assert not ana.secondary_use_choices.exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("citizens:opt_out")).status_code == 302
    page = client.get(PAGE).content.decode()
    assert "You objected on" in page and "Revoke my objection" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("citizens:revoke_opt_out"))
    page = client.get(PAGE).content.decode()
    assert "You have not objected" in page
    assert "You revoked your objection" in page and "You objected to the secondary" in page
    # a repeated revocation is refused with a message, nothing changes
    client.post(reverse("citizens:revoke_opt_out"))
    assert ana.secondary_use_choices.count() == 2


def test_the_records_of_donated_data_show_who_when_and_why(world: World) -> None:
    ana = citizen(numbers()[0], "ana-citizen")
    ben = citizen(numbers()[1], "ben-citizen")
    permit = world.approved().permit
    PersonUse.objects.create(subject=ana.subject, permit=permit, version=1, on_consent=True)
    PersonUse.objects.create(subject=ben.subject, permit=permit, version=2, on_consent=True)
    page = _client(ana.user).get(PAGE).content.decode()
    assert permit.number in page and permit.organisation.name in page
    assert "Scientific research" in page
    assert "Nobody has processed data you donated yet." not in page
    # a use not on consent is not a record of donated data
    PersonUse.objects.filter(subject=ben.subject).update(on_consent=False)
    ben_page = _client(ben.user).get(PAGE).content.decode()
    assert "Nobody has processed data you donated yet." in ben_page
