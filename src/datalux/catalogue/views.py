"""Catalogue pages: search, dataset, organisation, metrics; steward pages to create and edit.

Views parse, call one action (catalogue/actions.py) and render. Everyone may search and read
published records; stewards also see and edit their own holder's drafts. Protected datasets
show metadata and dictionary only: no page ever renders rows or a download link for them.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from datalux.accounts.models import Organisation
from datalux.accounts.permissions import has_permission, organisations_with
from datalux.accounts.roles import OrganisationKind, Permission
from datalux.catalogue import actions
from datalux.catalogue.dictionary import DictionaryError, to_table_schema
from datalux.catalogue.downloads import download_url
from datalux.catalogue.forms import DatasetForm, DictionaryForm, search_query_from
from datalux.catalogue.forms_dictionary import (
    PREFIX,
    VariableFormSet,
    editor,
    editor_with_one_more_row,
)
from datalux.catalogue.metrics import catalogue_metrics
from datalux.catalogue.models import DataProduct, Dataset, DatasetStatus
from datalux.catalogue.mqa import dataset_score, published_score
from datalux.catalogue.search import FACETS, SearchQuery, search
from datalux.core.edit_versions import EditConflict, changed_rows
from datalux.core.guards import deny, require_permission

QUALITY_TEMPLATE = "catalogue/_quality.html"  # written by the uploads module


def _query_string(request: HttpRequest, **changes: Any) -> str:
    params = request.GET.copy()
    for key, value in changes.items():
        params.pop(key, None)
        if value is not None:
            params[key] = str(value)
    return params.urlencode()


def _dataset_or_404(request: HttpRequest, pid: str) -> Dataset:
    """The dataset if the user may see it (drafts only to their stewards), else 404."""
    queryset = Dataset.objects.visible_to(request.user).select_related("publisher", "catalogue")
    return get_object_or_404(queryset, pid=pid)


def _steward_dataset(request: HttpRequest, pid: str) -> Dataset:
    """The dataset if the user is one of its stewards; 404 if invisible, 403 (audited) if not."""
    dataset = _dataset_or_404(request, pid)
    if not has_permission(request.user, Permission.MANAGE_HOLDINGS, dataset):
        raise deny(
            request, Permission.MANAGE_HOLDINGS, _("only its publisher's stewards can change it")
        )
    return dataset


def _apply_errors(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _has_template(name: str) -> bool:
    try:
        get_template(name)
    except TemplateDoesNotExist:
        return False
    return True


@require_GET
def search_page(request: HttpRequest) -> HttpResponse:
    query = search_query_from(request.GET)
    result = search(request.user, query)
    return render(
        request,
        "catalogue/search.html",
        {
            "result": result,
            "query": query,
            "previous_qs": _query_string(request, page=query.page - 1),
            "next_qs": _query_string(request, page=query.page + 1),
            "may_create": has_permission(request.user, Permission.MANAGE_HOLDINGS),
        },
    )


@require_GET
def dataset_page(request: HttpRequest, pid: str) -> HttpResponse:
    dataset = _dataset_or_404(request, pid)
    is_steward = has_permission(request.user, Permission.MANAGE_HOLDINGS, dataset)
    if not is_steward:
        actions.count_view(dataset)
    distributions = list(dataset.distributions.all())
    downloadable = dataset.status == DatasetStatus.PUBLISHED and not dataset.is_protected
    for dist in distributions:
        dist.link = download_url(dist, pid=dataset.pid, protected=not downloadable, request=request)
    context: dict[str, Any] = {
        "dataset": dataset,
        "is_steward": is_steward,
        "variables": list(dataset.variables.all()),
        "distributions": distributions,
        "data_products": list(dataset.data_products.select_related("organisation")),
        "quality_template": QUALITY_TEMPLATE if _has_template(QUALITY_TEMPLATE) else "",
        "latest_version": dataset.versions.first(),
        "mqa": dataset_score(dataset) if is_steward else None,  # stewards of the publisher
    }
    return render(request, "catalogue/dataset.html", context)


@require_http_methods(["GET", "POST"])
@require_permission(Permission.MANAGE_HOLDINGS)
def dataset_create(request: HttpRequest) -> HttpResponse:
    platform, orgs = organisations_with(request.user, Permission.MANAGE_HOLDINGS)
    publishers = Organisation.objects.filter(kind=OrganisationKind.DATA_HOLDER)
    if not platform:
        publishers = publishers.filter(pk__in=orgs)
    form = DatasetForm(request.POST or None, publishers=publishers)
    if request.method == "POST" and form.is_valid():
        try:
            dataset = actions.create_dataset(
                publisher=form.cleaned_data["publisher"],
                by=request.user,
                slug=form.cleaned_data.get("slug", ""),
                **form.dataset_fields(),
            )
        except PermissionDenied as exc:
            raise deny(request, Permission.MANAGE_HOLDINGS, str(exc)) from exc
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Draft created. Describe its variables, then publish it."))
            return redirect("catalogue:dataset", pid=dataset.pid)
    return render(request, "catalogue/dataset_form.html", {"form": form, "dataset": None})


@require_http_methods(["GET", "POST"])
@require_permission(Permission.MANAGE_HOLDINGS)
def dataset_edit(request: HttpRequest, pid: str) -> HttpResponse:
    dataset = _steward_dataset(request, pid)
    form = DatasetForm(request.POST or None, initial=DatasetForm.initial_for(dataset))
    version = request.POST.get("edit_version", "")[:20000] or None
    conflict = None
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_dataset(
                dataset=dataset, by=request.user, expected_version=version, **form.dataset_fields()
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        except EditConflict as exc:
            dataset.refresh_from_db()
            labels = {"title": _("Title"), "description": _("Description")}
            labels |= {k: f.label for k, f in form.fields.items() if f.label}
            current = {k: getattr(dataset, k) for k in actions.EDITABLE_FIELDS}
            conflict = {"rows": changed_rows(exc.changed, labels, current)}
            version = None
        else:
            messages.success(request, _("Changes saved."))
            return redirect("catalogue:dataset", pid=dataset.pid)
    context = {
        "form": form,
        "dataset": dataset,
        "conflict": conflict,
        "version": version or actions.metadata_version(dataset),
    }
    return render(request, "catalogue/dataset_form.html", context, status=409 if conflict else 200)


@require_http_methods(["GET", "POST"])
@require_permission(Permission.MANAGE_HOLDINGS)
def dataset_dictionary(request: HttpRequest, pid: str) -> HttpResponse:
    """The dictionary editor (one row per variable) and, beside it, the Table Schema to paste
    or upload; both save through ``actions.set_dictionary``."""
    dataset = _steward_dataset(request, pid)
    variables = list(dataset.variables.order_by("position"))
    current = json.dumps(to_table_schema(variables), indent=2, ensure_ascii=False)
    editor_name = request.POST.get("editor", "")
    as_json = request.method == "POST" and (
        editor_name == "json"
        or (editor_name != "rows" and ("schema_text" in request.POST or bool(request.FILES)))
    )
    as_rows = request.method == "POST" and not as_json
    version = request.POST.get("edit_version", "")[:200000] or None
    conflict = None
    form = DictionaryForm(
        request.POST if as_json else None,
        request.FILES if as_json else None,
        initial={"schema_text": current} if variables else {},
    )
    formset = VariableFormSet(request.POST, prefix=PREFIX) if as_rows else editor(variables)
    if as_rows and "add" in request.POST:
        formset = editor_with_one_more_row(request.POST)
    elif as_rows or as_json:
        valid = form.is_valid() if as_json else formset.is_valid()
        if valid:
            table_schema = (
                form.cleaned_data["table_schema"]
                if as_json
                else formset.table_schema({v.name: v for v in variables})
            )
            try:
                saved = actions.set_dictionary(
                    dataset=dataset,
                    by=request.user,
                    table_schema=table_schema,
                    expected_version=version,
                )
            except DictionaryError as exc:
                if as_json:
                    form.add_error(None, exc.problems)
                else:
                    formset.dictionary_problems = exc.problems
            except EditConflict as exc:
                now = {v.name: v for v in dataset.variables.order_by("position")}
                rows = [
                    {"label": _("Order of the variables"), "now": ", ".join(now)}
                    if name == "order"
                    else {"label": name, "now": _variable_summary(now.get(name))}
                    for name in exc.changed
                ]
                conflict = {"rows": rows}
                version = actions.dictionary_version(dataset)
            else:
                messages.success(
                    request, _("Data dictionary saved: %(n)d variables.") % {"n": len(saved)}
                )
                return redirect("catalogue:dataset", pid=dataset.pid)
    context = {
        "form": form,
        "formset": formset,
        "dataset": dataset,
        "json_open": as_json,
        "conflict": conflict,
        "version": version or actions.dictionary_version(dataset),
    }
    if request.htmx and as_rows:  # type: ignore[attr-defined]
        return render(request, "catalogue/_dictionary_editor.html", context)
    status = 409 if conflict else 200
    return render(request, "catalogue/dictionary_form.html", context, status=status)


def _variable_summary(variable: Any) -> str:
    if variable is None:
        return _("removed")
    parts = [variable.type, variable.display_label, variable.unit, variable.code_list]
    return " · ".join(str(p) for p in parts if p)


@require_POST
@require_permission(Permission.MANAGE_HOLDINGS)
def dataset_publish(request: HttpRequest, pid: str) -> HttpResponse:
    dataset = _steward_dataset(request, pid)
    try:
        dataset = actions.publish_dataset(dataset=dataset, by=request.user)
    except actions.DictionaryMismatch as exc:
        messages.error(
            request,
            _(
                "Not published: the data dictionary no longer matches the stored data "
                "(%(problems)s). Correct the dictionary or upload data that fits it."
            )
            % {"problems": "; ".join(exc.problems)},
        )
        return redirect("catalogue:dataset", pid=dataset.pid)
    if dataset.status == DatasetStatus.PUBLISHED:
        messages.success(request, _("Published: the record is now in the public catalogue."))
    else:
        messages.error(
            request,
            _("Not published: the record does not meet DCAT-AP. Fix the findings listed below."),
        )
    return redirect("catalogue:dataset", pid=dataset.pid)


@require_POST
@require_permission(Permission.MANAGE_HOLDINGS)
def dataset_withdraw(request: HttpRequest, pid: str) -> HttpResponse:
    dataset = _steward_dataset(request, pid)
    actions.withdraw_dataset(
        dataset=dataset, by=request.user, reason=request.POST.get("reason", "")[:200]
    )
    messages.success(request, _("Withdrawn: the record is no longer in the public catalogue."))
    return redirect("catalogue:dataset", pid=dataset.pid)


@require_GET
def organisation_page(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = get_object_or_404(Organisation, slug=slug)
    params = request.GET.copy()
    for facet in FACETS:
        params.pop(facet, None)
    base = search_query_from(params)
    query = SearchQuery(
        text=base.text, filters={"publisher": [organisation.slug]}, sort=base.sort, page=base.page
    )
    if (
        organisation.kind != OrganisationKind.DATA_HOLDER
        and not Dataset.objects.filter(publisher=organisation).exists()
    ):
        result = None
    else:
        result = search(request.user, query)
    return render(
        request,
        "catalogue/organisation.html",
        {
            "organisation": organisation,
            "result": result,
            "query": query,
            "previous_qs": _query_string(request, page=query.page - 1),
            "next_qs": _query_string(request, page=query.page + 1),
            "data_products": DataProduct.objects.filter(organisation=organisation),
            "is_steward": has_permission(request.user, Permission.MANAGE_HOLDINGS, organisation),
        },
    )


@require_GET
def metrics_page(request: HttpRequest) -> HttpResponse:
    context = {"metrics": catalogue_metrics(), "mqa": published_score()}
    return render(request, "catalogue/metrics.html", context)
