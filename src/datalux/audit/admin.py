from django.contrib import admin

from datalux.audit.models import AuditEvent
from datalux.core.admin_audit import AuditedModelAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(AuditedModelAdmin):
    """Read-only: the table is append-only (the database refuses UPDATE and DELETE)."""

    list_display = (
        "seq",
        "occurred_at",
        "kind",
        "actor_label",
        "organisation",
        "object_type",
        "object_id",
    )
    list_filter = ("kind",)

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
