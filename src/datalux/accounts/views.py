"""Sign-in, the per-role workspaces and API token management."""

from __future__ import annotations

from base64 import b32encode
from typing import Any

import segno
from axes.handlers.proxy import AxesProxyHandler
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from datalux.access.work import waiting_for
from datalux.accounts import actions
from datalux.accounts import second_factor as sf
from datalux.accounts.forms import CodeForm, TokenForm
from datalux.accounts.models import ApiToken, Organisation, TokenScope
from datalux.accounts.permissions import has_permission
from datalux.accounts.roles import ROLES, Permission
from datalux.audit.log import head
from datalux.core.guards import deny
from datalux.holdings.models import DataFile


class SignInView(auth_views.LoginView):
    """Password first (throttled by the axes backend); a user with a second factor is not
    signed in yet but sent to :func:`login_verify` for the code."""

    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        if sf.confirmed_device(user) is None:
            return super().form_valid(form)
        sf.begin_second_step(self.request, user, self.get_success_url())
        return redirect("accounts:login_verify")


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def login_verify(request: HttpRequest) -> HttpResponse:
    """The second step of sign-in: the code of the user's authenticator app."""
    user, state = sf.pending_sign_in(request)
    if user is None:
        messages.info(request, _("Sign in with your username and password first."))
        return redirect("accounts:login")
    credentials = {"username": user.get_username()}
    if not AxesProxyHandler.is_allowed(request, credentials):
        from datalux.accounts.throttling import lockout_response

        return lockout_response(request, None, credentials)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = sf.check_code(
            user=user, code=form.cleaned_data["code"], stage="sign-in", signed_in=False
        )
        if device is not None:
            sf.finish_sign_in(request, user, device, state["backend"])
            return redirect(state["next"])
        form.add_error("code", _("This code is not valid: enter the code your app shows now."))
        # counts for the lockout; the axes middleware answers with the lock page at the limit
        user_login_failed.send(
            sender=__name__,
            credentials={**credentials, sf.WRONG_CODE: True},
            request=request,
        )
    return render(request, "accounts/login_verify.html", {"form": form})


def _next_url(request: HttpRequest) -> str | None:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


@sensitive_post_parameters("code")
@never_cache
@login_required
def second_factor(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app (QR code and secret, confirmed by a first code), or see
    that one is set up and remove it."""
    user = request.user
    required = sf.second_factor_required(user)
    if sf.confirmed_device(user) is not None:
        return render(
            request,
            "accounts/second_factor.html",
            {"enrolled": True, "form": CodeForm(), "required": required},
        )
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = sf.confirm_enrolment(user=user, code=form.cleaned_data["code"])
        if device is not None:
            otp_login(request, device)
            messages.success(request, _("Your second factor is set up."))
            return redirect(_next_url(request) or "accounts:second_factor")
        form.add_error("code", _("This code is not valid: enter the code your app shows now."))
    device = sf.enrolment_device(user=user)
    secret = b32encode(device.bin_key).decode()
    qr = segno.make(device.config_url, error="m")
    return render(
        request,
        "accounts/second_factor.html",
        {
            "enrolled": False,
            "form": form,
            "required": required,
            "next": _next_url(request) or "",
            "qr_svg": qr.svg_inline(
                scale=4, border=2, svgclass="qr", title=_("QR code for your authenticator app")
            ),
            "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
        },
    )


@sensitive_post_parameters("code")
@login_required
@require_POST
def second_factor_remove(request: HttpRequest) -> HttpResponse:
    form = CodeForm(request.POST)
    if form.is_valid() and sf.remove_second_factor(
        user=request.user, code=form.cleaned_data["code"]
    ):
        messages.success(request, _("Your second factor is removed."))
    else:
        messages.error(
            request,
            _(
                "Your second factor is still set up: the code was not valid. "
                "Enter the code your app shows now."
            ),
        )
    return redirect("accounts:second_factor")


@login_required
def workspace(request: HttpRequest, role: str) -> HttpResponse:
    """One page per role. Users who do not hold the role get 403."""
    role_def = ROLES.get(role)
    if role_def is None:
        raise Http404("no such workspace")
    if not has_permission(request.user, role_def.workspace):
        raise deny(
            request,
            role_def.workspace,
            _("this page is for the %(role)s role") % {"role": role_def.title},
        )
    context: dict[str, object] = {"role": role_def}
    context["waiting"] = waiting_for(request.user, role=role_def.slug)
    if role_def.slug in {"steward", "handler", "ttp_operator", "platform_admin"}:
        context["data_files"] = DataFile.objects.restrict(
            request.user, Permission.VIEW_HOLDINGS
        ).select_related("organisation")
    if role_def.slug == "platform_admin":
        context["organisations"] = Organisation.objects.annotate(
            members=Count("memberships", filter=Q(memberships__active=True))
        )
        context["audit_head"] = head()
    return render(request, "accounts/workspace.html", context)


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    if not has_permission(request.user, Permission.USE_API_TOKENS):
        raise deny(request, Permission.USE_API_TOKENS)
    new_secret = None
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _, new_secret = actions.create_api_token(
                user=request.user,  # type: ignore[arg-type]
                name=form.cleaned_data["name"],
                expires_at=form.cleaned_data.get("expires_at"),
                scope=form.cleaned_data.get("scope") or TokenScope.READ,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            form = TokenForm()
    return render(
        request,
        "accounts/tokens.html",
        {
            "form": form,
            "new_secret": new_secret,
            "tokens": ApiToken.objects.restrict(request.user, Permission.USE_API_TOKENS),
        },
    )


@login_required
@require_POST
def revoke_token(request: HttpRequest, key_id: str) -> HttpResponse:
    token = get_object_or_404(
        ApiToken.objects.restrict(request.user, Permission.USE_API_TOKENS), key_id=key_id
    )
    try:
        actions.revoke_api_token(token=token, by=request.user)  # type: ignore[arg-type]
    except PermissionDenied as exc:  # pragma: no cover - restrict() already hides others' tokens
        raise deny(request, Permission.USE_API_TOKENS, str(exc)) from exc
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("accounts:tokens")
