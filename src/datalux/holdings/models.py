"""A data file (Parquet under the storage root) registered to the organisation that holds it.

The catalogue describes datasets; a DataFile is one stored version of one table of a holder.
Rows are never shown through this model: only metadata (name, rows, columns, checksum).
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from datalux.accounts.models import Organisation
from datalux.accounts.permissions import RestrictedQuerySet


class DataFile(models.Model):
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="data_files"
    )
    table = models.SlugField(max_length=100, help_text=_("table name within the holder"))
    version = models.PositiveIntegerField(default=1)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    relative_path = models.CharField(max_length=500, help_text=_("path under DATALUX_STORAGE"))
    rows = models.PositiveBigIntegerField()
    columns = models.JSONField(default=list, help_text=_("[{name, type, description}]"))
    sha256 = models.CharField(max_length=64)
    size_bytes = models.PositiveBigIntegerField()
    registered_at = models.DateTimeField(default=timezone.now)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["organisation__name", "table", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "table", "version"], name="unique_table_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation.slug}/{self.table} v{self.version}"

    @property
    def path(self) -> Path:
        return Path(settings.DATALUX_STORAGE) / self.relative_path
