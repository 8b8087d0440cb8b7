"""The data authority's JSON API: each role's journey, the issue's refusals, the permission
matrix over every operation and role, and 401 for anonymous callers."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from datalux.access import actions
from datalux.access.models import Application, Permit
from datalux.accounts.actions import create_api_token
from datalux.accounts.roles import ROLES
from datalux.audit.kinds import EventKind
from datalux.audit.log import verify
from datalux.audit.models import AuditEvent
from tests.access.world import COMPLETE, World

pytestmark = pytest.mark.django_db

API = "/api/v1/access"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


# --- helpers ---------------------------------------------------------------------------------


class Caller:
    """A Django test client signed in as one user, speaking JSON."""

    def __init__(self, user: Any) -> None:
        self.user = user
        self.client = Client()
        if user is not None:
            self.client.force_login(user)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        url = path if path.startswith("/") else f"{API}/{path}"
        if method == "upload":
            return self.client.post(url, body)
        send = getattr(self.client, method)
        if method in ("get", "delete") or body is None:
            return send(url) if method != "get" or body is None else send(url, body)
        return send(url, json.dumps(body), content_type="application/json")

    def get(self, path: str, params: Any = None) -> Any:
        return self.call("get", path, params)

    def post(self, path: str, body: Any = None) -> Any:
        return self.call("post", path, body if body is not None else {})

    def patch(self, path: str, body: Any) -> Any:
        return self.call("patch", path, body)

    def put(self, path: str, body: Any) -> Any:
        return self.call("put", path, body)

    def delete(self, path: str) -> Any:
        return self.call("delete", path)


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content[:500]
    return response.json() if response.content else None


def error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content[:500]
    body: dict[str, Any] = response.json()["error"]
    assert body["code"] == code
    return body


def events(kind: EventKind, actor: Any = None) -> int:
    qs = AuditEvent.objects.filter(kind=kind)
    if actor is not None:
        qs = qs.filter(actor=actor)
    return qs.count()


def pdf(name: str = "protocol.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


# --- the journey -----------------------------------------------------------------------------


def test_every_role_journey_through_the_api(world: World) -> None:
    ana, desk, handler = Caller(world.applicant), Caller(world.assistant), Caller(world.handler)
    reviewer, decider = Caller(world.reviewer), Caller(world.decider)
    colleague = Caller(world.colleague)
    stays = world.stays.pid

    # The applicant starts a draft (her only organisation is implied) and fills it in.
    created = ok(ana.post("applications", {"title": "Readmissions", "funding": ""}), 201)
    ref = created["reference"]
    assert created["state"] == "draft" and created["organisation"] == world.lab.slug
    assert {"edit", "submit", "withdraw"} <= set(created["allowed_actions"])
    gaps = ok(ana.get(f"applications/{ref}/completeness"))
    assert {"field": "datasets", "message": "add at least one dataset from the catalogue"} in gaps
    form = ok(ana.patch(f"applications/{ref}", COMPLETE))["form"]
    assert form["requested_months"] == 12 and form["special_categories"] is True
    request = {
        "variables": ["age", "diagnosis", "commune"],
        "time_start": "2020-01-01",
        "time_end": "2024-12-31",
        "filters": [{"variable": "age", "op": ">=", "value": 18}],
    }
    requested = ok(ana.put(f"applications/{ref}/datasets/{stays}", request), 201)
    assert requested["variables"] == ["age", "commune", "diagnosis"]
    assert ok(ana.put(f"applications/{ref}/datasets/{stays}", request), 200) == requested
    ok(
        ana.post(f"applications/{ref}/persons", {"name": "Ana", "email": world.applicant.email}),
        201,
    )
    person = ok(
        ana.post(
            f"applications/{ref}/persons",
            {"name": "Col League", "email": world.colleague.email, "role_in_project": "analyst"},
        ),
        201,
    )
    assert person["terms_accepted"] is False
    upload = ana.call(
        "upload", f"applications/{ref}/attachments", {"file": pdf(), "kind": "protocol"}
    )
    attachment = ok(upload, 201)
    assert attachment["media_type"] == "application/pdf" and attachment["size"] == len(PDF)
    assert [a["name"] for a in ok(ana.get(f"applications/{ref}/attachments"))] == ["protocol.pdf"]
    assert ok(ana.get(f"applications/{ref}/completeness")) == []

    # The assistance desk comments on the draft without deciding.
    ok(
        desk.post(f"applications/{ref}/comments", {"body": "Add a DPIA.", "field": "safeguards"}),
        201,
    )
    assert "submit" not in ok(desk.get(f"applications/{ref}"))["allowed_actions"]

    submitted = ok(ana.post(f"applications/{ref}/submit"))
    assert submitted["state"] == "submitted" and submitted["clock"]["deadline"]
    assert submitted["clock"]["status"].endswith("days left")

    # The handler takes the case and returns it; the applicant corrects and resubmits.
    listed = ok(handler.get("applications", {"state": "submitted"}))
    assert [a["reference"] for a in listed["items"]] == [ref]
    assigned = ok(handler.post(f"applications/{ref}/assign"))
    assert assigned["handler"] == world.handler.username
    assert {"return", "start_review", "extend_deadline"} <= set(assigned["allowed_actions"])
    returned = ok(handler.post(f"applications/{ref}/return", {"reasons": "Name the funder."}))
    assert returned["state"] == "returned"
    ok(ana.patch(f"applications/{ref}", {"funding": "FNR grant C26/BM/1 and EU Horizon"}))
    resubmitted = ok(ana.post(f"applications/{ref}/submit"))
    assert resubmitted["state"] == "submitted" and resubmitted["submissions"] == 2
    seen = ok(handler.get(f"applications/{ref}"))
    assert seen["last_changes"] == ["funding"] and seen["returns"] == 1
    snaps = ok(handler.get(f"applications/{ref}/snapshots"))
    assert [s["number"] for s in snaps] == [1, 2] and snaps[1]["changed"] == ["funding"]

    # Review: the holder of the dataset is asked and votes.
    review = ok(handler.post(f"applications/{ref}/start-review"))
    assert review["state"] == "under_review" and review["clock"]["complete_at"]
    assert [r["organisation"] for r in review["opinion_requests"]] == [world.holder.slug]
    asked = ok(reviewer.get(f"applications/{ref}"))
    assert "give_opinion" in asked["allowed_actions"] and "decide" not in asked["allowed_actions"]
    vote = {"vote": "favourable", "text": "The request is proportionate."}
    assert ok(reviewer.post(f"applications/{ref}/opinions", vote), 201)["vote"] == "favourable"

    # The decider approves with conditions and narrows the permit to two variables.
    decision = ok(
        decider.post(
            f"applications/{ref}/decide",
            {
                "outcome": "approved_with_conditions",
                "reasons": "Meets the criteria of Art. 5.",
                "permit": {
                    "datasets": {stays: {"variables": ["age", "diagnosis"]}},
                    "conditions": ["publish-results", {"kind": "obligation", "text": "Cite us."}],
                    "output_rules": {"threshold": 15},
                },
            },
        ),
        201,
    )
    number = decision["permit"]
    assert decision["outcome"] == "approved_with_conditions" and number
    spec = ok(colleague.get(f"permits/{number}"))
    assert spec["datasets"][0]["variables"] == ["age", "diagnosis"]
    assert spec["datasets"][0]["filters"] == [{"variable": "age", "op": ">=", "value": 18}]
    assert spec["output_rules"]["threshold"] == 15
    assert {"publish-results", "no-reidentification"} <= {c["code"] for c in spec["conditions"]}
    assert {"kind": "obligation", "code": "", "text": "Cite us."} in spec["conditions"]
    assert [v["change"] for v in spec["versions"]] == ["issued"]
    assert spec["allowed_actions"] == []  # not before the terms are accepted

    # A named person has no access before accepting the terms, and has it after.
    refused = error(colleague.post(f"permits/{number}/workspace"), 403, "forbidden")
    assert "accept the terms" in refused["message"]
    assert ok(colleague.post(f"applications/{ref}/terms"))["terms_version"]
    granted = ok(colleague.post(f"permits/{number}/workspace"))
    assert granted == {"granted": True, "permit": number, "version": 1}
    assert Application.objects.get(reference=ref).access_granted_at is not None

    # The applicant sees the whole history; the chain is intact.
    kinds = [e["kind"] for e in ok(ana.get(f"applications/{ref}/history"))]
    for kind in (
        "application.created",
        "application.submitted",
        "application.returned",
        "application.resubmitted",
        "application.decided",
        "permit.issued",
        "permit.access_granted",
    ):
        assert kind in kinds, kind
    assert verify().ok


def test_a_token_works_like_a_session(world: World, client: Client) -> None:
    application = world.draft()
    _, secret = create_api_token(user=world.applicant, name="script", scope="write")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    body = ok(client.get(f"{API}/applications", **headers))
    assert [a["reference"] for a in body["items"]] == [application.reference]
    bad = client.get(f"{API}/applications", HTTP_AUTHORIZATION="Bearer dlx_nope_nope")
    error(bad, 401, "unauthenticated")


def test_list_filters_and_pages(world: World) -> None:
    first, second = world.draft(), world.submitted()
    world.draft(by=world.stranger)
    ana = Caller(world.applicant)
    body = ok(ana.get("applications", {"limit": 1}))
    assert body["count"] == 2 and [a["reference"] for a in body["items"]] == [second.reference]
    body = ok(ana.get("applications", {"limit": 1, "offset": 1}))
    assert [a["reference"] for a in body["items"]] == [first.reference]
    body = ok(ana.get("applications", {"state": "draft"}))
    assert [a["reference"] for a in body["items"]] == [first.reference]
    error(ana.get("applications", {"state": "lost"}), 422, "invalid")
    error(ana.get("applications", {"limit": 0}), 422, "invalid")
    # "mine" for a handler: the cases assigned to them.
    handler = Caller(world.handler)
    assert ok(handler.get("applications", {"mine": "true"}))["count"] == 0
    actions.assign(application=second, by=world.handler, handler=world.handler)
    assert ok(handler.get("applications", {"mine": "true"}))["count"] == 1


def test_unknown_form_fields_and_bad_values_are_422_with_details(world: World) -> None:
    application = world.draft(complete=False)
    ana = Caller(world.applicant)
    body = error(
        ana.patch(f"applications/{application.reference}", {"colour": "red"}), 422, "invalid"
    )
    assert body["details"][0]["loc"][-1] == "colour"
    body = error(
        ana.patch(f"applications/{application.reference}", {"data_form": "raw"}), 422, "invalid"
    )
    assert "use one of anonymised" in body["details"]["data_form"][0]


# --- the refusals of the issue ---------------------------------------------------------------


def test_a_reviewer_cannot_decide(world: World) -> None:
    application = world.under_review()
    before = events(EventKind.ACCESS_DENIED, world.reviewer)
    body = error(
        Caller(world.reviewer).post(
            f"applications/{application.reference}/decide",
            {"outcome": "approved", "reasons": "I like it"},
        ),
        403,
        "forbidden",
    )
    assert "only deciders" in body["message"]
    assert events(EventKind.ACCESS_DENIED, world.reviewer) == before + 1
    application.refresh_from_db()
    assert application.state == "under_review"


def test_an_applicant_cannot_see_others_applications(world: World) -> None:
    theirs = world.submitted()
    mine = world.draft(by=world.stranger)
    stranger = Caller(world.stranger)
    before = events(EventKind.ACCESS_DENIED, world.stranger)
    body = error(stranger.get(f"applications/{theirs.reference}"), 404, "not_found")
    assert theirs.reference not in json.dumps(body) and "Readmissions" not in json.dumps(body)
    # The same answer as for a reference that does not exist.
    error(stranger.get("applications/DLX-A-2000-99999"), 404, "not_found")
    assert events(EventKind.ACCESS_DENIED, world.stranger) == before + 2
    listed = ok(stranger.get("applications"))
    assert [a["reference"] for a in listed["items"]] == [mine.reference]


def test_a_member_who_has_not_accepted_the_terms_gets_no_access(world: World) -> None:
    application = world.draft()
    actions.add_named_person(
        application=application, by=world.applicant, name="C", email=world.colleague.email
    )
    actions.submit(application=application, by=world.applicant)
    actions.assign(application=application, by=world.handler, handler=world.handler)
    actions.start_review(application=application, by=world.handler)
    actions.decide(application=application, by=world.decider, outcome="approved", reasons="Fine")
    number = Permit.objects.get(application=application).number
    before = events(EventKind.ACCESS_DENIED, world.colleague)
    body = error(Caller(world.colleague).post(f"permits/{number}/workspace"), 403, "forbidden")
    assert "accept the terms of use" in body["message"]
    assert events(EventKind.ACCESS_DENIED, world.colleague) == before + 1
    assert events(EventKind.PERMIT_ACCESS_GRANTED) == 0


def test_a_decision_on_a_withdrawn_application_is_refused(world: World) -> None:
    application = world.under_review()
    withdraw = {"reason": "Funding ended"}
    ok(Caller(world.applicant).post(f"applications/{application.reference}/withdraw", withdraw))
    before = events(EventKind.APPLICATION_ACTION_REFUSED, world.decider)
    body = error(
        Caller(world.decider).post(
            f"applications/{application.reference}/decide",
            {"outcome": "approved", "reasons": "Good"},
        ),
        409,
        "invalid_state",
    )
    assert "cannot decide" in body["message"] and "withdrawn" in body["message"]
    assert events(EventKind.APPLICATION_ACTION_REFUSED, world.decider) == before + 1
    assert not Permit.objects.exists()


def test_a_permit_cannot_list_variables_the_application_did_not_request(world: World) -> None:
    application = world.under_review()
    before = events(EventKind.APPLICATION_ACTION_REFUSED, world.decider)
    body = error(
        Caller(world.decider).post(
            f"applications/{application.reference}/decide",
            {
                "outcome": "approved",
                "reasons": "Good",
                "permit": {"datasets": {world.stays.pid: {"variables": ["age", "national_id"]}}},
            },
        ),
        422,
        "invalid",
    )
    assert "did not request national_id" in body["details"]["datasets"][0]
    assert events(EventKind.APPLICATION_ACTION_REFUSED, world.decider) == before + 1
    application.refresh_from_db()
    assert application.state == "under_review" and not Permit.objects.exists()


def test_reviewers_see_no_e_mails_of_named_persons(world: World) -> None:
    application = world.approved()
    ref, number = application.reference, application.permit.number
    for caller in (Caller(world.reviewer), Caller(world.assistant)):
        persons = ok(caller.get(f"applications/{ref}"))["named_persons"]
        assert persons and all(p["email"] is None for p in persons)
    spec = ok(Caller(world.reviewer).get(f"permits/{number}"))
    assert all(p["email"] is None for p in spec["authorised_persons"])
    assert all(
        p["email"] is None for v in spec["versions"] for p in v["spec"]["authorised_persons"]
    )
    spec = ok(Caller(world.decider).get(f"permits/{number}"))
    assert [p["email"] for p in spec["authorised_persons"]] == [world.applicant.email]
    # Opinions are for the authority and the reviewers asked, not for the applicant.
    requests = ok(Caller(world.applicant).get(f"applications/{ref}"))["opinion_requests"]
    assert requests and requests[0]["opinions"] is None
    assert (
        ok(Caller(world.handler).get(f"applications/{ref}"))["opinion_requests"][0]["opinions"]
        == []
    )


def test_internal_notes_stay_with_the_authority(world: World) -> None:
    application = world.submitted()
    handler = Caller(world.handler)
    note = {"body": "Check the ethics reference.", "internal": True}
    ok(handler.post(f"applications/{application.reference}/comments", note), 201)
    assert len(ok(handler.get(f"applications/{application.reference}/comments"))) == 1
    assert ok(Caller(world.applicant).get(f"applications/{application.reference}/comments")) == []


# --- anonymous callers -----------------------------------------------------------------------

REF, PID, NUMBER = "DLX-A-2026-00001", "ds-1", "DLX-P-2026-00001"
PROCEDURE = ("submit", "withdraw", "terms", "assign", "return", "start-review")
PROCEDURE += ("opinion-requests", "opinions", "extend-deadline", "decide")
OPERATIONS: list[tuple[str, str]] = [
    ("get", "applications"),
    ("post", "applications"),
    ("get", f"applications/{REF}"),
    ("patch", f"applications/{REF}"),
    ("get", f"applications/{REF}/completeness"),
    ("put", f"applications/{REF}/datasets/{PID}"),
    ("delete", f"applications/{REF}/datasets/{PID}"),
    ("post", f"applications/{REF}/persons"),
    ("delete", f"applications/{REF}/persons/1"),
    ("get", f"applications/{REF}/attachments"),
    ("post", f"applications/{REF}/attachments"),
    ("get", f"applications/{REF}/comments"),
    ("post", f"applications/{REF}/comments"),
    *[("post", f"applications/{REF}/{op}") for op in PROCEDURE],
    ("get", f"applications/{REF}/snapshots"),
    ("get", f"applications/{REF}/history"),
    ("get", "permits"),
    ("get", f"permits/{NUMBER}"),
    *[("post", f"permits/{NUMBER}/{op}") for op in ("amend", "extend", "revoke", "close")],
    ("post", f"permits/{NUMBER}/workspace"),
]


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_anonymous_callers_get_401_everywhere(client: Client, method: str, path: str) -> None:
    send = getattr(client, method)
    url = f"{API}/{path}"
    response = send(url) if method == "get" else send(url, "{}", content_type="application/json")
    error(response, 401, "unauthenticated")


def test_every_operation_of_the_router_is_in_the_anonymous_list() -> None:
    from datalux.access.api import router

    routed = {
        (method.lower(), path.strip("/"))
        for path, view in router.path_operations.items()
        for operation in view.operations
        for method in operation.methods
    }
    names = {
        REF: "{reference}",
        PID: "{pid}",
        NUMBER: "{number}",
        "persons/1": "persons/{person_id}",
    }

    def template(path: str) -> str:
        for value, name in names.items():
            path = path.replace(value, name)
        return path

    listed = {(method, template(path)) for method, path in OPERATIONS}
    assert routed == listed


# --- the permission matrix -------------------------------------------------------------------


@dataclass
class Row:
    """One API operation: the state the application must be in, what every generic member of
    each role gets (404 unless listed), then who succeeds (a world user or a generic member)
    and with what status, in order."""

    method: str
    path: str  # {ref}, {pid}, {person}, {number} are filled in
    state: str  # draft / submitted / assigned / under_review / approved
    body: Any
    denied: dict[str, int]
    allowed: list[tuple[str, int]]
    default: int = 404
    prepare: Callable[[World, Application], None] | None = field(default=None)


def _accept(world: World, application: Application) -> None:
    actions.accept_terms(application=application, by=world.applicant)


DECISION = {"outcome": "approved", "reasons": "Meets the criteria."}
AUTH_SEES = {"assistant": 403, "handler": 403, "decider": 403}
ROWS: list[Row] = [
    Row("get", "applications", "draft", None, {}, [("applicant", 200)], default=200),
    Row("post", "applications", "draft", {"title": "New"}, {}, [("role:applicant", 201)], 403),
    Row("get", "applications/{ref}", "submitted", None, {},
        [("role:assistant", 200), ("role:handler", 200), ("role:decider", 200),
         ("applicant", 200)]),
    Row("patch", "applications/{ref}", "draft", {"title": "T2"}, {"assistant": 403},
        [("applicant", 200)]),
    Row("get", "applications/{ref}/completeness", "draft", None, {},
        [("role:assistant", 200), ("applicant", 200)]),
    Row("put", "applications/{ref}/datasets/{jobs}", "draft", {"variables": ["nace"]},
        {"assistant": 403}, [("applicant", 201)]),
    Row("delete", "applications/{ref}/datasets/{pid}", "draft", None, {"assistant": 403},
        [("applicant", 204)]),
    Row("post", "applications/{ref}/persons", "draft", {"name": "B", "email": "b@example.lu"},
        {"assistant": 403}, [("applicant", 201)]),
    Row("delete", "applications/{ref}/persons/{person}", "draft", None, {"assistant": 403},
        [("applicant", 204)]),
    Row("get", "applications/{ref}/attachments", "draft", None, {},
        [("role:assistant", 200), ("applicant", 200)]),
    Row("upload", "applications/{ref}/attachments", "draft", "file", {"assistant": 403},
        [("applicant", 201)]),
    Row("get", "applications/{ref}/comments", "draft", None, {},
        [("role:assistant", 200), ("applicant", 200)]),
    Row("post", "applications/{ref}/comments", "draft", {"body": "Hello"}, {},
        [("role:assistant", 201), ("applicant", 201)]),
    Row("post", "applications/{ref}/submit", "draft", {}, {"assistant": 403},
        [("applicant", 200)]),
    Row("post", "applications/{ref}/withdraw", "submitted", {}, AUTH_SEES, [("applicant", 200)]),
    Row("post", "applications/{ref}/terms", "submitted", {}, AUTH_SEES, [("applicant", 200)]),
    Row("post", "applications/{ref}/assign", "submitted", {},
        {"assistant": 403, "decider": 403}, [("role:handler", 200)]),
    Row("post", "applications/{ref}/return", "assigned", {"reasons": "More."}, AUTH_SEES,
        [("handler", 200)]),
    Row("post", "applications/{ref}/start-review", "assigned", {}, AUTH_SEES, [("handler", 200)]),
    Row("post", "applications/{ref}/opinion-requests", "under_review",
        {"organisation": "{other_holder}"}, AUTH_SEES, [("handler", 201)]),
    Row("post", "applications/{ref}/opinions", "under_review",
        {"vote": "favourable", "text": "Fine."}, AUTH_SEES, [("reviewer", 201)]),
    Row("post", "applications/{ref}/extend-deadline", "under_review", {"reason": "Busy."},
        AUTH_SEES, [("handler", 200)]),
    Row("post", "applications/{ref}/decide", "under_review", DECISION,
        {"assistant": 403, "handler": 403}, [("reviewer", 403), ("role:decider", 201)]),
    Row("get", "applications/{ref}/snapshots", "submitted", None, {"assistant": 403},
        [("role:handler", 200), ("role:decider", 200), ("applicant", 200)]),
    Row("get", "applications/{ref}/history", "submitted", None, {"assistant": 403},
        [("role:handler", 200), ("role:decider", 200), ("applicant", 200)]),
    Row("get", "permits", "approved", None, {}, [("applicant", 200)], default=200),
    Row("get", "permits/{number}", "approved", None, {},
        [("role:assistant", 200), ("role:handler", 200), ("role:decider", 200),
         ("reviewer", 200), ("applicant", 200)]),
    Row("post", "permits/{number}/amend", "approved", {"reason": "Fewer variables.",
        "datasets": {"{pid}": {"variables": ["age"]}}}, {"assistant": 403, "handler": 403},
        [("applicant", 403), ("role:decider", 200)]),
    Row("post", "permits/{number}/extend", "approved", {"ends_on": "2099-01-01", "reason": "More"},
        {"assistant": 403, "handler": 403}, [("applicant", 403), ("role:decider", 200)]),
    Row("post", "permits/{number}/revoke", "approved", {"reason": "Breach."},
        {"assistant": 403, "handler": 403}, [("applicant", 403), ("role:decider", 200)]),
    # Handlers and deciders both close permits: the second finds it closed already (409).
    Row("post", "permits/{number}/close", "approved", {}, {"assistant": 403},
        [("applicant", 403), ("role:handler", 200), ("role:decider", 409)]),
    Row("post", "permits/{number}/workspace", "approved", {}, AUTH_SEES, [("applicant", 200)],
        prepare=_accept),
]  # fmt: skip


def _application_in(world: World, state: str) -> Application:
    if state == "draft":
        return world.draft()
    if state == "submitted":
        return world.submitted()
    if state == "assigned":
        application = world.submitted()
        return actions.assign(application=application, by=world.handler, handler=world.handler)
    if state == "under_review":
        return world.under_review()
    return world.approved()


def _fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        for key, name in names.items():
            value = value.replace("{" + key + "}", name)
        return value
    if isinstance(value, dict):
        return {_fill(k, names): _fill(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    return value


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.method} {r.path}")
def test_api_permission_matrix(world: World, make_member: Any, row: Row) -> None:
    application = _application_in(world, row.state)
    if row.prepare:
        row.prepare(world, application)
    permit = Permit.objects.filter(application=application).first()
    names = {
        "ref": application.reference,
        "pid": world.stays.pid,
        "jobs": world.jobs.pid,
        "person": str(application.named_persons.values_list("pk", flat=True).first()),
        "number": permit.number if permit else "",
        "other_holder": world.other_holder.slug,
    }
    path, body = _fill(row.path, names), _fill(row.body, names)
    if body == "file":
        body = {"file": pdf(), "kind": "protocol"}
    members = {role: make_member(role) for role in ROLES}

    def send(user: Any) -> Any:
        caller = Caller(user)
        if row.method == "upload":
            return caller.call("upload", path, {"file": pdf(), "kind": "protocol"})
        return caller.call(row.method, path, body)

    allowed = dict(row.allowed)
    for role, user in members.items():
        if f"role:{role}" in allowed:
            continue
        expected = row.denied.get(role, row.default)
        before = events(EventKind.ACCESS_DENIED, user)
        response = send(user)
        assert response.status_code == expected, (role, response.content[:300])
        if expected in (403, 404):
            code = "forbidden" if expected == 403 else "not_found"
            assert response.json()["error"]["code"] == code, role
            assert events(EventKind.ACCESS_DENIED, user) == before + 1, role
    for who, expected in row.allowed:
        user = members[who[5:]] if who.startswith("role:") else getattr(world, who)
        response = send(user)
        assert response.status_code == expected, (who, response.content[:300])


# --- drafting and permits in more detail -----------------------------------------------------


def test_drafting_endpoints_answer_with_the_right_status(world: World) -> None:
    application = world.draft()
    ref, ana = application.reference, Caller(world.applicant)
    jobs = {"variables": ["nace", "wage"]}
    assert ok(ana.put(f"applications/{ref}/datasets/{world.jobs.pid}", jobs), 201)["holder"] == (
        world.other_holder.name
    )
    ok(ana.put(f"applications/{ref}/datasets/{world.jobs.pid}", {"variables": ["nace"]}), 200)
    assert ok(ana.delete(f"applications/{ref}/datasets/{world.jobs.pid}"), 204) is None
    body = error(ana.delete(f"applications/{ref}/datasets/{world.jobs.pid}"), 422, "invalid")
    assert "not part of this application" in body["details"]["dataset"][0]
    error(ana.put(f"applications/{ref}/datasets/nope", jobs), 404, "not_found")
    body = error(
        ana.put(f"applications/{ref}/datasets/{world.stays.pid}", {"variables": ["salary"]}),
        422,
        "invalid",
    )
    assert "salary" in body["details"]["variables"][0]
    person = application.named_persons.get()
    other = world.draft(by=world.stranger).named_persons.get()
    error(ana.delete(f"applications/{ref}/persons/{other.pk}"), 404, "not_found")
    ok(ana.delete(f"applications/{ref}/persons/{person.pk}"), 204)
    assert not application.named_persons.exists()
    exe = SimpleUploadedFile("tool.exe", b"MZ\x90\x00", content_type="application/octet-stream")
    body = error(
        ana.call("upload", f"applications/{ref}/attachments", {"file": exe}), 422, "invalid"
    )
    assert ".exe not accepted" in body["details"]["file"][0]
    fake = SimpleUploadedFile("protocol.pdf", b"not a pdf", content_type="application/pdf")
    error(ana.call("upload", f"applications/{ref}/attachments", {"file": fake}), 422, "invalid")
    assert not application.attachments.exists()


def test_assigning_another_handler_by_username(world: World) -> None:
    application = world.submitted()
    ref = application.reference
    handler = Caller(world.handler)
    body = ok(handler.post(f"applications/{ref}/assign", {"handler": world.handler2.username}))
    assert body["handler"] == world.handler2.username
    body = error(handler.post(f"applications/{ref}/assign", {"handler": "ghost"}), 422, "invalid")
    assert "ghost is not a case handler" in body["details"]["handler"][0]
    # Anyone else is refused before any username is looked up.
    desk = Caller(world.assistant)
    error(desk.post(f"applications/{ref}/assign", {"handler": "ghost"}), 403, "forbidden")


def test_permit_versions_through_the_api(world: World) -> None:
    number = world.approved().permit.number
    decider = Caller(world.decider)
    amend = {"reason": "Less data.", "datasets": {world.stays.pid: {"variables": ["age"]}}}
    body = ok(decider.post(f"permits/{number}/amend", amend))
    assert body["version"] == 2 and body["datasets"][0]["variables"] == ["age"]
    body = ok(decider.post(f"permits/{number}/extend", {"ends_on": "2099-12-31", "reason": "More"}))
    assert [v["change"] for v in body["versions"]] == ["issued", "amended", "extended"]
    assert body["versions"][0]["spec"]["datasets"][0]["variables"] == ["age", "diagnosis"]
    assert body["ends_on"] == "2099-12-31"
    wider = {"reason": "More data.", "datasets": {world.stays.pid: {"variables": ["commune"]}}}
    body = error(decider.post(f"permits/{number}/amend", wider), 422, "invalid")
    assert "did not request commune" in body["details"]["datasets"][0]
    assert ok(decider.post(f"permits/{number}/revoke", {"reason": "Breach."}))["state"] == "revoked"
    body = error(
        decider.post(f"permits/{number}/revoke", {"reason": "Again."}), 409, "invalid_state"
    )
    assert "revoked" in body["message"]
    actions.accept_terms(application=Permit.objects.get().application, by=world.applicant)
    body = error(Caller(world.applicant).post(f"permits/{number}/workspace"), 403, "forbidden")
    assert "is revoked" in body["message"]
    listed = ok(Caller(world.applicant).get("permits", {"state": "revoked"}))
    assert [p["number"] for p in listed["items"]] == [number]
