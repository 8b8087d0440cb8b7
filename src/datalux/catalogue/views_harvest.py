"""Operator pages for harvesting: register a remote DCAT-AP catalogue, run it, see reports,
decide on a held run (one that would have withdrawn too many records).

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
from datalux.catalogue.harvest import HarvestError, HarvestHeld, register_source, run_harvest
from datalux.catalogue.harvest_import import grace_period, withdraw_limit_percent
from datalux.catalogue.harvest_runs import (
    HISTORY_SHOWN,
    RUNS_SHOWN,
    RunDecisionRefused,
    confirm_run,
    discard_run,
    recent_runs,
)
from datalux.catalogue.models import HarvestRun, HarvestRunStatus, HarvestSource
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
    every_hours = forms.IntegerField(
        label=gettext_lazy("Harvest it every (hours)"),
        help_text=gettext_lazy("e.g. 24 for daily; leave empty to harvest by hand only"),
        required=False,
        min_value=1,
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
                every_hours=form.cleaned_data["every_hours"],
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
        source.recent_runs = runs.get(source.pk, [])
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "catalogue/harvest_sources.html",
        {
            "form": form,
            "sources": sources,
            "runs_shown": RUNS_SHOWN,
            "withdraw_limit": withdraw_limit_percent(),
            "grace_days": grace_period().days,
        },
        status=status,
    )


@require_http_methods(["GET"])
@require_permission(Permission.MANAGE_ORGANISATIONS)
def harvest_history(request: HttpRequest, pk: int) -> HttpResponse:
    """Every run of one source (newest first): counts, per-record problems, held runs."""
    source = get_object_or_404(HarvestSource.objects.select_related("publisher"), pk=pk)
    runs = list(source.runs.select_related("by", "decided_by")[:HISTORY_SHOWN])
    held = list(source.runs.filter(status=HarvestRunStatus.HELD))
    return render(
        request,
        "catalogue/harvest_history.html",
        {"source": source, "runs": runs, "held": held, "withdraw_limit": withdraw_limit_percent()},
    )


@require_POST
@require_permission(Permission.MANAGE_ORGANISATIONS)
def harvest_run_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(HarvestRun.objects.select_related("source"), pk=pk)
    try:
        report = confirm_run(run=run, by=request.user)
    except (RunDecisionRefused, HarvestError) as exc:
        messages.error(
            request, _("Run %(n)s was not applied: %(error)s") % {"n": run.pk, "error": exc}
        )
    else:
        messages.success(request, report.summary())
    return redirect("dcat:harvest_history", run.source_id)


@require_POST
@require_permission(Permission.MANAGE_ORGANISATIONS)
def harvest_run_discard(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(HarvestRun.objects.select_related("source"), pk=pk)
    try:
        discard_run(run=run, by=request.user)
    except RunDecisionRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, _("Run %(n)s was discarded; nothing was changed.") % {"n": run.pk}
        )
    return redirect("dcat:harvest_history", run.source_id)


@require_POST
@require_permission(Permission.MANAGE_ORGANISATIONS)
def harvest_run(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(HarvestSource, pk=pk)
    try:
        report = run_harvest(source=source, by=request.user)
    except HarvestHeld as exc:
        messages.warning(
            request, _("The run is held for your decision: %(error)s") % {"error": exc}
        )
        return redirect("dcat:harvest_history", source.pk)
    except HarvestError as exc:
        messages.error(
            request, _("The harvest failed; nothing was changed: %(error)s") % {"error": exc}
        )
    else:
        messages.success(request, report.summary())
    return redirect("dcat:harvest_sources")
