"""The small data-authority world shared by the access tests (actions, pages, API)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from datalux.access import actions
from datalux.access.models import Application
from datalux.accounts.roles import OrganisationKind
from datalux.catalogue.models import Dataset
from datalux.catalogue.vocabularies import AccessRights, PrivacyRole
from tests.factories.accounts import MembershipFactory, OrganisationFactory, UserFactory
from tests.factories.catalogue import CatalogueFactory, DatasetFactory, VariableFactory

WORDS = " ".join(["word"] * 35)


@dataclass
class World:
    authority: Any
    holder: Any
    other_holder: Any
    lab: Any
    applicant: Any
    colleague: Any  # another applicant of the same lab
    stranger: Any  # an applicant of another organisation
    stranger_org: Any
    assistant: Any
    handler: Any
    handler2: Any
    reviewer: Any  # reviewer of the holder
    other_reviewer: Any  # reviewer of the other holder
    decider: Any
    stays: Dataset
    jobs: Dataset

    def draft(self, *, complete: bool = True, by: Any = None, **fields: Any) -> Application:
        by = by or self.applicant
        organisation = self.stranger_org if by == self.stranger else self.lab
        application = actions.create_application(
            by=by, organisation=organisation, title="Readmissions"
        )
        if complete:
            actions.update_application(application=application, by=by, **{**COMPLETE, **fields})
            actions.request_dataset(
                application=application,
                by=by,
                dataset=self.stays,
                variables=["age", "diagnosis"],
                time_start="2020-01-01",
                time_end="2024-12-31",
                filters=[{"variable": "age", "op": ">=", "value": 18}],
            )
            actions.add_named_person(
                application=application, by=by, name="Ana Researcher", email=by.email
            )
        return application

    def submitted(self, **fields: Any) -> Application:
        return actions.submit(application=self.draft(**fields), by=self.applicant)

    def under_review(self, **fields: Any) -> Application:
        application = self.submitted(**fields)
        actions.assign(application=application, by=self.handler, handler=self.handler)
        return actions.start_review(application=application, by=self.handler)

    def approved(self, **permit: Any) -> Application:
        application = self.under_review()
        actions.decide(
            application=application,
            by=self.decider,
            outcome="approved",
            reasons="Meets the criteria of Art. 5.",
            permit=permit or None,
        )
        application.refresh_from_db()
        return application


COMPLETE = {
    "purpose_category": "scientific_research",
    "purpose_description": WORDS,
    "expected_benefit": WORDS,
    "lay_summary": WORDS,
    "data_form": "pseudonymised",
    "pseudonymised_justification": WORDS,
    "legal_basis_art6": "6.1.e",
    "legal_basis_art9": "9.2.j",
    "special_categories": True,
    "ethics_reference": "CNER 2026-117",
    "funding": "FNR grant C26/BM/1",
    "safeguards": WORDS,
    "requested_months": 12,
    "processing_tools": "R 4.4, Python 3.11",
}


def _member(role: str, organisation: Any, username: str) -> Any:
    user = UserFactory(username=username, email=f"{username}@example.lu")
    MembershipFactory(user=user, organisation=organisation, role=role)
    return user


def build_world() -> World:
    CatalogueFactory()
    authority = OrganisationFactory(name="Data Authority", kind=OrganisationKind.DATA_AUTHORITY)
    holder = OrganisationFactory(name="Health Directorate", kind=OrganisationKind.DATA_HOLDER)
    other_holder = OrganisationFactory(name="Social Security", kind=OrganisationKind.DATA_HOLDER)
    lab = OrganisationFactory(name="Research Lab", kind=OrganisationKind.APPLICANT)
    elsewhere = OrganisationFactory(name="Other Company", kind=OrganisationKind.APPLICANT)
    desk = OrganisationFactory(name="Help Desk", kind=OrganisationKind.ASSISTANCE_DESK)
    stays = DatasetFactory(
        publisher=holder, title={"en": "Hospital stays"}, access_rights=AccessRights.NON_PUBLIC
    )
    for name, role, type_, codes in [
        ("national_id", PrivacyRole.DIRECT_IDENTIFIER, "string", "national-id"),
        ("age", PrivacyRole.QUASI_IDENTIFIER, "integer", ""),
        ("diagnosis", PrivacyRole.SENSITIVE, "string", "icd10"),
        ("commune", PrivacyRole.QUASI_IDENTIFIER, "string", ""),
    ]:
        VariableFactory(dataset=stays, name=name, privacy_role=role, type=type_, code_list=codes)
    jobs = DatasetFactory(
        publisher=other_holder, title={"en": "Employment"}, access_rights=AccessRights.RESTRICTED
    )
    for name in ("national_id", "nace", "wage"):
        VariableFactory(dataset=jobs, name=name)
    return World(
        authority=authority,
        holder=holder,
        other_holder=other_holder,
        lab=lab,
        applicant=_member("applicant", lab, "ana"),
        colleague=_member("applicant", lab, "colleague"),
        stranger=_member("applicant", elsewhere, "stranger"),
        stranger_org=elsewhere,
        assistant=_member("assistant", desk, "desk"),
        handler=_member("handler", authority, "handler"),
        handler2=_member("handler", authority, "handler2"),
        reviewer=_member("reviewer", holder, "holder-reviewer"),
        other_reviewer=_member("reviewer", other_holder, "other-reviewer"),
        decider=_member("decider", authority, "decider"),
        stays=stays,
        jobs=jobs,
    )
