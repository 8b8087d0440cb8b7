"""Sign-in, the per-role workspaces and API token management."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from datalux.access.work import waiting_for
from datalux.accounts import actions
from datalux.accounts.forms import TokenForm
from datalux.accounts.models import ApiToken, Organisation, TokenScope
from datalux.accounts.permissions import has_permission
from datalux.accounts.roles import ROLES, Permission
from datalux.audit.log import head
from datalux.core.guards import deny
from datalux.holdings.models import DataFile


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
