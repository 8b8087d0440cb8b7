"""The applicant's pages: applications, the form, datasets, persons, attachments, permits.

Views parse input, call one action of :mod:`datalux.access.actions` and render. The actions
check permissions and the state machine and audit refusals; here they map to answers:
PermissionDenied → 403 (the layout's 403 page shows the reason), ValidationError → the
messages next to the fields (400), TransitionError (a Conflict) → the application page with
the message (409). Applications a user may not see answer 404 (``queries.get_visible``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from datalux.access import actions, completeness, queries
from datalux.access.actions import publication
from datalux.access.forms import (
    SECTIONS,
    ApplicationForm,
    AttachmentForm,
    CommentForm,
    DatasetRequestForm,
    FilterFormSet,
    NamedPersonForm,
    NewApplicationForm,
    TermsForm,
    WithdrawForm,
    apply_errors,
    filter_initial,
)
from datalux.access.models import FORM_FIELDS, Application, Decision, Permit
from datalux.access.states import (
    ApplicationAction,
    ApplicationState,
    TransitionError,
    allowed_application_actions,
    check_application,
)
from datalux.access.vocabularies import (
    ATTACHMENT_MAX_BYTES,
    TERMS_TEXT,
    TERMS_VERSION,
    ConditionKind,
)
from datalux.accounts.models import Organisation
from datalux.accounts.permissions import has_permission, organisations_with
from datalux.accounts.roles import Permission
from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.catalogue.models import Dataset, DatasetStatus
from datalux.catalogue.search import SearchQuery, search
from datalux.catalogue.vocabularies import AccessRights
from datalux.core.edit_versions import EditConflict, changed_rows
from datalux.core.guards import deny, require_permission
from datalux.core.storage import stored_file
from datalux.core.uploads import SizeLimitHandler
from datalux.spe.present import extract_tables

S = ApplicationState
PROTECTED: list[str] = [AccessRights.RESTRICTED, AccessRights.NON_PUBLIC]
FORM_LABELS = ApplicationForm.base_fields


def state_label(application: Application) -> str:
    """The state in words, from the applicant's side ("returned to you")."""
    if application.state == S.RETURNED:
        return _("Returned to you")
    return application.get_state_display()


SECTION_OF = {name: slug for slug, _title, names in SECTIONS for name in names}


# --- helpers ----------------------------------------------------------------------------------


def _detail_url(application: Application, anchor: str = "") -> str:
    url = reverse("access:application", kwargs={"ref": application.reference})
    return f"{url}#{anchor}" if anchor else url


def _applicant_only(request: HttpRequest, application: Application) -> None:
    """Pages that change an application are the applicant's: others get 403 (audited)."""
    if application.applicant_id != request.user.pk:
        raise deny(
            request,
            Permission.SUBMIT_APPLICATIONS,
            _("only the applicant (%(who)s) can change this application")
            % {"who": application.applicant.get_username()},
        )


def _section_of(field: str) -> str:
    if field.startswith("datasets"):
        return "datasets"
    if field in ("named_persons", "attachments"):
        return field
    return SECTION_OF.get(field, "project")


def _display(application: Application, name: str) -> Any:
    value = getattr(application, name)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if hasattr(application, f"get_{name}_display") and value:
        return getattr(application, f"get_{name}_display")()
    return value


def _is_editable(application: Application) -> bool:
    return ApplicationAction.EDIT.value in allowed_application_actions(S(application.state))


def _detail_context(request: HttpRequest, application: Application) -> dict[str, Any]:
    user = request.user
    is_applicant = application.applicant_id == user.pk
    editable = _is_editable(application)
    gaps = completeness.check(application) if editable else []
    gaps_by_section: dict[str, list[completeness.Gap]] = defaultdict(list)
    for gap in gaps:
        gaps_by_section[_section_of(gap.field)].append(gap)
    sections = [
        {
            "slug": slug,
            "title": title,
            "fields": [
                {"name": n, "label": FORM_LABELS[n].label, "value": _display(application, n)}
                for n in names
            ],
            "gaps": gaps_by_section.get(slug, []),
        }
        for slug, title, names in SECTIONS
    ]
    persons = list(application.named_persons.select_related("user").order_by("name", "pk"))
    me = next((p for p in persons if p.user_id == user.pk), None)
    allowed = allowed_application_actions(S(application.state))
    permit = Permit.objects.filter(application=application).first()
    clock = application.clock()
    about = dict(CommentForm().fields["field"].choices)  # type: ignore[attr-defined]
    about[""] = ""
    return {
        "application": application,
        "state": state_label(application),
        "is_applicant": is_applicant,
        "sections": sections,
        "gaps": gaps,
        "gaps_by_section": dict(gaps_by_section),
        "datasets": list(
            application.datasets.select_related("dataset", "dataset__publisher").order_by(
                "dataset__pid"
            )
        ),
        "persons": persons,
        "show_emails": queries.sees_emails(user, application),
        "me": me,
        "needs_terms": me is not None
        and me.terms_version != TERMS_VERSION
        and application.state not in (S.WITHDRAWN, S.REJECTED),
        "attachments": list(application.attachments.select_related("uploaded_by")),
        "comments": [
            {"comment": c, "about": about.get(c.field, c.field)}
            for c in queries.comments_for(user, application)
        ],
        "comment_form": CommentForm(),
        "clock": clock,
        "decision": Decision.objects.filter(application=application).first(),
        "permit": permit,
        "can_edit": is_applicant and editable,
        "can_submit": is_applicant and ("submit" in allowed or "resubmit" in allowed),
        "is_resubmission": application.state == S.RETURNED,
        "can_withdraw": is_applicant and "withdraw" in allowed,
        "can_comment": application.state != S.WITHDRAWN and actions.can_comment(user, application),
    }


def _render_detail(
    request: HttpRequest, application: Application, *, error: str = "", status: int = 200
) -> HttpResponse:
    application.refresh_from_db()
    context = _detail_context(request, application)
    context["error"] = error
    return render(request, "access/applicant/detail.html", context, status=status)


def _conflict(request: HttpRequest, application: Application, exc: Exception) -> HttpResponse:
    return _render_detail(request, application, error=str(exc), status=409)


def _refused(request: HttpRequest, application: Application, exc: ValidationError) -> HttpResponse:
    return _render_detail(request, application, error=" ".join(exc.messages), status=400)


def _editable_or_conflict(request: HttpRequest, application: Application) -> HttpResponse | None:
    """For GET on pages that change the form: 403 if not the applicant, 409 if not editable."""
    _applicant_only(request, application)
    try:
        check_application(application.state, ApplicationAction.EDIT)
    except TransitionError as exc:
        return _conflict(request, application, exc)
    return None


# --- applications -----------------------------------------------------------------------------


@require_GET
@login_required
def applications(request: HttpRequest) -> HttpResponse:
    """The user's own applications and those naming them."""
    user = request.user
    mine = (
        Application.objects.visible_to(user)
        .filter(Q(applicant=user) | Q(named_persons__user=user))
        .distinct()
        .select_related("procedure", "organisation", "applicant")
    )
    rows = [
        {
            "application": a,
            "role": _("applicant") if a.applicant_id == user.pk else _("named person"),
            "clock": a.clock(),
            "state": state_label(a),
        }
        for a in mine
    ]
    return render(
        request,
        "access/applicant/list.html",
        {"rows": rows, "may_apply": has_permission(user, Permission.SUBMIT_APPLICATIONS)},
    )


@require_http_methods(["GET", "POST"])
@require_permission(Permission.SUBMIT_APPLICATIONS)
def application_new(request: HttpRequest) -> HttpResponse:
    """Start a draft for one of the organisations where the user is an applicant."""
    platform, org_ids = organisations_with(request.user, Permission.SUBMIT_APPLICATIONS)
    organisations = (
        Organisation.objects.all() if platform else Organisation.objects.filter(pk__in=org_ids)
    )
    initial = {"dataset": request.GET.get("dataset", "")[:20]}
    form = NewApplicationForm(request.POST or None, initial=initial, organisations=organisations)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                application = actions.create_application(
                    by=request.user,
                    organisation=form.chosen_organisation(),
                    title=form.cleaned_data["title"],
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("Draft %(ref)s created. It is saved as you go; submit it when complete.")
                    % {"ref": application.reference},
                )
                pid = form.cleaned_data.get("dataset", "")
                if pid:
                    url = reverse("access:application_datasets", args=[application.reference])
                    return redirect(f"{url}?dataset={pid}")
                return redirect("access:application_edit", ref=application.reference)
    preselected = (
        Dataset.objects.filter(pid=initial["dataset"]).first() if initial["dataset"] else None
    )
    return render(
        request,
        "access/applicant/new.html",
        {"form": form, "preselected": preselected},
        status=status,
    )


@require_GET
@login_required
def application_detail(request: HttpRequest, ref: str) -> HttpResponse:
    application = queries.get_visible(request.user, ref)
    user = request.user
    if not queries.is_party(user, application) and (
        queries.is_authority(user) or queries.is_reviewer_of(user, application)
    ):
        return redirect(f"/access/cases/{application.reference}/")
    return render(request, "access/applicant/detail.html", _detail_context(request, application))


@require_http_methods(["GET", "POST"])
@login_required
def application_edit(request: HttpRequest, ref: str) -> HttpResponse:
    application = queries.get_visible(request.user, ref)
    status = 200
    version = request.POST.get("edit_version", "")[:20000]
    conflict = None
    if request.method == "POST":
        form = ApplicationForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                actions.update_application(
                    application=application,
                    by=request.user,
                    expected_version=version or None,
                    **form.action_fields(),
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            except TransitionError as exc:
                return _conflict(request, application, exc)
            except EditConflict as exc:
                application.refresh_from_db()
                labels = {n: FORM_LABELS[n].label for n in FORM_FIELDS}
                current = {n: _display(application, n) for n in FORM_FIELDS}
                conflict = {"rows": changed_rows(exc.changed, labels, current)}
                version = actions.form_version(application)
                status = 409
            else:
                messages.success(request, _("Changes saved."))
                return redirect(_detail_url(application))
    else:
        version = actions.form_version(application)
        if (refused := _editable_or_conflict(request, application)) is not None:
            return refused
        form = ApplicationForm(initial={n: getattr(application, n) for n in FORM_FIELDS})
    gaps: dict[str, list[str]] = defaultdict(list)
    for gap in completeness.check(application):
        gaps[gap.field].append(gap.message)
    sections = [
        {
            "slug": slug,
            "title": title,
            "fields": [{"field": form[n], "gaps": gaps.pop(n, [])} for n in names],
        }
        for slug, title, names in SECTIONS
    ]
    return render(
        request,
        "access/applicant/edit.html",
        {
            "application": application,
            "form": form,
            "sections": sections,
            "other_gaps": [m for messages_ in gaps.values() for m in messages_],
            "version": version,
            "conflict": conflict,
        },
        status=status,
    )


# --- datasets ---------------------------------------------------------------------------------


def _requestable(pid: str) -> Dataset | None:
    return (
        Dataset.objects.filter(pid=pid, status=DatasetStatus.PUBLISHED)
        .exclude(access_rights=AccessRights.PUBLIC)
        .select_related("publisher")
        .first()
    )


def _candidates(request: HttpRequest, text: str) -> list[Dataset]:
    result = search(
        request.user,
        SearchQuery(text=text[:200], filters={"access_rights": PROTECTED}, page_size=20),
    )
    return [d for d in result.datasets if d.status == DatasetStatus.PUBLISHED]


@require_http_methods(["GET", "POST"])
@login_required
def application_datasets(request: HttpRequest, ref: str) -> HttpResponse:
    """Pick a protected dataset, then its variables, period, population and row filters."""
    application = queries.get_visible(request.user, ref)
    if request.method == "GET" and (refused := _editable_or_conflict(request, application)):
        return refused
    params = request.POST if request.method == "POST" else request.GET
    pid = params.get("dataset", "").strip()[:20]
    chosen = _requestable(pid) if pid else None
    status = 200
    form = formset = None
    variables: list[Any] = []
    if pid and chosen is None:
        messages.error(
            request, _("No published protected dataset has the PID %(pid)s.") % {"pid": pid}
        )
        status = 404 if request.method == "GET" else 400
    if chosen is not None:
        variables = list(chosen.variables.order_by("position"))
        names = [v.name for v in variables]
        existing = application.datasets.filter(dataset=chosen).first()
        if request.method == "POST":
            form = DatasetRequestForm(request.POST, variables=names)
            formset = FilterFormSet(
                request.POST, prefix="filters", form_kwargs={"variables": names}
            )
            status = 400
            if form.is_valid() and formset.is_valid():
                rows = [(item, f) for item in formset.forms if (f := item.as_filter())]
                filters = [f for _item, f in rows]
                data = form.cleaned_data
                try:
                    actions.request_dataset(
                        application=application,
                        by=request.user,
                        dataset=chosen,
                        variables=data["variables"],
                        time_start=data["time_start"],
                        time_end=data["time_end"],
                        filters=filters,
                        population=data["population"],
                    )
                except ValidationError as exc:
                    _apply_request_errors(form, [item for item, _f in rows], exc)
                except TransitionError as exc:
                    return _conflict(request, application, exc)
                else:
                    messages.success(
                        request,
                        ngettext(
                            "%(pid)s requested with %(n)d variable.",
                            "%(pid)s requested with %(n)d variables.",
                            len(data["variables"]),
                        )
                        % {"pid": chosen.pid, "n": len(data["variables"])},
                    )
                    return redirect(_detail_url(application, "datasets"))
        else:
            initial: dict[str, Any] = {"dataset": chosen.pid}
            filters_initial: list[dict[str, Any]] = []
            if existing is not None:
                initial.update(
                    variables=existing.variables,
                    time_start=existing.time_start,
                    time_end=existing.time_end,
                    population=existing.population,
                )
                filters_initial = filter_initial(existing.filters)
            form = DatasetRequestForm(initial=initial, variables=names)
            formset = FilterFormSet(
                prefix="filters", initial=filters_initial, form_kwargs={"variables": names}
            )
    elif request.method == "POST":
        status = 400
    selected = set(form["variables"].value() or []) if form is not None else set()
    context = {
        "application": application,
        "q": request.GET.get("q", ""),
        "candidates": [] if chosen is not None else _candidates(request, request.GET.get("q", "")),
        "chosen": chosen,
        "form": form,
        "formset": formset,
        "variables": variables,
        "selected": selected,
        "requested": list(application.datasets.select_related("dataset").order_by("dataset__pid")),
    }
    if request.htmx and request.method == "GET" and chosen is not None:  # type: ignore[attr-defined]
        return render(request, "access/applicant/_dataset_request.html", context, status=status)
    return render(request, "access/applicant/datasets.html", context, status=status)


def _apply_request_errors(form: Any, rows: list[Any], exc: ValidationError) -> None:
    """An action's refusal beside the fields: each refused row filter on its own row (the
    filter's number counts the rows that were filled in)."""
    rest: dict[str, list[Any]] = {}
    on_rows = False
    by_field = exc.error_dict if hasattr(exc, "error_dict") else {None: exc.error_list}
    for field, errors in by_field.items():
        for error in errors:
            params = error.params or {}
            index = params.get("index") if field == "filters" else None
            if isinstance(index, int) and 0 < index <= len(rows):
                rows[index - 1].add_error(params.get("field", "value"), error.messages)
                on_rows = True
            else:
                rest.setdefault(field or "__all__", []).append(error)
    if on_rows:
        form.add_error(None, _("Check the row filters below."))
    if rest:
        apply_errors(form, ValidationError(rest))


@require_POST
@login_required
def application_dataset_remove(request: HttpRequest, ref: str) -> HttpResponse:
    application = queries.get_visible(request.user, ref)
    dataset = get_object_or_404(Dataset, pid=request.POST.get("dataset", "")[:20])
    try:
        actions.remove_dataset(application=application, by=request.user, dataset=dataset)
    except ValidationError as exc:
        return _refused(request, application, exc)
    except TransitionError as exc:
        return _conflict(request, application, exc)
    messages.success(request, _("%(pid)s removed from the application.") % {"pid": dataset.pid})
    return redirect(_detail_url(application, "datasets"))


# --- named persons ----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def application_persons(request: HttpRequest, ref: str) -> HttpResponse:
    application = queries.get_visible(request.user, ref)
    status = 200
    if request.method == "POST":
        form = NamedPersonForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                person = actions.add_named_person(
                    application=application, by=request.user, **form.cleaned_data
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            except TransitionError as exc:
                return _conflict(request, application, exc)
            else:
                messages.success(
                    request,
                    _("%(name)s is named; they must accept the terms of use before any access.")
                    % {"name": person.name},
                )
                return redirect(_detail_url(application, "persons"))
    else:
        if (refused := _editable_or_conflict(request, application)) is not None:
            return refused
        form = NamedPersonForm()
    context = {
        "application": application,
        "form": form,
        "persons": list(application.named_persons.order_by("name", "pk")),
        "show_emails": queries.sees_emails(request.user, application),
    }
    return render(request, "access/applicant/persons.html", context, status=status)


@require_POST
@login_required
def application_person_remove(request: HttpRequest, ref: str, pk: int) -> HttpResponse:
    application = queries.get_visible(request.user, ref)
    person = get_object_or_404(application.named_persons, pk=pk)
    try:
        actions.remove_named_person(application=application, by=request.user, person=person)
    except ValidationError as exc:
        return _refused(request, application, exc)
    except TransitionError as exc:
        return _conflict(request, application, exc)
    messages.success(request, _("%(name)s is no longer named.") % {"name": person.name})
    return redirect(_detail_url(application, "persons"))


# --- attachments ------------------------------------------------------------------------------


@csrf_exempt  # checked in _attachments, once the size limit is in place
@require_http_methods(["GET", "POST"])
@login_required
def application_attachments(request: HttpRequest, ref: str) -> HttpResponse:
    """Attach a file; an upload past the limit is cut off while it arrives, never stored."""
    request.upload_handlers.insert(0, SizeLimitHandler(request, ATTACHMENT_MAX_BYTES))
    return _attachments(request, ref)


@csrf_protect
def _attachments(request: HttpRequest, ref: str) -> HttpResponse:
    application = queries.get_visible(request.user, ref)
    status = 200
    if request.method == "POST":
        form = AttachmentForm(request.POST, request.FILES)
        status = 400
        too_large = getattr(request, "datalux_upload_too_large", None)
        if too_large is not None:
            try:
                actions.add_attachment(
                    application=application,
                    by=request.user,
                    name=too_large[0],
                    content=b"",
                    kind=request.POST.get("kind", "other"),
                    received_bytes=too_large[1],
                )
            except ValidationError as exc:
                apply_errors(form, exc)
                status = 413
        elif form.is_valid():
            uploaded = form.cleaned_data["file"]
            try:
                attachment = actions.add_attachment(
                    application=application,
                    by=request.user,
                    name=uploaded.name or "attachment",
                    content=uploaded,
                    kind=form.cleaned_data["kind"],
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            except TransitionError as exc:
                return _conflict(request, application, exc)
            else:
                messages.success(request, _("%(name)s attached.") % {"name": attachment.name})
                return redirect(_detail_url(application, "attachments"))
    else:
        if (refused := _editable_or_conflict(request, application)) is not None:
            return refused
        form = AttachmentForm()
    context = {
        "application": application,
        "form": form,
        "attachments": list(application.attachments.select_related("uploaded_by")),
    }
    return render(request, "access/applicant/attachments.html", context, status=status)


@require_GET
@login_required
def attachment_download(request: HttpRequest, ref: str, pk: int) -> FileResponse:
    """The stored file, for anyone who may see the application (never rendered inline)."""
    application = queries.get_visible(request.user, ref)
    attachment = get_object_or_404(application.attachments, pk=pk)
    path = stored_file(attachment.path)
    if path is None:
        raise Http404("the stored file is missing")
    record(
        EventKind.ATTACHMENT_DOWNLOADED,
        actor=request.user,
        obj=application,
        details={"name": attachment.name, "sha256": attachment.sha256},
    )
    response = FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=attachment.name,
        content_type=attachment.media_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- submit, withdraw, comment, terms ----------------------------------------------------------


@require_POST
@login_required
def application_submit(request: HttpRequest, ref: str) -> HttpResponse:
    application = queries.get_visible(request.user, ref)
    resubmission = application.state == S.RETURNED
    try:
        actions.submit(application=application, by=request.user)
    except ValidationError as exc:
        count = len(exc.messages)
        return _render_detail(
            request,
            application,
            error=_("Not submitted: %(n)d things are missing; each is listed below.")
            % {"n": count},
            status=400,
        )
    except TransitionError as exc:
        return _conflict(request, application, exc)
    messages.success(
        request,
        (_("Resubmitted.") if resubmission else _("Submitted."))
        + " "
        + _("The data authority has received it; the deadline is shown below."),
    )
    return redirect(_detail_url(application))


@require_http_methods(["GET", "POST"])
@login_required
def application_withdraw(request: HttpRequest, ref: str) -> HttpResponse:
    application = queries.get_visible(request.user, ref)
    status = 200
    if request.method == "POST":
        form = WithdrawForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                actions.withdraw(
                    application=application, by=request.user, reason=form.cleaned_data["reason"]
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            except TransitionError as exc:
                return _conflict(request, application, exc)
            else:
                messages.success(request, _("The application is withdrawn."))
                return redirect(_detail_url(application))
    else:
        _applicant_only(request, application)
        try:
            check_application(application.state, ApplicationAction.WITHDRAW)
        except TransitionError as exc:
            return _conflict(request, application, exc)
        form = WithdrawForm()
    return render(
        request,
        "access/applicant/withdraw.html",
        {"application": application, "form": form},
        status=status,
    )


@require_POST
@login_required
def application_comment(request: HttpRequest, ref: str) -> HttpResponse:
    application = queries.get_visible(request.user, ref)
    form = CommentForm(request.POST)
    if not form.is_valid():
        return _render_detail(
            request, application, error=_("Write a comment before sending it."), status=400
        )
    try:
        actions.comment(
            application=application,
            by=request.user,
            body=form.cleaned_data["body"],
            field=form.cleaned_data["field"],
        )
    except ValidationError as exc:
        return _refused(request, application, exc)
    messages.success(request, _("Comment added."))
    return redirect(_detail_url(application, "comments"))


@require_http_methods(["GET", "POST"])
@login_required
def application_terms(request: HttpRequest, ref: str) -> HttpResponse:
    """The terms of use a named person accepts before any access to the data."""
    application = queries.get_visible(request.user, ref)
    person = application.named_persons.filter(
        Q(user=request.user) | Q(user__isnull=True, email__iexact=request.user.email or "-")
    ).first()
    form = TermsForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                actions.accept_terms(application=application, by=request.user)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("You accepted the terms of use (version %(v)s).") % {"v": TERMS_VERSION},
                )
                return redirect(_detail_url(application, "persons"))
    context = {
        "application": application,
        "person": person,
        "accepted": person is not None and person.terms_version == TERMS_VERSION,
        "form": form,
        "terms_text": TERMS_TEXT,
        "terms_version": TERMS_VERSION,
    }
    return render(request, "access/applicant/terms.html", context, status=status)


# --- permits ----------------------------------------------------------------------------------


@require_GET
@login_required
def permit_detail(request: HttpRequest, number: str) -> HttpResponse:
    """The permit in words, and as the machine-readable JSON the secure environment reads."""
    permit = queries.get_visible_permit(request.user, number)
    show_emails = queries.sees_emails(request.user, permit.application)
    spec = queries.redact_spec(permit.spec(), show_emails)
    if request.GET.get("format") == "json":
        return JsonResponse(spec, json_dumps_params={"indent": 2, "ensure_ascii": False})
    conditions: dict[str, list[Any]] = {kind: [] for kind in ConditionKind.values}
    for condition in permit.conditions.order_by("pk"):
        conditions[condition.kind].append(condition)
    is_named = permit.application.named_persons.filter(user=request.user).exists()
    extract = permit.preparations.filter(version=permit.version).first()
    context = {
        "permit": permit,
        "application": permit.application,
        "datasets": list(permit.datasets.select_related("dataset", "dataset__publisher")),
        "conditions": [
            (label, conditions[kind]) for kind, label in ConditionKind.choices if conditions[kind]
        ],
        "persons": list(permit.authorised_persons().order_by("name", "pk")),
        "show_emails": show_emails,
        "is_named": is_named,
        "refusal": actions.access_refusal(permit, request.user) if is_named else "",
        "spec_json": json.dumps(spec, indent=2, ensure_ascii=False),
        "extract": extract,
        "extract_tables": extract_tables(extract.manifest) if extract and extract.available else [],
        "publication_deadline": publication.publication_deadline(permit),
        "published": publication.is_published(permit),
    }
    return render(request, "access/applicant/permit.html", context)


@require_POST
@login_required
def permit_workspace(request: HttpRequest, number: str) -> HttpResponse:
    """Open the project's workspace: refused (403, with the reason) unless allowed now."""
    permit = queries.get_visible_permit(request.user, number)
    permit = actions.open_workspace(permit=permit, by=request.user)
    return redirect("spe:workspace", number=permit.number)
