"""The data-dictionary editor: one form per variable, in a formset that adds, removes and
reorders variables, and turns into the Table Schema descriptor that
``actions.set_dictionary`` checks and stores (the same path as a pasted or uploaded schema).

What the form does not show is kept: labels and descriptions in other languages than English,
allowed values and missing-value markers come from the variable the row was made from (its
``original`` name, so a renamed variable keeps them too).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from datalux.catalogue.dictionary import FIELD_TYPES
from datalux.catalogue.vocabularies import CODE_LISTS, LinkageKind, PrivacyRole

MAX_VARIABLES = 500
PREFIX = "variables"


class VariableForm(forms.Form):
    original = forms.CharField(widget=forms.HiddenInput, required=False, max_length=100)
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("The column name in the data files, e.g. birth_date."),
    )
    type = forms.ChoiceField(
        label=_("Type"), choices=[(t, t) for t in sorted(FIELD_TYPES)], initial="string"
    )
    title = forms.CharField(label=_("Title (English)"), max_length=200, required=False)
    description = forms.CharField(
        label=_("Description (English)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    unit = forms.CharField(
        label=_("Unit"), max_length=50, required=False, help_text=_("e.g. EUR, kg, days")
    )
    code_list = forms.ChoiceField(
        label=_("Code list"),
        choices=[("", _("none")), *CODE_LISTS.items()],
        required=False,
        help_text=_("Values are checked against this list on upload and in row filters."),
    )
    required = forms.BooleanField(label=_("A value is required in every row"), required=False)
    privacy_role = forms.ChoiceField(
        label=_("Privacy role"),
        choices=PrivacyRole.choices,
        initial=PrivacyRole.QUASI_IDENTIFIER,
        help_text=_(
            "A new variable counts as a quasi-identifier until you decide: its range is shown "
            "coarsened and it is generalised in anonymised extracts."
        ),
    )
    period = forms.BooleanField(
        label=_("A permitted period applies to this date"),
        required=False,
        help_text=_("Tick it on one date only, e.g. the admission date, not the discharge date."),
    )
    linkage_kind = forms.ChoiceField(
        label=_("For linkage, this variable is"),
        choices=[("", _("not used for linkage")), *LinkageKind.choices],
        required=False,
        help_text=_(
            "For a table without national numbers: what the trusted third party compares to "
            "find the same person in a table that has them."
        ),
    )

    def clean_name(self) -> str:
        return str(self.cleaned_data["name"]).strip()


class BaseVariableFormSet(forms.BaseFormSet):  # type: ignore[type-arg]
    dictionary_problems: list[str] = []  # set by the page when set_dictionary refuses the rows

    def add_fields(self, form: forms.Form, index: int | None) -> None:
        super().add_fields(form, index)
        form.fields["ORDER"].label = _("Position")
        form.fields["DELETE"].label = _("Remove this variable")

    def table_schema(self, existing: dict[str, Any]) -> dict[str, Any]:
        """The descriptor of the rows kept, in their order; ``existing`` maps the names of the
        current variables to their rows, whose hidden details are kept."""
        fields = []
        for form in self.ordered_forms:  # removed and untouched blank rows are left out
            data = form.cleaned_data
            before = existing.get(data.get("original") or data["name"])
            labels = dict(before.label) if before is not None else {}
            descriptions = dict(before.description) if before is not None else {}
            _set_english(labels, data.get("title", ""))
            _set_english(descriptions, data.get("description", ""))
            field: dict[str, Any] = {
                "name": data["name"],
                "type": data["type"],
                "privacyRole": data["privacy_role"],
            }
            if data.get("period"):
                field["period"] = True
            if data.get("linkage_kind"):
                field["linkageKind"] = data["linkage_kind"]
            if labels:
                field["labels"] = labels
            if descriptions:
                field["descriptions"] = descriptions
            if data.get("unit", "").strip():
                field["unit"] = data["unit"].strip()
            if data.get("code_list"):
                field["codeList"] = data["code_list"]
            constraints: dict[str, Any] = {}
            if data.get("required"):
                constraints["required"] = True
            if before is not None and before.allowed_values:
                constraints["enum"] = before.allowed_values
            if constraints:
                field["constraints"] = constraints
            if before is not None and before.missing_values:
                field["missingValues"] = before.missing_values
            fields.append(field)
        return {"fields": fields}


def _set_english(texts: dict[str, str], text: str) -> None:
    if text.strip():
        texts["en"] = text.strip()
    else:
        texts.pop("en", None)


def _formset_class(extra: int) -> type[BaseVariableFormSet]:
    return forms.formset_factory(
        VariableForm,
        formset=BaseVariableFormSet,
        extra=extra,
        can_order=True,
        can_delete=True,
        max_num=MAX_VARIABLES,
        absolute_max=MAX_VARIABLES,
    )


VariableFormSet = _formset_class(1)  # the rows of the dictionary and one empty row


def editor(variables: Any) -> BaseVariableFormSet:
    """The editor of the current dictionary (unbound)."""
    rows = [
        {
            "original": v.name,
            "name": v.name,
            "type": v.type,
            "title": v.label.get("en", ""),
            "description": v.description.get("en", ""),
            "unit": v.unit,
            "code_list": v.code_list,
            "required": v.required,
            "privacy_role": v.privacy_role,
            "period": v.period,
            "linkage_kind": v.linkage_kind,
            "ORDER": position,
        }
        for position, v in enumerate(variables, start=1)
    ]
    return VariableFormSet(initial=rows, prefix=PREFIX)


def editor_with_one_more_row(data: Any) -> BaseVariableFormSet:
    """The editor shown again as posted, in the positions given, without removed rows, and
    with one empty row more: the "Add a variable" button, which works without JavaScript."""
    posted = VariableFormSet(data, prefix=PREFIX)
    rows: list[tuple[float, int, dict[str, Any]]] = []
    blank = 0
    names = [*VariableForm.base_fields]
    for index, form in enumerate(posted.forms):
        if form["DELETE"].value():
            continue
        row = {name: form[name].value() for name in names}
        if not any(str(row[n] or "").strip() for n in ("name", "title", "description", "unit")):
            blank += 1
            continue
        try:
            order = float(form["ORDER"].value())
        except (TypeError, ValueError):
            order = float("inf")
        rows.append((order, index, row))
    rows.sort(key=lambda item: (item[0], item[1]))
    initial = [{**row, "ORDER": n} for n, (_order, _index, row) in enumerate(rows, start=1)]
    extra = min(blank + 1, MAX_VARIABLES - len(initial))
    return _formset_class(max(extra, 0))(initial=initial, prefix=PREFIX)
