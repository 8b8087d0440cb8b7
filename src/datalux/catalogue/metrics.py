"""Catalogue metrics: published datasets by access rights and publisher, share of open data,
views per dataset. Counted over published datasets only (these figures are public).

Requests per dataset come with the access-request module.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, Sum

from datalux.catalogue.models import Dataset, DatasetStatus
from datalux.catalogue.vocabularies import AccessRights

TOP_VIEWED = 20


@dataclass(frozen=True)
class Share:
    key: str
    label: str
    datasets: int
    open: int = 0


@dataclass(frozen=True)
class Viewed:
    pid: str
    title: str
    publisher: str
    views: int


@dataclass(frozen=True)
class CatalogueMetrics:
    published: int
    open: int
    views: int
    by_access_rights: list[Share]
    by_publisher: list[Share]
    most_viewed: list[Viewed]

    @property
    def open_share(self) -> float:
        """Share of published datasets that are open (access rights PUBLIC), 0..1."""
        return self.open / self.published if self.published else 0.0

    @property
    def open_percent(self) -> float:
        return round(100 * self.open_share, 1)


def catalogue_metrics() -> CatalogueMetrics:
    published = Dataset.objects.filter(status=DatasetStatus.PUBLISHED)
    is_open = Q(access_rights=AccessRights.PUBLIC)
    rights = dict(published.order_by().values_list("access_rights").annotate(n=Count("id")))
    by_rights = [
        Share(key=value, label=str(label), datasets=rights.get(value, 0))
        for value, label in AccessRights.choices
    ]
    by_publisher = [
        Share(key=slug, label=name, datasets=n, open=n_open)
        for slug, name, n, n_open in published.values_list("publisher__slug", "publisher__name")
        .annotate(n=Count("id"), n_open=Count("id", filter=is_open))
        .order_by("-n", "publisher__name")
    ]
    most_viewed = [
        Viewed(pid=d.pid, title=d.display_title, publisher=d.publisher.name, views=d.views)
        for d in published.filter(views__gt=0)
        .select_related("publisher")
        .order_by("-views", "pid")[:TOP_VIEWED]
    ]
    return CatalogueMetrics(
        published=sum(rights.values()),
        open=rights.get(AccessRights.PUBLIC, 0),
        views=published.aggregate(total=Sum("views"))["total"] or 0,
        by_access_rights=by_rights,
        by_publisher=by_publisher,
        most_viewed=most_viewed,
    )
