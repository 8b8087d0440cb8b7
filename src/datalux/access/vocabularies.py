"""Closed lists of the application form and the permit (versioned with the form schema)."""

from __future__ import annotations

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

StrOrPromise = str | Promise

FORM_SCHEMA_VERSION = "1.0"  # bump when fields change; snapshots keep the version they used

TERMS_VERSION = "2026-1"
TERMS_TEXT = _(
    "I will use the data only for the purpose stated in the permit, only inside the secure "
    "processing environment, and will not attempt to re-identify any person. I will not copy, "
    "transfer or publish data except outputs released after disclosure checking. I will report "
    "any incident to the data authority without delay. Breaches may lead to revocation of the "
    "permit and to sanctions under the applicable law."
)


class PurposeCategory(models.TextChoices):
    # Data Governance Act Art. 5 / EHDS Art. 53 purposes, closed list.
    SCIENTIFIC_RESEARCH = "scientific_research", _("Scientific research")
    OFFICIAL_STATISTICS = "official_statistics", _("Official statistics")
    PUBLIC_POLICY = "public_policy", _("Policy making and evaluation")
    PUBLIC_HEALTH = "public_health", _("Public interest in public health")
    EDUCATION = "education", _("Education and teaching")
    INNOVATION = "innovation", _("Development and innovation of products or services")
    AI_TRAINING = "ai_training", _("Training, testing and evaluating algorithms, including AI")
    PERSONALISED_CARE = "personalised_care", _("Personalised care")


class DataForm(models.TextChoices):
    ANONYMISED = "anonymised", _("Anonymised record-level data")
    PSEUDONYMISED = "pseudonymised", _("Pseudonymised record-level data")
    AGGREGATE = "aggregate", _("Aggregate statistics only")


class LegalBasisArt6(models.TextChoices):
    CONSENT = "6.1.a", _("Art. 6(1)(a) consent")
    CONTRACT = "6.1.b", _("Art. 6(1)(b) contract")
    LEGAL_OBLIGATION = "6.1.c", _("Art. 6(1)(c) legal obligation")
    VITAL_INTERESTS = "6.1.d", _("Art. 6(1)(d) vital interests")
    PUBLIC_TASK = "6.1.e", _("Art. 6(1)(e) public interest or official authority")
    LEGITIMATE_INTERESTS = "6.1.f", _("Art. 6(1)(f) legitimate interests")


class LegalBasisArt9(models.TextChoices):
    NONE = "", _("No special categories of data")
    EXPLICIT_CONSENT = "9.2.a", _("Art. 9(2)(a) explicit consent")
    PUBLIC_INTEREST = "9.2.g", _("Art. 9(2)(g) substantial public interest")
    HEALTH_CARE = "9.2.h", _("Art. 9(2)(h) health or social care")
    PUBLIC_HEALTH = "9.2.i", _("Art. 9(2)(i) public interest in public health")
    RESEARCH = "9.2.j", _("Art. 9(2)(j) research, statistics, archiving")


class ConditionKind(models.TextChoices):
    # ODRL rule types: what the permit holder must, must not or may do.
    OBLIGATION = "obligation", _("Obligation")
    PROHIBITION = "prohibition", _("Prohibition")
    PERMISSION = "permission", _("Permission")


# Standard conditions (code -> (kind, text)); deciders may add free-text ones too. A permit
# stores the English text beside the code; pages show the code's text in the reader's language.
STANDARD_CONDITIONS: dict[str, tuple[str, StrOrPromise]] = {
    "publish-results": (
        ConditionKind.OBLIGATION,
        _("Publish the results and the code within 12 months of the end of the permit."),
    ),
    "acknowledge-source": (
        ConditionKind.OBLIGATION,
        _("Acknowledge the data holders and the data authority in every publication."),
    ),
    "report-incidents": (
        ConditionKind.OBLIGATION,
        _("Report any incident or suspected re-identification within 72 hours."),
    ),
    "no-reidentification": (
        ConditionKind.PROHIBITION,
        _("Do not attempt to re-identify any person."),
    ),
    "no-transfer-outside-eu": (
        ConditionKind.PROHIBITION,
        _("Do not transfer data or outputs outside the European Union."),
    ),
    "no-commercial-reuse": (
        ConditionKind.PROHIBITION,
        _("Do not use the data or outputs for commercial purposes."),
    ),
    "aggregate-outputs-only": (
        ConditionKind.PERMISSION,
        _("Release aggregate outputs that pass disclosure checking."),
    ),
}


class Vote(models.TextChoices):
    FAVOURABLE = "favourable", _("Favourable")
    FAVOURABLE_WITH_CONDITIONS = "favourable_with_conditions", _("Favourable with conditions")
    UNFAVOURABLE = "unfavourable", _("Unfavourable")
    ABSTAIN = "abstain", _("Abstain")


class ClockStart(models.TextChoices):
    RECEIVED = "received", _("From receipt of the application")
    COMPLETE = "complete", _("From receipt of a complete application")


class AttachmentKind(models.TextChoices):
    ETHICS_APPROVAL = "ethics_approval", _("Ethics approval")
    PROTOCOL = "protocol", _("Study protocol")
    DPIA = "dpia", _("Data protection impact assessment")
    FUNDING = "funding", _("Funding letter")
    OTHER = "other", _("Other")


# Attachments: extension -> (media type, magic prefix or None for text).
ATTACHMENT_TYPES: dict[str, tuple[str, bytes | None]] = {
    ".pdf": ("application/pdf", b"%PDF-"),
    ".png": ("image/png", b"\x89PNG\r\n\x1a\n"),
    ".jpg": ("image/jpeg", b"\xff\xd8\xff"),
    ".jpeg": ("image/jpeg", b"\xff\xd8\xff"),
    ".docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        b"PK\x03\x04",
    ),
    ".odt": ("application/vnd.oasis.opendocument.text", b"PK\x03\x04"),
    ".txt": ("text/plain", None),
    ".md": ("text/markdown", None),
}
ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024

FILTER_OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "in", "between", "is_null", "not_null")
# How the operators read in a form (the symbols read the same in every language).
FILTER_OPERATOR_LABELS: dict[str, StrOrPromise] = {
    "in": _("is one of"),
    "between": _("between"),
    "is_null": _("is empty"),
    "not_null": _("is not empty"),
}
