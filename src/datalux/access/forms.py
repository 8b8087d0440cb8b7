"""Forms of the applicant's pages: they parse input only; the actions check the rules.

The application form (:class:`ApplicationForm`) declares every field of ``FORM_FIELDS`` with a
help text that says what the authority looks for. Everything except the title is optional
while drafting: the completeness check (``access/completeness.py``) says what is still missing
before submission.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from datalux.access.models import FORM_FIELDS
from datalux.access.vocabularies import (
    ATTACHMENT_MAX_BYTES,
    ATTACHMENT_TYPES,
    FILTER_OPERATOR_LABELS,
    FILTER_OPERATORS,
    AttachmentKind,
    DataForm,
    LegalBasisArt6,
    LegalBasisArt9,
    PurposeCategory,
)

BLANK = [("", _("— choose —"))]


def _text(label: Any, help_text: Any, rows: int = 4) -> forms.CharField:
    return forms.CharField(
        label=label,
        help_text=help_text,
        required=False,
        widget=forms.Textarea(attrs={"rows": rows}),
    )


class ApplicationForm(forms.Form):
    """Every field of the application form (schema 1.0), in form order."""

    title = forms.CharField(
        label=_("Project title"),
        max_length=300,
        help_text=_("A short title that says what the project is about; it is published."),
    )
    purpose_category = forms.ChoiceField(
        label=_("Purpose category"),
        choices=BLANK + list(PurposeCategory.choices),
        required=False,
        help_text=_(
            "The purposes for which protected data may be re-used (Data Governance Act Art. 5, "
            "European Health Data Space Art. 53). Choose the one that fits best."
        ),
    )
    purpose_description = _text(
        _("Detailed description of the purpose"),
        _(
            "What question the project answers, why these data are needed and how they will "
            "be analysed (at least 30 words). The permit will be limited to this purpose."
        ),
        rows=6,
    )
    expected_benefit = _text(
        _("Expected benefit"),
        _("Who benefits from the results and how: patients, public policy, science (10 words+)."),
    )
    lay_summary = _text(
        _("Lay summary for publication"),
        _(
            "A plain-language summary (at least 20 words) published in the public register if "
            "the application is approved. Do not include personal or confidential details."
        ),
    )
    data_form = forms.ChoiceField(
        label=_("Form of the data"),
        choices=BLANK + list(DataForm.choices),
        required=False,
        help_text=_(
            "Data minimisation (GDPR Art. 5(1)(c)): ask for aggregate statistics or anonymised "
            "data whenever they are enough. Pseudonymised data are still personal data."
        ),
    )
    pseudonymised_justification = _text(
        _("Why anonymised data are not enough"),
        _(
            "Only for pseudonymised data: explain (10 words or more) why the project needs "
            "record-level data that can be linked, e.g. follow-up of the same people over time."
        ),
    )
    linkage_needed = forms.BooleanField(
        label=_("Records of different datasets must be linked"),
        required=False,
        help_text=_(
            "Tick when records of several datasets must be joined for the same person; a "
            "trusted third party links them on pseudonyms, never on direct identifiers."
        ),
    )
    linkage_description = _text(
        _("Linkage needed"),
        _("Which datasets must be linked, and on what (person, household, enterprise)."),
        rows=3,
    )
    legal_basis_art6 = forms.ChoiceField(
        label=_("Legal basis (GDPR Art. 6)"),
        choices=BLANK + list(LegalBasisArt6.choices),
        required=False,
        help_text=_(
            "The lawful basis of your processing under GDPR Art. 6(1). Public bodies and "
            "research institutions usually rely on (e) public interest or official authority."
        ),
    )
    special_categories = forms.BooleanField(
        label=_("The data include special categories of personal data"),
        required=False,
        help_text=_(
            "GDPR Art. 9(1): health, genetic or biometric data, ethnic origin, political "
            "opinions, religion, trade-union membership, sex life or sexual orientation."
        ),
    )
    legal_basis_art9 = forms.ChoiceField(
        label=_("Exemption for special categories (GDPR Art. 9(2))"),
        choices=list(LegalBasisArt9.choices),
        required=False,
        help_text=_(
            "Needed when the data include special categories; research and statistics "
            "usually rely on Art. 9(2)(j) with the safeguards of Art. 89."
        ),
    )
    ethics_reference = forms.CharField(
        label=_("Ethics approval reference"),
        max_length=200,
        required=False,
        help_text=_(
            "The reference of the ethics committee's approval (required for special-category "
            "data). Attach the approval letter below."
        ),
    )
    funding = _text(
        _("Funding"),
        _("Who funds the project (grant references), or 'none'."),
        rows=2,
    )
    commercial_involvement = forms.BooleanField(
        label=_("A commercial company is involved"),
        required=False,
        help_text=_("Tick when a company funds, runs or benefits from the project."),
    )
    commercial_description = _text(
        _("Commercial involvement"),
        _("Which company, its role, and what it receives (results, code, data)."),
        rows=3,
    )
    safeguards = _text(
        _("Safeguards"),
        _(
            "Technical and organisational measures (GDPR Art. 32 and 89): training, "
            "confidentiality agreements, who checks outputs, how results are published "
            "(at least 10 words)."
        ),
    )
    requested_months = forms.IntegerField(
        label=_("Requested duration (months)"),
        min_value=1,
        max_value=120,
        required=False,
        help_text=_("How long the project needs access to the data, from 1 to 120 months."),
    )
    processing_tools = _text(
        _("Processing tools"),
        _("Software you need in the secure processing environment, e.g. R 4.4, Python 3.11."),
        rows=2,
    )
    processing_compute = _text(
        _("Computing needs"),
        _("Memory, processors or GPU the analysis needs, if more than a standard workspace."),
        rows=2,
    )

    def action_fields(self) -> dict[str, Any]:
        """The cleaned values, ready for ``actions.update_application``."""
        data = self.cleaned_data
        return {name: data[name] for name in FORM_FIELDS if name in data}


# The form in sections, for the edit page and the detail page.
SECTIONS: list[tuple[str, Any, tuple[str, ...]]] = [
    (
        "project",
        _("Project"),
        ("title", "purpose_category", "purpose_description", "expected_benefit", "lay_summary"),
    ),
    (
        "data",
        _("Form of the data and linkage"),
        ("data_form", "pseudonymised_justification", "linkage_needed", "linkage_description"),
    ),
    (
        "legal",
        _("Legal basis and ethics"),
        ("legal_basis_art6", "special_categories", "legal_basis_art9", "ethics_reference"),
    ),
    (
        "funding",
        _("Funding and commercial involvement"),
        ("funding", "commercial_involvement", "commercial_description"),
    ),
    (
        "processing",
        _("Safeguards, duration and processing"),
        ("safeguards", "requested_months", "processing_tools", "processing_compute"),
    ),
]


class NewApplicationForm(forms.Form):
    """Start a draft: the organisation (when there is a choice) and a title."""

    organisation = forms.ModelChoiceField(
        label=_("On behalf of"),
        queryset=None,
        empty_label=None,
        help_text=_("The organisation that will hold the permit."),
    )
    title = ApplicationForm.base_fields["title"]
    dataset = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, organisations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if organisations.count() == 1:
            del self.fields["organisation"]
            self.only_organisation = organisations.get()
        else:
            self.fields["organisation"].queryset = organisations  # type: ignore[attr-defined]
            self.only_organisation = None

    def chosen_organisation(self) -> Any:
        return self.only_organisation or self.cleaned_data["organisation"]


def parse_value(op: str, text: str) -> Any:
    """A filter value: JSON when it parses (``18``, ``"F"``, ``[1, 2]``), else the text; for
    ``in`` and ``between`` a comma-separated list is accepted too."""
    text = text.strip()
    if op in ("is_null", "not_null"):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        value = text
    if op in ("in", "between") and isinstance(value, str):
        value = [parse_value("=", part) for part in value.split(",") if part.strip()]
    return value


class FilterForm(forms.Form):
    """One row filter: variable, operator, value."""

    variable = forms.ChoiceField(label=_("Variable"), required=False)
    op = forms.ChoiceField(
        label=_("Operator"),
        choices=BLANK + [(op, FILTER_OPERATOR_LABELS.get(op, op)) for op in FILTER_OPERATORS],
        required=False,
    )
    value = forms.CharField(
        label=_("Value"),
        required=False,
        max_length=500,
        help_text=_('e.g. 18, "F", [1, 2] or 2020-01-01, 2020-12-31 for between'),
    )

    def __init__(self, *args: Any, variables: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["variable"].choices = BLANK + [(n, n) for n in variables]  # type: ignore[attr-defined]

    def as_filter(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        if not data.get("variable") and not data.get("op") and not data.get("value"):
            return None
        op = data.get("op") or ""
        return {
            "variable": data.get("variable") or "",
            "op": op,
            "value": parse_value(op, data.get("value") or ""),
        }


FilterFormSet = forms.formset_factory(FilterForm, extra=2, max_num=20, absolute_max=20)


def _value_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def filter_initial(filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"variable": f.get("variable"), "op": f.get("op"), "value": _value_text(f.get("value"))}
        for f in filters
    ]


class DatasetRequestForm(forms.Form):
    """The variables, period and population of one requested dataset."""

    dataset = forms.CharField(widget=forms.HiddenInput)
    variables = forms.MultipleChoiceField(
        label=_("Variables"), required=False, widget=forms.CheckboxSelectMultiple
    )
    time_start = forms.DateField(
        label=_("Period from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("The first date of the records you need (YYYY-MM-DD)."),
    )
    time_end = forms.DateField(
        label=_("Period until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("The last date of the records you need (YYYY-MM-DD)."),
    )
    population = _text(
        _("Population"),
        _("The people (or units) you need, in words, e.g. adults admitted to hospital."),
        rows=2,
    )

    def __init__(self, *args: Any, variables: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["variables"].choices = [(n, n) for n in variables]  # type: ignore[attr-defined]


class NamedPersonForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    email = forms.EmailField(
        label=_("E-mail"),
        help_text=_("Their account is linked by this address; they must accept the terms."),
    )
    role_in_project = forms.CharField(
        label=_("Role in the project"), max_length=200, required=False
    )


ACCEPTED_SUFFIXES = ",".join(sorted(ATTACHMENT_TYPES))


class AttachmentForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind of document"), choices=AttachmentKind.choices)
    file = forms.FileField(
        label=_("File"),
        help_text=format_lazy(
            _("Accepted: {types}, at most {mb} MB."),
            types=", ".join(sorted(ATTACHMENT_TYPES)),
            mb=ATTACHMENT_MAX_BYTES // 2**20,
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPTED_SUFFIXES}),
    )


class CommentForm(forms.Form):
    body = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3}))
    field = forms.ChoiceField(label=_("About"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = ApplicationForm.base_fields
        self.fields["field"].choices = [  # type: ignore[attr-defined]
            ("", _("the application as a whole")),
            *[(name, labels[name].label) for name in FORM_FIELDS],
            ("datasets", _("Datasets")),
            ("named_persons", _("Named persons")),
            ("attachments", _("Attachments")),
        ]


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("Why do you withdraw the application?"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    confirm = forms.BooleanField(
        label=_("I understand that a withdrawn application cannot be reopened"),
        error_messages={"required": _("Tick the box to confirm.")},
    )


class TermsForm(forms.Form):
    accept = forms.BooleanField(
        label=_("I accept these terms of use"),
        error_messages={"required": _("Tick the box to accept the terms.")},
    )


def apply_errors(form: forms.Form, exc: ValidationError) -> None:
    """Put an action's ValidationError next to the form's fields (or on top)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)
