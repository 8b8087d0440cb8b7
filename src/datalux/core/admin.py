from django.contrib import admin

from datalux.core.admin_audit import AuditedModelAdmin
from datalux.core.models import PeriodicJob


@admin.register(PeriodicJob)
class PeriodicJobAdmin(AuditedModelAdmin):
    """Operators may pause a job (``enabled``, recorded as ``admin.changed``); the schedule
    itself is defined in code."""

    list_display = ["name", "task_path", "every_seconds", "enabled", "last_enqueued_at"]
    readonly_fields = [
        "name",
        "task_path",
        "every_seconds",
        "offset_seconds",
        "last_enqueued_at",
        "last_result_id",
    ]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
