"""``/me/choices/``: a citizen's data altruism consents and objection to secondary use, their
history, and who processed their donated data (DGA Art. 20). Views parse, call one action of
:mod:`datalux.citizens.choices`, render."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from datalux.citizens import choices
from datalux.citizens.access import citizen_required
from datalux.citizens.models import AltruismPurpose, CitizenIdentity, PersonUse


class ConsentForm(forms.Form):
    purposes = forms.MultipleChoiceField(
        label=gettext_lazy("For which purposes of general interest"),
        choices=AltruismPurpose.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    datasets = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Which data"),
        queryset=choices.donatable_datasets(),
        widget=forms.CheckboxSelectMultiple,
    )
    organisation = forms.ModelChoiceField(
        label=gettext_lazy("The organisation that makes the data available"),
        queryset=choices.altruism_organisations(),
        empty_label=None,
    )
    valid_until = forms.DateField(
        label=gettext_lazy("Until"), widget=forms.DateInput(attrs={"type": "date"})
    )
    form_version = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["datasets"].queryset = choices.donatable_datasets()
        self.fields["datasets"].label_from_instance = lambda d: (
            f"{d.display_title} ({d.publisher.name})"
        )
        self.fields["organisation"].queryset = choices.altruism_organisations()


def _history(identity: CitizenIdentity) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for c in identity.secondary_use_choices.all():
        what = (
            _("You objected to the secondary use of your data.")
            if c.opted_out
            else _("You revoked your objection to the secondary use of your data.")
        )
        rows.append({"at": c.at, "what": what})
    for consent in identity.altruism_consents.all():
        rows.append(
            {
                "at": consent.given_at,
                "what": _("You gave consent %(ref)s.") % {"ref": consent.reference},
            }
        )
        if consent.withdrawn_at:
            rows.append(
                {
                    "at": consent.withdrawn_at,
                    "what": _("You withdrew consent %(ref)s.") % {"ref": consent.reference},
                }
            )
    return sorted(rows, key=lambda r: r["at"], reverse=True)


def _page(request: HttpRequest, identity: CitizenIdentity, form: ConsentForm) -> HttpResponse:
    today = timezone.localdate()
    consents = list(
        identity.altruism_consents.prefetch_related("datasets").select_related("organisation")
    )
    labels = dict(AltruismPurpose.choices)
    for consent in consents:
        consent.in_force = choices.consent_in_force(consent, today)  # type: ignore[attr-defined]
        consent.purpose_labels = [labels.get(p, p) for p in consent.purposes]  # type: ignore[attr-defined]
    uses = (
        PersonUse.objects.filter(subject=identity.subject, on_consent=True)
        .select_related("permit__organisation", "permit__application")
        .order_by("-prepared_at")
    )
    return render(
        request,
        "citizens/choices.html",
        {
            "choice": choices.current_choice(identity),
            "consents": consents,
            "form": form,
            "form_text": choices.FORM_TEXT,
            "history": _history(identity),
            "uses": uses,
            "max_until": today + timedelta(days=choices.MAX_DURATION_DAYS),
        },
    )


def _blank_form() -> ConsentForm:
    until: date = timezone.localdate() + timedelta(days=choices.DEFAULT_DURATION_DAYS)
    return ConsentForm(initial={"valid_until": until, "form_version": choices.FORM_VERSION})


@citizen_required
@require_http_methods(["GET", "POST"])
def choices_page(request: HttpRequest, identity: CitizenIdentity) -> HttpResponse:
    if request.method != "POST":
        return _page(request, identity, _blank_form())
    form = ConsentForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            consent = choices.give_consent(
                identity=identity, purposes=data["purposes"], datasets=data["datasets"],
                organisation=data["organisation"], valid_until=data["valid_until"],
                by=request.user, form_version=data["form_version"],
            )  # fmt: skip
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, exc.messages)
        else:
            messages.success(
                request, _("Thank you: consent %(ref)s is recorded.") % {"ref": consent.reference}
            )
            return redirect("citizens:choices")
    return _page(request, identity, form)


CONFIRMATIONS = {
    "opt-out": gettext_lazy(
        "Object to the secondary use of your data? From now on, no new extract for a research "
        "or statistics project will include your data. Extracts prepared before stay as they are."
    ),
    "revoke": gettext_lazy(
        "Revoke your objection? New extracts for projects with a permit may again include your "
        "data, always without your name or national number."
    ),
    "withdraw": gettext_lazy(
        "Withdraw this consent? No new extract will include your data on this consent. Uses "
        "made before stay lawful."
    ),
}


def _confirm(request: HttpRequest, what: str, consent: Any = None) -> HttpResponse:
    return render(
        request,
        "citizens/choices_confirm.html",
        {"question": CONFIRMATIONS[what], "consent": consent, "what": what},
    )


def _act(request: HttpRequest, action: Any, done: str, **kwargs: Any) -> HttpResponse:
    try:
        action(by=request.user, **kwargs)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done)
    return redirect("citizens:choices")


@citizen_required
@require_http_methods(["GET", "POST"])
def opt_out(request: HttpRequest, identity: CitizenIdentity) -> HttpResponse:
    if request.method != "POST":
        return _confirm(request, "opt-out")
    return _act(request, choices.opt_out, _("Your objection is recorded."), identity=identity)


@citizen_required
@require_http_methods(["GET", "POST"])
def revoke_opt_out(request: HttpRequest, identity: CitizenIdentity) -> HttpResponse:
    if request.method != "POST":
        return _confirm(request, "revoke")
    return _act(request, choices.revoke_opt_out, _("Your objection is revoked."), identity=identity)


@citizen_required
@require_http_methods(["GET", "POST"])
def withdraw(request: HttpRequest, identity: CitizenIdentity, reference: str) -> HttpResponse:
    consent = identity.altruism_consents.filter(reference=reference).first()
    if consent is None:  # another person's consent is as unknown as a missing one
        raise Http404(_("You have no consent with this reference."))
    if request.method != "POST":
        return _confirm(request, "withdraw", consent)
    return _act(
        request,
        choices.withdraw_consent,
        _("Consent %(ref)s is withdrawn.") % {"ref": consent.reference},
        consent=consent,
    )
