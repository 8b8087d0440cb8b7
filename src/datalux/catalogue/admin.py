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


class VariableInline(admin.TabularInline):
    model = Variable
    extra = 0


class DistributionInline(admin.TabularInline):
    model = Distribution
    extra = 0


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ("pid", "slug", "publisher", "access_rights", "status", "modified")
    list_filter = ("status", "access_rights", "publisher")
    search_fields = ("pid", "slug")
    readonly_fields = ("pid", "views", "shacl_conforms", "shacl_report")
    inlines = [VariableInline, DistributionInline]


admin.site.register([Catalogue, DataProduct, DatasetSeries, DataService, HarvestSource])
