from django.contrib import admin

from datalux.core.admin_audit import AuditedModelAdmin
from datalux.holdings.models import DataFile


@admin.register(DataFile)
class DataFileAdmin(AuditedModelAdmin):
    """Changes and deletions are recorded as ``admin.changed`` (old and new values)."""

    list_display = ("organisation", "table", "version", "rows", "registered_at")
    list_filter = ("organisation",)
    readonly_fields = ("sha256", "size_bytes", "rows", "relative_path", "columns")
