"""Typed audit events: every kind has a description (tested) shown in the audit log."""

from __future__ import annotations

from enum import StrEnum

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class EventKind(StrEnum):
    """The kinds of audit event. Add a description in DESCRIPTIONS for every new kind."""

    USER_LOGGED_IN = "user.logged_in"
    USER_LOGIN_FAILED = "user.login_failed"
    USER_LOGGED_OUT = "user.logged_out"
    USER_LOCKED_OUT = "user.locked_out"
    USER_LOCKOUT_RESET = "user.lockout_reset"
    SECOND_FACTOR_ENROLLED = "user.second_factor_enrolled"
    SECOND_FACTOR_REMOVED = "user.second_factor_removed"
    SECOND_FACTOR_FAILED = "user.second_factor_failed"
    SECOND_FACTOR_RESET = "user.second_factor_reset"
    ORGANISATION_CREATED = "organisation.created"
    ROLE_GRANTED = "role.granted"
    ROLE_REVOKED = "role.revoked"
    API_TOKEN_CREATED = "api_token.created"  # noqa: S105
    API_TOKEN_REVOKED = "api_token.revoked"  # noqa: S105
    ACCESS_DENIED = "access.denied"
    DATAFILE_REGISTERED = "datafile.registered"
    DEMO_SEEDED = "demo.seeded"
    AUDIT_VERIFIED = "audit.verified"
    AUDIT_CHECKPOINT_WRITTEN = "audit.checkpoint_written"
    AUDIT_CHECKPOINT_REFUSED = "audit.checkpoint_refused"
    TASK_FINISHED = "task.finished"
    DATASET_CREATED = "dataset.created"
    DATASET_UPDATED = "dataset.updated"
    DICTIONARY_SET = "dataset.dictionary_set"
    DATASET_PUBLISHED = "dataset.published"
    DATASET_PUBLICATION_REFUSED = "dataset.publication_refused"
    DATASET_WITHDRAWN = "dataset.withdrawn"
    DATASET_VERSION_UPLOADED = "dataset.version_uploaded"
    DATASET_UPLOAD_REJECTED = "dataset.upload_rejected"
    DISTRIBUTION_DOWNLOADED = "distribution.downloaded"
    DATA_PRODUCT_REGISTERED = "data_product.registered"
    HARVEST_RUN = "harvest.run"
    HARVEST_SOURCE_REGISTERED = "harvest.source_registered"
    HARVEST_SOURCE_CHANGED = "harvest.source_changed"
    HARVEST_SOURCE_REMOVED = "harvest.source_removed"
    HARVEST_RUN_CONFIRMED = "harvest.run_confirmed"
    HARVEST_RUN_DISCARDED = "harvest.run_discarded"
    APPLICATION_CREATED = "application.created"
    APPLICATION_UPDATED = "application.updated"
    APPLICATION_SUBMITTED = "application.submitted"
    APPLICATION_RETURNED = "application.returned"
    APPLICATION_RESUBMITTED = "application.resubmitted"
    APPLICATION_ASSIGNED = "application.assigned"
    APPLICATION_REVIEW_STARTED = "application.review_started"
    APPLICATION_COMMENTED = "application.commented"
    APPLICATION_DEADLINE_EXTENDED = "application.deadline_extended"
    APPLICATION_DEADLINE_REMINDER = "application.deadline_reminder"
    APPLICATION_DECIDED = "application.decided"
    APPLICATION_WITHDRAWN = "application.withdrawn"
    APPLICATION_ACTION_REFUSED = "application.action_refused"
    ATTACHMENT_ADDED = "application.attachment_added"
    ATTACHMENT_DOWNLOADED = "application.attachment_downloaded"
    OPINION_REQUESTED = "application.opinion_requested"
    OPINION_GIVEN = "application.opinion_given"
    TERMS_ACCEPTED = "application.terms_accepted"
    ACCOUNTABILITY_EXPORTED = "accountability.exported"
    PERMIT_ISSUED = "permit.issued"
    PERMIT_AMENDED = "permit.amended"
    PERMIT_EXTENDED = "permit.extended"
    PERMIT_REVOKED = "permit.revoked"
    PERMIT_EXPIRED = "permit.expired"
    PERMIT_CLOSED = "permit.closed"
    PERMIT_PUBLICATION_REMINDED = "permit.publication_reminded"
    EXTRACT_PREPARED = "extract.prepared"
    CITIZEN_USES_RECORDED = "citizen.uses_recorded"
    EXTRACT_REFUSED = "extract.refused"
    EXTRACT_REQUESTED = "extract.requested"
    EXTRACT_STEP = "extract.step"
    EXTRACT_FAILED = "extract.failed"
    EXTRACT_LOCKED = "extract.locked"
    EXTRACT_DELETED = "extract.deleted"
    PROJECT_KEY_SHREDDED = "project_key.shredded"
    PERMIT_ACCESS_GRANTED = "permit.access_granted"
    WORKSPACE_OPENED = "workspace.opened"
    WORKSPACE_LOCKED = "workspace.locked"
    WORKSPACE_DELETED = "workspace.deleted"
    WORKSPACE_FILE_VIEWED = "workspace.file_viewed"
    WORKSPACE_QUERY_RUN = "workspace.query_run"
    WORKSPACE_QUERY_SAVED = "workspace.query_saved"
    CODE_SUBMITTED = "workspace.code_submitted"
    CODE_REFUSED = "workspace.code_refused"
    DUMMY_GENERATED = "workspace.dummy_generated"
    DUMMY_DOWNLOADED = "workspace.dummy_downloaded"
    JOB_REQUESTED = "job.requested"
    JOB_STARTED = "job.started"
    JOB_FINISHED = "job.finished"
    JOB_CANCELLED = "job.cancelled"
    JOB_REQUEUED = "job.requeued"
    RELEASE_CREATED = "release.created"
    RELEASE_EDITED = "release.edited"
    RELEASE_SUBMITTED = "release.submitted"
    RELEASE_REFUSED = "release.refused"
    RELEASE_REVIEWED = "release.reviewed"
    RELEASE_CONSOLIDATED = "release.consolidated"
    RELEASE_RETURNED = "release.returned"
    RELEASE_APPROVED = "release.approved"
    RELEASE_REJECTED = "release.rejected"
    RELEASE_WITHDRAWN = "release.withdrawn"
    RELEASE_RELEASED = "release.released"
    RELEASE_FILE_VIEWED = "release.file_viewed"
    RELEASE_FILE_DOWNLOADED = "release.file_downloaded"
    RELEASE_PUBLISHED = "release.published"
    AGGREGATE_QUERY_RUN = "aggregate.query_run"
    AGGREGATE_QUERY_REFUSED = "aggregate.query_refused"
    AGGREGATE_BUDGET_CHANGED = "aggregate.budget_changed"
    SYNTHETIC_MADE = "synthetic.made"
    SYNTHETIC_REFUSED = "synthetic.refused"
    SYNTHETIC_DOWNLOADED = "synthetic.downloaded"
    ADMIN_CHANGED = "admin.changed"
    ONCEONLY_SOURCE_DESIGNATED = "onceonly.source_designated"
    ONCEONLY_SOURCE_UPDATED = "onceonly.source_updated"
    ONCEONLY_PROTOCOL_CREATED = "onceonly.protocol_created"
    ONCEONLY_PROTOCOL_UPDATED = "onceonly.protocol_updated"
    ONCEONLY_PROTOCOL_SUBMITTED = "onceonly.protocol_submitted"
    ONCEONLY_PROTOCOL_AGREED = "onceonly.protocol_agreed"
    ONCEONLY_PROTOCOL_RETURNED = "onceonly.protocol_returned"
    ONCEONLY_PROTOCOL_APPROVED = "onceonly.protocol_approved"
    ONCEONLY_PROTOCOL_ACTIVATED = "onceonly.protocol_activated"
    ONCEONLY_PROTOCOL_SUSPENDED = "onceonly.protocol_suspended"
    ONCEONLY_PROTOCOL_RESUMED = "onceonly.protocol_resumed"
    ONCEONLY_PROTOCOL_RETIRED = "onceonly.protocol_retired"
    ONCEONLY_PROTOCOL_ACTION_REFUSED = "onceonly.protocol_action_refused"
    ONCEONLY_PROTOCOL_SECURITY_MARKED = "onceonly.protocol_security_marked"
    ONCEONLY_LOG_VERIFIED = "onceonly.log_verified"
    CITIZEN_RECTIFICATION_REQUESTED = "citizen.rectification_requested"
    CITIZEN_RECTIFICATION_EXTENDED = "citizen.rectification_extended"
    CITIZEN_RECTIFICATION_ACCEPTED = "citizen.rectification_accepted"
    CITIZEN_RECTIFICATION_REJECTED = "citizen.rectification_rejected"
    CITIZEN_RECTIFICATION_WITHDRAWN = "citizen.rectification_withdrawn"
    CITIZEN_RECTIFICATION_REMINDER = "citizen.rectification_reminder"
    CITIZEN_RECTIFICATION_REFUSED = "citizen.rectification_refused"
    CITIZEN_IDENTITY_LINKED = "citizen.identity_linked"
    CITIZEN_DATA_VIEWED = "citizen.data_viewed"
    CITIZEN_DATA_DOWNLOADED = "citizen.data_downloaded"
    CITIZEN_USES_VIEWED = "citizen.uses_viewed"
    CITIZEN_SIGNED_IN_OIDC = "citizen.signed_in_oidc"
    CITIZEN_OIDC_REFUSED = "citizen.oidc_refused"
    CITIZEN_CONSENT_GIVEN = "citizen.consent_given"
    CITIZEN_CONSENT_WITHDRAWN = "citizen.consent_withdrawn"
    CITIZEN_OPTED_OUT = "citizen.opted_out"
    CITIZEN_OPT_OUT_REVOKED = "citizen.opt_out_revoked"
    CITIZEN_CHOICE_REFUSED = "citizen.choice_refused"
    CITIZEN_EXCLUSIONS_REBUILT = "citizen.exclusions_rebuilt"


DESCRIPTIONS: dict[EventKind, str | Promise] = {
    EventKind.USER_LOGGED_IN: _("A user signed in to the web application."),
    EventKind.USER_LOGIN_FAILED: _("A sign-in attempt failed (the username tried is recorded)."),
    EventKind.USER_LOGGED_OUT: _("A user signed out."),
    EventKind.USER_LOCKED_OUT: _(
        "Too many failed sign-ins: an account or a network address was locked for a while "
        "(which one, the failures counted and the end of the lock are recorded)."
    ),
    EventKind.USER_LOCKOUT_RESET: _(
        "An operator cleared failed sign-ins, unlocking an account or a network address."
    ),
    EventKind.SECOND_FACTOR_ENROLLED: _(
        "A user set up a second factor (an authenticator app); its secret is never recorded."
    ),
    EventKind.SECOND_FACTOR_REMOVED: _("A user removed their second factor."),
    EventKind.SECOND_FACTOR_FAILED: _(
        "A wrong or throttled second-factor code was entered (at sign-in, set-up or removal)."
    ),
    EventKind.SECOND_FACTOR_RESET: _(
        "An operator removed a user's second factor (lost device); the reason is recorded."
    ),
    EventKind.ORGANISATION_CREATED: _("An organisation was registered on the platform."),
    EventKind.ROLE_GRANTED: _("A user was given a role in an organisation."),
    EventKind.ROLE_REVOKED: _("A user's role in an organisation was withdrawn."),
    EventKind.API_TOKEN_CREATED: _("A user created an API token (its secret is never stored)."),
    EventKind.API_TOKEN_REVOKED: _("An API token was revoked."),
    EventKind.ACCESS_DENIED: _("A request was refused for lack of permission."),
    EventKind.DATAFILE_REGISTERED: _("A data file was stored and registered to its holder."),
    EventKind.DEMO_SEEDED: _("The demonstration data were created."),
    EventKind.AUDIT_VERIFIED: _("The audit chain was verified (the outcome is recorded)."),
    EventKind.AUDIT_CHECKPOINT_WRITTEN: _(
        "A signed checkpoint of the audit chain was written (its event number and hash)."
    ),
    EventKind.AUDIT_CHECKPOINT_REFUSED: _(
        "No checkpoint was signed: the chain does not extend the last signed checkpoint."
    ),
    EventKind.TASK_FINISHED: _("A background task finished (successfully or not)."),
    EventKind.DATASET_CREATED: _(
        "A steward created a dataset record (a persistent identifier was given)."
    ),
    EventKind.DATASET_UPDATED: _(
        "A steward changed a dataset's metadata (the changed fields are listed)."
    ),
    EventKind.DICTIONARY_SET: _("A steward replaced a dataset's data dictionary."),
    EventKind.DATASET_PUBLISHED: _("A dataset record passed the DCAT-AP checks and was published."),
    EventKind.DATASET_PUBLICATION_REFUSED: _(
        "Publication was refused: the record violates DCAT-AP shapes, or its data dictionary no longer matches its latest data version."
    ),
    EventKind.DATASET_WITHDRAWN: _("A dataset was withdrawn from the catalogue."),
    EventKind.DATASET_VERSION_UPLOADED: _(
        "A new version of a dataset's data was validated and stored."
    ),
    EventKind.DATASET_UPLOAD_REJECTED: _("An upload failed validation; nothing was stored."),
    EventKind.DISTRIBUTION_DOWNLOADED: _("Someone downloaded the stored file of an open dataset."),
    EventKind.DATA_PRODUCT_REGISTERED: _(
        "A data product (code, algorithm, result) was registered."
    ),
    EventKind.HARVEST_RUN: _(
        "A remote catalogue was harvested (counts of created/updated/withdrawn)."
    ),
    EventKind.HARVEST_SOURCE_REGISTERED: _("An operator registered a remote catalogue to harvest."),
    EventKind.HARVEST_SOURCE_CHANGED: _(
        "An operator changed a harvest source (its schedule, or paused or resumed it)."
    ),
    EventKind.HARVEST_SOURCE_REMOVED: _(
        "An operator removed a harvest source with its catalogue and harvested records."
    ),
    EventKind.HARVEST_RUN_CONFIRMED: _(
        "An operator confirmed a harvest run held for withdrawing too many records; the source was applied."
    ),
    EventKind.HARVEST_RUN_DISCARDED: _(
        "An operator discarded a harvest run held for withdrawing too many records; nothing changed."
    ),
    EventKind.APPLICATION_CREATED: _("An applicant started a draft application."),
    EventKind.APPLICATION_UPDATED: _(
        "An applicant changed a draft (the changed fields are listed)."
    ),
    EventKind.APPLICATION_SUBMITTED: _(
        "An application was submitted to the data authority (its clock starts)."
    ),
    EventKind.APPLICATION_RETURNED: _(
        "The handler returned an application to the applicant (the gaps are listed)."
    ),
    EventKind.APPLICATION_RESUBMITTED: _(
        "A returned application was submitted again (the changed fields are listed)."
    ),
    EventKind.APPLICATION_ASSIGNED: _("A case handler was assigned to an application."),
    EventKind.APPLICATION_REVIEW_STARTED: _(
        "The handler found the application complete and started the review."
    ),
    EventKind.APPLICATION_COMMENTED: _(
        "Someone commented on an application (assistance, handling or review)."
    ),
    EventKind.APPLICATION_DEADLINE_EXTENDED: _(
        "The decision deadline was extended once, with reasons sent to the applicant."
    ),
    EventKind.APPLICATION_DEADLINE_REMINDER: _(
        "A reminder was sent because a decision deadline is near or passed."
    ),
    EventKind.APPLICATION_DECIDED: _(
        "A decider approved or rejected an application, with reasons."
    ),
    EventKind.APPLICATION_WITHDRAWN: _("The applicant withdrew an application."),
    EventKind.APPLICATION_ACTION_REFUSED: _(
        "An action on an application or permit was refused (state or rule); the reason is recorded."
    ),
    EventKind.ATTACHMENT_DOWNLOADED: _("Someone downloaded a file attached to an application."),
    EventKind.ATTACHMENT_ADDED: _("A file was attached to an application (its hash is recorded)."),
    EventKind.OPINION_REQUESTED: _(
        "The handler asked an organisation for its opinion on an application."
    ),
    EventKind.OPINION_GIVEN: _("A reviewer gave an opinion and a vote."),
    EventKind.TERMS_ACCEPTED: _("A named person accepted the terms of use."),
    EventKind.ACCOUNTABILITY_EXPORTED: _(
        "The records of processing were downloaded (CSV or JSON)."
    ),
    EventKind.PERMIT_ISSUED: _("A data permit was issued after an approval."),
    EventKind.PERMIT_AMENDED: _("A permit was amended (a new version)."),
    EventKind.PERMIT_EXTENDED: _("A permit's end date was extended (a new version)."),
    EventKind.PERMIT_REVOKED: _("A permit was revoked: access is cut."),
    EventKind.PERMIT_EXPIRED: _("A permit reached its end date: the scheduled job cut access."),
    EventKind.PERMIT_CLOSED: _("A permit was closed."),
    EventKind.PERMIT_PUBLICATION_REMINDED: _(
        "The named persons of a permit were reminded that its results are to be published "
        "(30 days before the publication deadline, or once it has passed)."
    ),
    EventKind.WORKSPACE_OPENED: _(
        "An authorised person opened a permit's workspace (each visit of its page)."
    ),
    EventKind.WORKSPACE_LOCKED: _(
        "A workspace was locked because its permit stopped being active; no job starts there."
    ),
    EventKind.WORKSPACE_DELETED: _(
        "A workspace's code, job outputs, logs, query results and dummy data were deleted with "
        "the permit's last extract, at the end of the retention period."
    ),
    EventKind.WORKSPACE_FILE_VIEWED: _(
        "Someone viewed or downloaded a file of a workspace (a log, an output, a query result)."
    ),
    EventKind.WORKSPACE_QUERY_RUN: _(
        "An SQL query ran on a workspace's extract (the query text and the result file are "
        "recorded)."
    ),
    EventKind.WORKSPACE_QUERY_SAVED: _(
        "A console query's result was written as a table with its disclosure evidence, as the "
        "output of a job that may be proposed for release (the query, the grouping, the file "
        "and its SHA-256 are recorded; a failed attempt, with its code)."
    ),
    EventKind.CODE_SUBMITTED: _(
        "A new version of a project's code was submitted to a workspace (with its SHA-256)."
    ),
    EventKind.CODE_REFUSED: _(
        "Submitted code was refused (not an archive, unsafe paths, a wrong project.yaml)."
    ),
    EventKind.DUMMY_GENERATED: _(
        "Dummy data were generated for a workspace from the data dictionary and the manifest."
    ),
    EventKind.DUMMY_DOWNLOADED: _("An authorised person downloaded a workspace's dummy data."),
    EventKind.JOB_REQUESTED: _("An action of a project was queued to run in the sandbox."),
    EventKind.JOB_STARTED: _("A job started in the sandbox (with the limits it runs under)."),
    EventKind.JOB_FINISHED: _(
        "A job ended: succeeded, or failed with its status code (outputs and their SHA-256)."
    ),
    EventKind.JOB_CANCELLED: _("A queued or running job was cancelled."),
    EventKind.JOB_REQUEUED: _(
        "A job whose worker was lost was queued again (its partial outputs were removed)."
    ),
    EventKind.RELEASE_CREATED: _("A named person started a request to release output files."),
    EventKind.RELEASE_EDITED: _(
        "A release request's files or their context changed (the file and its SHA-256)."
    ),
    EventKind.RELEASE_SUBMITTED: _(
        "A release request was submitted for output checking (the automatic checks' verdicts)."
    ),
    EventKind.RELEASE_REFUSED: _(
        "A release request's submission was refused because an automatic check failed."
    ),
    EventKind.RELEASE_REVIEWED: _("An output checker submitted a review of a release request."),
    EventKind.RELEASE_CONSOLIDATED: _(
        "An output checker decided the files on which the two reviews disagreed."
    ),
    EventKind.RELEASE_RETURNED: _("A release request was returned to the researcher for changes."),
    EventKind.RELEASE_APPROVED: _("Both reviews (or the consolidation) approved every file."),
    EventKind.RELEASE_REJECTED: _("An output checker rejected a release request, with reasons."),
    EventKind.RELEASE_WITHDRAWN: _("The researcher withdrew a release request."),
    EventKind.RELEASE_RELEASED: _(
        "An output checker released the approved files (their SHA-256 are recorded)."
    ),
    EventKind.RELEASE_FILE_VIEWED: _("An output checker opened a file proposed for release."),
    EventKind.RELEASE_FILE_DOWNLOADED: _("A named person downloaded a released file."),
    EventKind.RELEASE_PUBLISHED: _(
        "Released results, their code versions and a summary were published as a data product."
    ),
    EventKind.PERMIT_ACCESS_GRANTED: _(
        "A named person entered the project's secure workspace under a permit."
    ),
    EventKind.EXTRACT_PREPARED: _(
        "A permit's extract was prepared (tables, rows and checksums are recorded, no data)."
    ),
    EventKind.CITIZEN_USES_RECORDED: _(
        "The trusted third party recorded which persons a permit's extract included, for their "
        "own pages (the number of persons is recorded, never who)."
    ),
    EventKind.EXTRACT_REFUSED: _(
        "A permit's extract could not be prepared; nothing was written and the reason is recorded."
    ),
    EventKind.EXTRACT_REQUESTED: _(
        "The preparation of a permit's extract was put on the task queue."
    ),
    EventKind.EXTRACT_STEP: _(
        "A preparation started one of its steps (extracting, pseudonymising, linking, "
        "anonymising, verifying)."
    ),
    EventKind.EXTRACT_FAILED: _(
        "A preparation stopped on an error of the platform; nothing was written and it can be "
        "run again."
    ),
    EventKind.EXTRACT_LOCKED: _(
        "A permit stopped being active: its extract was locked at once (read-only, never mounted)."
    ),
    EventKind.EXTRACT_DELETED: _(
        "A locked extract was deleted at the end of its retention period."
    ),
    EventKind.PROJECT_KEY_SHREDDED: _(
        "A project's pseudonym secret was destroyed: its pseudonyms can never be derived again."
    ),
    EventKind.AGGREGATE_QUERY_RUN: _(
        "The aggregate-only service released a table of an aggregate permit (the query, the "
        "method, the cells published and suppressed, and any privacy budget spent are "
        "recorded; no value)."
    ),
    EventKind.AGGREGATE_QUERY_REFUSED: _(
        "The aggregate-only service refused a query (not an aggregate permit, a column that is "
        "not allowed, too many cells, the privacy budget spent); the reason is recorded."
    ),
    EventKind.AGGREGATE_BUDGET_CHANGED: _(
        "The privacy budget of an aggregate permit's DP queries took the totals of an amended "
        "permit (the totals before and after and what was spent are recorded; the spends stay)."
    ),
    EventKind.SYNTHETIC_MADE: _(
        "A differentially private synthetic twin of a table of a permit's extract was made (the "
        "table, the epsilon and delta charged to the project's budget, the rows, the file's "
        "SHA-256 and the columns left out are recorded; no value)."
    ),
    EventKind.SYNTHETIC_REFUSED: _(
        "A synthetic twin of a table was not made (not allowed by the permit, the privacy "
        "budget spent, several rows per person, no column with a dictionary domain...); the "
        "reason is recorded and no budget was spent."
    ),
    EventKind.SYNTHETIC_DOWNLOADED: _(
        "An authorised person downloaded a synthetic twin (or its report): the only file derived "
        "from an extract that leaves without output checking, its guarantee being formal."
    ),
    EventKind.ADMIN_CHANGED: _(
        "An operator added, changed or deleted a record in the Django admin (the model, the "
        "object and the old and new values of the fields changed are recorded; secrets never)."
    ),
    EventKind.ONCEONLY_SOURCE_DESIGNATED: _(
        "A dataset was designated the authentic source of data items (the items, the "
        "responsible body, the update frequency and the quality commitment are recorded)."
    ),
    EventKind.ONCEONLY_SOURCE_UPDATED: _(
        "The designation of an authentic source changed (its items, responsible body, update "
        "frequency or quality commitment; the new values are recorded)."
    ),
    EventKind.ONCEONLY_PROTOCOL_CREATED: _(
        "A consumer body drafted an exchange protocol, or a new version of one (which will "
        "supersede the old version once active)."
    ),
    EventKind.ONCEONLY_PROTOCOL_UPDATED: _(
        "A draft exchange protocol was changed (the fields changed are recorded)."
    ),
    EventKind.ONCEONLY_PROTOCOL_SUBMITTED: _(
        "A consumer body submitted an exchange protocol to the data authority."
    ),
    EventKind.ONCEONLY_PROTOCOL_AGREED: _(
        "The provider body of an exchange protocol recorded its agreement."
    ),
    EventKind.ONCEONLY_PROTOCOL_RETURNED: _(
        "The data authority returned a submitted exchange protocol to its drafters, with reasons."
    ),
    EventKind.ONCEONLY_PROTOCOL_APPROVED: _(
        "The data authority approved an exchange protocol the provider had agreed to."
    ),
    EventKind.ONCEONLY_PROTOCOL_ACTIVATED: _(
        "An approved exchange protocol became active: exchanges under it are allowed within "
        "its validity dates (an earlier version it supersedes was retired)."
    ),
    EventKind.ONCEONLY_PROTOCOL_SUSPENDED: _(
        "An active exchange protocol was suspended, with reasons: every exchange under it is "
        "refused until it is resumed."
    ),
    EventKind.ONCEONLY_PROTOCOL_RESUMED: _("A suspended exchange protocol was made active again."),
    EventKind.ONCEONLY_PROTOCOL_RETIRED: _(
        "An exchange protocol was retired (ended, abandoned or superseded by a newer version): "
        "no exchange is allowed under it again."
    ),
    EventKind.ONCEONLY_PROTOCOL_ACTION_REFUSED: _(
        "An action on an exchange protocol was refused (its state or a rule did not allow it); "
        "the action and the reason are recorded."
    ),
    EventKind.ONCEONLY_PROTOCOL_SECURITY_MARKED: _(
        "The data authority marked (or unmarked) a protocol's consumer body as a security "
        "agency, whose exchanges are left out of the published operations data."
    ),
    EventKind.ONCEONLY_LOG_VERIFIED: _(
        "The exchange log's hash chain and signatures were checked (the result is recorded)."
    ),
    EventKind.CITIZEN_RECTIFICATION_REQUESTED: _(
        "A citizen asked for one item an authentic source holds about them to be corrected "
        "(GDPR Art. 16); the request, source and item are recorded, never the values."
    ),
    EventKind.CITIZEN_RECTIFICATION_EXTENDED: _(
        "A steward extended the deadline of a correction request once, with a reason "
        "(GDPR Art. 12(3)); the citizen was told."
    ),
    EventKind.CITIZEN_RECTIFICATION_ACCEPTED: _(
        "A steward accepted a correction request: the corrected data became a new version of "
        "the authentic source (its number is recorded)."
    ),
    EventKind.CITIZEN_RECTIFICATION_REJECTED: _(
        "A steward rejected a correction request with an answer to the citizen."
    ),
    EventKind.CITIZEN_RECTIFICATION_WITHDRAWN: _("A citizen withdrew their correction request."),
    EventKind.CITIZEN_RECTIFICATION_REMINDER: _(
        "The stewards were reminded of a correction request's deadline (a week before, or once "
        "it had passed)."
    ),
    EventKind.CITIZEN_RECTIFICATION_REFUSED: _(
        "An action on a correction request was refused (its state, a rule, or a corrected value "
        "that fails the data dictionary); the action and the reason are recorded, never values."
    ),
    EventKind.CITIZEN_IDENTITY_LINKED: _(
        "An account was linked to a person of the population (a citizen identity): the person's keyed pseudonym is kept, the national number only sealed; the event names the identity, never the number."
    ),
    EventKind.CITIZEN_DATA_VIEWED: _(
        "A citizen looked at what the authentic sources hold about them (the page of their own data)."
    ),
    EventKind.CITIZEN_DATA_DOWNLOADED: _(
        "A citizen downloaded what the authentic sources hold about them (JSON or CSV)."
    ),
    EventKind.CITIZEN_USES_VIEWED: _(
        "A citizen looked at who used their data: the exchanges between public bodies and the research projects whose extracts included their records."
    ),
    EventKind.CITIZEN_SIGNED_IN_OIDC: _(
        "A citizen signed in through the state's identity provider (OpenID Connect); the event "
        "names the identity and whether it was the first sign-in, never the national number."
    ),
    EventKind.CITIZEN_OIDC_REFUSED: _(
        "A sign-in through the state's identity provider was refused (bad or missing claims, an "
        "invalid token or state, an account that may not sign in this way); the reason is "
        "recorded, never the national number."
    ),
    EventKind.CITIZEN_CONSENT_GIVEN: _(
        "A citizen gave a data altruism consent (purposes of general interest, data, "
        "organisation, duration, the form's version); the identity and consent are named, "
        "never the national number."
    ),
    EventKind.CITIZEN_CONSENT_WITHDRAWN: _(
        "A citizen withdrew a data altruism consent: the persons of the next preparations no "
        "longer include them on that consent."
    ),
    EventKind.CITIZEN_OPTED_OUT: _(
        "A citizen objected to the secondary use of their data: the trusted third party's "
        "exclusion list, applied to every new preparation, now holds them."
    ),
    EventKind.CITIZEN_OPT_OUT_REVOKED: _(
        "A citizen revoked their objection to secondary use: they are off the exclusion list."
    ),
    EventKind.CITIZEN_CHOICE_REFUSED: _(
        "A change of a citizen's consent or objection was refused (someone else's, or not in a "
        "state that allows it); the action and the reason are recorded."
    ),
    EventKind.CITIZEN_EXCLUSIONS_REBUILT: _(
        "The trusted third party's exclusion list was rewritten from the database (its count "
        "is recorded, never a number)."
    ),
}
