"""Operator pages for harvesting: register a remote DCAT-AP catalogue, run it, see reports.

Platform administrators only (``Permission.MANAGE_ORGANISATIONS``).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from datalux.accounts.models import Organisation
from datalux.accounts.roles import Permission
from datalux.catalogue.harvest import HarvestError, register_source, run_harvest
from datalux.catalogue.harvest_runs import RUNS_SHOWN, recent_runs
from datalux.catalogue.models import HarvestSource
from datalux.core.guards import require_permission


class HarvestSourceForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    url = forms.CharField(
        label=gettext_lazy(
            "Address of the DCAT-AP document (URL, or a file in the harvest folder)"
        ),
        max_length=500,
        help_text=gettext_lazy("e.g. https://data.public.lu/catalog.ttl"),
    )
    publisher = forms.ModelChoiceField(
        label=gettext_lazy("Organisation the harvested records belong to"),
        help_text=gettext_lazy(
            "Every record of the source belongs to it, whatever publisher the remote names."
        ),
        queryset=Organisation.objects.order_by("name"),
    )


@require_http_methods(["GET", "POST"])
@require_permission(Permission.MANAGE_ORGANISATIONS)
def harvest_sources(request: HttpRequest) -> HttpResponse:
    form = HarvestSourceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            source = register_source(
                name=form.cleaned_data["name"],
                url=form.cleaned_data["url"].strip(),
                publisher=form.cleaned_data["publisher"],
                by=request.user,
            )
        except ValidationError as exc:
            for fieldname, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(fieldname if fieldname in form.fields else None, error)
        else:
            messages.success(
                request, _("Harvest source %(name)s registered.") % {"name": source.name}
            )
            return redirect("dcat:harvest_sources")
    sources = list(HarvestSource.objects.select_related("publisher", "catalogue").order_by("name"))
    runs = recent_runs(sources)
    for source in sources:
        source.runs = runs.get(source.pk, [])
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "catalogue/harvest_sources.html",
        {"form": form, "sources": sources, "runs_shown": RUNS_SHOWN},
        status=status,
    )


@require_POST
@require_permission(Permission.MANAGE_ORGANISATIONS)
def harvest_run(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(HarvestSource, pk=pk)
    try:
        report = run_harvest(source=source, by=request.user)
    except HarvestError as exc:
        messages.error(
            request, _("The harvest failed; nothing was changed: %(error)s") % {"error": exc}
        )
    else:
        messages.success(request, report.summary())
    return redirect("dcat:harvest_sources")
