"""The applicant's side: drafts, requested datasets, named persons, attachments, comments, terms."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from datalux.access.actions import conflicts
from datalux.access.actions.common import (
    Text,
    audited_refusals,
    lock,
    notify,
    parse_date,
    require,
    require_applicant,
)
from datalux.access.filters import check_filters
from datalux.access.models import (
    FORM_FIELDS,
    Application,
    ApplicationDataset,
    Attachment,
    Comment,
    NamedPerson,
    Procedure,
)
from datalux.access.states import ApplicationAction, ApplicationState, check_application
from datalux.access.vocabularies import (
    ATTACHMENT_MAX_BYTES,
    ATTACHMENT_TYPES,
    TERMS_VERSION,
    AttachmentKind,
    DataForm,
    LegalBasisArt6,
    LegalBasisArt9,
    PurposeCategory,
)
from datalux.accounts.models import Organisation, User
from datalux.accounts.permissions import has_permission
from datalux.accounts.roles import Permission
from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.catalogue.models import Dataset, DatasetStatus
from datalux.catalogue.vocabularies import AccessRights
from datalux.core.edit_versions import fields_to_write, version_token
from datalux.dataplane.storage import atomic_output

CHOICE_FIELDS = {
    "purpose_category": PurposeCategory,
    "data_form": DataForm,
    "legal_basis_art6": LegalBasisArt6,
    "legal_basis_art9": LegalBasisArt9,
}
BOOL_FIELDS = {"linkage_needed", "special_categories", "commercial_involvement"}


def default_procedure() -> Procedure:
    procedure = Procedure.objects.filter(is_default=True).first()
    if procedure is None:
        procedure, _created = Procedure.objects.get_or_create(
            slug="dga",
            defaults={
                "name": "Data Governance Act re-use of protected data",
                "legal_reference": "Regulation (EU) 2022/868, Art. 9",
                "decision_months": 2,
                "extension_days": 30,
                "reminder_days": [14, 3],
                "redress": "You may ask the data authority to reconsider within one month, and "
                "appeal to the administrative tribunal within three months of notification.",
                "is_default": True,
            },
        )
    return procedure


def _check_fields(fields: dict[str, Any]) -> None:
    unknown = sorted(set(fields) - set(FORM_FIELDS))
    errors: dict[str, str] = {
        k: _("this field is not part of the application form") for k in unknown
    }
    for name, choices in CHOICE_FIELDS.items():
        value = fields.get(name)
        if value not in (None, "") and value not in choices.values:
            errors[name] = _("use one of %(choices)s") % {
                "choices": ", ".join(v for v in choices.values if v)
            }
    for name in BOOL_FIELDS & set(fields):
        if not isinstance(fields[name], bool):
            errors[name] = _("answer true or false")
    months = fields.get("requested_months")
    if months is not None and (not isinstance(months, int) or not 1 <= months <= 120):
        errors["requested_months"] = _("give a whole number of months between 1 and 120")
    title = fields.get("title")
    if title is not None and (not isinstance(title, str) or len(title) > 300):
        errors["title"] = _("give a title of at most 300 characters")
    if errors:
        raise ValidationError(errors)


@audited_refusals("create_application")
def create_application(
    *,
    by: User,
    organisation: Organisation,
    title: str,
    procedure: Procedure | None = None,
    **fields: Any,
) -> Application:
    """A new draft of ``by`` on behalf of ``organisation`` (where ``by`` is an applicant)."""
    require(
        by,
        Permission.SUBMIT_APPLICATIONS,
        organisation,
        why=_("you are not an applicant of %(organisation)s") % {"organisation": organisation},
    )
    _check_fields({"title": title, **fields})
    if not title.strip():
        raise ValidationError({"title": _("give the project a title")})
    with transaction.atomic():
        application = Application.objects.create(
            reference=f"tmp-{uuid.uuid4().hex[:14]}",
            procedure=procedure or default_procedure(),
            applicant=by,
            organisation=organisation,
            title=title.strip(),
            **fields,
        )
        application.reference = f"DLX-A-{application.created_at.year}-{application.pk:05d}"
        application.save(update_fields=["reference"])
        record(
            EventKind.APPLICATION_CREATED,
            actor=by,
            organisation=organisation,
            obj=application,
            details={"reference": application.reference},
        )
    return application


def _editable(application: Application) -> None:
    check_application(application.state, ApplicationAction.EDIT)


def form_values(application: Application) -> dict[str, Any]:
    """The application's form fields, as the version token of an edit form covers them."""
    return {name: getattr(application, name) for name in FORM_FIELDS}


def form_version(application: Application) -> str:
    """The version token for the edit form (see ``core/edit_versions.py``)."""
    return version_token(form_values(application))


@audited_refusals("update_application")
def update_application(
    *, application: Application, by: User, expected_version: str | None = None, **fields: Any
) -> Application:
    """Change form fields of a draft or returned application (changed fields are audited).

    With the ``expected_version`` token the form was shown with, fields somebody else changed
    since are kept unless this edit changed them too: then EditConflict names them and nothing
    is saved.
    """
    require_applicant(by, application)
    _check_fields(fields)
    with transaction.atomic():
        lock(application)
        _editable(application)
        write = fields_to_write(expected_version, form_values(application), fields)
        fields = {k: v for k, v in fields.items() if k in write}
        changed = sorted(k for k, v in fields.items() if getattr(application, k) != v)
        for key, value in fields.items():
            setattr(application, key, value.strip() if isinstance(value, str) else value)
        application.updated_at = timezone.now()
        application.save()
        if changed:
            record(
                EventKind.APPLICATION_UPDATED,
                actor=by,
                organisation=application.organisation,
                obj=application,
                details={"changed": changed},
            )
    return application


@audited_refusals("request_dataset")
def request_dataset(
    *,
    application: Application,
    by: User,
    dataset: Dataset,
    variables: list[str],
    time_start: Any = None,
    time_end: Any = None,
    filters: Any = None,
    population: str = "",
) -> ApplicationDataset:
    """Add a dataset to the application (or replace its request): variables from its dictionary."""
    require_applicant(by, application)
    if dataset.status != DatasetStatus.PUBLISHED:
        raise ValidationError(
            {"dataset": _("%(pid)s is not published in the catalogue") % {"pid": dataset.pid}}
        )
    if dataset.access_rights == AccessRights.PUBLIC:
        raise ValidationError(
            {
                "dataset": _(
                    "%(pid)s is open data: download it from the catalogue, no permit needed"
                )
                % {"pid": dataset.pid}
            }
        )
    known = set(dataset.variables.values_list("name", flat=True))
    if not known:
        raise ValidationError(
            {"dataset": _("%(pid)s has no data dictionary yet") % {"pid": dataset.pid}}
        )
    unknown = sorted(set(variables) - known)
    if unknown:
        raise ValidationError(
            {
                "variables": _("not in the dictionary of %(pid)s: %(unknown)s")
                % {"pid": dataset.pid, "unknown": ", ".join(unknown)}
            }
        )
    start, end = parse_date(time_start, "time_start"), parse_date(time_end, "time_end")
    if start and end and start > end:
        raise ValidationError({"time_end": _("the period ends before it starts")})
    clean_filters = check_filters(dataset, filters)
    with transaction.atomic():
        lock(application)
        _editable(application)
        item, _created = ApplicationDataset.objects.update_or_create(
            application=application,
            dataset=dataset,
            defaults={
                "variables": sorted(set(variables)),
                "time_start": start,
                "time_end": end,
                "filters": clean_filters,
                "population": population.strip(),
            },
        )
        _touch(application, by, [f"datasets.{dataset.pid}"])
    return item


@audited_refusals("remove_dataset")
def remove_dataset(*, application: Application, by: User, dataset: Dataset) -> None:
    require_applicant(by, application)
    with transaction.atomic():
        lock(application)
        _editable(application)
        deleted, _counts = ApplicationDataset.objects.filter(
            application=application, dataset=dataset
        ).delete()
        if not deleted:
            raise ValidationError(
                {"dataset": _("%(pid)s is not part of this application") % {"pid": dataset.pid}}
            )
        _touch(application, by, [f"datasets.{dataset.pid}"])


def _touch(application: Application, by: User, changed: list[str]) -> None:
    application.updated_at = timezone.now()
    application.save(update_fields=["updated_at"])
    record(
        EventKind.APPLICATION_UPDATED,
        actor=by,
        organisation=application.organisation,
        obj=application,
        details={"changed": changed},
    )


@audited_refusals("add_named_person")
def add_named_person(
    *, application: Application, by: User, name: str, email: str, role_in_project: str = ""
) -> NamedPerson:
    """Name a person who will access the data; linked to their account when one exists.

    Staff of the data authority cannot be named (``conflicts.require_nameable``)."""
    require_applicant(by, application)
    email = email.strip()
    if "@" not in email or not name.strip():
        raise ValidationError({"email": _("give the person's name and e-mail address")})
    conflicts.require_nameable(email)
    with transaction.atomic():
        lock(application)
        _editable(application)
        if application.named_persons.filter(email__iexact=email).exists():
            raise ValidationError({"email": _("%(email)s is already named") % {"email": email}})
        user = User.objects.filter(email__iexact=email, is_active=True).first()
        person = NamedPerson.objects.create(
            application=application,
            user=user,
            name=name.strip(),
            email=email,
            role_in_project=role_in_project.strip(),
        )
        _touch(application, by, ["named_persons"])
    if user is not None and user.pk != by.pk:
        notify(
            [user],
            subject=Text(gettext_lazy("You are named on %(ref)s"), {"ref": application.reference}),
            body=Text(
                gettext_lazy(
                    "%(user)s named you on the application “%(title)s”. "
                    "You must accept the terms of use before you can access any data."
                ),
                {"user": by.get_username(), "title": application.title},
            ),
            application=application,
        )
    return person


@audited_refusals("remove_named_person")
def remove_named_person(*, application: Application, by: User, person: NamedPerson) -> None:
    require_applicant(by, application)
    if person.application_id != application.pk:
        raise ValidationError({"person": _("this person is not named on this application")})
    with transaction.atomic():
        lock(application)
        _editable(application)
        person.delete()
        _touch(application, by, ["named_persons"])


def _sniff(name: str, head: bytes) -> str:
    suffix = Path(name).suffix.lower()
    if suffix not in ATTACHMENT_TYPES:
        accepted = ", ".join(sorted(ATTACHMENT_TYPES))
        raise ValidationError(
            {
                "file": (
                    _("%(suffix)s not accepted; attach one of %(accepted)s")
                    % {"suffix": suffix, "accepted": accepted}
                    if suffix
                    else _("files without an extension not accepted; attach one of %(accepted)s")
                    % {"accepted": accepted}
                )
            }
        )
    media_type, magic = ATTACHMENT_TYPES[suffix]
    if magic is None:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # not a multi-byte character cut at the end
                raise ValidationError(
                    {"file": _("%(name)s is not UTF-8 text") % {"name": name}}
                ) from None
    elif not head.startswith(magic):
        raise ValidationError(
            {
                "file": _("%(name)s does not look like a %(suffix)s file (its content differs)")
                % {"name": name, "suffix": suffix}
            }
        )
    return media_type


@audited_refusals("add_attachment")
def add_attachment(
    *,
    application: Application,
    by: User,
    name: str,
    content: Any,
    kind: str = "other",
    received_bytes: int | None = None,
) -> Attachment:
    """Store a file (size- and type-checked, content sniffed) under the storage root.

    ``received_bytes``: what the web server had received when it stopped reading an upload
    that passed the limit (the content is then not there to read)."""
    require_applicant(by, application)
    if kind not in AttachmentKind.values:
        raise ValidationError(
            {"kind": _("use one of %(kinds)s") % {"kinds": ", ".join(AttachmentKind.values)}}
        )
    too_large = received_bytes is not None and received_bytes > ATTACHMENT_MAX_BYTES
    data = (
        b""
        if too_large
        else (content if isinstance(content, bytes) else content.read(ATTACHMENT_MAX_BYTES + 1))
    )
    if too_large or len(data) > ATTACHMENT_MAX_BYTES:
        raise ValidationError(
            {
                "file": _("the file is larger than %(mb)d MB")
                % {"mb": ATTACHMENT_MAX_BYTES // (1024 * 1024)}
            }
        )
    if not data:
        raise ValidationError({"file": _("the file is empty")})
    clean_name = Path(name).name[:200] or "attachment"
    media_type = _sniff(clean_name, data[:4096])
    digest = hashlib.sha256(data).hexdigest()
    with transaction.atomic():
        lock(application)
        _editable(application)
        relative = (
            Path("attachments")
            / application.reference
            / f"{digest}{Path(clean_name).suffix.lower()}"
        )
        target = Path(settings.DATALUX_STORAGE) / relative
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            with atomic_output(target) as tmp:
                Path(tmp).write_bytes(data)
        attachment = Attachment.objects.create(
            application=application,
            kind=kind,
            name=clean_name,
            media_type=media_type,
            size=len(data),
            sha256=digest,
            path=str(relative),
            uploaded_by=by,
        )
        record(
            EventKind.ATTACHMENT_ADDED,
            actor=by,
            organisation=application.organisation,
            obj=application,
            details={"name": clean_name, "sha256": digest, "size": len(data)},
        )
    return attachment


def can_comment(user: Any, application: Application) -> bool:
    if application.applicant_id == getattr(user, "pk", None):
        return True
    if has_permission(user, Permission.ASSIST_APPLICANTS):
        return True
    if application.state == ApplicationState.DRAFT:
        return False
    if has_permission(user, Permission.HANDLE_APPLICATIONS) or has_permission(
        user, Permission.DECIDE_APPLICATIONS
    ):
        return True
    return any(
        has_permission(user, Permission.REVIEW_APPLICATIONS, request)
        for request in application.opinion_requests.all()
    )


@audited_refusals("comment")
def comment(
    *, application: Application, by: User, body: str, field: str = "", internal: bool = False
) -> Comment:
    """A comment on an application. Assistants comment without deciding; authority staff may
    leave internal notes that applicants do not see."""
    if not can_comment(by, application):
        raise PermissionDenied(_("you cannot comment on this application"))
    if application.applicant_id != by.pk:
        conflicts.require_no_conflict(by, application)
    if internal and application.applicant_id == by.pk:
        raise ValidationError({"internal": _("applicants cannot leave internal notes")})
    if not body.strip():
        raise ValidationError({"body": _("write something")})
    if application.state == ApplicationState.WITHDRAWN:
        raise ValidationError({"body": _("the application was withdrawn")})
    with transaction.atomic():
        note = Comment.objects.create(
            application=application, author=by, body=body.strip(), field=field, internal=internal
        )
        record(
            EventKind.APPLICATION_COMMENTED,
            actor=by,
            obj=application,
            details={"comment": note.pk, "field": field, "internal": internal},
        )
    if not internal and by.pk != application.applicant_id:
        notify(
            [application.applicant],
            subject=Text(gettext_lazy("New comment on %(ref)s"), {"ref": application.reference}),
            body=Text(
                gettext_lazy("%(user)s commented on “%(field)s”:\n\n%(body)s")
                if field
                else gettext_lazy("%(user)s commented:\n\n%(body)s"),
                {"user": by.get_username(), "field": field, "body": body.strip()},
            ),
            application=application,
        )
    return note


@audited_refusals("accept_terms")
def accept_terms(*, application: Application, by: User) -> NamedPerson:
    """A named person accepts the terms of use (required before any access to data)."""
    person = application.named_persons.filter(user=by).first() or (
        application.named_persons.filter(email__iexact=by.email, user__isnull=True).first()
        if by.email
        else None
    )
    if person is None:
        raise PermissionDenied(
            _("you are not named on %(reference)s") % {"reference": application.reference}
        )
    if application.state in (ApplicationState.WITHDRAWN, ApplicationState.REJECTED):
        raise ValidationError(
            {"terms": _("the application is %(state)s") % {"state": application.state}}
        )
    if person.terms_accepted_at and person.terms_version == TERMS_VERSION:
        return person
    with transaction.atomic():
        person.user = by
        person.terms_accepted_at = timezone.now()
        person.terms_version = TERMS_VERSION
        person.save(update_fields=["user", "terms_accepted_at", "terms_version"])
        record(
            EventKind.TERMS_ACCEPTED,
            actor=by,
            obj=application,
            details={"terms_version": TERMS_VERSION},
        )
    return person


__all__ = [
    "accept_terms",
    "add_attachment",
    "add_named_person",
    "can_comment",
    "comment",
    "create_application",
    "remove_dataset",
    "remove_named_person",
    "request_dataset",
    "update_application",
]
