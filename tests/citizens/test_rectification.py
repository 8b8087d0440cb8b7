"""Correction requests (GDPR Art. 16, issue 16 item 4): the citizen asks, the holder's steward
extends, accepts (a new version of the authentic source through the catalogue's upload and
its dictionary checks) or rejects; reminders; who may see and do what."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq
import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError

from datalux.access.models import Notification
from datalux.access.states import TransitionError
from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent
from datalux.catalogue.models import DatasetVersion, Variable
from datalux.citizens import rectification as rect
from datalux.citizens.identity import seal, subject_for
from datalux.citizens.models import CitizenIdentity, Rectification, RectificationState
from datalux.core.scheduler import JOBS
from datalux.onceonly import lookup
from datalux.privacy.keys import MASTER_KEY_ENV_VAR, MasterKey
from tests.onceonly.world import (
    PEOPLE,
    designate,
    national_number,
    population_register,
    upload_register_data,
)

pytestmark = pytest.mark.django_db

LUX = ZoneInfo("Europe/Luxembourg")
COMMUNES = ["Luxembourg", "Strassen", "Esch-sur-Alzette", "Differdange"]
ANNA, MARC = PEOPLE[0], PEOPLE[1]
S = RectificationState


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=LUX)


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """The trusted third party's master key (sealing identities) from the environment."""
    monkeypatch.setenv(MASTER_KEY_ENV_VAR, MasterKey(b"r" * 32).to_base64())
    monkeypatch.setattr(settings, "DATALUX_TTP_KEY_FILE", None)
    lookup.clear()


def citizen(make_member: Any, person: tuple) -> CitizenIdentity:
    user = make_member("citizen", email=f"{person[2].lower()}@example.lu")
    number = national_number(person)
    return CitizenIdentity.objects.create(
        user=user, subject=subject_for(number), sealed_number=seal(number), source="demo"
    )


class World:
    def __init__(self, make_member: Any) -> None:
        self.dataset = population_register()
        Variable.objects.filter(dataset=self.dataset, name="commune").update(
            allowed_values=COMMUNES
        )
        self.source = designate(
            self.dataset, items=["given_name", "surname", "street_address", "commune"]
        )
        self.v1 = upload_register_data(self.dataset)
        self.steward = make_member("steward", organisation=self.dataset.publisher)
        self.other_steward = make_member("steward")  # a steward of another holder
        self.anna = citizen(make_member, ANNA)
        self.marc = citizen(make_member, MARC)

    def ask(self, item: str = "surname", value: str = "Müller", **overrides: Any) -> Any:
        values: dict[str, Any] = {
            "identity": self.anna,
            "source": self.source,
            "item": item,
            "proposed_value": value,
            "explanation": "My name is spelt with an umlaut; see my passport.",
            "by": self.anna.user,
        }
        values.update(overrides)
        return rect.request_rectification(**values)


@pytest.fixture
def world(make_member: Any) -> World:
    return World(make_member)


def rows_of(version: DatasetVersion) -> list[dict[str, Any]]:
    path = Path(settings.DATALUX_STORAGE) / version.data_file.relative_path
    return pq.read_table(path).to_pylist()


def all_audit_text() -> str:
    return json.dumps(
        [[e.kind, e.object_id, e.details] for e in AuditEvent.objects.all()], ensure_ascii=False
    )


# --- the full path -------------------------------------------------------------------------


def test_a_request_accepted_by_the_steward_is_a_new_version_of_the_source(world: World) -> None:
    with time_machine.travel(at(2026, 1, 31, 10), tick=False):
        request = world.ask(item="commune", value="Differdange")
    assert re.fullmatch(r"DLX-R-2026-\d{5}", request.reference)
    assert request.state == S.SUBMITTED
    assert request.due_on == date(2026, 2, 28)  # one calendar month, the month's last day
    steward_note = Notification.objects.get(user=world.steward)
    assert steward_note.url == f"/me/stewards/corrections/{request.reference}/"
    assert not Notification.objects.filter(user=world.other_steward).exists()

    rect.accept(
        rectification=request, answer="Corrected from the civil register.", by=world.steward
    )
    request.refresh_from_db()
    assert request.state == S.ACCEPTED and request.applied_version == 2
    assert request.answered_by == world.steward and request.answered_at is not None
    v2 = DatasetVersion.objects.get(dataset=world.dataset, number=2)
    assert v2.uploaded_by == world.steward
    before, after = rows_of(world.v1), rows_of(v2)
    number = national_number(ANNA)
    assert [r["national_id"] for r in after] == [r["national_id"] for r in before]
    for old, new in zip(before, after, strict=True):
        if old["national_id"] == number:
            assert new == {**old, "commune": "Differdange"}
        else:
            assert new == old  # every other row as it was
    # the once-only lookup answers from the new version
    assert lookup.index(world.dataset.pk, "national_id").record(number, ["commune"]) == {
        "commune": "Differdange"
    }
    note = Notification.objects.filter(user=world.anna.user).latest("pk")
    assert note.url == f"/me/corrections/{request.reference}/"
    assert "Corrected from the civil register." in note.body
    accepted = AuditEvent.objects.get(kind=EventKind.CITIZEN_RECTIFICATION_ACCEPTED)
    assert accepted.details["version"] == 2 and accepted.actor_id == world.steward.pk
    uploaded = AuditEvent.objects.get(kind=EventKind.DATASET_VERSION_UPLOADED)
    assert uploaded.details["version"] == 2  # through the catalogue's own upload
    # no event holds the national number, the old or the new value
    text = all_audit_text()
    assert number not in text and "Differdange" not in text and "Luxembourg" not in text


def test_the_citizen_is_emailed_the_answer(
    world: World, mailoutbox: list, django_capture_on_commit_callbacks: Any
) -> None:
    request = world.ask()
    with django_capture_on_commit_callbacks(execute=True):
        rect.reject(
            rectification=request,
            answer="Our record follows your birth certificate.",
            by=world.steward,
        )
    mail = [m for m in mailoutbox if m.to == [world.anna.user.email]]
    assert len(mail) == 1
    assert "Our record follows your birth certificate." in mail[0].body
    assert f"/me/corrections/{request.reference}/" in mail[0].body


def test_a_rejection_needs_an_answer_and_tells_the_citizen(world: World) -> None:
    request = world.ask()
    with pytest.raises(ValidationError) as info:
        rect.reject(rectification=request, answer="  ", by=world.steward)
    assert "write the answer" in " ".join(info.value.message_dict["answer"])
    request.refresh_from_db()
    assert request.state == S.SUBMITTED
    rect.reject(rectification=request, answer="The register is right.", by=world.steward)
    request.refresh_from_db()
    assert request.state == S.REJECTED and request.answer == "The register is right."
    assert Notification.objects.filter(
        user=world.anna.user, body__contains="The register is right."
    ).exists()
    assert DatasetVersion.objects.filter(dataset=world.dataset).count() == 1


def test_the_deadline_is_extended_once_with_a_reason(world: World) -> None:
    with time_machine.travel(at(2026, 1, 31, 10), tick=False):
        request = world.ask()
    with time_machine.travel(at(2026, 2, 20, 9), tick=False):
        with pytest.raises(ValidationError) as info:
            rect.extend(rectification=request, reason="", by=world.steward)
        assert "reason" in info.value.message_dict
        with pytest.raises(ValidationError):
            rect.extend(rectification=request, reason="Archives", months=3, by=world.steward)
        rect.extend(
            rectification=request, reason="The archives must be consulted.", by=world.steward
        )
        request.refresh_from_db()
        assert request.state == S.EXTENDED
        assert request.due_on == date(2026, 4, 30)  # three months from the request
        assert request.extension_reason == "The archives must be consulted."
        note = Notification.objects.filter(user=world.anna.user).latest("pk")
        assert "The archives must be consulted." in note.body
        with pytest.raises(
            TransitionError, match="cannot extend a correction request that is extended"
        ):
            rect.extend(rectification=request, reason="Again", by=world.steward)
    request.refresh_from_db()
    assert request.due_on == date(2026, 4, 30)
    assert AuditEvent.objects.filter(kind=EventKind.CITIZEN_RECTIFICATION_EXTENDED).count() == 1
    # an extended request is still answered as usual
    rect.accept(rectification=request, by=world.steward)
    request.refresh_from_db()
    assert request.state == S.ACCEPTED


def test_no_extension_after_the_deadline(world: World) -> None:
    with time_machine.travel(at(2026, 3, 2, 10), tick=False):
        request = world.ask()
    with time_machine.travel(at(2026, 4, 3, 10), tick=False):
        with pytest.raises(ValidationError, match="deadline has passed"):
            rect.extend(rectification=request, reason="Late", months=1, by=world.steward)


def test_reminders_a_week_before_and_once_overdue(world: World) -> None:
    with time_machine.travel(at(2026, 3, 2, 10), tick=False):
        request = world.ask()
    assert request.due_on == date(2026, 4, 2)

    def run(day: date) -> list[str]:
        with time_machine.travel(at(day.year, day.month, day.day, 8), tick=False):
            return rect.send_reminders()

    steward_notes = Notification.objects.filter(user=world.steward)
    first = steward_notes.count()  # the request itself
    assert run(date(2026, 3, 25)) == []
    assert run(date(2026, 3, 26)) == [request.reference]  # 7 days before
    assert run(date(2026, 3, 26)) == []
    assert run(date(2026, 4, 1)) == []
    assert run(date(2026, 4, 2)) == []  # the last day is not overdue yet
    assert run(date(2026, 4, 3)) == [request.reference]  # overdue
    assert run(date(2026, 4, 4)) == []
    assert run(date(2026, 5, 1)) == []
    assert steward_notes.count() == first + 2
    marks = [
        e.details["mark"]
        for e in AuditEvent.objects.filter(kind=EventKind.CITIZEN_RECTIFICATION_REMINDER).order_by(
            "seq"
        )
    ]
    assert marks == ["soon", "overdue"]
    request.refresh_from_db()
    assert request.reminded_on == date(2026, 4, 3)
    # an answered request is not reminded
    rect.reject(rectification=request, answer="No.", by=world.steward)
    assert run(date(2026, 6, 1)) == []


def test_the_reminder_job_is_scheduled() -> None:
    job = next(j for j in JOBS if j.name == "citizens.rectification_reminders")
    from django.utils.module_loading import import_string

    assert import_string(job.task).name == "send_rectification_reminders"


# --- refusals ----------------------------------------------------------------------------------


def test_another_citizen_cannot_see_or_withdraw_my_request(world: World, client: Any) -> None:
    request = world.ask()
    with pytest.raises(PermissionDenied):
        rect.withdraw(rectification=request, by=world.marc.user)
    with pytest.raises(PermissionDenied):
        world.ask(by=world.marc.user)  # nor ask in my name
    client.force_login(world.marc.user)
    assert client.get(f"/me/corrections/{request.reference}/").status_code == 404
    assert client.post(f"/me/corrections/{request.reference}/withdraw/").status_code == 404
    assert request.reference not in client.get("/me/corrections/").content.decode()
    request.refresh_from_db()
    assert request.state == S.SUBMITTED
    denied = AuditEvent.objects.filter(kind=EventKind.ACCESS_DENIED)
    assert any(e.details.get("action") == "withdraw" for e in denied)


def test_a_steward_of_another_holder_cannot_see_or_answer(world: World, client: Any) -> None:
    request = world.ask()
    for answer in (
        lambda: rect.accept(rectification=request, by=world.other_steward),
        lambda: rect.reject(rectification=request, answer="No", by=world.other_steward),
        lambda: rect.extend(rectification=request, reason="Busy", by=world.other_steward),
    ):
        with pytest.raises(PermissionDenied, match="only stewards of Register Office"):
            answer()
    client.force_login(world.other_steward)
    page = client.get("/me/stewards/corrections/")
    assert page.status_code == 200 and request.reference not in page.content.decode()
    assert client.get(f"/me/stewards/corrections/{request.reference}/").status_code == 404
    answered = client.post(
        f"/me/stewards/corrections/{request.reference}/accept/", {"accept-answer": "ok"}
    )
    assert answered.status_code == 404
    request.refresh_from_db()
    assert request.state == S.SUBMITTED
    assert DatasetVersion.objects.filter(dataset=world.dataset).count() == 1


def test_a_citizen_cannot_answer(world: World, client: Any) -> None:
    request = world.ask()
    with pytest.raises(PermissionDenied):
        rect.accept(rectification=request, by=world.anna.user)
    client.force_login(world.anna.user)
    assert client.get("/me/stewards/corrections/").status_code == 403
    assert client.get(f"/me/stewards/corrections/{request.reference}/").status_code == 403
    posted = client.post(
        f"/me/stewards/corrections/{request.reference}/reject/", {"reject-answer": "no"}
    )
    assert posted.status_code == 403
    request.refresh_from_db()
    assert request.state == S.SUBMITTED


def test_anonymous_visitors_are_sent_to_sign_in(world: World, client: Any) -> None:
    request = world.ask()
    for path in (
        "/me/corrections/",
        f"/me/corrections/{request.reference}/",
        "/me/stewards/corrections/",
        f"/me/stewards/corrections/{request.reference}/",
    ):
        response = client.get(path)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize(
    ("first", "then"),
    [
        ("accept", "reject"),
        ("reject", "accept"),
        ("withdraw", "accept"),
        ("accept", "withdraw"),
        ("reject", "extend"),
        ("withdraw", "withdraw"),
    ],
)
def test_illegal_transitions_are_refused(world: World, first: str, then: str) -> None:
    request = world.ask()

    def do(action: str) -> None:
        if action == "accept":
            rect.accept(rectification=request, by=world.steward)
        elif action == "reject":
            rect.reject(rectification=request, answer="No.", by=world.steward)
        elif action == "extend":
            rect.extend(rectification=request, reason="Busy", by=world.steward)
        else:
            rect.withdraw(rectification=request, by=world.anna.user)

    do(first)
    state = Rectification.objects.get(pk=request.pk).state
    with pytest.raises(
        TransitionError, match=f"cannot {then} a correction request that is {state}"
    ):
        do(then)
    assert Rectification.objects.get(pk=request.pk).state == state
    refused = AuditEvent.objects.filter(kind=EventKind.CITIZEN_RECTIFICATION_REFUSED).get()
    assert refused.details["action"] == then


def test_the_transition_table() -> None:
    assert rect.allowed_actions(S.SUBMITTED) == ["extend", "accept", "reject", "withdraw"]
    assert rect.allowed_actions(S.EXTENDED) == ["accept", "reject", "withdraw"]
    for final in (S.ACCEPTED, S.REJECTED, S.WITHDRAWN):
        assert rect.allowed_actions(final) == []
    named = {s for pair in rect.TRANSITIONS for s in pair[:1]} | set(rect.TRANSITIONS.values())
    assert named == set(S.values)  # the table speaks of the model's states only


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("shoe_size", "is not an item of this source you can correct"),
        ("national_id", "is not an item of this source you can correct"),
    ],
)
def test_an_item_not_in_the_source_is_refused(world: World, item: str, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        world.ask(item=item)
    assert message in " ".join(info.value.message_dict["item"])
    assert not Rectification.objects.exists()


def test_a_person_without_a_record_and_other_bad_requests_are_refused(
    world: World, make_member: Any
) -> None:
    stranger = citizen(make_member, ((1990, 1, 1), 3, "Zoe", "Nobody", None, "Luxembourg"))
    with pytest.raises(ValidationError, match="holds no record about you"):
        world.ask(identity=stranger, by=stranger.user)
    with pytest.raises(ValidationError, match="already holds this value"):
        world.ask(value="Muller")
    with pytest.raises(ValidationError, match="explain why"):
        world.ask(explanation=" ")
    with pytest.raises(ValidationError, match="write the value"):
        world.ask(value="")
    world.ask()
    with pytest.raises(ValidationError, match="you already asked for this item"):
        world.ask(value="Mueller")
    assert Rectification.objects.count() == 1


def test_an_invalid_corrected_value_fails_validation_and_nothing_changes(world: World) -> None:
    request = world.ask(item="commune", value="Atlantis")
    with pytest.raises(ValidationError) as info:
        rect.accept(rectification=request, by=world.steward)
    message = " ".join(info.value.message_dict["proposed_value"])
    assert "the value is not one of the allowed values" in message
    assert "use one of: Luxembourg" in message and "Nothing was changed" in message
    assert "Atlantis" not in message
    request.refresh_from_db()
    assert request.state == S.SUBMITTED and request.applied_version is None
    assert DatasetVersion.objects.filter(dataset=world.dataset).count() == 1
    assert not AuditEvent.objects.filter(kind=EventKind.DATASET_VERSION_UPLOADED).exists()
    assert not Notification.objects.filter(user=world.anna.user).exists()
    refused = AuditEvent.objects.get(kind=EventKind.CITIZEN_RECTIFICATION_REFUSED)
    assert refused.details["action"] == "accept" and "Atlantis" not in all_audit_text()
    folder = Path(settings.DATALUX_STORAGE) / "holders"
    assert not [p for p in folder.rglob("*") if p.is_file()]  # no staged file left behind
    number = national_number(ANNA)
    assert lookup.index(world.dataset.pk, "national_id").record(number, ["commune"]) == {
        "commune": "Luxembourg"
    }


# --- pages -------------------------------------------------------------------------------------


def test_the_citizen_asks_from_an_item_and_follows_the_request(world: World, client: Any) -> None:
    client.force_login(world.anna.user)
    chooser = client.get("/me/corrections/new/")
    assert chooser.status_code == 200
    assert f"?source={world.source.pk}&amp;item=surname" in chooser.content.decode()
    form = client.get(f"/me/corrections/new/?source={world.source.pk}&item=surname")
    assert form.status_code == 200
    assert '<dd id="current-value"><span translate="no">Muller</span></dd>' in form.content.decode()
    assert (
        client.get(f"/me/corrections/new/?source={world.source.pk}&item=national_id").status_code
        == 404
    )
    posted = client.post(
        f"/me/corrections/new/?source={world.source.pk}&item=surname",
        {"proposed_value": "Müller", "explanation": "See my passport."},
    )
    made = Rectification.objects.get()
    assert posted.status_code == 302 and posted["Location"] == f"/me/corrections/{made.reference}/"
    page = client.get(posted["Location"]).content.decode()
    assert "Müller" in page and "Withdraw this request" in page
    assert made.reference in client.get("/me/corrections/").content.decode()
    bad = client.post(
        f"/me/corrections/new/?source={world.source.pk}&item=surname",
        {"proposed_value": "Mueller", "explanation": "Again."},
    )
    assert bad.status_code == 200 and "you already asked for this item" in bad.content.decode()
    client.post(f"/me/corrections/{made.reference}/withdraw/")
    made.refresh_from_db()
    assert made.state == S.WITHDRAWN


def test_the_steward_sees_both_values_and_accepts_on_the_page(world: World, client: Any) -> None:
    request = world.ask()
    client.force_login(world.steward)
    listing = client.get("/me/stewards/corrections/").content.decode()
    assert request.reference in listing
    page = client.get(f"/me/stewards/corrections/{request.reference}/").content.decode()
    assert '<dd id="current-value"><span translate="no">Muller</span></dd>' in page
    assert '<dd id="proposed-value" translate="no">Müller</dd>' in page
    assert national_number(ANNA) not in page
    missing = client.post(
        f"/me/stewards/corrections/{request.reference}/reject/", {"reject-answer": ""}
    )
    assert missing.status_code == 400 and "write the answer" in missing.content.decode()
    done = client.post(
        f"/me/stewards/corrections/{request.reference}/accept/", {"accept-answer": "Done."}
    )
    assert done.status_code == 302
    page = client.get(done["Location"]).content.decode()
    assert '<dd id="applied-version">2</dd>' in page
    assert '<dd id="current-value"><span translate="no">Müller</span></dd>' in page


def test_an_overdue_request_is_marked_for_the_steward(world: World, client: Any) -> None:
    with time_machine.travel(at(2026, 3, 2, 10), tick=False):
        request = world.ask()
    with time_machine.travel(at(2026, 4, 2, 10), tick=False):
        client.force_login(world.steward)
        listing = client.get("/me/stewards/corrections/").content.decode()
    assert request.reference in listing and 'class="overdue"' not in listing
    with time_machine.travel(at(2026, 4, 3, 10), tick=False):
        client.force_login(world.steward)
        listing = client.get("/me/stewards/corrections/").content.decode()
    assert 'class="overdue">overdue' in listing


def test_the_navigation_links_the_pages(world: World, client: Any) -> None:
    client.force_login(world.steward)
    assert (
        'href="/me/stewards/corrections/"'
        in client.get("/me/stewards/corrections/").content.decode()
    )
    client.force_login(world.anna.user)
    assert 'href="/me/corrections/"' in client.get("/me/corrections/").content.decode()
