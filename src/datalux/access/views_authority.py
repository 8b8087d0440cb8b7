"""The data authority's pages: the case queue, the case file with the procedure's actions, and
permit management (handlers, reviewers, deciders and the assistance desk).

Views parse a form, call one action from ``datalux.access.actions`` and render. Who may act is
checked twice: here for the role (an audited 403 before anything is parsed), and in the action
for everything finer (the assigned handler, the organisation asked, the state). Actions answer
PermissionDenied (403 page), ValidationError (the form again with the messages, 400) or a
TransitionError (the page again with the refusal, 409).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from datalux.access import actions, completeness, queries
from datalux.access.actions.procedure import users_with
from datalux.access.forms_authority import (
    AmendPermitForm,
    AssignForm,
    ClosePermitForm,
    CommentForm,
    DecideForm,
    ExtendDeadlineForm,
    ExtendPermitForm,
    OpinionForm,
    RequestOpinionForm,
    ReturnForm,
    RevokePermitForm,
    StartReviewForm,
)
from datalux.access.models import FORM_FIELDS, Application, OpinionRequest, Permit
from datalux.access.states import (
    OPEN,
    ApplicationState,
)
from datalux.access.vocabularies import (
    STANDARD_CONDITIONS,
    DataForm,
    LegalBasisArt6,
    LegalBasisArt9,
    PurposeCategory,
)
from datalux.accounts.models import Organisation
from datalux.accounts.permissions import has_permission, organisations_with
from datalux.accounts.roles import OrganisationKind, Permission
from datalux.core.errors import Conflict
from datalux.core.guards import deny

P = Permission
S = ApplicationState
STAFF_PERMISSIONS = (
    P.HANDLE_APPLICATIONS,
    P.DECIDE_APPLICATIONS,
    P.REVIEW_APPLICATIONS,
    P.ASSIST_APPLICANTS,
)
PAGE_SIZE = 50
ATTACHMENT_URL = "/access/applications/{ref}/attachments/{pk}/"  # served by the applicant pages

FIELD_LABELS: dict[str, Any] = {
    "title": gettext_lazy("Title"),
    "purpose_category": gettext_lazy("Purpose category"),
    "purpose_description": gettext_lazy("Purpose, in detail"),
    "expected_benefit": gettext_lazy("Expected benefit"),
    "lay_summary": gettext_lazy("Lay summary (published)"),
    "data_form": gettext_lazy("Form of the data"),
    "pseudonymised_justification": gettext_lazy("Why anonymised data are not enough"),
    "linkage_needed": gettext_lazy("Linkage across holders needed"),
    "linkage_description": gettext_lazy("Linkage"),
    "legal_basis_art6": gettext_lazy("GDPR Art. 6 legal basis"),
    "legal_basis_art9": gettext_lazy("GDPR Art. 9 exemption"),
    "special_categories": gettext_lazy("Special categories of data"),
    "ethics_reference": gettext_lazy("Ethics approval reference"),
    "funding": gettext_lazy("Funding"),
    "commercial_involvement": gettext_lazy("Commercial involvement"),
    "commercial_description": gettext_lazy("Commercial involvement, described"),
    "safeguards": gettext_lazy("Safeguards"),
    "requested_months": gettext_lazy("Months of access requested"),
    "processing_tools": gettext_lazy("Tools"),
    "processing_compute": gettext_lazy("Compute"),
}
CHOICES: dict[str, dict[str, str]] = {
    "purpose_category": dict(PurposeCategory.choices),
    "data_form": dict(DataForm.choices),
    "legal_basis_art6": dict(LegalBasisArt6.choices),
    "legal_basis_art9": dict(LegalBasisArt9.choices),
}


# Guards.


def _is_staff(user: Any) -> bool:
    return any(has_permission(user, perm) for perm in STAFF_PERMISSIONS)


def staff_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Anonymous users go to the login page; users with no authority role get an audited 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not _is_staff(request.user):
            raise deny(
                request,
                "|".join(STAFF_PERMISSIONS),
                _("only the data authority, its reviewers and the assistance desk work here"),
            )
        return view(request, *args, **kwargs)

    return wrapped


def _require_any(request: HttpRequest, perms: tuple[Permission, ...], reason: str) -> None:
    if not any(has_permission(request.user, perm) for perm in perms):
        raise deny(request, "|".join(perms), reason)


# The queue.


@dataclass(frozen=True)
class Tab:
    slug: str
    title: Any
    perms: tuple[Permission, ...]


TABS = (
    Tab("unassigned", gettext_lazy("Unassigned"), (P.HANDLE_APPLICATIONS,)),
    Tab("mine", gettext_lazy("Assigned to me"), (P.HANDLE_APPLICATIONS,)),
    Tab(
        "decision",
        gettext_lazy("Awaiting decision"),
        (P.HANDLE_APPLICATIONS, P.DECIDE_APPLICATIONS),
    ),
    Tab("opinion", gettext_lazy("Awaiting my organisation's opinion"), (P.REVIEW_APPLICATIONS,)),
    Tab("drafts", gettext_lazy("Drafts asking for help"), (P.ASSIST_APPLICANTS,)),
    Tab("all", gettext_lazy("All"), STAFF_PERMISSIONS),
)


def _tab_filter(slug: str, user: Any, queryset: QuerySet[Application]) -> QuerySet[Application]:
    if slug == "unassigned":
        return queryset.filter(state__in=[S.SUBMITTED, S.UNDER_REVIEW], handler__isnull=True)
    if slug == "mine":
        return queryset.filter(state__in=OPEN, handler=user)
    if slug == "decision":
        return queryset.filter(state=S.UNDER_REVIEW)
    if slug == "opinion":
        _platform, orgs = organisations_with(user, P.REVIEW_APPLICATIONS)
        waiting = OpinionRequest.objects.filter(
            application=OuterRef("pk"), organisation__in=orgs
        ).exclude(opinions__reviewer=user)
        return queryset.filter(Exists(waiting), state=S.UNDER_REVIEW)
    if slug == "drafts":
        return queryset.filter(state=S.DRAFT)
    return queryset


def _by_deadline(application: Application) -> tuple[Any, ...]:
    deadline = application.deadline
    return (deadline is None, deadline.timestamp() if deadline else 0, application.pk)


@require_GET
@staff_only
def cases(request: HttpRequest) -> HttpResponse:
    user = request.user
    tabs = [t for t in TABS if any(has_permission(user, perm) for perm in t.perms)]
    current = next((t for t in tabs if t.slug == request.GET.get("tab")), tabs[0])
    visible = Application.objects.visible_to(user).select_related(
        "procedure", "organisation", "handler"
    )
    rows = sorted(_tab_filter(current.slug, user, visible), key=_by_deadline)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "access/authority/cases.html",
        {
            "tabs": [(t, _tab_filter(t.slug, user, visible).count()) for t in tabs],
            "current": current,
            "page": page,
        },
    )


# The case file.


@dataclass
class FieldRow:
    name: str
    label: Any
    value: Any
    changed: bool = False
    previous: Any = None


def _display(name: str, value: Any) -> Any:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if name in CHOICES:
        return CHOICES[name].get(value or "", value) or "—"
    return value if value not in (None, "") else "—"


def _dataset_summary(item: dict[str, Any]) -> str:
    period = f" ({item.get('time_start') or '…'} to {item.get('time_end') or '…'})"
    return f"{item.get('dataset')}: {', '.join(item.get('variables') or [])}{period}"


def _changes(application: Application) -> tuple[list[str], dict[str, Any], int | None]:
    """The fields changed at the latest resubmission, the previous submission's form data
    and that submission's number (nothing on a first submission)."""
    snapshots = list(application.snapshots.order_by("-number")[:2])
    if len(snapshots) < 2:
        return [], {}, None
    latest, previous = snapshots
    return list(latest.changed), previous.data, previous.number


def _field_rows(application: Application, changed: list[str], previous: dict[str, Any]) -> list:
    rows = []
    for name in FORM_FIELDS:
        row = FieldRow(name, FIELD_LABELS[name], _display(name, getattr(application, name)))
        if name in changed:
            row.changed = True
            row.previous = _display(name, previous.get(name))
        rows.append(row)
    return rows


def _requested_datasets(application: Application) -> list[dict[str, Any]]:
    requests = application.datasets.select_related("dataset", "dataset__publisher").order_by(
        "dataset__pid"
    )
    out = []
    for request in requests:
        roles = {v.name: v for v in request.dataset.variables.all()}
        out.append(
            {
                "request": request,
                "variables": [
                    (name, roles[name].get_privacy_role_display() if name in roles else "?")
                    for name in request.variables
                ],
                "filters": request.filters,
            }
        )
    return out


def _pending_requests(user: Any, application: Application) -> list[OpinionRequest]:
    """The opinion requests of the user's organisations on which the user has not voted."""
    return [
        r
        for r in application.opinion_requests.select_related("organisation")
        if has_permission(user, P.REVIEW_APPLICATIONS, r)
        and not r.opinions.filter(reviewer=user).exists()
    ]


def _may(user: Any, application: Application) -> dict[str, bool]:
    """Which action forms the page offers to ``user`` now (the actions decide on submission)."""
    allowed = set(queries.allowed_actions(user, application))
    return {name: name in allowed for name in FORMS}


def _opinion_targets(application: Application) -> QuerySet[Organisation]:
    return Organisation.objects.filter(
        kind__in=[OrganisationKind.DATA_HOLDER, OrganisationKind.DATA_AUTHORITY]
    ).exclude(pk__in=application.opinion_requests.values("organisation_id"))


def _requests(application: Application) -> list[Any]:
    return list(
        application.datasets.select_related("dataset").prefetch_related("dataset__variables")
        .order_by("dataset__pid")
    )  # fmt: skip


FORMS: dict[str, Callable[..., forms.Form]] = {
    "assign": lambda application, **kw: AssignForm(
        handlers=users_with(P.HANDLE_APPLICATIONS), **kw
    ),
    "return": lambda application, **kw: ReturnForm(**kw),
    "start_review": lambda application, **kw: StartReviewForm(**kw),
    "request_opinion": lambda application, **kw: RequestOpinionForm(
        organisations=_opinion_targets(application), **kw
    ),
    "extend_deadline": lambda application, **kw: ExtendDeadlineForm(**kw),
    "give_opinion": lambda application, **kw: OpinionForm(**kw),
    "decide": lambda application, **kw: DecideForm(requests=_requests(application), **kw),
    "comment": lambda application, **kw: CommentForm(**kw),
}


def _form(name: str, application: Application, data: Any = None) -> forms.Form:
    return FORMS[name](application, data=data, prefix=name)


def _render_case(
    request: HttpRequest,
    application: Application,
    *,
    bound: forms.Form | None = None,
    bound_name: str = "",
    refusal: str = "",
    status: int = 200,
) -> HttpResponse:
    user = request.user
    may = _may(user, application)
    if bound_name:
        may[bound_name] = True  # show the refused form again, with its messages
    case_forms = {
        name: (bound if name == bound_name and bound is not None else _form(name, application))
        for name, allowed in may.items()
        if allowed
    }
    changed, previous, previous_number = _changes(application)
    show_emails = queries.sees_emails(user, application)
    previous_persons = previous.get("named_persons", [])  # e-mail addresses (the snapshot's)
    if previous_persons and not show_emails:
        n = len(previous_persons)
        previous_persons = [ngettext("%(n)d person", "%(n)d persons", n) % {"n": n}]
    requests = application.opinion_requests.select_related("organisation").prefetch_related(
        "opinions__reviewer"
    )
    attachments = [
        (a, ATTACHMENT_URL.format(ref=application.reference, pk=a.pk))
        for a in application.attachments.order_by("uploaded_at")
    ]
    context = {
        "application": application,
        "clock": application.clock(),
        "fields": _field_rows(application, changed, previous),
        "changed": changed,
        "previous_number": previous_number,
        "previous_datasets": [_dataset_summary(d) for d in previous.get("datasets", [])],
        "previous_persons": previous_persons,
        "datasets": _requested_datasets(application),
        "persons": application.named_persons.order_by("name"),
        "show_emails": show_emails,
        "attachments": attachments,
        "gaps": completeness.check(application),
        "opinion_requests": requests,
        "comments": queries.comments_for(user, application),
        "history": queries.history_for(user, application),
        "permit": Permit.objects.filter(application=application).first(),
        "forms": case_forms,
        "has_actions": any(name != "comment" for name in case_forms),
        "me": user,
        "refusal": refusal,
        "conditions": STANDARD_CONDITIONS,
    }
    return render(request, "access/authority/case.html", context, status=status)


@require_GET
@staff_only
def case(request: HttpRequest, ref: str) -> HttpResponse:
    return _render_case(request, queries.get_visible(request.user, ref))


def _apply_errors(form: forms.Form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _case_action(
    name: str,
    perms: tuple[Permission, ...],
    reason: Any,
    call: Callable[[HttpRequest, Application, Any], Any],
    done: Any,
) -> Callable[..., HttpResponse]:
    """A POST view that runs one action on the case and comes back to the case page."""

    @require_POST
    @staff_only
    def view(request: HttpRequest, ref: str) -> HttpResponse:
        application = queries.get_visible(request.user, ref)
        if perms:
            _require_any(request, perms, str(reason))
        form = _form(name, application, request.POST)
        if not form.is_valid():
            return _render_case(request, application, bound=form, bound_name=name, status=400)
        try:
            call(request, application, form)
        except ValidationError as exc:
            _apply_errors(form, exc)
            fresh = queries.get_visible(request.user, ref)  # the action may have touched it
            return _render_case(request, fresh, bound=form, bound_name=name, status=400)
        except Conflict as exc:
            fresh = queries.get_visible(request.user, ref)
            return _render_case(
                request, fresh, bound=form, bound_name=name, refusal=str(exc), status=409
            )
        messages.success(request, str(done))
        return redirect("access:case", ref=ref)

    view.__name__ = f"case_{name}"
    return view


def _assign(request: HttpRequest, application: Application, form: Any) -> Any:
    handler = form.cleaned_data["handler"]
    return actions.assign(application=application, by=request.user, handler=handler)


def _return(request: HttpRequest, application: Application, form: Any) -> Any:
    return actions.return_application(
        application=application, by=request.user, reasons=form.cleaned_data["reasons"]
    )


def _start_review(request: HttpRequest, application: Application, form: Any) -> Any:
    return actions.start_review(application=application, by=request.user)


def _request_opinion(request: HttpRequest, application: Application, form: Any) -> Any:
    return actions.request_opinion(
        application=application,
        by=request.user,
        organisation=form.cleaned_data["organisation"],
        question=form.cleaned_data["question"],
    )


def _extend_deadline(request: HttpRequest, application: Application, form: Any) -> Any:
    return actions.extend_deadline(
        application=application, by=request.user, reason=form.cleaned_data["reason"]
    )


def _give_opinion(request: HttpRequest, application: Application, form: Any) -> Any:
    return actions.give_opinion(
        application=application,
        by=request.user,
        vote=form.cleaned_data["vote"],
        text=form.cleaned_data["text"],
        conditions=list(form.cleaned_data["conditions"]),
    )


def _decide(request: HttpRequest, application: Application, form: Any) -> Any:
    return actions.decide(application=application, by=request.user, **form.decision())


def _comment(request: HttpRequest, application: Application, form: Any) -> Any:
    data = form.cleaned_data
    return actions.comment(
        application=application,
        by=request.user,
        body=data["body"],
        field=data["field"],
        internal=data["internal"],
    )


HANDLERS = (P.HANDLE_APPLICATIONS,)
ONLY_HANDLERS = gettext_lazy("only case handlers of the data authority can do this")
case_assign = _case_action(
    "assign", HANDLERS, ONLY_HANDLERS, _assign, gettext_lazy("Handler assigned.")
)
case_return = _case_action(
    "return", HANDLERS, ONLY_HANDLERS, _return, gettext_lazy("Returned to the applicant.")
)
case_start_review = _case_action(
    "start_review", HANDLERS, ONLY_HANDLERS, _start_review, gettext_lazy("Review started.")
)
case_request_opinion = _case_action(
    "request_opinion",
    HANDLERS,
    ONLY_HANDLERS,
    _request_opinion,
    gettext_lazy("Opinion requested."),
)
case_extend_deadline = _case_action(
    "extend_deadline",
    HANDLERS,
    ONLY_HANDLERS,
    _extend_deadline,
    gettext_lazy("Deadline extended; the applicant was told why."),
)
case_give_opinion = _case_action(
    "give_opinion",
    (P.REVIEW_APPLICATIONS,),
    gettext_lazy("only reviewers give opinions"),
    _give_opinion,
    gettext_lazy("Your opinion was recorded."),
)
case_decide = _case_action(
    "decide",
    (P.DECIDE_APPLICATIONS,),
    gettext_lazy("only deciders of the data authority decide"),
    _decide,
    gettext_lazy("Decision recorded; the applicant was notified."),
)
case_comment = _case_action("comment", (), "", _comment, gettext_lazy("Comment added."))


# The permit.


# The parts of a permit's terms, in words (the keys of Permit.spec()).
SPEC_PARTS = {
    "starts_on": gettext_lazy("start"),
    "ends_on": gettext_lazy("end"),
    "form": gettext_lazy("data form"),
    "linkage": gettext_lazy("linkage"),
    "time_start": gettext_lazy("period start"),
    "time_end": gettext_lazy("period end"),
    "filters": gettext_lazy("row filters"),
    "threshold": gettext_lazy("minimum count per cell"),
    "dominance_n": gettext_lazy("dominance rule n"),
    "dominance_k": gettext_lazy("dominance rule k"),
    # xgettext:no-python-format
    "p_percent": gettext_lazy("p% rule"),
    "rounding_base": gettext_lazy("rounding base"),
}


def _part(key: str) -> str:
    return str(SPEC_PARTS.get(key, key.replace("_", " ")))


def _spec_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What one permit version changed against the previous one, in words."""
    out: list[str] = []
    for key in ("starts_on", "ends_on", "form", "linkage"):
        if before.get(key) != after.get(key):
            out.append(f"{_part(key)}: {before.get(key)} → {after.get(key)}")
    old = {d["dataset"]: d for d in before.get("datasets", [])}
    new = {d["dataset"]: d for d in after.get("datasets", [])}
    for pid in sorted(set(old) | set(new)):
        if pid not in new:
            out.append(_("%(pid)s removed") % {"pid": pid})
        elif pid not in old:
            out.append(_("%(pid)s added") % {"pid": pid})
        else:
            gone = sorted(set(old[pid]["variables"]) - set(new[pid]["variables"]))
            added = sorted(set(new[pid]["variables"]) - set(old[pid]["variables"]))
            if gone:
                out.append(_("%(pid)s: removed %(names)s") % {"pid": pid, "names": ", ".join(gone)})
            if added:
                out.append(_("%(pid)s: added %(names)s") % {"pid": pid, "names": ", ".join(added)})
            for part in ("time_start", "time_end", "filters"):
                if old[pid].get(part) != new[pid].get(part):
                    out.append(_("%(pid)s: %(part)s changed") % {"pid": pid, "part": _part(part)})
    old_conditions = {c["text"] for c in before.get("conditions", [])}
    new_conditions = {c["text"] for c in after.get("conditions", [])}
    out += [
        _("condition removed: %(text)s") % {"text": t}
        for t in sorted(old_conditions - new_conditions)
    ]
    out += [
        _("condition added: %(text)s") % {"text": t}
        for t in sorted(new_conditions - old_conditions)
    ]
    rules_before, rules_after = before.get("output_rules", {}), after.get("output_rules", {})
    for key in sorted(set(rules_before) | set(rules_after)):
        if rules_before.get(key) != rules_after.get(key):
            out.append(f"{_part(key)}: {rules_before.get(key)} → {rules_after.get(key)}")
    return out


def _permit_of(request: HttpRequest, ref: str) -> Permit:
    application = queries.get_visible(request.user, ref)
    permit = (
        Permit.objects.filter(application=application)
        .select_related("application", "organisation", "decided_by")
        .first()
    )
    if permit is None:
        raise Http404("no permit for this application")
    return permit


def _permit_may(user: Any, permit: Permit) -> dict[str, bool]:
    allowed = set(queries.permit_actions(user, permit))
    return {name: name in allowed for name in PERMIT_FORMS}


PERMIT_FORMS: dict[str, Callable[..., forms.Form]] = {
    "amend": lambda permit, **kw: AmendPermitForm(
        requests=_requests(permit.application), permit=permit, **kw
    ),
    "extend": lambda permit, **kw: ExtendPermitForm(**kw),
    "revoke": lambda permit, **kw: RevokePermitForm(**kw),
    "close": lambda permit, **kw: ClosePermitForm(**kw),
}


def _render_permit(
    request: HttpRequest,
    permit: Permit,
    *,
    bound: forms.Form | None = None,
    bound_name: str = "",
    refusal: str = "",
    status: int = 200,
) -> HttpResponse:
    may = _permit_may(request.user, permit)
    if bound_name:
        may[bound_name] = True
    permit_forms = {
        name: (
            bound
            if name == bound_name and bound is not None
            else PERMIT_FORMS[name](permit, prefix=name)
        )
        for name, allowed in may.items()
        if allowed
    }
    versions = list(permit.versions.select_related("by").order_by("version"))
    history = []
    previous: dict[str, Any] | None = None
    for version in versions:
        changes = _spec_changes(previous, version.spec) if previous is not None else []
        history.append((version, changes))
        previous = version.spec
    context = {
        "permit": permit,
        "application": permit.application,
        "datasets": permit.datasets.select_related("dataset", "dataset__publisher").order_by(
            "dataset__pid"
        ),
        "conditions": permit.conditions.order_by("pk"),
        "persons": permit.authorised_persons().order_by("name"),
        "show_emails": queries.sees_emails(request.user, permit.application),
        "versions": history,
        "forms": permit_forms,
        "refusal": refusal,
    }
    return render(request, "access/authority/permit.html", context, status=status)


@require_GET
@staff_only
def case_permit(request: HttpRequest, ref: str) -> HttpResponse:
    return _render_permit(request, _permit_of(request, ref))


def _permit_action(
    name: str,
    perms: tuple[Permission, ...],
    reason: Any,
    call: Callable[[HttpRequest, Permit, Any], Any],
    done: Any,
) -> Callable[..., HttpResponse]:
    """A POST view that runs one permit action and comes back to the permit page."""

    @require_POST
    @staff_only
    def view(request: HttpRequest, ref: str) -> HttpResponse:
        permit = _permit_of(request, ref)
        _require_any(request, perms, str(reason))
        form = PERMIT_FORMS[name](permit, data=request.POST, prefix=name)
        if not form.is_valid():
            return _render_permit(request, permit, bound=form, bound_name=name, status=400)
        try:
            call(request, permit, form)
        except ValidationError as exc:
            _apply_errors(form, exc)
            fresh = _permit_of(request, ref)
            return _render_permit(request, fresh, bound=form, bound_name=name, status=400)
        except Conflict as exc:
            fresh = _permit_of(request, ref)
            return _render_permit(
                request, fresh, bound=form, bound_name=name, refusal=str(exc), status=409
            )
        messages.success(request, str(done))
        return redirect("access:case_permit", ref=ref)

    view.__name__ = f"permit_{name}"
    return view


def _amend(request: HttpRequest, permit: Permit, form: Any) -> Any:
    return actions.amend_permit(
        permit=permit, by=request.user, reason=form.cleaned_data["reason"], **form.terms()
    )


def _extend(request: HttpRequest, permit: Permit, form: Any) -> Any:
    data = form.cleaned_data
    return actions.extend_permit(
        permit=permit, by=request.user, ends_on=data["ends_on"], reason=data["reason"]
    )


def _revoke(request: HttpRequest, permit: Permit, form: Any) -> Any:
    return actions.revoke_permit(permit=permit, by=request.user, reason=form.cleaned_data["reason"])


def _close(request: HttpRequest, permit: Permit, form: Any) -> Any:
    return actions.close_permit(permit=permit, by=request.user, reason=form.cleaned_data["reason"])


DECIDERS = (P.DECIDE_APPLICATIONS,)
ONLY_DECIDERS = gettext_lazy("only deciders of the data authority change permits")
permit_amend = _permit_action(
    "amend", DECIDERS, ONLY_DECIDERS, _amend, gettext_lazy("Permit amended: a new version.")
)
permit_extend = _permit_action(
    "extend", DECIDERS, ONLY_DECIDERS, _extend, gettext_lazy("Permit extended: a new version.")
)
permit_revoke = _permit_action(
    "revoke", DECIDERS, ONLY_DECIDERS, _revoke, gettext_lazy("Permit revoked; access is cut.")
)
permit_close = _permit_action(
    "close",
    (P.DECIDE_APPLICATIONS, P.HANDLE_APPLICATIONS),
    gettext_lazy("only the data authority closes permits"),
    _close,
    gettext_lazy("Permit closed."),
)
