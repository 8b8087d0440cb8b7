"""Forms of the data authority's pages: the procedure's actions and the permit builder.

Forms only parse. Every rule of the procedure (who may act, in which state, what a permit may
grant) lives in the actions, which refuse with a message the page shows next to the form.
That is why the permit builder accepts any well-formed variable name: a tampered form asking
for a variable the application did not request reaches ``decide``, which names it and refuses.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from datalux.access.actions.permits import (
    BASELINE_CONDITIONS,
    DEFAULT_OUTPUT_RULES,
    MAX_DELTA,
    MAX_EPSILON,
)
from datalux.access.forms import ApplicationForm
from datalux.access.models import FORM_FIELDS, ApplicationDataset, Permit
from datalux.access.states import APPROVED, ApplicationState
from datalux.access.vocabularies import STANDARD_CONDITIONS, ConditionKind, Vote
from datalux.accounts.models import Organisation, User

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,99}$")
NO_NULL_VALUE = ("is_null", "not_null")
LIST_VALUE = ("in", "between")
FREE_CONDITION_ROWS = 3  # empty rows offered for free-text conditions
OUTCOMES = [
    (ApplicationState.APPROVED.value, _("Approved")),
    (ApplicationState.APPROVED_WITH_CONDITIONS.value, _("Approved with conditions")),
    (ApplicationState.REJECTED.value, _("Rejected")),
]
COMMENT_TOPICS = [
    ("", _("The whole application")),
    *[(name, ApplicationForm.base_fields[name].label or name) for name in FORM_FIELDS],
    ("datasets", _("datasets")),
    ("named_persons", _("named persons")),
    ("attachments", _("attachments")),
]


def _required_attrs(rows: int | None = None) -> dict[str, Any]:
    """Marked required for the browser; the action still says what is missing and why."""
    attrs: dict[str, Any] = {"required": True}
    if rows:
        attrs["rows"] = rows
    return attrs


def _date_widget() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class NamesField(forms.MultipleChoiceField):
    """Checkboxes over the offered names that accept any well-formed name: the action decides
    what may be granted and explains its refusal."""

    widget = forms.CheckboxSelectMultiple

    def valid_value(self, value: Any) -> bool:
        return bool(NAME_RE.match(str(value)))


def _scalar(text: str) -> Any:
    text = text.strip()
    try:
        value = json.loads(text)
    except ValueError:
        return text.strip("\"'")
    return value if isinstance(value, int | float | str | bool) else text


def parse_filters(text: str) -> list[dict[str, Any]]:
    """Row filters written one per line, ``variable operator value``: ``age >= 18``,
    ``commune in Luxembourg, Esch``, ``year between 2020, 2024``, ``death_date is_null``."""
    filters: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        parts = line.split(None, 2)
        if not parts:
            continue
        if len(parts) < 2:
            raise forms.ValidationError(
                _("line %(n)d: write “variable operator value”, e.g. age >= 18"),
                params={"n": number},
            )
        variable, op = parts[0], parts[1]
        raw = parts[2] if len(parts) == 3 else ""
        value: Any
        if op in NO_NULL_VALUE:
            value = None
        elif op in LIST_VALUE:
            value = [_scalar(v) for v in raw.split(",") if v.strip()]
        else:
            value = _scalar(raw) if raw.strip() else None
        filters.append({"variable": variable, "op": op, "value": value})
    return filters


def format_filter(item: dict[str, Any]) -> str:
    value = item.get("value")
    if item.get("op") in NO_NULL_VALUE or value is None:
        return f"{item.get('variable')} {item.get('op')}"
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    return f"{item.get('variable')} {item.get('op')} {value}"


class FiltersField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 2})

    def to_python(self, value: Any) -> list[dict[str, Any]]:  # type: ignore[override]
        return parse_filters(super().to_python(value) or "")


# The procedure's actions.


class AssignForm(forms.Form):
    handler = forms.ModelChoiceField(queryset=User.objects.none(), label=_("Case handler"))

    def __init__(self, *args: Any, handlers: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["handler"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = User.objects.filter(pk__in=[u.pk for u in handlers]).order_by("username")


class ReturnForm(forms.Form):
    reasons = forms.CharField(
        label=_("What the applicant must complete or correct"),
        required=False,
        widget=forms.Textarea(attrs=_required_attrs(4)),
        help_text=_("The applicant receives this text; the clock keeps running."),
    )


class StartReviewForm(forms.Form):
    """No fields: the handler confirms the application is complete."""


class RequestOpinionForm(forms.Form):
    organisation = forms.ModelChoiceField(
        queryset=Organisation.objects.none(), label=_("Organisation asked")
    )
    question = forms.CharField(
        label=_("Question"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, organisations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["organisation"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = organisations


class ExtendDeadlineForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the extension"),
        required=False,
        widget=forms.Textarea(attrs=_required_attrs(3)),
        help_text=_("Sent to the applicant. The deadline can be extended once."),
    )


class OpinionForm(forms.Form):
    vote = forms.ChoiceField(label=_("Vote"), choices=Vote.choices, widget=forms.RadioSelect)
    text = forms.CharField(
        label=_("Reasons for your vote"),
        required=False,
        widget=forms.Textarea(attrs=_required_attrs(4)),
    )
    conditions = forms.MultipleChoiceField(
        label=_("Conditions you suggest"),
        choices=[(code, text) for code, (_kind, text) in STANDARD_CONDITIONS.items()],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class CommentForm(forms.Form):
    body = forms.CharField(
        label=_("Comment"), required=False, widget=forms.Textarea(attrs=_required_attrs(3))
    )
    field = forms.ChoiceField(label=_("About"), choices=COMMENT_TOPICS, required=False)
    internal = forms.BooleanField(
        label=_("Internal note (not shown to the applicant)"), required=False
    )


# The permit.


@dataclass
class DatasetRow:
    """The builder's fields for one requested dataset, for the template."""

    request: ApplicationDataset
    grant: forms.BoundField
    variables: forms.BoundField
    time_start: forms.BoundField
    time_end: forms.BoundField
    filters: forms.BoundField
    kept_filters: list[str]


@dataclass
class ConditionRow:
    kind: forms.BoundField
    text: forms.BoundField


class PermitTermsForm(forms.Form):
    """What a permit grants: per requested dataset the variables (pre-ticked as requested, or as
    the permit grants them), the period and extra row filters; conditions; output rules."""

    conditions = forms.MultipleChoiceField(
        label=_("Standard conditions"),
        choices=[
            (code, format_lazy("{}: {}", ConditionKind(kind).label, text))
            for code, (kind, text) in STANDARD_CONDITIONS.items()
            if code not in BASELINE_CONDITIONS
        ],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    threshold = forms.IntegerField(
        label=_("Minimum count per released cell"),
        min_value=1,
        initial=DEFAULT_OUTPUT_RULES["threshold"],
    )
    rounding_base = forms.IntegerField(
        label=_("Round released counts to a multiple of"),
        min_value=1,
        initial=DEFAULT_OUTPUT_RULES["rounding_base"],
    )
    max_queries = forms.IntegerField(
        label=_("Most aggregate queries in all (the aggregate service)"),
        min_value=1,
        required=False,
        help_text=_("Empty: no cap but the platform's daily one."),
    )
    epsilon = forms.FloatField(
        label=_("Privacy budget of the DP queries: total epsilon"),
        min_value=0,
        max_value=MAX_EPSILON,
        required=False,
    )
    delta = forms.FloatField(
        label=_("Total delta"),
        min_value=0,
        max_value=MAX_DELTA,
        required=False,
    )
    synthetic_twin = forms.BooleanField(
        label=_("Allow a differentially private synthetic twin of the extract"),
        required=False,
        help_text=_(
            "Made by the trusted third party after the preparation; the researchers download it "
            "without output checking. It spends privacy budget from the total above."
        ),
    )
    synthetic_epsilon = forms.FloatField(
        label=_("Epsilon of the synthetic twin"),
        min_value=0,
        max_value=MAX_EPSILON,
        required=False,
        help_text=_(
            "Above 0, at most the total epsilon; split equally over the extract's tables. The "
            "twin needs a total delta of at least 1e-9."
        ),
    )

    def __init__(
        self,
        *args: Any,
        requests: list[ApplicationDataset],
        permit: Permit | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.requests = requests
        # the permit's rules this form does not show (aggregate_only, the anonymised form's
        # k, l, t...) are kept as they are by an amendment
        self.kept_rules = dict(permit.output_rules or {}) if permit else {}
        self.fields["epsilon"].help_text = _(
            "Above 0, at most %(max)s. Empty: 1. Never lowered below what is spent already."
        ) % {"max": f"{MAX_EPSILON:g}"}
        self.fields["delta"].help_text = _(
            "From 0 to %(max)s, e.g. 1e-6. Empty: 0 (pure DP only)."
        ) % {"max": f"{MAX_DELTA:g}"}
        granted = {d.dataset_id: d for d in permit.datasets.all()} if permit else None
        for request in requests:
            current: Any = request if granted is None else granted.get(request.dataset_id)
            roles = {v.name: v.get_privacy_role_display() for v in request.dataset.variables.all()}
            key = self._key(request)
            self.fields[f"{key}_grant"] = forms.BooleanField(
                label=_("Grant %(pid)s") % {"pid": request.dataset.pid},
                required=False,
                initial=current is not None,
            )
            self.fields[f"{key}_variables"] = NamesField(
                label=_("Variables"),
                choices=[(v, f"{v} ({roles.get(v, '?')})") for v in request.variables],
                required=False,
                initial=list(current.variables) if current else list(request.variables),
            )
            self.fields[f"{key}_time_start"] = forms.DateField(
                label=_("From"),
                required=False,
                widget=_date_widget(),
                initial=current.time_start if current else request.time_start,
            )
            self.fields[f"{key}_time_end"] = forms.DateField(
                label=_("To"),
                required=False,
                widget=_date_widget(),
                initial=current.time_end if current else request.time_end,
            )
            extra = [f for f in (current.filters if current else []) if f not in request.filters]
            self.fields[f"{key}_filters"] = FiltersField(
                label=_("Extra row filters"),
                required=False,
                initial="\n".join(format_filter(f) for f in extra),
                help_text=_("One per line, e.g. age >= 18 or commune in Esch, Diekirch."),
            )
        codes: list[str] = []
        free: list[tuple[str, str]] = []
        if permit is not None:
            for condition in permit.conditions.order_by("pk"):
                if condition.code:
                    codes.append(condition.code)
                else:
                    free.append((condition.kind, condition.text))
            rules = permit.output_rules or {}
            self.fields["threshold"].initial = rules.get("threshold")
            self.fields["rounding_base"].initial = rules.get("rounding_base")
            self.fields["max_queries"].initial = rules.get("max_queries")
            self.fields["epsilon"].initial = rules.get("epsilon")
            self.fields["delta"].initial = rules.get("delta")
            self.fields["synthetic_twin"].initial = bool(rules.get("synthetic_twin"))
            self.fields["synthetic_epsilon"].initial = rules.get("synthetic_epsilon")
        self.fields["conditions"].initial = codes
        self.free_rows = max(FREE_CONDITION_ROWS, len(free) + 1)
        for i in range(self.free_rows):
            kind, text = free[i] if i < len(free) else ("", "")
            self.fields[f"free_kind_{i}"] = forms.ChoiceField(
                label=_("Kind"),
                choices=[("", "—"), *ConditionKind.choices],
                required=False,
                initial=kind,
            )
            self.fields[f"free_text_{i}"] = forms.CharField(
                label=_("Condition"), required=False, initial=text, max_length=1000
            )

    @staticmethod
    def _key(request: ApplicationDataset) -> str:
        return f"ds{request.dataset_id}"

    @property
    def dataset_rows(self) -> list[DatasetRow]:
        rows = []
        for request in self.requests:
            key = self._key(request)
            rows.append(
                DatasetRow(
                    request=request,
                    grant=self[f"{key}_grant"],
                    variables=self[f"{key}_variables"],
                    time_start=self[f"{key}_time_start"],
                    time_end=self[f"{key}_time_end"],
                    filters=self[f"{key}_filters"],
                    kept_filters=[format_filter(f) for f in request.filters],
                )
            )
        return rows

    @property
    def condition_rows(self) -> list[ConditionRow]:
        return [
            ConditionRow(kind=self[f"free_kind_{i}"], text=self[f"free_text_{i}"])
            for i in range(self.free_rows)
        ]

    @property
    def baseline_conditions(self) -> list[str]:
        return [STANDARD_CONDITIONS[code][1] for code in BASELINE_CONDITIONS]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("epsilon") == 0:
            self.add_error("epsilon", _("epsilon must be above 0, e.g. 1; empty for the default"))
        if data.get("synthetic_twin") and not data.get("synthetic_epsilon"):
            self.add_error(
                "synthetic_epsilon",
                _("give the epsilon the synthetic twin may spend (above 0), e.g. 0.5"),
            )
        for i in range(self.free_rows):
            if (data.get(f"free_text_{i}") or "").strip() and not data.get(f"free_kind_{i}"):
                self.add_error(
                    f"free_kind_{i}",
                    _("say whether the condition is an obligation, a prohibition or a permission"),
                )
        return data

    def terms(self) -> dict[str, Any]:
        """``datasets``, ``conditions`` and ``output_rules`` as the permit actions take them."""
        data = self.cleaned_data
        datasets: dict[str, dict[str, Any]] = {}
        for request in self.requests:
            key = self._key(request)
            if not data.get(f"{key}_grant"):
                continue
            spec: dict[str, Any] = {
                "variables": list(data.get(f"{key}_variables") or []),
                "filters": [*request.filters, *(data.get(f"{key}_filters") or [])],
            }
            for bound in ("time_start", "time_end"):
                if data.get(f"{key}_{bound}"):
                    spec[bound] = data[f"{key}_{bound}"]
            datasets[request.dataset.pid] = spec
        conditions: list[Any] = list(data.get("conditions") or [])
        for i in range(self.free_rows):
            text = (data.get(f"free_text_{i}") or "").strip()
            if text:
                conditions.append({"kind": data[f"free_kind_{i}"], "text": text})
        return {
            "datasets": datasets,
            "conditions": conditions,
            "output_rules": {
                **self.kept_rules,
                "threshold": data["threshold"],
                "rounding_base": data["rounding_base"],
                "max_queries": data.get("max_queries"),
                "epsilon": data.get("epsilon"),
                "delta": data.get("delta"),
                "synthetic_twin": bool(data.get("synthetic_twin")),
                "synthetic_epsilon": data.get("synthetic_epsilon"),
            },
        }


class DecideForm(PermitTermsForm):
    outcome = forms.ChoiceField(label=_("Decision"), choices=OUTCOMES, widget=forms.RadioSelect)
    reasons = forms.CharField(
        label=_("Reasons"),
        required=False,
        widget=forms.Textarea(attrs=_required_attrs(5)),
        help_text=_("Sent to the applicant with the way to seek redress."),
    )
    starts_on = forms.DateField(
        label=_("Permit starts on"),
        required=False,
        widget=_date_widget(),
        help_text=_("Empty: today."),
    )
    ends_on = forms.DateField(
        label=_("Permit ends on"),
        required=False,
        widget=_date_widget(),
        help_text=_("Empty: the number of months the applicant requested."),
    )

    field_order = ["outcome", "reasons", "starts_on", "ends_on"]

    def decision(self) -> dict[str, Any]:
        """The keyword arguments of ``actions.decide`` (a permit only for approvals)."""
        data = self.cleaned_data
        decision: dict[str, Any] = {"outcome": data["outcome"], "reasons": data["reasons"]}
        if data["outcome"] in APPROVED:
            permit = self.terms()
            for bound in ("starts_on", "ends_on"):
                if data.get(bound):
                    permit[bound] = data[bound]
            decision["permit"] = permit
        return decision


class AmendPermitForm(PermitTermsForm):
    reason = forms.CharField(
        label=_("Reason for the amendment"),
        required=False,
        widget=forms.Textarea(attrs=_required_attrs(3)),
    )

    field_order = ["reason"]


class ExtendPermitForm(forms.Form):
    ends_on = forms.DateField(label=_("New end date"), widget=_date_widget())
    reason = forms.CharField(
        label=_("Reason for the extension"),
        required=False,
        widget=forms.Textarea(attrs=_required_attrs(3)),
    )


class RevokePermitForm(forms.Form):
    reason = forms.CharField(
        label=_("Reasons for the revocation"),
        required=False,
        widget=forms.Textarea(attrs=_required_attrs(3)),
        help_text=_("Sent to the permit holder with the way to seek redress; access is cut."),
    )


class ClosePermitForm(forms.Form):
    reason = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
