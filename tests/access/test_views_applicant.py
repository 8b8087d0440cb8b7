"""The applicant's pages: the whole journey through the browser pages, and every refusal."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from datalux.access import actions
from datalux.access.models import Application, Comment, Permit
from datalux.access.states import ApplicationState
from datalux.access.vocabularies import TERMS_TEXT, TERMS_VERSION
from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent
from datalux.catalogue.vocabularies import AccessRights
from tests.access.world import COMPLETE, WORDS, World
from tests.factories.catalogue import DatasetFactory

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


def url(name: str, *args: Any) -> str:
    return reverse(f"access:{name}", args=args)


def denied() -> int:
    return AuditEvent.objects.filter(kind=EventKind.ACCESS_DENIED).count()


def form_data(**changes: Any) -> dict[str, Any]:
    """The edit form as a browser posts it (unticked boxes are absent)."""
    data: dict[str, Any] = {"title": "Readmissions after heart failure", **COMPLETE, **changes}
    return {k: ("on" if v is True else v) for k, v in data.items() if v is not False}


def dataset_post(pid: str, variables: list[str], *filters: tuple[str, str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "dataset": pid,
        "variables": variables,
        "time_start": "2020-01-01",
        "time_end": "2024-12-31",
        "population": "Adults admitted to hospital",
        "filters-TOTAL_FORMS": str(max(len(filters), 2)),
        "filters-INITIAL_FORMS": "0",
        "filters-MIN_NUM_FORMS": "0",
        "filters-MAX_NUM_FORMS": "20",
    }
    for i, (variable, op, value) in enumerate(filters):
        data.update({f"filters-{i}-variable": variable, f"filters-{i}-op": op})
        data[f"filters-{i}-value"] = value
    return data


def upload(name: str, content: bytes) -> dict[str, Any]:
    return {"kind": "ethics_approval", "file": SimpleUploadedFile(name, content)}


# --- the journey ------------------------------------------------------------------------------


def test_applicant_journey_from_draft_to_workspace(client: Any, world: World) -> None:
    client.force_login(world.applicant)
    html = client.get(url("applications")).content.decode()
    assert "New application" in html and "No applications yet" in html

    # Start from a dataset of the catalogue: one organisation, so no choice to make.
    pid = world.stays.pid
    response = client.get(url("application_new"), {"dataset": pid})
    assert response.status_code == 200
    assert 'name="organisation"' not in response.content.decode()
    response = client.post(url("application_new"), {"title": "Readmissions", "dataset": pid})
    application = Application.objects.get(applicant=world.applicant)
    assert application.organisation == world.lab and application.state == ApplicationState.DRAFT
    ref = application.reference
    assert response["Location"] == f"{url('application_datasets', ref)}?dataset={pid}"

    # The dataset step lists its dictionary with privacy roles (htmx gets the fragment only).
    html = client.get(url("application_datasets", ref), {"dataset": pid}).content.decode()
    assert 'value="national_id"' in html and "Direct identifier" in html
    assert 'name="filters-TOTAL_FORMS"' in html
    fragment = client.get(
        url("application_datasets", ref), {"dataset": pid}, HTTP_HX_REQUEST="true"
    )
    assert fragment.content.decode().startswith('<section id="dataset-request"')
    response = client.post(
        url("application_datasets", ref),
        dataset_post(
            pid, ["age", "diagnosis"], ("age", ">=", "18"), ("diagnosis", "in", "I50, I11")
        ),
    )
    assert response.status_code == 302
    request = application.datasets.get()
    assert request.variables == ["age", "diagnosis"]
    assert request.filters == [
        {"variable": "age", "op": ">=", "value": 18},
        {"variable": "diagnosis", "op": "in", "value": ["I50", "I11"]},
    ]
    assert str(request.time_start) == "2020-01-01"

    # The form, saved with one gap left (safeguards).
    response = client.post(url("application_edit", ref), form_data(safeguards=""))
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.legal_basis_art9 == "9.2.j" and application.special_categories is True
    assert application.requested_months == 12

    # A named person and attachments: a PDF is accepted, an .exe and a fake PDF are refused.
    response = client.post(
        url("application_persons", ref),
        {"name": "Ana Researcher", "email": world.applicant.email, "role_in_project": "PI"},
    )
    assert response.status_code == 302
    response = client.post(url("application_attachments", ref), upload("ethics.pdf", PDF))
    assert response.status_code == 302
    attachment = application.attachments.get()
    response = client.post(url("application_attachments", ref), upload("tool.exe", b"MZ\x90\x00"))
    assert response.status_code == 400 and ".exe not accepted" in response.content.decode()
    response = client.post(url("application_attachments", ref), upload("fake.pdf", b"MZ\x90\x00"))
    assert response.status_code == 400
    assert "does not look like a .pdf file" in response.content.decode()
    assert application.attachments.count() == 1
    download = client.get(url("application_attachment", ref, attachment.pk))
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith('attachment; filename="ethics.pdf"')
    assert AuditEvent.objects.filter(
        kind=EventKind.ATTACHMENT_DOWNLOADED, object_id=str(application.pk)
    ).exists()

    # Submitting shows the gap next to its section; once complete it goes through.
    response = client.post(url("application_submit", ref))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Not submitted" in html and "describe the safeguards in at least 10 words" in html
    application.refresh_from_db()
    assert application.state == ApplicationState.DRAFT
    client.post(url("application_edit", ref), form_data(safeguards=WORDS))
    response = client.post(url("application_submit", ref))
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.state == ApplicationState.SUBMITTED and application.received_at
    html = client.get(url("application", ref)).content.decode()
    assert "Submitted" in html and application.clock().status in html
    assert application.deadline.strftime("%Y-%m-%d") in html
    assert url("application_edit", ref) not in html  # no longer editable

    # The authority decides (its own pages are another helper's): a permit is issued.
    actions.assign(application=application, by=world.handler, handler=world.handler)
    actions.start_review(application=application, by=world.handler)
    actions.decide(
        application=application, by=world.decider, outcome="approved", reasons="Meets Art. 5."
    )
    permit = Permit.objects.get(application=application)
    html = client.get(url("application", ref)).content.decode()
    assert "Meets Art. 5." in html and url("permit", permit.number) in html

    html = client.get(url("permit", permit.number)).content.decode()
    assert "Do not attempt to re-identify any person." in html  # a prohibition
    assert "<code>diagnosis</code>" in html and "Open secure workspace" in html
    assert "accept the terms of use" in html  # told before trying
    spec = client.get(url("permit", permit.number), {"format": "json"})
    assert spec["Content-Type"] == "application/json"
    assert json.loads(spec.content) == permit.spec()

    # No access before the terms are accepted; then access is granted.
    before = denied()
    response = client.post(url("permit_workspace", permit.number))
    assert response.status_code == 403
    assert "accept the terms of use" in response.content.decode()
    assert denied() == before + 1
    html = client.get(url("application_terms", ref)).content.decode()
    assert str(TERMS_TEXT) in html and TERMS_VERSION in html
    assert client.post(url("application_terms", ref), {}).status_code == 400  # box not ticked
    response = client.post(url("application_terms", ref), {"accept": "on"})
    assert response.status_code == 302
    assert application.named_persons.get().terms_version == TERMS_VERSION
    response = client.post(url("permit_workspace", permit.number))
    assert response.status_code == 302
    assert response["Location"] == reverse("spe:workspace", args=[permit.number])
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "Secure workspace of permit" in page.content.decode()
    application.refresh_from_db()
    assert application.access_granted_at is not None
    assert AuditEvent.objects.filter(kind=EventKind.PERMIT_ACCESS_GRANTED).count() == 1


def test_application_list_shows_own_and_naming_applications_with_the_clock(
    client: Any, world: World
) -> None:
    mine = world.submitted()
    theirs = world.draft(by=world.stranger)
    naming = world.draft(by=world.colleague)
    actions.add_named_person(
        application=naming, by=world.colleague, name="Ana", email=world.applicant.email
    )
    client.force_login(world.applicant)
    html = client.get(url("applications")).content.decode()
    assert mine.reference in html and naming.reference in html
    assert theirs.reference not in html
    assert "named person" in html and mine.clock().status in html
    # A named person sees the application but cannot change it.
    assert client.get(url("application", naming.reference)).status_code == 200
    assert client.get(url("application_edit", naming.reference)).status_code == 403


def test_dataset_search_lists_protected_published_datasets_only(client: Any, world: World) -> None:
    DatasetFactory(title={"en": "Hospital beds"}, access_rights=AccessRights.PUBLIC)
    application = world.draft(complete=False)
    client.force_login(world.applicant)
    html = client.get(
        url("application_datasets", application.reference), {"q": "hospital"}
    ).content.decode()
    assert world.stays.pid in html and "Hospital beds" not in html
    response = client.get(url("application_datasets", application.reference), {"dataset": "nope"})
    assert response.status_code == 404


def test_bad_dataset_request_shows_the_reason(client: Any, world: World) -> None:
    application = world.draft(complete=False)
    client.force_login(world.applicant)
    response = client.post(
        url("application_datasets", application.reference),
        dataset_post(world.stays.pid, ["age"], ("age", "between", "18")),
    )
    assert response.status_code == 400
    assert "needs [low, high]" in response.content.decode()
    response = client.post(
        url("application_datasets", application.reference),
        dataset_post(world.stays.pid, ["salary"]),
    )
    assert response.status_code == 400 and "salary" in response.content.decode()
    assert not application.datasets.exists()


def test_remove_dataset_and_person(client: Any, world: World) -> None:
    application = world.draft()
    client.force_login(world.applicant)
    ref = application.reference
    person = application.named_persons.get()
    assert client.post(url("application_person_remove", ref, person.pk)).status_code == 302
    response = client.post(url("application_dataset_remove", ref), {"dataset": world.stays.pid})
    assert response.status_code == 302
    assert not application.named_persons.exists() and not application.datasets.exists()
    response = client.post(url("application_dataset_remove", ref), {"dataset": world.jobs.pid})
    assert (
        response.status_code == 400
        and "is not part of this application" in response.content.decode()
    )


def test_edit_errors_are_shown_next_to_the_fields(client: Any, world: World) -> None:
    application = world.draft(complete=False)
    client.force_login(world.applicant)
    html = client.get(url("application_edit", application.reference)).content.decode()
    assert "GDPR Art. 6(1)" in html and "why the project needs" in html  # help texts
    assert "choose the GDPR Art. 6 legal basis" in html  # the gap next to its field
    response = client.post(
        url("application_edit", application.reference), form_data(requested_months="600")
    )
    assert response.status_code == 400
    assert "less than or equal to 120" in response.content.decode()


def test_assistants_comment_on_drafts_without_changing_them(client: Any, world: World) -> None:
    application = world.draft()
    client.force_login(world.assistant)
    assert client.get(url("application", application.reference)).status_code == 200
    response = client.post(
        url("application_comment", application.reference),
        {"body": "Attach the DPIA.", "field": "safeguards"},
    )
    assert response.status_code == 302
    assert Comment.objects.get(application=application).author == world.assistant
    before = denied()
    assert client.get(url("application_edit", application.reference)).status_code == 403
    assert client.post(url("application_submit", application.reference)).status_code == 403
    assert denied() == before + 2
    client.force_login(world.applicant)
    html = client.get(url("application", application.reference)).content.decode()
    assert "Attach the DPIA." in html and "Safeguards" in html


def test_a_returned_application_is_corrected_and_resubmitted(client: Any, world: World) -> None:
    application = world.submitted()
    actions.assign(application=application, by=world.handler, handler=world.handler)
    actions.return_application(
        application=application, by=world.handler, reasons="Say who funds the hosting."
    )
    ref = application.reference
    client.force_login(world.applicant)
    html = client.get(url("application", ref)).content.decode()
    assert "Returned to you" in html and "Say who funds the hosting." in html
    assert "Resubmit to the data authority" in html
    assert client.get(url("application_edit", ref)).status_code == 200
    response = client.post(url("application_edit", ref), form_data(funding="FNR and EU"))
    assert response.status_code == 302
    response = client.post(url("application_submit", ref))
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.state == ApplicationState.SUBMITTED and application.submissions == 2
    assert application.snapshots.last().changed == ["funding", "title"]


# --- refusals ---------------------------------------------------------------------------------


def test_anonymous_users_are_sent_to_the_login_page_everywhere(client: Any, world: World) -> None:
    application = world.approved()
    ref, number = application.reference, application.permit.number
    pages = [
        url("applications"),
        url("application_new"),
        url("application", ref),
        url("application_edit", ref),
        url("application_datasets", ref),
        url("application_persons", ref),
        url("application_attachments", ref),
        url("application_attachment", ref, 1),
        url("application_withdraw", ref),
        url("application_terms", ref),
        url("permit", number),
    ]
    posts = [
        url("application_new"),
        url("application_edit", ref),
        url("application_datasets", ref),
        url("application_dataset_remove", ref),
        url("application_persons", ref),
        url("application_person_remove", ref, 1),
        url("application_attachments", ref),
        url("application_submit", ref),
        url("application_withdraw", ref),
        url("application_comment", ref),
        url("application_terms", ref),
        url("permit_workspace", number),
    ]
    login = reverse("accounts:login")
    for method, path in [*(("get", p) for p in pages), *(("post", p) for p in posts)]:
        response = getattr(client, method)(path)
        assert response.status_code == 302, (method, path)
        assert response["Location"].startswith(f"{login}?next="), (method, path)


def test_other_applicants_get_404(client: Any, world: World) -> None:
    application = world.draft()
    attachment = actions.add_attachment(
        application=application, by=world.applicant, name="p.pdf", content=PDF
    )
    ref = application.reference
    for user in (world.stranger, world.colleague):
        client.force_login(user)
        for path in (
            url("application", ref),
            url("application_edit", ref),
            url("application_attachment", ref, attachment.pk),
        ):
            assert client.get(path).status_code == 404, (user, path)
        assert client.post(url("application_edit", ref), form_data()).status_code == 404
        response = client.post(url("application_comment", ref), {"body": "Hello"})
        assert response.status_code == 404
    application.refresh_from_db()
    assert application.title == "Readmissions" and not application.comments.exists()


def test_a_handler_cannot_edit_and_is_sent_to_the_case_page(client: Any, world: World) -> None:
    application = world.submitted()
    ref = application.reference
    client.force_login(world.handler)
    response = client.get(url("application", ref))
    assert response.status_code == 302 and response["Location"] == f"/access/cases/{ref}/"
    before = denied()
    response = client.get(url("application_edit", ref))
    assert response.status_code == 403 and "only the applicant" in response.content.decode()
    response = client.post(url("application_edit", ref), form_data(title="Mine now"))
    assert response.status_code == 403
    assert denied() == before + 2
    assert AuditEvent.objects.filter(
        kind=EventKind.ACCESS_DENIED, object_id=str(application.pk)
    ).exists()  # the action's own refusal, on the application
    application.refresh_from_db()
    assert application.title == "Readmissions"


def test_only_applicants_start_applications(client: Any, world: World) -> None:
    client.force_login(world.handler)
    assert "New application" not in client.get(url("applications")).content.decode()
    before = denied()
    assert client.get(url("application_new")).status_code == 403
    assert denied() == before + 1


def test_submitting_a_withdrawn_application_is_a_conflict(client: Any, world: World) -> None:
    application = world.draft()
    ref = application.reference
    client.force_login(world.applicant)
    assert client.get(url("application_withdraw", ref)).status_code == 200
    assert client.post(url("application_withdraw", ref), {"reason": "x"}).status_code == 400
    application.refresh_from_db()
    assert application.state == ApplicationState.DRAFT  # not confirmed
    response = client.post(url("application_withdraw", ref), {"reason": "Ended", "confirm": "on"})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.state == ApplicationState.WITHDRAWN
    response = client.post(url("application_submit", ref))
    assert response.status_code == 409
    html = response.content.decode()
    assert "cannot submit a application that is withdrawn" in html
    assert "Withdrawn" in html
    assert client.get(url("application_edit", ref)).status_code == 409
    assert AuditEvent.objects.filter(
        kind=EventKind.APPLICATION_ACTION_REFUSED, object_id=str(application.pk)
    ).exists()


def test_an_oversized_attachment_is_cut_off_while_it_arrives(
    client: Any, world: World, monkeypatch: Any, settings: Any
) -> None:
    from datalux.access import views_applicant
    from datalux.access.actions import drafting

    monkeypatch.setattr(views_applicant, "ATTACHMENT_MAX_BYTES", 1000)
    monkeypatch.setattr(drafting, "ATTACHMENT_MAX_BYTES", 1000)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 100  # larger uploads would go to a temporary file
    application = world.draft()
    client.force_login(world.applicant)
    big = PDF + b"0" * 5000
    response = client.post(
        url("application_attachments", application.reference), upload("big.pdf", big)
    )
    assert response.status_code == 413
    assert "larger than" in response.content.decode()
    assert application.attachments.count() == 0
    assert AuditEvent.objects.filter(
        kind=EventKind.APPLICATION_ACTION_REFUSED, object_id=str(application.pk)
    ).exists()
    # Under the limit, the same page stores it.
    response = client.post(
        url("application_attachments", application.reference), upload("small.pdf", PDF)
    )
    assert response.status_code == 302 and application.attachments.count() == 1
