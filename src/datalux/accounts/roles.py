"""Permissions and roles as plain data (STYLE.md 6).

A role is held by a user *in an organisation* (a :class:`~datalux.accounts.models.Membership`).
Each role grants a fixed set of permissions, may only be held in organisations of certain
kinds, and has a scope: ``organisation`` roles act on their own organisation's objects only,
``platform`` roles act across organisations (the data authority decides for everyone).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

StrOrPromise = str | Promise


class OrganisationKind(models.TextChoices):
    DATA_HOLDER = "data_holder", _("Data holder")
    APPLICANT = "applicant", _("Applicant organisation")
    DATA_AUTHORITY = "data_authority", _("Data authority")
    ASSISTANCE_DESK = "assistance_desk", _("Assistance desk")
    SPE_OPERATOR = "spe_operator", _("Secure-processing operator")
    TRUSTED_THIRD_PARTY = "trusted_third_party", _("Trusted third party")


class Permission(StrEnum):
    """Everything a user may be allowed to do. Checked by ``has_permission`` only."""

    MANAGE_HOLDINGS = "holdings.manage"
    VIEW_HOLDINGS = "holdings.view"
    SUBMIT_APPLICATIONS = "access.submit"
    ASSIST_APPLICANTS = "access.assist"
    HANDLE_APPLICATIONS = "access.handle"
    REVIEW_APPLICATIONS = "access.review"
    DECIDE_APPLICATIONS = "access.decide"
    CHECK_OUTPUTS = "outputs.check"
    OPERATE_PRIVACY_SERVICES = "privacy.operate"
    VIEW_OWN_DATA = "citizens.view_own"
    VIEW_AUDIT_LOG = "audit.view"
    VERIFY_AUDIT_CHAIN = "audit.verify"
    MANAGE_ORGANISATIONS = "accounts.manage_organisations"
    USE_API_TOKENS = "accounts.use_api_tokens"
    # Once Only (issue 15): a consumer body drafts and submits exchange protocols, the data
    # authority approves and governs them, a consumer's system exchanges under them
    PROPOSE_PROTOCOLS = "onceonly.propose"
    APPROVE_PROTOCOLS = "onceonly.approve"
    EXCHANGE_DATA = "onceonly.exchange"


class Scope(StrEnum):
    ORGANISATION = "organisation"
    PLATFORM = "platform"
    SELF = "self"


@dataclass(frozen=True)
class Role:
    slug: str
    title: StrOrPromise
    description: StrOrPromise
    permissions: frozenset[Permission]
    organisation_kinds: frozenset[OrganisationKind]  # empty: held without an organisation
    scope: Scope
    workspace: Permission  # the permission that opens this role's own workspace page


def _role(
    slug: str,
    title: StrOrPromise,
    description: StrOrPromise,
    workspace: Permission,
    kinds: set[OrganisationKind],
    scope: Scope,
    extra: set[Permission] | None = None,
) -> Role:
    perms = {workspace, *(extra or set())}
    if kinds:  # members of an organisation may hold API tokens
        perms.add(Permission.USE_API_TOKENS)
    return Role(slug, title, description, frozenset(perms), frozenset(kinds), scope, workspace)


K = OrganisationKind
P = Permission
ROLES: dict[str, Role] = {
    r.slug: r
    for r in [
        _role(
            "steward",
            _("Data steward"),
            _("Describes and uploads the datasets of a data holder and answers for them."),
            P.MANAGE_HOLDINGS,
            {K.DATA_HOLDER},
            Scope.ORGANISATION,
            {P.VIEW_HOLDINGS, P.VIEW_AUDIT_LOG},
        ),
        _role(
            "applicant",
            _("Applicant"),
            _(
                "Applies for access to data on behalf of a research, public or private "
                "organisation."
            ),
            P.SUBMIT_APPLICATIONS,
            {K.APPLICANT, K.DATA_HOLDER},
            Scope.ORGANISATION,
            {P.PROPOSE_PROTOCOLS},
        ),
        _role(
            "assistant",
            _("Assistance desk"),
            _("Helps applicants complete their applications; comments but never decides."),
            P.ASSIST_APPLICANTS,
            {K.ASSISTANCE_DESK, K.DATA_AUTHORITY},
            Scope.PLATFORM,
        ),
        _role(
            "handler",
            _("Case handler"),
            _("Case officer of the data authority: checks completeness, runs the procedure."),
            P.HANDLE_APPLICATIONS,
            {K.DATA_AUTHORITY},
            Scope.PLATFORM,
            {P.VIEW_HOLDINGS},
        ),
        _role(
            "reviewer",
            _("Reviewer"),
            _("Gives an opinion and a vote on an application (data holder, ethics, legal)."),
            P.REVIEW_APPLICATIONS,
            {K.DATA_AUTHORITY, K.DATA_HOLDER},
            Scope.ORGANISATION,
        ),
        _role(
            "decider",
            _("Decider"),
            _("Decides on applications for the data authority and signs permits."),
            P.DECIDE_APPLICATIONS,
            {K.DATA_AUTHORITY},
            Scope.PLATFORM,
            {P.VIEW_AUDIT_LOG, P.APPROVE_PROTOCOLS},
        ),
        _role(
            "output_checker",
            _("Output checker"),
            _("Checks outputs of the secure processing environment for disclosure before release."),
            P.CHECK_OUTPUTS,
            {K.SPE_OPERATOR},
            Scope.PLATFORM,
        ),
        _role(
            "ttp_operator",
            _("Trusted-third-party operator"),
            _(
                "Runs identifier matching, pseudonymisation and anonymisation for permitted "
                "extracts."
            ),
            P.OPERATE_PRIVACY_SERVICES,
            {K.TRUSTED_THIRD_PARTY},
            Scope.PLATFORM,
            {P.VIEW_HOLDINGS},
        ),
        _role(
            "platform_admin",
            _("Platform administrator"),
            _("Operates the platform: organisations, members, audit-chain verification."),
            P.MANAGE_ORGANISATIONS,
            {K.SPE_OPERATOR, K.DATA_AUTHORITY},
            Scope.PLATFORM,
            {P.VIEW_AUDIT_LOG, P.VERIFY_AUDIT_CHAIN, P.VIEW_HOLDINGS},
        ),
        _role(
            "exchange_system",
            _("Exchange system"),
            _(
                "A public body's system (a service account): obtains data items from authentic "
                "sources under the body's active exchange protocols, nothing else."
            ),
            P.EXCHANGE_DATA,
            {K.APPLICANT, K.DATA_HOLDER},
            Scope.ORGANISATION,
        ),
        _role(
            "citizen",
            _("Citizen"),
            _("Sees the data held about them, who used it and why; manages consent."),
            P.VIEW_OWN_DATA,
            set(),
            Scope.SELF,
        ),
    ]
}
ROLE_CHOICES = [(r.slug, r.title) for r in ROLES.values()]


def get_role(slug: str) -> Role:
    try:
        return ROLES[slug]
    except KeyError:
        raise ValueError(f"unknown role {slug!r}; known roles: {', '.join(ROLES)}") from None
