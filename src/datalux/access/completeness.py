"""The automatic completeness check: each gap names the field and says what to fix."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from datalux.access.filters import check_filters
from datalux.access.models import Application
from datalux.access.vocabularies import DataForm, LegalBasisArt9
from datalux.catalogue.vocabularies import PrivacyRole

MIN_WORDS = {"purpose_description": 30, "lay_summary": 20, "expected_benefit": 10, "safeguards": 10}
WHAT = {
    "purpose_description": gettext_lazy("the purpose"),
    "lay_summary": gettext_lazy("the lay summary"),
    "expected_benefit": gettext_lazy("the expected benefit"),
    "safeguards": gettext_lazy("the safeguards"),
}


@dataclass(frozen=True)
class Gap:
    field: str
    message: str
    code: str = ""  # e.g. "conflict_of_interest", for the audit of a refused submission

    def as_data(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


def _words(text: str) -> int:
    return len(text.split())


def check(application: Application) -> list[Gap]:
    """Everything that stops the application from being submitted, in form order."""
    a = application
    gaps: list[Gap] = []

    def gap(field: str, message: str) -> None:
        gaps.append(Gap(field, message))

    if not a.title.strip():
        gap("title", _("give the project a title"))
    if not a.purpose_category:
        gap("purpose_category", _("choose the purpose category that fits the project"))
    for field, minimum in MIN_WORDS.items():
        text = getattr(a, field)
        if _words(text) < minimum:
            gap(
                field,
                _("describe %(what)s in at least %(minimum)d words (now %(now)d)")
                % {"what": WHAT[field], "minimum": minimum, "now": _words(text)},
            )
    if not a.data_form:
        gap("data_form", _("choose the form of the data: anonymised, pseudonymised or aggregate"))
    if a.data_form == DataForm.PSEUDONYMISED and _words(a.pseudonymised_justification) < 10:
        gap(
            "pseudonymised_justification",
            _("explain (10 words or more) why anonymised data would not be enough"),
        )
    if not a.legal_basis_art6:
        gap("legal_basis_art6", _("choose the GDPR Art. 6 legal basis for the processing"))
    if a.special_categories and a.legal_basis_art9 == LegalBasisArt9.NONE:
        gap(
            "legal_basis_art9",
            _("the data include special categories (e.g. health): choose the Art. 9(2) exemption"),
        )
    if a.special_categories and not a.ethics_reference.strip():
        gap(
            "ethics_reference",
            _("give the ethics committee's approval reference (special-category data need one)"),
        )
    if not a.funding.strip():
        gap("funding", _("say who funds the project (or 'none')"))
    if a.commercial_involvement and not a.commercial_description.strip():
        gap("commercial_description", _("describe the commercial involvement"))
    if not a.requested_months:
        gap("requested_months", _("say how many months of access the project needs"))
    if not a.processing_tools.strip():
        gap(
            "processing_tools",
            _("list the tools you will use in the secure environment (e.g. R, Python)"),
        )
    requests = list(a.datasets.select_related("dataset"))
    if not requests:
        gap("datasets", _("add at least one dataset from the catalogue"))
    holders = {r.dataset.publisher_id for r in requests}
    if len(requests) > 1 and not a.linkage_needed and len(holders) > 1:
        gap(
            "linkage_needed",
            _("you request datasets of several holders: say whether their records must be linked"),
        )
    if a.linkage_needed and not a.linkage_description.strip():
        gap("linkage_description", _("say which records must be linked and on what"))
    for r in requests:
        pid = r.dataset.pid
        try:  # the dictionary may have changed since the filters were written
            check_filters(r.dataset, r.filters)
        except ValidationError as exc:
            for message in exc.messages:
                gap(f"datasets.{pid}.filters", f"{pid}: {message}")
        if not r.variables:
            gap(
                f"datasets.{pid}.variables",
                _("%(pid)s: pick the variables you need from its dictionary") % {"pid": pid},
            )
        if a.data_form in (DataForm.ANONYMISED, DataForm.AGGREGATE):
            direct = sorted(
                r.dataset.variables.filter(
                    name__in=r.variables, privacy_role=PrivacyRole.DIRECT_IDENTIFIER
                ).values_list("name", flat=True)
            )
            if direct:
                gap(
                    f"datasets.{pid}.variables",
                    _(
                        "%(pid)s: %(names)s directly identify people and are never part of "
                        "“%(form)s”; remove them (ask for linkage instead)"
                    )
                    % {"pid": pid, "names": ", ".join(direct), "form": DataForm(a.data_form).label},
                )
    persons = list(a.named_persons.all())
    if not persons:
        gap("named_persons", _("name at least one person who will access the data"))
    from datalux.access.actions import conflicts

    if staff := conflicts.staff_named(a):
        gaps.append(
            Gap(
                "named_persons",
                conflicts.staff_named_message(staff),
                conflicts.CONFLICT_OF_INTEREST,
            )
        )
    return gaps
