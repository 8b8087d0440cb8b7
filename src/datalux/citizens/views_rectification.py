"""Correction requests (GDPR Art. 16): the citizen's pages under ``/me/corrections/`` and the
stewards' under ``/me/stewards/corrections/``.

A citizen sees only their own requests (anyone else's reference answers 404, so nothing
tells that it exists). A steward sees the requests on the authentic sources of their own
organisations, and on a request's page the person's record in that source - nobody else
does; other users get 403 (audited), a request of another holder 404. Views parse, call one
action of :mod:`datalux.citizens.rectification`, render.
"""

from __future__ import annotations

import logging
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from datalux.access.states import TransitionError
from datalux.accounts.roles import Permission
from datalux.catalogue.models import pick_language
from datalux.citizens import rectification as actions
from datalux.citizens.access import citizen_required
from datalux.citizens.models import CitizenIdentity, Rectification, RectificationState
from datalux.core.guards import require_permission
from datalux.onceonly import lookup
from datalux.onceonly.models import AuthenticSource

logger = logging.getLogger("datalux.citizens")

S = RectificationState


class RequestForm(forms.Form):
    proposed_value = forms.CharField(
        label=gettext_lazy("The correct value"),
        max_length=500,
        help_text=gettext_lazy("Write it as it should appear in the register."),
    )
    explanation = forms.CharField(
        label=gettext_lazy("Why is the current value wrong?"),
        max_length=actions.MAX_EXPLANATION,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy(
            "Say what is wrong and how the holder can check it (for example a document you "
            "can show them)."
        ),
    )


class ExtendForm(forms.Form):
    months = forms.TypedChoiceField(
        label=gettext_lazy("Extend by"),
        coerce=int,
        choices=[(1, gettext_lazy("one month")), (2, gettext_lazy("two months"))],
        initial=2,
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason (the person is told)"),
        max_length=actions.MAX_EXPLANATION,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class AnswerForm(forms.Form):
    answer = forms.CharField(
        label=gettext_lazy("Answer to the person"),
        max_length=actions.MAX_EXPLANATION,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


def _private(response: HttpResponse) -> HttpResponse:
    add_never_cache_headers(response)
    return response


def _add_errors(form: forms.Form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _labels(source: AuthenticSource) -> dict[str, str]:
    return {v.name: pick_language(v.label) or v.name for v in source.dataset.variables.all()}


def _timing(rectification: Rectification) -> dict[str, Any]:
    today = timezone.localdate()
    open_ = rectification.state in actions.OPEN
    return {
        "open": open_,
        "overdue": open_ and today > rectification.due_on,
        "days_left": (rectification.due_on - today).days if open_ else None,
    }


# --- the citizen's pages ---------------------------------------------------------------------


@require_http_methods(["GET"])
@citizen_required
def rectifications(request: HttpRequest, identity: CitizenIdentity) -> HttpResponse:
    rows = [
        (r, _timing(r))
        for r in Rectification.objects.filter(identity=identity).select_related("source__dataset")
    ]
    return _private(
        render(
            request, "citizens/rectification_list.html", {"section": "corrections", "rows": rows}
        )
    )


def _choices(identity: CitizenIdentity) -> list[dict[str, Any]]:
    """The sources that hold a record about the person, with the items they may correct."""
    found: list[dict[str, Any]] = []
    for source in AuthenticSource.objects.select_related("dataset__publisher"):
        try:
            held = actions.current_record(source, identity)
        except lookup.SourceUnavailable:
            continue
        if held is None:
            continue
        labels = _labels(source)
        found.append(
            {
                "source": source,
                "items": [(name, labels.get(name, name)) for name in held],
            }
        )
    return found


@require_http_methods(["GET", "POST"])
@citizen_required
def rectification_new(request: HttpRequest, identity: CitizenIdentity) -> HttpResponse:
    """``?source=<id>&item=<name>`` (the links of My data): the form for that item, with the
    value the source holds now; without them, the items the person may ask to correct."""
    source_id, item = request.GET.get("source", ""), request.GET.get("item", "")
    if not source_id:
        return _private(
            render(
                request,
                "citizens/rectification_choose.html",
                {"section": "corrections", "choices": _choices(identity)},
            )
        )
    if not source_id.isdigit():
        raise Http404("no such source")
    source = get_object_or_404(
        AuthenticSource.objects.select_related("dataset__publisher"), pk=int(source_id)
    )
    if item not in actions.published_items(source):
        raise Http404("no such item")
    try:
        held = actions.current_record(source, identity)
    except lookup.SourceUnavailable:
        return _private(render(request, "citizens/unavailable.html", status=503))
    if held is None:
        raise Http404("no record")
    form = RequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            made = actions.request_rectification(
                identity=identity,
                source=source,
                item=item,
                proposed_value=form.cleaned_data["proposed_value"],
                explanation=form.cleaned_data["explanation"],
                by=request.user,
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request,
                _("Your request %(ref)s was sent to %(holder)s.")
                % {"ref": made.reference, "holder": source.dataset.publisher},
            )
            return redirect("citizens:rectification", made.reference)
    context = {
        "section": "corrections",
        "source": source,
        "item": item,
        "label": _labels(source).get(item, item),
        "current": held.get(item),
        "form": form,
    }
    return _private(render(request, "citizens/rectification_form.html", context))


@require_http_methods(["GET"])
@citizen_required
def rectification(request: HttpRequest, identity: CitizenIdentity, reference: str) -> HttpResponse:
    found = get_object_or_404(
        Rectification.objects.select_related("source__dataset__publisher"),
        identity=identity,
        reference=reference,
    )
    context = {
        "section": "corrections",
        "r": found,
        "timing": _timing(found),
        "label": _labels(found.source).get(found.item, found.item),
        "may_withdraw": "withdraw" in actions.allowed_actions(found.state),
    }
    return _private(render(request, "citizens/rectification_detail.html", context))


@require_POST
@citizen_required
def rectification_withdraw(
    request: HttpRequest, identity: CitizenIdentity, reference: str
) -> HttpResponse:
    found = get_object_or_404(Rectification, identity=identity, reference=reference)
    try:
        actions.withdraw(rectification=found, by=request.user)
    except TransitionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Your request was withdrawn."))
    return redirect("citizens:rectification", reference)


# --- the stewards' pages ---------------------------------------------------------------------


@require_http_methods(["GET"])
@require_permission(Permission.MANAGE_HOLDINGS)
def steward_rectifications(request: HttpRequest) -> HttpResponse:
    show = request.GET.get("show", "open")
    queryset = actions.for_steward(request.user).order_by("due_on", "pk")
    if show != "all":
        queryset = queryset.filter(state__in=actions.OPEN)
    rows = [(r, _timing(r)) for r in queryset]
    return _private(
        render(
            request,
            "citizens/rectification_steward_list.html",
            {"rows": rows, "show": "all" if show == "all" else "open"},
        )
    )


def _steward_request(request: HttpRequest, reference: str) -> Rectification:
    return get_object_or_404(actions.for_steward(request.user), reference=reference)


@require_http_methods(["GET"])
@require_permission(Permission.MANAGE_HOLDINGS)
def steward_rectification(request: HttpRequest, reference: str) -> HttpResponse:
    found = _steward_request(request, reference)
    return _steward_page(request, found)


def _steward_page(
    request: HttpRequest,
    found: Rectification,
    *,
    extend_form: ExtendForm | None = None,
    accept_form: AnswerForm | None = None,
    reject_form: AnswerForm | None = None,
    status: int = 200,
) -> HttpResponse:
    labels = _labels(found.source)
    held: dict[str, Any] | None = None
    unavailable = False
    try:
        held = actions.current_record(found.source, found.identity)
    except lookup.SourceUnavailable:
        unavailable = True
    allowed = actions.allowed_actions(found.state)
    context = {
        "r": found,
        "timing": _timing(found),
        "label": labels.get(found.item, found.item),
        "record": [(labels.get(k, k), k, v) for k, v in (held or {}).items()],
        "current": (held or {}).get(found.item),
        "has_record": held is not None,
        "unavailable": unavailable,
        "allowed": allowed,
        "extend_form": extend_form or ExtendForm(prefix="extend"),
        "accept_form": accept_form or AnswerForm(prefix="accept"),
        "reject_form": reject_form or AnswerForm(prefix="reject"),
    }
    return _private(
        render(request, "citizens/rectification_steward_detail.html", context, status=status)
    )


@require_POST
@require_permission(Permission.MANAGE_HOLDINGS)
def steward_answer(request: HttpRequest, reference: str, action: str) -> HttpResponse:
    """One of the steward's answers: ``extend``, ``accept`` or ``reject``."""
    found = _steward_request(request, reference)
    forms_for: dict[str, forms.Form] = {}
    if action == "extend":
        form: forms.Form = ExtendForm(request.POST, prefix="extend")
        forms_for["extend_form"] = form
    elif action in ("accept", "reject"):
        form = AnswerForm(request.POST, prefix=action)
        forms_for[f"{action}_form"] = form
    else:
        raise Http404("no such answer")
    if form.is_valid():
        data = form.cleaned_data
        try:
            if action == "extend":
                actions.extend(
                    rectification=found,
                    reason=data["reason"],
                    months=data["months"],
                    by=request.user,
                )
                done = _("The deadline was extended; the person is told.")
            elif action == "accept":
                done_request = actions.accept(
                    rectification=found, answer=data["answer"], by=request.user
                )
                done = _("The correction is version %(n)d of the source; the person is told.") % {
                    "n": done_request.applied_version
                }
            else:
                actions.reject(rectification=found, answer=data["answer"], by=request.user)
                done = _("The request was rejected; the person is told.")
        except ValidationError as exc:
            _add_errors(form, exc)
        except TransitionError as exc:
            messages.error(request, str(exc))
            return redirect("citizens:steward_rectification", reference)
        else:
            messages.success(request, done)
            return redirect("citizens:steward_rectification", reference)
    found.refresh_from_db()
    return _steward_page(request, found, status=400, **forms_for)  # type: ignore[arg-type]
