from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from datalux.accounts.models import TokenScope


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Token name"),
        max_length=100,
        help_text=_("What will use it, e.g. “nightly upload script”."),
    )
    expires_at = forms.DateTimeField(
        label=_("Expires at (optional)"),
        help_text=_("At most a year from now; empty: in 90 days."),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    scope = forms.ChoiceField(
        label=_("What it may do"),
        choices=TokenScope.choices,
        initial=TokenScope.READ,
        required=False,  # a form posted without it (a script, an old page) gets a read token
        help_text=_(
            "A read-only token is refused every change: give write access only to "
            "scripts that upload or submit."
        ),
    )


class CodeForm(forms.Form):
    """The current code of an authenticator app (spaces allowed, as apps show "123 456")."""

    code = forms.CharField(
        label=_("Code from your authenticator app"),
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())
        if not (code.isascii() and code.isdigit() and len(code) == 6):
            raise forms.ValidationError(_("Enter the 6 digits your authenticator app shows."))
        return code
