"""Django admin for operators. Every save and delete writes ``admin.changed`` in its transaction
(:mod:`datalux.core.admin_audit`); API tokens are read-only here and can only be revoked."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from datalux.accounts.models import ApiToken, Membership, Organisation, User
from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.core.admin_audit import AuditedModelAdmin, audited_action, record_admin_change


class MembershipInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Membership
    extra = 0
    fields = ("organisation", "role", "active", "granted_at")
    readonly_fields = ("granted_at",)


@admin.register(User)
class DataluxUserAdmin(AuditedModelAdmin, UserAdmin):  # type: ignore[type-arg]
    inlines = [MembershipInline]
    list_display = ("username", "display_name", "email", "is_active", "is_staff")

    def user_change_password(self, request: Any, id: str, form_url: str = "") -> Any:
        """The password form saves outside save_model: it is recorded here, in the same
        transaction, as ``{"field": "password", "changed": true}`` (never a hash)."""
        with transaction.atomic():
            before = User.objects.filter(pk=id).values_list("password", flat=True).first()
            response = super().user_change_password(request, id, form_url)
            after = User.objects.filter(pk=id).values_list("password", flat=True).first()
            if before is not None and before != after:
                record_admin_change(
                    request=request,
                    model=User,
                    object_id=id,
                    action="change",
                    old={"password": before},
                    new={"password": after},
                )
        return response


@admin.register(Organisation)
class OrganisationAdmin(AuditedModelAdmin):
    list_display = ("name", "kind", "sector")
    list_filter = ("kind", "sector")
    search_fields = ("name",)
    prepopulated_fields = {"slug": ("name",)}


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedModelAdmin):
    """Read-only: a token is created by its owner (its secret shown once) and never edited, so
    it cannot be un-revoked, extended or given a wider scope here. Operators may revoke."""

    list_display = ("name", "user", "key_id", "scope", "created_at", "expires_at", "revoked_at")
    list_filter = ("scope",)
    exclude = ("secret_hash",)
    actions = ["revoke"]

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_revoke_permission(self, request: Any) -> bool:
        return bool(request.user.has_perm("accounts.change_apitoken"))

    @admin.action(description=_("Revoke the selected API tokens"), permissions=["revoke"])
    @audited_action
    def revoke(self, request: Any, queryset: Any) -> None:
        """Revoke each selected token not yet revoked: ``api_token.revoked``, in one
        transaction with the change."""
        revoked = 0
        with transaction.atomic():
            for token in queryset.select_for_update().filter(revoked_at__isnull=True):
                token.revoked_at = timezone.now()
                token.save(update_fields=["revoked_at"])
                record(
                    EventKind.API_TOKEN_REVOKED,
                    actor=request.user,
                    obj=token,
                    details={"key_id": token.key_id, "user_id": token.user_id, "via": "admin"},
                )
                revoked += 1
        self.message_user(
            request,
            ngettext("%(n)d API token revoked.", "%(n)d API tokens revoked.", revoked)
            % {"n": revoked},
            messages.SUCCESS,
        )
