"""Seed the demo's access requests: applications in every state, so each role has work waiting.

Everything goes through the real actions (audited, notified) with the demo's users and its
protected datasets. Dates are real: applications are received and decided now, except the
expired permit, which is issued with explicit past start and end dates and then expired by
``expire_due_permits`` with an explicit ``today``.

Idempotent: an application is identified by its applicant and title and made only when
missing, each in its own transaction, so a seed that stopped halfway is completed next time.
E-mails of the seeding itself are not sent (the inbox entries are made as usual).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from datalux.access import actions
from datalux.access.models import Application
from datalux.accounts.models import Organisation, User
from datalux.accounts.roles import OrganisationKind
from datalux.catalogue.models import Dataset

if TYPE_CHECKING:
    from datalux.demo.seed import SeedOutcome

AUTHORITY = OrganisationKind.DATA_AUTHORITY


def _text(*sentences: str) -> str:
    return " ".join(sentences)


BASE: dict[str, Any] = {
    "purpose_category": "scientific_research",
    "legal_basis_art6": "6.1.e",
    "funding": "Fonds National de la Recherche, CORE programme (demo grant C27/BM/0001)",
    "requested_months": 18,
    "processing_tools": "R 4.4 (tidyverse, survival), Python 3.12 (pandas, statsmodels)",
    "processing_compute": "4 cores and 16 GB of memory are enough.",
    "safeguards": _text(
        "Only the two named researchers work with the data, inside the secure processing",
        "environment; outputs are checked for disclosure before release; the project follows",
        "the university's data protection policy and its DPIA.",
    ),
    "expected_benefit": _text(
        "Evidence for the national health and social policy, published openly with the code,",
        "so that services can be planned where they are needed.",
    ),
}


@dataclass(frozen=True)
class Scenario:
    key: str
    applicant: str  # demo username
    title: str
    purpose: str
    lay_summary: str
    datasets: dict[str, list[str]]  # dataset slug -> variables
    fields: dict[str, Any]
    named: tuple[str, ...] = ()  # demo usernames named besides the applicant


def _purpose(topic: str) -> str:
    return _text(
        f"The project studies {topic}.",
        "It describes the population concerned, compares groups over the years covered by the",
        "data and estimates the associations with survival and regression models, adjusting",
        "for age, sex and place of residence; results feed a peer-reviewed publication and a",
        "report for the ministry concerned.",
    )


def _lay(topic: str) -> str:
    return _text(
        f"We want to understand {topic}, using records that public bodies already hold, without",
        "contacting anyone and without seeing names: only researchers approved by the data",
        "authority work with the data, in a secure environment.",
    )


PSEUDONYMISED = {
    "data_form": "pseudonymised",
    "pseudonymised_justification": _text(
        "Anonymised extracts would break the follow-up of the same person over time, which the",
        "survival analysis needs.",
    ),
}
HEALTH = {
    "special_categories": True,
    "legal_basis_art9": "9.2.j",
    "ethics_reference": "CNER 2026-117",
}
STAYS = ["admission_date", "discharge_date", "primary_diagnosis", "commune_of_residence"]
JOBS = ["start_date", "end_date", "nace_section", "working_time_pct", "country_of_residence"]

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "draft",
        "researcher2",
        "Antibiotic prescribing in general practice (draft)",
        _purpose("how antibiotics are prescribed in general practice"),
        "",  # a draft: the completeness check still lists the gaps
        {"prescriptions": ["dispensing_date", "atc_code", "quantity"]},
        {"data_form": "aggregate", "purpose_category": "public_health"},
    ),
    Scenario(
        "submitted",
        "company",
        "Commuting of cross-border workers by sector",
        _purpose("where cross-border workers come from and in which sectors they work"),
        _lay("how many people cross the border to work here, and in which sectors"),
        {"employment_spells": ["start_date", "nace_section", "country_of_residence"]},
        {
            "data_form": "aggregate",
            "purpose_category": "public_policy",
            "legal_basis_art6": "6.1.f",
            "commercial_involvement": True,
            "commercial_description": "A study commissioned by a chamber of commerce.",
        },
    ),
    Scenario(
        "returned",
        "researcher",
        "School pathways of children of cross-border families",
        _purpose("the school pathways of children whose parents work across the border"),
        _lay("how children's school pathways relate to where their parents live and work"),
        {"school_enrolments": ["school_year", "level", "school", "commune", "sex"]},
        {**PSEUDONYMISED, "purpose_category": "education"},
    ),
    Scenario(
        "resubmitted",
        "researcher2",
        "Hospital use in the year after a first employment",
        _purpose("hospital use of young adults in the year after their first employment"),
        _lay("whether starting work changes how often young adults go to hospital"),
        {"hospital_stays": STAYS, "employment_spells": JOBS},
        {
            **PSEUDONYMISED,
            **HEALTH,
            "linkage_needed": True,
            "linkage_description": "Stays and employment spells of the same person, linked by "
            "the trusted third party on the national number, which we never see.",
        },
    ),
    Scenario(
        "opinion_pending",
        "researcher",
        "Return to work after a hospital stay",
        _purpose("how long people take to return to work after a hospital stay"),
        _lay("how quickly people go back to work after a stay in hospital"),
        {"hospital_stays": STAYS, "employment_spells": JOBS},
        {
            **PSEUDONYMISED,
            **HEALTH,
            "linkage_needed": True,
            "linkage_description": "Stays and employment spells of the same person, linked by "
            "the trusted third party.",
        },
    ),
    Scenario(
        "opinion_given",
        "company",
        "Medicine use by commune for pharmacy planning",
        _purpose("the use of reimbursed medicines across communes"),
        _lay("how much medicine is dispensed in each part of the country"),
        {"prescriptions": ["dispensing_date", "atc_code", "quantity"]},
        {"data_form": "aggregate", "purpose_category": "public_health"},
    ),
    Scenario(
        "approved_terms_pending",
        "researcher",
        "Hospital stays of residents over 75",
        _purpose("hospital stays of residents over 75 and their readmissions"),
        _lay("how often older residents go back to hospital soon after leaving it"),
        {"hospital_stays": STAYS, "population_register": ["sex", "birth_date", "commune"]},
        {
            **PSEUDONYMISED,
            **HEALTH,
            "linkage_needed": True,
            "linkage_description": "Stays linked to the register by the trusted third party.",
        },
        named=("researcher2",),
    ),
    Scenario(
        "approved_linked",
        "researcher",
        "Hospital stays of pupils by school level",
        _purpose("hospital stays of school pupils by their level of schooling"),
        _lay("how often pupils of each school level go to hospital, and why"),
        {
            "hospital_stays": STAYS,
            "population_register": ["sex", "birth_date", "commune"],
            "school_enrolments": ["school_year", "level", "school"],
        },
        {
            **PSEUDONYMISED,
            **HEALTH,
            "purpose_category": "public_health",
            "linkage_needed": True,
            "linkage_description": "Stays linked to the population register on the national "
            "number; the school register, which has no national number, linked to the "
            "register by the trusted third party on names, date of birth and address.",
        },
    ),
    Scenario(
        "approved_with_conditions",
        "researcher2",
        "Diagnoses of hospital stays by commune",
        _purpose("the main diagnoses of hospital stays across communes"),
        _lay("which illnesses bring people to hospital in each commune"),
        {"hospital_stays": ["admission_date", "primary_diagnosis", "commune_of_residence"]},
        {"data_form": "anonymised", **HEALTH, "purpose_category": "public_health"},
    ),
    Scenario(
        "rejected",
        "company",
        "Wage profiles for targeted advertising",
        _purpose("wage profiles by sector to target advertising at high earners"),
        _lay("which sectors pay the highest wages, to target advertising"),
        {"employment_spells": ["nace_section", "working_time_pct", "country_of_residence"]},
        {
            **PSEUDONYMISED,
            "purpose_category": "innovation",
            "legal_basis_art6": "6.1.f",
            "commercial_involvement": True,
            "commercial_description": "The results would be sold to advertisers.",
        },
    ),
    Scenario(
        "withdrawn",
        "researcher2",
        "Nationalities of pupils by school (withdrawn)",
        _purpose("the composition of school classes"),
        _lay("how diverse the classes of each school are"),
        {"school_enrolments": ["school_year", "level", "school"]},
        {"data_form": "aggregate", "purpose_category": "education"},
    ),
    Scenario(
        "expired",
        "researcher",
        "Employment of residents over the business cycle",
        _purpose("employment of residents over the business cycle"),
        _lay("how employment of residents rose and fell over the last years"),
        {"employment_spells": JOBS, "population_register": ["sex", "birth_date", "commune"]},
        {
            **PSEUDONYMISED,
            "purpose_category": "official_statistics",
            "linkage_needed": True,
            "linkage_description": "Spells linked to the register by the trusted third party.",
        },
    ),
)


@dataclass
class Cast:
    handler: User
    reviewer: User
    decider: User
    assistant: User
    authority: Organisation


def _user(username: str) -> User:
    return User.objects.get(username=username)


def _organisation_of(user: User) -> Organisation:
    membership = user.memberships.filter(role="applicant", active=True).first()
    if membership is None or membership.organisation is None:
        raise LookupError(f"the demo user {user.username} is not an applicant of an organisation")
    return membership.organisation


def _dataset(slug: str) -> Dataset:
    return Dataset.objects.get(slug=slug, harvest_source__isnull=True)


def _draft(scenario: Scenario) -> Application:
    applicant = _user(scenario.applicant)
    application = actions.create_application(
        by=applicant, organisation=_organisation_of(applicant), title=scenario.title
    )
    fields = {**BASE, **scenario.fields, "purpose_description": scenario.purpose}
    if scenario.lay_summary:
        fields["lay_summary"] = scenario.lay_summary
    else:
        fields.pop("safeguards")
    actions.update_application(application=application, by=applicant, **fields)
    for slug, variables in scenario.datasets.items():
        dataset = _dataset(slug)
        # a period only where the dictionary marks the date it applies to (not on a register)
        dated = dataset.variables.filter(period=True).exists()
        actions.request_dataset(
            application=application,
            by=applicant,
            dataset=dataset,
            variables=variables,
            time_start="2020-01-01" if dated else None,
            time_end="2024-12-31" if dated else None,
        )
    for username in (scenario.applicant, *scenario.named):
        person = _user(username)
        actions.add_named_person(
            application=application,
            by=applicant,
            name=person.display_name or person.username,
            email=person.email,
            role_in_project="principal investigator" if person == applicant else "analyst",
        )
    return application


def _submitted(scenario: Scenario, cast: Cast, *, assign: bool = True) -> Application:
    application = actions.submit(application=_draft(scenario), by=_user(scenario.applicant))
    if assign:
        actions.assign(application=application, by=cast.handler, handler=cast.handler)
    return application


def _under_review(scenario: Scenario, cast: Cast) -> Application:
    application = _submitted(scenario, cast)
    return actions.start_review(application=application, by=cast.handler)


def _decide(application: Application, cast: Cast, outcome: str, reasons: str, **permit: Any) -> str:
    actions.decide(
        application=application,
        by=cast.decider,
        outcome=outcome,
        reasons=reasons,
        permit=permit or None,
    )
    application.refresh_from_db()
    return application.permit.number if outcome != "rejected" else ""


def _build(scenario: Scenario, cast: Cast) -> tuple[Application, str]:
    """Make the scenario's application; return it and a note for the seed's output."""
    applicant = _user(scenario.applicant)
    key = scenario.key
    if key == "draft":
        application = _draft(scenario)
        actions.comment(
            application=application,
            by=cast.assistant,
            field="lay_summary",
            body="Add a lay summary of about 20 words: it is published if the project is "
            "approved. The completeness check lists what else is missing.",
        )
        return application, "assistance desk commented"
    if key == "submitted":
        return _submitted(scenario, cast, assign=False), "nobody handles it yet"
    if key in ("returned", "resubmitted"):
        application = _submitted(scenario, cast)
        actions.return_application(
            application=application,
            by=cast.handler,
            reasons="Say who pays for the hosting of the project and describe the safeguards "
            "of the team in more detail.",
        )
        if key == "returned":
            return application, "the applicant must complete it"
        actions.update_application(
            application=application,
            by=applicant,
            funding="Fonds National de la Recherche (C27/BM/0002); hosting paid by the institute",
            safeguards=BASE["safeguards"] + " The ethics committee approved the protocol.",
        )
        actions.submit(application=application, by=applicant)
        return application, "changed fields highlighted to the handler"
    if key in ("opinion_pending", "opinion_given"):
        application = _under_review(scenario, cast)
        actions.request_opinion(
            application=application,
            by=cast.handler,
            organisation=cast.authority,
            question="Please give the authority's ethics and legal opinion.",
        )
        if key == "opinion_pending":
            return application, "opinions of the holders and the authority's reviewer awaited"
        actions.give_opinion(
            application=application,
            by=cast.reviewer,
            organisation=cast.authority,
            vote="favourable_with_conditions",
            text="Aggregate outputs only; counts under 10 must be suppressed.",
            conditions=["aggregate-outputs-only"],
        )
        for request in application.opinion_requests.exclude(organisation=cast.authority):
            holder_reviewer = User.objects.filter(
                memberships__organisation=request.organisation,
                memberships__role="reviewer",
                memberships__active=True,
            ).first()
            if holder_reviewer is not None:
                actions.give_opinion(
                    application=application,
                    by=holder_reviewer,
                    organisation=request.organisation,
                    vote="favourable",
                    text="The requested variables exist and the extract is feasible.",
                )
        return application, "opinions given; ready for a decision"
    if key == "approved_terms_pending":
        application = _under_review(scenario, cast)
        number = _decide(
            application, cast, "approved", "The purpose serves the public interest in health."
        )
        return application, f"permit {number}; the named persons have not accepted the terms"
    if key == "approved_linked":
        application = _under_review(scenario, cast)
        number = _decide(
            application,
            cast,
            "approved",
            "The purpose serves the public interest in health.",
            # a synthetic twin of the extract, from a project budget shared with DP queries
            output_rules={"synthetic_twin": True, "synthetic_epsilon": 1.0, "epsilon": 2.0,
                          "delta": 1e-6},
        )  # fmt: skip
        actions.accept_terms(application=application, by=applicant)
        return application, f"permit {number}; linked across three holders, terms accepted"
    if key == "approved_with_conditions":
        application = _under_review(scenario, cast)
        number = _decide(
            application,
            cast,
            "approved_with_conditions",
            "Approved for anonymised data, with publication required.",
            conditions=["publish-results", "no-transfer-outside-eu"],
        )
        actions.accept_terms(application=application, by=applicant)
        actions.open_workspace(permit=application.permit, by=applicant)
        return application, f"permit {number}; terms accepted, workspace opened"
    if key == "rejected":
        application = _under_review(scenario, cast)
        _decide(
            application,
            cast,
            "rejected",
            "Targeted advertising is not a purpose for which protected data may be reused "
            "(Data Governance Act, Art. 5).",
        )
        return application, "reasons and redress sent"
    if key == "withdrawn":
        application = _submitted(scenario, cast)
        actions.withdraw(application=application, by=applicant, reason="The project lost funding.")
        return application, "withdrawn by the applicant"
    if key == "expired":
        application = _under_review(scenario, cast)
        today = timezone.localdate()
        ends = today - timedelta(days=30)
        number = _decide(
            application,
            cast,
            "approved",
            "The purpose is official statistics in the public interest.",
            starts_on=(ends - timedelta(days=365)).isoformat(),
            ends_on=ends.isoformat(),
        )
        actions.accept_terms(application=application, by=applicant)
        expired = actions.expire_due_permits(today=ends + timedelta(days=1))
        return application, f"permit {number} expired on {ends} ({len(expired)} expired)"
    raise ValueError(f"unknown demo scenario {key!r}")


def seed_access(result: SeedOutcome, echo: Callable[[str], None]) -> int:
    """Create the demo applications that are missing; print one line per application made."""
    from datalux.demo.seed import OTHER_ORGANISATIONS

    authority = next(name for name, kind, *_ in OTHER_ORGANISATIONS if kind == AUTHORITY)
    cast = Cast(
        handler=_user("handler"),
        reviewer=_user("reviewer"),
        decider=_user("decider"),
        assistant=_user("assistant"),
        authority=Organisation.objects.get(name=authority),
    )
    made = 0
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        for scenario in SCENARIOS:
            applicant = _user(scenario.applicant)
            if Application.objects.filter(applicant=applicant, title=scenario.title).exists():
                continue
            with transaction.atomic():
                application, note = _build(scenario, cast)
            application.refresh_from_db()
            echo(
                f"application {application.reference} ({application.state}, "
                f"{scenario.applicant}): {scenario.title} — {note}"
            )
            made += 1
    if not made:
        echo(f"demo applications found ({len(SCENARIOS)}): reusing them")
    return made
