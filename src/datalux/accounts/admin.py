"""Django admin for operators. Audit-relevant changes go through actions, not raw saves."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from datalux.accounts.models import ApiToken, Membership, Organisation, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ("organisation", "role", "active", "granted_at")
    readonly_fields = ("granted_at",)


@admin.register(User)
class DataluxUserAdmin(UserAdmin):
    inlines = [MembershipInline]
    list_display = ("username", "display_name", "email", "is_active", "is_staff")


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "sector")
    list_filter = ("kind", "sector")
    search_fields = ("name",)
    prepopulated_fields = {"slug": ("name",)}


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "key_id", "created_at", "expires_at", "revoked_at")
    readonly_fields = ("key_id", "secret_hash", "created_at", "last_used_at")
