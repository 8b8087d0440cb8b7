"""Forms of the catalogue pages: search parameters, dataset metadata, data dictionary."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from datalux.catalogue.models import Dataset
from datalux.catalogue.search import DEFAULT_PAGE_SIZE, FACETS, SORTS, SearchQuery
from datalux.catalogue.vocabularies import LANGUAGES, LICENCES, AccessRights, Frequency, Theme

LANGUAGE_NAMES = {
    "en": _("English"),
    "fr": _("French"),
    "de": _("German"),
    "lb": _("Luxembourgish"),
}
MAX_QUERY_LENGTH = 500
MAX_PAGE = 10_000
MAX_SCHEMA_BYTES = 2 * 1024 * 1024


def search_query_from(params: QueryDict, page_size: int = DEFAULT_PAGE_SIZE) -> SearchQuery:
    """A SearchQuery from GET parameters; anything malformed falls back to the default."""
    sort = params.get("sort", "relevance")
    try:
        page = min(max(int(params.get("page", "1")), 1), MAX_PAGE)
    except ValueError:
        page = 1
    return SearchQuery(
        text=params.get("q", "")[:MAX_QUERY_LENGTH],
        filters={f: params.getlist(f) for f in FACETS if params.getlist(f)},
        sort=sort if sort in SORTS else "relevance",
        page=page,
        page_size=page_size,
    )


def _keywords(text: str) -> list[str]:
    return list(dict.fromkeys(k.strip() for k in text.split(",") if k.strip()))


class DatasetForm(forms.Form):
    """The metadata a steward writes; ``publishers`` (create only) lists where they may publish."""

    keywords = forms.CharField(
        label=_("Keywords"),
        required=False,
        help_text=_("Separated by commas, e.g. hospital, inpatient, ICD-10."),
    )
    themes = forms.MultipleChoiceField(
        label=_("Themes"),
        choices=Theme.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    access_rights = forms.ChoiceField(
        label=_("Access rights"),
        choices=AccessRights.choices,
        help_text=_("Public: open data. Restricted or non-public: access through a permit only."),
    )
    legal_basis = forms.CharField(label=_("Legal basis"), required=False, widget=forms.Textarea)
    conditions_for_reuse = forms.CharField(
        label=_("Conditions for reuse"), required=False, widget=forms.Textarea
    )
    licence = forms.ChoiceField(
        label=_("Licence"),
        choices=[("", _("None (protected data)")), *[(k, k) for k in LICENCES]],
        required=False,
    )
    contact_name = forms.CharField(label=_("Contact name"), max_length=200, required=False)
    contact_email = forms.EmailField(label=_("Contact e-mail"), required=False)
    temporal_start = forms.DateField(
        label=_("Covers from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    temporal_end = forms.DateField(
        label=_("Covers until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    accrual_periodicity = forms.ChoiceField(
        label=_("Update frequency"), choices=Frequency.choices, initial=Frequency.UNKNOWN
    )
    version = forms.CharField(label=_("Version"), max_length=32, required=False)

    def __init__(self, *args: Any, publishers: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        text_fields: dict[str, forms.Field] = {}
        for code in LANGUAGES:
            text_fields[f"title_{code}"] = forms.CharField(
                label=_("Title (%(language)s)") % {"language": LANGUAGE_NAMES[code]},
                max_length=300,
                required=False,
            )
        for code in LANGUAGES:
            text_fields[f"description_{code}"] = forms.CharField(
                label=_("Description (%(language)s)") % {"language": LANGUAGE_NAMES[code]},
                required=False,
                widget=forms.Textarea(attrs={"rows": 4}),
            )
        head: dict[str, forms.Field] = {}
        if publishers is not None:
            head["publisher"] = forms.ModelChoiceField(
                label=_("Publisher"), queryset=publishers, empty_label=None
            )
            head["slug"] = forms.SlugField(
                label=_("Short name in addresses"),
                max_length=120,
                required=False,
                help_text=_("Letters, digits and hyphens; made from the English title if empty."),
            )
        declared: dict[str, forms.Field] = dict(self.fields)  # type: ignore[has-type]
        self.fields = {**head, **text_fields, **declared}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not any((data.get(f"title_{code}") or "").strip() for code in LANGUAGES):
            raise forms.ValidationError(_("Give a title in at least one language."))
        return data

    def dataset_fields(self) -> dict[str, Any]:
        """The keyword arguments for actions.create_dataset / update_dataset."""
        data = self.cleaned_data

        def texts(prefix: str) -> dict[str, str]:
            return {
                code: data[f"{prefix}_{code}"].strip()
                for code in LANGUAGES
                if (data.get(f"{prefix}_{code}") or "").strip()
            }

        return {
            "title": texts("title"),
            "description": texts("description"),
            "keywords": _keywords(data.get("keywords", "")),
            "themes": list(data.get("themes", [])),
            "access_rights": data["access_rights"],
            "legal_basis": data.get("legal_basis", ""),
            "conditions_for_reuse": data.get("conditions_for_reuse", ""),
            "licence": data.get("licence", ""),
            "contact_name": data.get("contact_name", ""),
            "contact_email": data.get("contact_email", ""),
            "temporal_start": data.get("temporal_start"),
            "temporal_end": data.get("temporal_end"),
            "accrual_periodicity": data["accrual_periodicity"],
            "version": data.get("version", ""),
        }

    @staticmethod
    def initial_for(dataset: Dataset) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "keywords": ", ".join(str(k) for k in dataset.keywords),
            "themes": list(dataset.themes),
        }
        for code in LANGUAGES:
            initial[f"title_{code}"] = dataset.title.get(code, "")
            initial[f"description_{code}"] = dataset.description.get(code, "")
        for name in (
            "access_rights", "legal_basis", "conditions_for_reuse", "licence", "contact_name",
            "contact_email", "temporal_start", "temporal_end", "accrual_periodicity", "version",
        ):  # fmt: skip
            initial[name] = getattr(dataset, name)
        return initial


class DictionaryForm(forms.Form):
    """A Table Schema descriptor, uploaded as a file or pasted."""

    schema_file = forms.FileField(
        label=_("Table Schema file (JSON)"),
        required=False,
        help_text=_('A Frictionless Table Schema: {"fields": [{"name": ..., "type": ...}]}.'),
    )
    schema_text = forms.CharField(
        label=_("Or paste the Table Schema"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 16, "spellcheck": "false"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        upload, text = data.get("schema_file"), (data.get("schema_text") or "").strip()
        if bool(upload) == bool(text):
            raise forms.ValidationError(_("Upload a file or paste the schema (one of the two)."))
        if upload:
            if upload.size > MAX_SCHEMA_BYTES:
                raise forms.ValidationError(_("The file is larger than 2 MB: is it a schema?"))
            raw = upload.read()
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError(_("The file is not UTF-8 text.")) from None
        try:
            data["table_schema"] = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                _("This is not valid JSON (line %(line)s, column %(col)s): %(msg)s.")
                % {"line": exc.lineno, "col": exc.colno, "msg": exc.msg}
            ) from None
        return data
