"""Typed audit events: every kind has a description (tested) shown in the audit log."""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    """The kinds of audit event. Add a description in DESCRIPTIONS for every new kind."""

    USER_LOGGED_IN = "user.logged_in"
    USER_LOGIN_FAILED = "user.login_failed"
    USER_LOGGED_OUT = "user.logged_out"
    ORGANISATION_CREATED = "organisation.created"
    ROLE_GRANTED = "role.granted"
    ROLE_REVOKED = "role.revoked"
    API_TOKEN_CREATED = "api_token.created"  # noqa: S105
    API_TOKEN_REVOKED = "api_token.revoked"  # noqa: S105
    ACCESS_DENIED = "access.denied"
    DATAFILE_REGISTERED = "datafile.registered"
    DEMO_SEEDED = "demo.seeded"
    AUDIT_VERIFIED = "audit.verified"
    TASK_FINISHED = "task.finished"
    DATASET_CREATED = "dataset.created"
    DATASET_UPDATED = "dataset.updated"
    DICTIONARY_SET = "dataset.dictionary_set"
    DATASET_PUBLISHED = "dataset.published"
    DATASET_PUBLICATION_REFUSED = "dataset.publication_refused"
    DATASET_WITHDRAWN = "dataset.withdrawn"
    DATASET_VERSION_UPLOADED = "dataset.version_uploaded"
    DATASET_UPLOAD_REJECTED = "dataset.upload_rejected"
    DATA_PRODUCT_REGISTERED = "data_product.registered"
    HARVEST_RUN = "harvest.run"
    HARVEST_SOURCE_REGISTERED = "harvest.source_registered"


DESCRIPTIONS: dict[EventKind, str] = {
    EventKind.USER_LOGGED_IN: "A user signed in to the web application.",
    EventKind.USER_LOGIN_FAILED: "A sign-in attempt failed (the username tried is recorded).",
    EventKind.USER_LOGGED_OUT: "A user signed out.",
    EventKind.ORGANISATION_CREATED: "An organisation was registered on the platform.",
    EventKind.ROLE_GRANTED: "A user was given a role in an organisation.",
    EventKind.ROLE_REVOKED: "A user's role in an organisation was withdrawn.",
    EventKind.API_TOKEN_CREATED: "A user created an API token (its secret is never stored).",
    EventKind.API_TOKEN_REVOKED: "An API token was revoked.",
    EventKind.ACCESS_DENIED: "A request was refused for lack of permission.",
    EventKind.DATAFILE_REGISTERED: "A data file was stored and registered to its holder.",
    EventKind.DEMO_SEEDED: "The demonstration data were created.",
    EventKind.AUDIT_VERIFIED: "The audit chain was verified (the outcome is recorded).",
    EventKind.TASK_FINISHED: "A background task finished (successfully or not).",
    EventKind.DATASET_CREATED: "A steward created a dataset record (a persistent identifier was given).",
    EventKind.DATASET_UPDATED: "A steward changed a dataset's metadata (the changed fields are listed).",
    EventKind.DICTIONARY_SET: "A steward replaced a dataset's data dictionary.",
    EventKind.DATASET_PUBLISHED: "A dataset record passed the DCAT-AP checks and was published.",
    EventKind.DATASET_PUBLICATION_REFUSED: "Publication was refused: the record violates DCAT-AP shapes.",
    EventKind.DATASET_WITHDRAWN: "A dataset was withdrawn from the catalogue.",
    EventKind.DATASET_VERSION_UPLOADED: "A new version of a dataset's data was validated and stored.",
    EventKind.DATASET_UPLOAD_REJECTED: "An upload failed validation; nothing was stored.",
    EventKind.DATA_PRODUCT_REGISTERED: "A data product (code, algorithm, result) was registered.",
    EventKind.HARVEST_RUN: "A remote catalogue was harvested (counts of created/updated/withdrawn).",
    EventKind.HARVEST_SOURCE_REGISTERED: "An operator registered a remote catalogue to harvest.",
}
