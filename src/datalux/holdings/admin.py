from django.contrib import admin

from datalux.holdings.models import DataFile


@admin.register(DataFile)
class DataFileAdmin(admin.ModelAdmin):
    list_display = ("organisation", "table", "version", "rows", "registered_at")
    list_filter = ("organisation",)
    readonly_fields = ("sha256", "size_bytes", "rows", "relative_path", "columns")
