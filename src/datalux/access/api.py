"""The data authority's JSON API: applications, review, decisions, permits.

Every operation needs a token or a session (401 otherwise), parses its input, calls one action
of :mod:`datalux.access.actions` and answers; the core exception handlers shape the errors
(403 ``forbidden``, 409 ``invalid_state``, 422 ``invalid`` with a message per field). What
the caller may not see is a 404 ``not_found`` whether it exists or not; that refusal is
audited too. E-mail addresses of named persons are shown only to the applicant, the named
persons and the authority; opinions and internal notes only to the authority and the
reviewers asked.

Applications (``/applications``):
- ``GET`` the caller's visible applications (``state``, ``mine``, ``limit``, ``offset``);
  ``POST`` a new draft (201).
- ``GET``/``PATCH /{reference}``; ``GET /{reference}/completeness`` (the gaps).
- ``PUT``/``DELETE /{reference}/datasets/{pid}``; ``POST /{reference}/persons``,
  ``DELETE /{reference}/persons/{id}``; ``GET``/``POST /{reference}/attachments`` (multipart);
  ``GET``/``POST /{reference}/comments``.
- ``POST /{reference}/``: ``submit`` (also a resubmission), ``withdraw``, ``terms``,
  ``assign``, ``return``, ``start-review``, ``opinion-requests``, ``opinions``,
  ``extend-deadline``, ``decide``.
- ``GET /{reference}/snapshots`` (authority and parties), ``GET /{reference}/history``
  (authority and the applicant).

Permits (``/permits``): ``GET`` the list, ``GET /{number}`` (the machine-readable permit and
its versions), ``POST /{number}/``: ``amend``, ``extend``, ``revoke``, ``close``,
``workspace`` (200 when the caller may work with the data now, 403 with the reason if not).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router
from ninja.files import UploadedFile
from ninja.responses import Status

from datalux.access import actions, completeness, queries
from datalux.access.models import (
    FORM_FIELDS,
    Application,
    ApplicationDataset,
    Attachment,
    Comment,
    NamedPerson,
    Opinion,
    OpinionRequest,
    Permit,
    Procedure,
)
from datalux.access.schemas import (
    AmendIn,
    ApplicationIn,
    ApplicationOut,
    ApplicationPageOut,
    AssignIn,
    AttachmentOut,
    CommentIn,
    CommentOut,
    DatasetRequestIn,
    DecideIn,
    DecisionOut,
    ExtendPermitIn,
    FormIn,
    GapOut,
    HistoryEventOut,
    OpinionCreatedOut,
    OpinionIn,
    OpinionRequestCreatedOut,
    OpinionRequestIn,
    PermitOut,
    PermitPageOut,
    PersonIn,
    PersonOut,
    ReasonIn,
    RequestedDatasetOut,
    RequiredReasonIn,
    ReturnIn,
    SnapshotOut,
    TermsOut,
    WorkspaceOut,
)
from datalux.access.states import (
    ApplicationAction,
    ApplicationState,
    PermitState,
)
from datalux.accounts.models import Organisation, User
from datalux.accounts.permissions import has_permission, organisations_with
from datalux.accounts.roles import Permission
from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.catalogue.models import Dataset

router = Router(tags=["access"])

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
A = ApplicationAction
S = ApplicationState


# ---------------------------------------------------------------------------------------------
# Who is asking, and what they may see


def _user(request: HttpRequest) -> Any:
    from datalux.core.api import user_of

    return user_of(request)


def _refuse(request: HttpRequest, user: Any, status: int, reason: str) -> None:
    """Audit a refusal the API itself makes (the actions audit their own)."""
    record(
        EventKind.ACCESS_DENIED,
        actor=user,
        object_type="api",
        object_id=request.path[:64],
        details={"method": request.method or "", "status": status, "reason": reason[:500]},
    )


def _deny(request: HttpRequest, user: Any, message: str) -> Exception:
    from datalux.core.api import ApiError

    _refuse(request, user, 403, message)
    return ApiError(403, "forbidden", message)


def _not_found(request: HttpRequest, user: Any, what: str) -> Http404:
    _refuse(request, user, 404, f"{what} not found or not visible")
    return Http404(what)


def _application(request: HttpRequest, reference: str) -> tuple[Any, Application]:
    user = _user(request)
    try:
        return user, queries.get_visible(user, reference)
    except Http404:
        raise _not_found(request, user, "application") from None


def _permit(request: HttpRequest, number: str) -> tuple[Any, Permit]:
    user = _user(request)
    try:
        return user, queries.get_visible_permit(user, number)
    except Http404:
        raise _not_found(request, user, "permit") from None


def _fresh(application: Application) -> Application:
    """The application as the action left it (its cached relations may be stale)."""
    return Application.objects.select_related(
        "procedure", "organisation", "applicant", "handler"
    ).get(pk=application.pk)


def _named(user: Any, application: Application) -> NamedPerson | None:
    return application.named_persons.filter(user=user).first()


# ---------------------------------------------------------------------------------------------
# Rendering


def _summary(application: Application) -> dict[str, Any]:
    return {
        "reference": application.reference,
        "title": application.title,
        "state": application.state,
        "organisation": application.organisation.slug,
        "organisation_name": application.organisation.name,
        "applicant": application.applicant.get_username(),
        "handler": application.handler.get_username() if application.handler else None,
        "created_at": application.created_at,
        "updated_at": application.updated_at,
        "received_at": application.received_at,
        "deadline": application.deadline,
    }


def _dataset(item: ApplicationDataset) -> dict[str, Any]:
    return {
        "dataset": item.dataset.pid,
        "title": item.dataset.display_title,
        "holder": item.dataset.publisher.name,
        "variables": sorted(item.variables),
        "time_start": item.time_start,
        "time_end": item.time_end,
        "filters": item.filters,
        "population": item.population,
    }


def _person(person: NamedPerson, emails: bool) -> dict[str, Any]:
    return {
        "id": person.pk,
        "name": person.name,
        "email": person.email if emails else None,
        "role_in_project": person.role_in_project,
        "terms_accepted": person.terms_accepted_at is not None,
        "terms_accepted_at": person.terms_accepted_at,
        "terms_version": person.terms_version,
    }


def _attachment(attachment: Attachment) -> dict[str, Any]:
    return {
        "id": attachment.pk,
        "kind": attachment.kind,
        "name": attachment.name,
        "media_type": attachment.media_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "uploaded_by": attachment.uploaded_by.get_username(),
        "uploaded_at": attachment.uploaded_at,
    }


def _opinion(opinion: Opinion) -> dict[str, Any]:
    return {
        "reviewer": opinion.reviewer.get_username(),
        "vote": opinion.vote,
        "text": opinion.text,
        "conditions": opinion.conditions,
        "created_at": opinion.created_at,
    }


def _opinion_request(request: OpinionRequest, internal: bool) -> dict[str, Any]:
    opinions = None
    if internal:
        opinions = [_opinion(o) for o in request.opinions.select_related("reviewer")]
    return {
        "organisation": request.organisation.slug,
        "organisation_name": request.organisation.name,
        "question": request.question,
        "requested_at": request.requested_at,
        "opinions": opinions,
    }


def _decision(application: Application) -> dict[str, Any] | None:
    decision = getattr(application, "decision", None)
    if decision is None:
        return None
    permit = Permit.objects.filter(application=application).values_list("number", flat=True)
    return {
        "outcome": decision.outcome,
        "reasons": decision.reasons,
        "redress": decision.redress,
        "decided_by": decision.decided_by.get_username(),
        "decided_at": decision.decided_at,
        "permit": permit.first(),
    }


def _detail(user: Any, application: Application) -> dict[str, Any]:
    emails = queries.sees_emails(user, application)
    internal = queries.sees_internal(user, application)
    clock = application.clock()
    last = application.snapshots.order_by("-number").first()
    decision = _decision(application)
    return {
        **_summary(application),
        "procedure": application.procedure.slug,
        "schema_version": application.schema_version,
        "form": {name: getattr(application, name) for name in FORM_FIELDS},
        "datasets": [
            _dataset(d)
            for d in application.datasets.select_related("dataset__publisher").order_by(
                "dataset__pid"
            )
        ],
        "named_persons": [_person(p, emails) for p in application.named_persons.order_by("pk")],
        "attachments": [
            _attachment(a) for a in application.attachments.select_related("uploaded_by")
        ],
        "opinion_requests": [
            _opinion_request(r, internal)
            for r in application.opinion_requests.select_related("organisation").order_by("pk")
        ],
        "clock": {
            "received_at": application.received_at,
            "complete_at": application.complete_at,
            "decided_at": application.decided_at,
            "deadline": application.deadline,
            "extended_days": application.extended_days,
            "extension_reason": application.extension_reason,
            "status": clock.status,
            "days_left": clock.days_left,
            "overdue": clock.overdue,
        },
        "submissions": application.submissions,
        "returns": application.returns,
        "last_changes": last.changed if last else [],
        "allowed_actions": queries.allowed_actions(user, application),
        "decision": decision,
        "permit": decision["permit"] if decision else None,
    }


def _comment(note: Comment) -> dict[str, Any]:
    return {
        "id": note.pk,
        "author": note.author.get_username(),
        "body": note.body,
        "field": note.field,
        "internal": note.internal,
        "created_at": note.created_at,
    }


def _permit_detail(user: Any, permit: Permit) -> dict[str, Any]:
    emails = queries.sees_emails(user, permit.application)
    versions = [
        {
            "version": v.version,
            "change": v.change,
            "reason": v.reason,
            "by": v.by.get_username(),
            "created_at": v.created_at,
            "spec": queries.redact_spec(v.spec, emails),
        }
        for v in permit.versions.select_related("by")
    ]
    return {
        **queries.redact_spec(permit.spec(), emails),
        "allowed_actions": queries.permit_actions(user, permit),
        "versions": versions,
    }


def _page(queryset: Any, limit: int, offset: int) -> tuple[int, list[Any]]:
    return queryset.count(), list(queryset[offset : offset + limit])


# ---------------------------------------------------------------------------------------------
# Applications: reading and drafting


@router.get("/applications", response=ApplicationPageOut)
def list_applications(
    request: HttpRequest,
    state: str = Query("", description="Only applications in this state."),
    mine: bool = Query(False, description="Only those I applied for, am named on or handle."),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    """The applications visible to the caller, newest first."""
    user = _user(request)
    queryset = Application.objects.visible_to(user).select_related(
        "procedure", "organisation", "applicant", "handler"
    )
    if state:
        if state not in {s.value for s in S}:
            raise ValidationError({"state": _("use one of %(values)s") % {"values": ", ".join(S)}})
        queryset = queryset.filter(state=state)
    if mine:
        mine_q = Q(applicant=user) | Q(named_persons__user=user) | Q(handler=user)
        queryset = queryset.filter(pk__in=Application.objects.filter(mine_q).values("pk"))
    count, items = _page(queryset.order_by("-created_at", "-pk"), limit, offset)
    return {
        "count": count,
        "limit": limit,
        "offset": offset,
        "items": [_summary(a) for a in items],
    }


def _organisation(request: HttpRequest, user: Any, value: str | int | None) -> Organisation:
    if value not in (None, ""):
        text = str(value)
        found = Organisation.objects.filter(
            **({"pk": int(text)} if text.isdigit() else {"slug": text})
        ).first()
        if found is None:
            raise ValidationError(
                {"organisation": _("no organisation %(name)s") % {"name": repr(text)}}
            )
        return found
    _user, orgs = organisations_with(user, Permission.SUBMIT_APPLICATIONS)
    if not orgs:
        raise _deny(request, user, "you are not an applicant of any organisation")
    if len(orgs) > 1:
        slugs = Organisation.objects.filter(pk__in=orgs).order_by("slug")
        raise ValidationError(
            {
                "organisation": "you apply for several organisations: say which one ("
                + ", ".join(o.slug for o in slugs)
                + ")"
            }
        )
    return Organisation.objects.get(pk=orgs.pop())


@router.post("/applications", response={201: ApplicationOut})
def create_application(request: HttpRequest, payload: ApplicationIn) -> Status:
    """Start a draft for an organisation where the caller is an applicant."""
    user = _user(request)
    organisation = _organisation(request, user, payload.organisation)
    procedure = None
    if payload.procedure:
        procedure = Procedure.objects.filter(slug=payload.procedure).first()
        if procedure is None:
            raise ValidationError(
                {"procedure": _("no procedure %(name)s") % {"name": repr(payload.procedure)}}
            )
    fields = payload.model_dump(exclude_unset=True, exclude={"organisation", "procedure", "title"})
    application = actions.create_application(
        by=user, organisation=organisation, title=payload.title, procedure=procedure, **fields
    )
    return Status(201, _detail(user, _fresh(application)))


@router.get("/applications/{reference}", response=ApplicationOut)
def get_application(request: HttpRequest, reference: str) -> dict[str, Any]:
    """The whole application as the caller may see it, its clock and what the caller may do."""
    user, application = _application(request, reference)
    return _detail(user, application)


@router.patch("/applications/{reference}", response=ApplicationOut)
def update_application(request: HttpRequest, reference: str, payload: FormIn) -> dict[str, Any]:
    """Change the fields sent (a draft, or an application returned to the applicant)."""
    user, application = _application(request, reference)
    actions.update_application(
        application=application, by=user, **payload.model_dump(exclude_unset=True)
    )
    return _detail(user, _fresh(application))


@router.get("/applications/{reference}/completeness", response=list[GapOut])
def application_completeness(request: HttpRequest, reference: str) -> list[dict[str, str]]:
    """What stops the application from being submitted; an empty list when it is complete."""
    _user, application = _application(request, reference)
    return [gap.as_data() for gap in completeness.check(application)]


def _catalogue_dataset(request: HttpRequest, user: Any, pid: str) -> Dataset:
    dataset = Dataset.objects.visible_to(user).select_related("publisher").filter(pid=pid).first()
    if dataset is None:
        raise _not_found(request, user, "dataset")
    return dataset


@router.put(
    "/applications/{reference}/datasets/{pid}",
    response={200: RequestedDatasetOut, 201: RequestedDatasetOut},
)
def request_dataset(
    request: HttpRequest, reference: str, pid: str, payload: DatasetRequestIn
) -> Status:
    """Request a dataset (201) or replace its request (200): variables, period, filters."""
    user, application = _application(request, reference)
    dataset = _catalogue_dataset(request, user, pid)
    new = not application.datasets.filter(dataset=dataset).exists()
    item = actions.request_dataset(
        application=application, by=user, dataset=dataset, **payload.model_dump()
    )
    return Status(201 if new else 200, _dataset(item))


@router.delete("/applications/{reference}/datasets/{pid}", response={204: None})
def remove_dataset(request: HttpRequest, reference: str, pid: str) -> Status:
    user, application = _application(request, reference)
    dataset = _catalogue_dataset(request, user, pid)
    actions.remove_dataset(application=application, by=user, dataset=dataset)
    return Status(204, None)


@router.post("/applications/{reference}/persons", response={201: PersonOut})
def add_person(request: HttpRequest, reference: str, payload: PersonIn) -> Status:
    """Name a person who will access the data (they must accept the terms before access)."""
    user, application = _application(request, reference)
    person = actions.add_named_person(application=application, by=user, **payload.model_dump())
    return Status(201, _person(person, emails=True))


@router.delete("/applications/{reference}/persons/{person_id}", response={204: None})
def remove_person(request: HttpRequest, reference: str, person_id: int) -> Status:
    user, application = _application(request, reference)
    person = application.named_persons.filter(pk=person_id).first()
    if person is None:
        raise _not_found(request, user, "named person")
    actions.remove_named_person(application=application, by=user, person=person)
    return Status(204, None)


@router.get("/applications/{reference}/attachments", response=list[AttachmentOut])
def list_attachments(request: HttpRequest, reference: str) -> list[dict[str, Any]]:
    """The attachments' metadata (the files themselves are not served here)."""
    _user, application = _application(request, reference)
    return [
        _attachment(a) for a in application.attachments.select_related("uploaded_by").order_by("pk")
    ]


@router.post("/applications/{reference}/attachments", response={201: AttachmentOut})
def add_attachment(
    request: HttpRequest,
    reference: str,
    file: File[UploadedFile],
    kind: Form[str] = "other",
) -> Status:
    """Attach a file (multipart field ``file``; ``kind``): size- and type-checked."""
    user, application = _application(request, reference)
    attachment = actions.add_attachment(
        application=application, by=user, name=file.name or "attachment", content=file, kind=kind
    )
    return Status(201, _attachment(attachment))


@router.get("/applications/{reference}/comments", response=list[CommentOut])
def list_comments(request: HttpRequest, reference: str) -> list[dict[str, Any]]:
    """Comments; internal notes only for the authority and the reviewers asked."""
    user, application = _application(request, reference)
    return [_comment(c) for c in queries.comments_for(user, application)]


@router.post("/applications/{reference}/comments", response={201: CommentOut})
def add_comment(request: HttpRequest, reference: str, payload: CommentIn) -> Status:
    user, application = _application(request, reference)
    note = actions.comment(application=application, by=user, **payload.model_dump())
    return Status(201, _comment(note))


# ---------------------------------------------------------------------------------------------
# Applications: the procedure


@router.post("/applications/{reference}/submit", response=ApplicationOut)
def submit(request: HttpRequest, reference: str) -> dict[str, Any]:
    """Submit a complete draft, or resubmit a returned application (422 lists the gaps)."""
    user, application = _application(request, reference)
    actions.submit(application=application, by=user)
    return _detail(user, _fresh(application))


@router.post("/applications/{reference}/withdraw", response=ApplicationOut)
def withdraw(request: HttpRequest, reference: str, payload: ReasonIn) -> dict[str, Any]:
    user, application = _application(request, reference)
    actions.withdraw(application=application, by=user, reason=payload.reason)
    return _detail(user, _fresh(application))


@router.post("/applications/{reference}/terms", response=TermsOut)
def accept_terms(request: HttpRequest, reference: str) -> NamedPerson:
    """A named person accepts the terms of use (needed before any access to data)."""
    user, application = _application(request, reference)
    return actions.accept_terms(application=application, by=user)


@router.post("/applications/{reference}/assign", response=ApplicationOut)
def assign(request: HttpRequest, reference: str, payload: AssignIn) -> dict[str, Any]:
    """A case handler takes the case, or gives it to another handler (by username)."""
    user, application = _application(request, reference)
    handler = user
    # Only handlers learn whether a username exists; anyone else is refused by the action.
    if payload.handler and has_permission(user, Permission.HANDLE_APPLICATIONS):
        handler = User.objects.filter(username=payload.handler).first()
        if handler is None:
            raise ValidationError(
                {"handler": _("%(user)s is not a case handler") % {"user": payload.handler}}
            )
    actions.assign(application=application, by=user, handler=handler)
    return _detail(user, _fresh(application))


@router.post("/applications/{reference}/return", response=ApplicationOut)
def return_application(request: HttpRequest, reference: str, payload: ReturnIn) -> dict[str, Any]:
    """Return the application to the applicant to complete or correct it."""
    user, application = _application(request, reference)
    actions.return_application(application=application, by=user, reasons=payload.reasons)
    return _detail(user, _fresh(application))


@router.post("/applications/{reference}/start-review", response=ApplicationOut)
def start_review(request: HttpRequest, reference: str) -> dict[str, Any]:
    """Accept the application as complete; the holders of its datasets are asked to review."""
    user, application = _application(request, reference)
    actions.start_review(application=application, by=user)
    return _detail(user, _fresh(application))


@router.post("/applications/{reference}/opinion-requests", response={201: OpinionRequestCreatedOut})
def request_opinion(request: HttpRequest, reference: str, payload: OpinionRequestIn) -> Status:
    user, application = _application(request, reference)
    organisation = Organisation.objects.filter(slug=payload.organisation).first()
    if organisation is None:
        raise ValidationError(
            {"organisation": _("no organisation %(name)s") % {"name": repr(payload.organisation)}}
        )
    asked = actions.request_opinion(
        application=application, by=user, organisation=organisation, question=payload.question
    )
    return Status(
        201,
        {
            "organisation": organisation.slug,
            "question": asked.question,
            "requested_at": asked.requested_at,
        },
    )


@router.post("/applications/{reference}/opinions", response={201: OpinionCreatedOut})
def give_opinion(request: HttpRequest, reference: str, payload: OpinionIn) -> Status:
    """A reviewer of an organisation that was asked votes, with reasons (once)."""
    user, application = _application(request, reference)
    organisation = None
    if payload.organisation:
        organisation = Organisation.objects.filter(slug=payload.organisation).first()
        if organisation is None:
            raise ValidationError(
                {
                    "organisation": _("no organisation %(name)s")
                    % {"name": repr(payload.organisation)}
                }
            )
    opinion = actions.give_opinion(
        application=application,
        by=user,
        vote=payload.vote,
        text=payload.text,
        conditions=payload.conditions,
        organisation=organisation,
    )
    return Status(201, {**_opinion(opinion), "organisation": opinion.request.organisation.slug})


@router.post("/applications/{reference}/extend-deadline", response=ApplicationOut)
def extend_deadline(
    request: HttpRequest, reference: str, payload: RequiredReasonIn
) -> dict[str, Any]:
    """Extend the decision deadline once; the reason is sent to the applicant."""
    user, application = _application(request, reference)
    actions.extend_deadline(application=application, by=user, reason=payload.reason)
    return _detail(user, _fresh(application))


@router.post("/applications/{reference}/decide", response={201: DecisionOut})
def decide(request: HttpRequest, reference: str, payload: DecideIn) -> Status:
    """Decide (deciders only). An approval issues the permit, narrowed by ``permit`` if given:
    it never grants more than the application requested."""
    user, application = _application(request, reference)
    terms = payload.permit.model_dump(exclude_unset=True) if payload.permit else None
    actions.decide(
        application=application,
        by=user,
        outcome=payload.outcome,
        reasons=payload.reasons,
        permit=terms,
    )
    return Status(201, _decision(_fresh(application)))


@router.get("/applications/{reference}/snapshots", response=list[SnapshotOut])
def snapshots(request: HttpRequest, reference: str) -> Any:
    """The form as it was at each (re)submission, and what changed (authority and parties)."""
    user, application = _application(request, reference)
    if not (queries.is_authority(user) or queries.is_party(user, application)):
        raise _deny(
            request, user, "snapshots are for the authority, the applicant and named persons"
        )
    return application.snapshots.all()


@router.get("/applications/{reference}/history", response=list[HistoryEventOut])
def history(request: HttpRequest, reference: str) -> list[dict[str, Any]]:
    """The audit events about the application and its permit: all of them for the authority;
    for the applicant, those meant for them (no internal notes, no refused staff actions)."""
    user, application = _application(request, reference)
    if not (queries.is_authority(user) or application.applicant_id == user.pk):
        raise _deny(request, user, "the history is for the authority and the applicant")
    return [
        {
            "seq": e.seq,
            "occurred_at": e.occurred_at,
            "kind": e.kind,
            "actor": e.actor_label,
            "details": e.details,
        }
        for e in queries.history_for(user, application)
    ]


# ---------------------------------------------------------------------------------------------
# Permits


@router.get("/permits", response=PermitPageOut)
def list_permits(
    request: HttpRequest,
    state: str = Query("", description="Only permits in this state."),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    """The permits of the applications visible to the caller, newest first."""
    queryset = queries.visible_permits(_user(request))
    if state:
        if state not in {s.value for s in PermitState}:
            raise ValidationError(
                {"state": _("use one of %(values)s") % {"values": ", ".join(PermitState)}}
            )
        queryset = queryset.filter(state=state)
    count, items = _page(queryset.order_by("-issued_at", "-pk"), limit, offset)
    return {
        "count": count,
        "limit": limit,
        "offset": offset,
        "items": [
            {
                "number": p.number,
                "version": p.version,
                "state": p.state,
                "application": p.application.reference,
                "holder_organisation": p.organisation.name,
                "starts_on": p.starts_on,
                "ends_on": p.ends_on,
            }
            for p in items
        ],
    }


@router.get("/permits/{number}", response=PermitOut)
def get_permit(request: HttpRequest, number: str) -> dict[str, Any]:
    """The machine-readable permit, what the caller may do with it, and every version."""
    user, permit = _permit(request, number)
    return _permit_detail(user, permit)


def _permit_again(user: Any, permit: Permit) -> dict[str, Any]:
    return _permit_detail(user, Permit.objects.select_related("application").get(pk=permit.pk))


@router.post("/permits/{number}/amend", response=PermitOut)
def amend_permit(request: HttpRequest, number: str, payload: AmendIn) -> dict[str, Any]:
    """A new version: datasets (within the request), conditions or output rules."""
    user, permit = _permit(request, number)
    actions.amend_permit(permit=permit, by=user, **payload.model_dump(exclude_unset=True))
    return _permit_again(user, permit)


@router.post("/permits/{number}/extend", response=PermitOut)
def extend_permit(request: HttpRequest, number: str, payload: ExtendPermitIn) -> dict[str, Any]:
    user, permit = _permit(request, number)
    actions.extend_permit(permit=permit, by=user, ends_on=payload.ends_on, reason=payload.reason)
    return _permit_again(user, permit)


@router.post("/permits/{number}/revoke", response=PermitOut)
def revoke_permit(request: HttpRequest, number: str, payload: RequiredReasonIn) -> dict[str, Any]:
    user, permit = _permit(request, number)
    actions.revoke_permit(permit=permit, by=user, reason=payload.reason)
    return _permit_again(user, permit)


@router.post("/permits/{number}/close", response=PermitOut)
def close_permit(request: HttpRequest, number: str, payload: ReasonIn) -> dict[str, Any]:
    user, permit = _permit(request, number)
    actions.close_permit(permit=permit, by=user, reason=payload.reason)
    return _permit_again(user, permit)


@router.post("/permits/{number}/workspace", response=WorkspaceOut)
def open_workspace(request: HttpRequest, number: str) -> dict[str, Any]:
    """Enter the project's workspace: 200 when the caller may work with the data now, 403 with
    the reason otherwise (e.g. the terms of use are not accepted yet)."""
    user, permit = _permit(request, number)
    actions.open_workspace(permit=permit, by=user)
    return {"granted": True, "permit": permit.number, "version": permit.version}
