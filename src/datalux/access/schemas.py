"""Request and response bodies of the data authority's JSON API (``datalux.access.api``).

Request bodies forbid unknown keys, so a misspelt field is a 422, never silently dropped.
Values with rules (choices, word counts, variables of a dictionary) are checked by the actions,
which answer with a message per field.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict


class In(Schema):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------------------------------------
# Requests


class FormIn(In):
    """The application form (schema 1.0). PATCH changes only the fields sent."""

    title: str = Field("", description="At most 300 characters.")
    purpose_category: str = Field("", description="One of the purpose categories.")
    purpose_description: str = ""
    expected_benefit: str = ""
    lay_summary: str = Field("", description="Published in the register if approved.")
    data_form: str = Field("", description="anonymised, pseudonymised or aggregate.")
    pseudonymised_justification: str = ""
    linkage_needed: bool = False
    linkage_description: str = ""
    legal_basis_art6: str = Field("", description="GDPR Art. 6(1) basis, e.g. 6.1.e.")
    legal_basis_art9: str = Field("", description="GDPR Art. 9(2) exemption, e.g. 9.2.j.")
    special_categories: bool = False
    ethics_reference: str = ""
    funding: str = ""
    commercial_involvement: bool = False
    commercial_description: str = ""
    safeguards: str = ""
    requested_months: int | None = None
    processing_tools: str = ""
    processing_compute: str = ""


class ApplicationIn(FormIn):
    title: str = Field(description="The project's title (at most 300 characters).")
    organisation: str | int | None = Field(
        None,
        description="Slug or id of the organisation applying; optional when the caller is an "
        "applicant of one organisation only.",
    )
    procedure: str = Field("", description="Slug of the legal procedure; the default if empty.")


class DatasetRequestIn(In):
    variables: list[str] = Field(description="Names from the dataset's data dictionary.")
    time_start: date | None = None
    time_end: date | None = None
    filters: list[dict[str, Any]] = Field(
        default_factory=list,
        description='Row filters, e.g. [{"variable": "age", "op": ">=", "value": 18}].',
    )
    population: str = Field("", description="The population in words.")


class PersonIn(In):
    name: str
    email: str
    role_in_project: str = ""


class CommentIn(In):
    body: str
    field: str = Field("", description="The form field the comment is about, if any.")
    internal: bool = Field(False, description="An authority-only note (never for applicants).")


class ReasonIn(In):
    reason: str = ""


class RequiredReasonIn(In):
    reason: str


class ReturnIn(In):
    reasons: str = Field(description="What the applicant must complete or correct.")


class AssignIn(In):
    handler: str = Field("", description="Username of the case handler; the caller if empty.")


class OpinionRequestIn(In):
    organisation: str = Field(description="Slug of a data holder or committee.")
    question: str = ""


class OpinionIn(In):
    vote: str = Field(description="favourable, favourable_with_conditions, unfavourable, abstain.")
    text: str = Field(description="The reasons for the vote.")
    conditions: list[str] = Field(default_factory=list, description="Suggested condition codes.")
    organisation: str = Field("", description="Slug of the organisation voting, if several.")


class PermitDatasetIn(In):
    """One dataset of the permit: the same as requested or narrower; keys left out keep the
    request's value."""

    variables: list[str] = Field(default_factory=list)
    time_start: date | None = None
    time_end: date | None = None
    filters: list[dict[str, Any]] = Field(default_factory=list)


class PermitTermsIn(In):
    starts_on: date | None = None
    ends_on: date | None = None
    datasets: dict[str, PermitDatasetIn] | None = Field(
        None, description="By dataset pid; every requested dataset as requested if left out."
    )
    conditions: list[str | dict[str, Any]] = Field(
        default_factory=list,
        description='Standard condition codes or {"kind": obligation|prohibition|permission, '
        '"text": ...}.',
    )
    output_rules: dict[str, Any] | None = None


class DecideIn(In):
    outcome: str = Field(description="approved, approved_with_conditions or rejected.")
    reasons: str
    permit: PermitTermsIn | None = None


class AmendIn(In):
    reason: str
    datasets: dict[str, PermitDatasetIn] | None = None
    conditions: list[str | dict[str, Any]] | None = None
    output_rules: dict[str, Any] | None = None


class ExtendPermitIn(In):
    ends_on: date
    reason: str


# ---------------------------------------------------------------------------------------------
# Responses


class GapOut(Schema):
    field: str
    message: str


class ClockOut(Schema):
    received_at: datetime | None
    complete_at: datetime | None
    decided_at: datetime | None
    deadline: datetime | None
    extended_days: int
    extension_reason: str
    status: str
    days_left: int | None
    overdue: bool


class ApplicationSummaryOut(Schema):
    reference: str
    title: str
    state: str
    organisation: str
    organisation_name: str
    applicant: str
    handler: str | None
    created_at: datetime
    updated_at: datetime
    received_at: datetime | None
    deadline: datetime | None


class ApplicationPageOut(Schema):
    count: int
    limit: int
    offset: int
    items: list[ApplicationSummaryOut]


class FormOut(Schema):
    title: str
    purpose_category: str
    purpose_description: str
    expected_benefit: str
    lay_summary: str
    data_form: str
    pseudonymised_justification: str
    linkage_needed: bool
    linkage_description: str
    legal_basis_art6: str
    legal_basis_art9: str
    special_categories: bool
    ethics_reference: str
    funding: str
    commercial_involvement: bool
    commercial_description: str
    safeguards: str
    requested_months: int | None
    processing_tools: str
    processing_compute: str


class RequestedDatasetOut(Schema):
    dataset: str
    title: str
    holder: str
    variables: list[str]
    time_start: date | None
    time_end: date | None
    filters: list[dict[str, Any]]
    population: str


class PersonOut(Schema):
    id: int
    name: str
    email: str | None = Field(
        description="Shown to the applicant, named persons and the authority."
    )
    role_in_project: str
    terms_accepted: bool
    terms_accepted_at: datetime | None
    terms_version: str


class AttachmentOut(Schema):
    id: int
    kind: str
    name: str
    media_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime


class OpinionOut(Schema):
    reviewer: str
    vote: str
    text: str
    conditions: list[str]
    created_at: datetime


class OpinionRequestOut(Schema):
    organisation: str
    organisation_name: str
    question: str
    requested_at: datetime
    opinions: list[OpinionOut] | None = Field(
        description="Only for the authority and the reviewers asked; null for others."
    )


class DecisionOut(Schema):
    outcome: str
    reasons: str
    redress: str
    decided_by: str
    decided_at: datetime
    permit: str | None


class ApplicationOut(ApplicationSummaryOut):
    procedure: str
    schema_version: str
    form: FormOut
    datasets: list[RequestedDatasetOut]
    named_persons: list[PersonOut]
    attachments: list[AttachmentOut]
    opinion_requests: list[OpinionRequestOut]
    clock: ClockOut
    submissions: int
    returns: int
    last_changes: list[str] = Field(description="Fields changed at the last resubmission.")
    allowed_actions: list[str] = Field(description="What the caller may do now.")
    decision: DecisionOut | None
    permit: str | None


class CommentOut(Schema):
    id: int
    author: str
    body: str
    field: str
    internal: bool
    created_at: datetime


class SnapshotOut(Schema):
    number: int
    schema_version: str
    created_at: datetime
    changed: list[str]
    data: dict[str, Any]


class HistoryEventOut(Schema):
    seq: int
    occurred_at: datetime
    kind: str
    actor: str
    details: dict[str, Any]


class OpinionRequestCreatedOut(Schema):
    organisation: str
    question: str
    requested_at: datetime


class OpinionCreatedOut(OpinionOut):
    organisation: str


class TermsOut(Schema):
    name: str
    terms_accepted_at: datetime
    terms_version: str


class PermitSummaryOut(Schema):
    number: str
    version: int
    state: str
    application: str
    holder_organisation: str
    starts_on: date
    ends_on: date


class PermitPageOut(Schema):
    count: int
    limit: int
    offset: int
    items: list[PermitSummaryOut]


class AuthorisedPersonOut(Schema):
    name: str
    email: str | None
    terms_accepted: bool


class ConditionOut(Schema):
    kind: str
    code: str
    text: str


class PermitSpecOut(Schema):
    """The machine-readable permit (``Permit.spec()``): the SPE prepares exactly this."""

    permit: str
    version: int
    state: str
    application: str
    holder_organisation: str
    authorised_persons: list[AuthorisedPersonOut]
    purpose: str
    form: str
    linkage: bool
    starts_on: date
    ends_on: date
    datasets: list[dict[str, Any]]
    conditions: list[ConditionOut]
    output_rules: dict[str, Any]
    decided_by: str
    reasons: str
    redress: str


class PermitVersionOut(Schema):
    version: int
    change: str
    reason: str
    by: str
    created_at: datetime
    spec: PermitSpecOut


class PermitOut(PermitSpecOut):
    allowed_actions: list[str]
    versions: list[PermitVersionOut]


class WorkspaceOut(Schema):
    granted: bool
    permit: str
    version: int
