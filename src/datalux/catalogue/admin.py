"""Django admin for the catalogue. Every save and delete writes ``admin.changed`` in its
transaction (:mod:`datalux.core.admin_audit`); stewards use the audited pages instead."""

from django.contrib import admin

from datalux.catalogue.models import (
    Catalogue,
    DataProduct,
    DataService,
    Dataset,
    DatasetSeries,
    Distribution,
    HarvestSource,
    Variable,
)
from datalux.core.admin_audit import AuditedModelAdmin


class VariableInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Variable
    extra = 0


class DistributionInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Distribution
    extra = 0


@admin.register(Dataset)
class DatasetAdmin(AuditedModelAdmin):
    list_display = ("pid", "slug", "publisher", "access_rights", "status", "modified")
    list_filter = ("status", "access_rights", "publisher")
    search_fields = ("pid", "slug")
    readonly_fields = ("pid", "views", "shacl_conforms", "shacl_report")
    inlines = [VariableInline, DistributionInline]


admin.site.register(
    [Catalogue, DataProduct, DatasetSeries, DataService, HarvestSource], AuditedModelAdmin
)
