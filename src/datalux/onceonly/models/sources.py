"""Authentic sources (the strategy's Action 3): which dataset is *the* source of which data
items, who answers for it, how often it is updated and what quality it promises.

The data items are names of the dataset's data dictionary (``catalogue.Variable``), stored
as names: the dictionary is rewritten whole when a steward edits it, and a designation must
outlive that. Items that left the dictionary since are shown as such, never silently dropped.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from datalux.accounts.models import Organisation
from datalux.catalogue.vocabularies import Frequency


class AuthenticSource(models.Model):
    dataset = models.OneToOneField(
        "catalogue.Dataset", on_delete=models.PROTECT, related_name="authentic_source"
    )
    responsible_body = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="authentic_sources",
        verbose_name=_("responsible body"),
    )
    # names of dictionary variables this dataset is the authentic source for
    items = models.JSONField(_("data items"), default=list)
    # the dictionary variable holding the person's national number (exchanges look persons up
    # by it; it is never returned unless it is one of the protocol's items)
    key_item = models.CharField(_("national-number item"), max_length=100)
    update_frequency = models.CharField(
        _("update frequency"), max_length=16, choices=Frequency.choices
    )
    quality_commitment = models.TextField(_("quality commitment"))
    designated_at = models.DateTimeField(default=timezone.now)
    designated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["dataset__slug"]

    def __str__(self) -> str:
        return f"{self.dataset.pid}: {', '.join(self.items)}"

    @property
    def organisation_id(self) -> int:
        """A designation belongs to the dataset's publisher (its stewards maintain it)."""
        return self.dataset.publisher_id

    def current_items(self) -> list[tuple[str, bool]]:
        """(item, still in the dictionary?) for each designated item, in designation order."""
        names = set(self.dataset.variables.values_list("name", flat=True))
        return [(item, item in names) for item in self.items]
