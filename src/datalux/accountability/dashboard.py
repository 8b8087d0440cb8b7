"""The governance dashboard's figures (issue 17, item 2), computed with aggregate queries.

One :func:`figures` call gathers what the strategy measures (Action 23): the catalogue
(datasets by holder and access rights, open-data share, MQA, views and access requests per
dataset), the data authority (applications received and decided, approval rate, time to
decision, share within the deadline, time to data access), output checking (turnaround), Once
Only (exchanges per protocol), citizens (rectifications and their time to close, altruism
consents, opt-outs) and monthly trends.

The **public** dashboard follows the rules of each source's own open data: exchanges only for
whole months ended before the operations data's delay (10 days) and never of a consumer body
that is a security agency (:mod:`datalux.onceonly.operations`). The **authority** part adds
the current month and every consumer.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from datalux.access.metrics import Figures, authority_metrics, median, nearest_rank
from datalux.accountability.rollup import exchange_counts
from datalux.catalogue.metrics import CatalogueMetrics, catalogue_metrics

TREND_MONTHS = 24
TOP_DATASETS = 20


@dataclass(frozen=True)
class Point:
    month: date
    value: int


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    points: list[Point]

    @property
    def peak(self) -> int:
        return max((p.value for p in self.points), default=0)


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    values: dict[str, Any]


@dataclass
class Dashboard:
    today: date
    public: bool
    catalogue: CatalogueMetrics
    requests_per_dataset: list[Row]
    access: Figures
    outputs: dict[str, Any]
    exchanges_by_protocol: list[Row]
    rectifications: dict[str, Any]
    altruism: dict[str, Any]
    trends: list[Series] = field(default_factory=list)

    def csv_rows(self) -> list[list[Any]]:
        """Long format: figure, key, label, month, value (what the CSV and open data hold)."""
        rows: list[list[Any]] = [["figure", "key", "label", "month", "value"]]
        c = self.catalogue
        rows += [
            ["datasets_published", "", "", "", c.published],
            ["datasets_open", "", "", "", c.open],
            ["open_data_share", "", "", "", round(c.open_share, 4)],
            ["dataset_views", "", "", "", c.views],
        ]
        rows += [
            ["datasets_by_access_rights", s.key, s.label, "", s.datasets]
            for s in c.by_access_rights
        ]
        rows += [["datasets_by_holder", s.key, s.label, "", s.datasets] for s in c.by_publisher]
        rows += [["open_datasets_by_holder", s.key, s.label, "", s.open] for s in c.by_publisher]
        rows += [
            ["access_requests_by_dataset", r.key, r.label, "", r.values["requests"]]
            for r in self.requests_per_dataset
        ]
        for name, value in self.access.as_dict().items():
            if name not in ("key", "label"):
                rows.append([f"applications_{name}", "", "", "", value])
        rows += [[f"outputs_{k}", "", "", "", v] for k, v in self.outputs.items()]
        for r in self.exchanges_by_protocol:
            for outcome, n in r.values.items():
                rows.append([f"exchanges_{outcome}", r.key, r.label, "", n])
        rows += [[f"rectifications_{k}", "", "", "", v] for k, v in self.rectifications.items()]
        rows += [[f"altruism_{k}", "", "", "", v] for k, v in self.altruism.items()]
        for series in self.trends:
            rows += [
                [series.key, "", series.label, p.month.strftime("%Y-%m"), p.value]
                for p in series.points
            ]
        return rows


def _months(today: date, count: int = TREND_MONTHS) -> list[date]:
    year, month = today.year, today.month
    out = []
    for _i in range(count):
        out.append(date(year, month, 1))
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return out[::-1]


def _month_of(value: datetime | date) -> date:
    if isinstance(value, datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        return date(value.year, value.month, 1)
    return date(value.year, value.month, 1)


def _monthly(queryset: Any, field_name: str) -> Counter[date]:
    counts: Counter[date] = Counter()
    grouped = (
        queryset.exclude(**{f"{field_name}__isnull": True})
        .order_by()
        .annotate(m=TruncMonth(field_name))
        .values_list("m")
        .annotate(n=Count("pk"))
        .values_list("m", "n")
    )
    for month, n in grouped:
        counts[_month_of(month)] += n
    return counts


def _series(key: str, label: str, counts: Counter[date], months: list[date]) -> Series:
    return Series(key, label, [Point(m, counts.get(m, 0)) for m in months])


def _requests_per_dataset() -> list[Row]:
    from datalux.access.models import ApplicationDataset
    from datalux.catalogue.models import pick_language

    rows = (
        ApplicationDataset.objects.filter(application__received_at__isnull=False)
        .values_list("dataset__pid", "dataset__title")
        .annotate(n=Count("application", distinct=True))
        .order_by("-n", "dataset__pid")[:TOP_DATASETS]
    )
    return [Row(pid, pick_language(title), {"requests": n}) for pid, title, n in rows]


def _outputs() -> dict[str, Any]:
    from datalux.spe.release_metrics import release_metrics

    m = release_metrics()
    return {
        "release_requests": m.total,
        "released": m.released,
        "rejected": m.rejected,
        "median_hours_to_decision": _round(m.median_hours),
        "p90_hours_to_decision": _round(m.p90_hours),
        "approved_at_first_review_share": _round(m.first_review_share),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _published(counts: Counter[Any], today: date) -> Counter[Any]:
    """The counts the public may see: whole months ended before the operations data's delay,
    no consumer body that is a security agency (:mod:`datalux.onceonly.operations`)."""
    from datalux.onceonly.operations import _withheld, cutoff

    slugs, references = _withheld()
    limit = _month_of(cutoff(today))
    return Counter(
        {
            key: n
            for key, n in counts.items()
            if key[0] < limit and key[2] not in slugs and key[1] not in references
        }
    )


def _exchange_rows(counts: Counter[Any]) -> list[Row]:
    from datalux.onceonly.models import Protocol

    titles = dict(
        Protocol.objects.order_by("reference", "version").values_list("reference", "title")
    )
    per: dict[str, Counter[str]] = defaultdict(Counter)
    for (_month, protocol, _consumer, outcome), n in counts.items():
        per[protocol][outcome] += n
    return [
        Row(ref or "", titles.get(ref, "") if ref else _("no protocol named"), dict(per[ref]))
        for ref in sorted(per)
    ]


def _rectifications(today: date) -> dict[str, Any]:
    from datalux.citizens.models import Rectification, RectificationState

    states = dict(Rectification.objects.order_by().values_list("state").annotate(n=Count("pk")))
    closed = Rectification.objects.filter(
        state__in=[RectificationState.ACCEPTED, RectificationState.REJECTED],
        answered_at__isnull=False,
    ).values_list("submitted_at", "answered_at")
    days = [(b - a).total_seconds() / 86400 for a, b in closed]
    overdue = Rectification.objects.filter(
        state__in=[RectificationState.SUBMITTED, RectificationState.EXTENDED],
        due_on__lt=today,
    ).count()
    return {
        "received": sum(states.values()),
        **{str(s): states.get(s, 0) for s in RectificationState.values},
        "open_overdue": overdue,
        "median_days_to_close": _round(median(days)),
        "p90_days_to_close": _round(nearest_rank(days, 90)),
    }


def _altruism(today: date) -> dict[str, Any]:
    from datalux.citizens.models import AltruismConsent
    from datalux.citizens.ttp_lists import consents_in_force, opted_out_identities

    consents = AltruismConsent.objects.aggregate(
        given=Count("pk"), withdrawn=Count("pk", filter=Q(withdrawn_at__isnull=False))
    )
    return {
        "consents_given": consents["given"],
        "consents_withdrawn": consents["withdrawn"],
        "consents_in_force": consents_in_force(today).count(),
        "opt_outs_in_force": opted_out_identities().count(),
    }


def figures(*, today: date | None = None, public: bool = True) -> Dashboard:
    from datalux.access.models import Application
    from datalux.citizens.models import AltruismConsent

    today = today or timezone.localdate()
    counts = _published(exchange_counts(), today) if public else exchange_counts()
    months = _months(today)
    exchanges: Counter[date] = Counter()
    for (month, *_rest), n in counts.items():
        exchanges[month] += n
    dashboard_exchanges = _exchange_rows(counts)
    applications = Application.objects.all()
    consents = AltruismConsent.objects.all()
    trends = [
        _series(
            "applications_received",
            _("Applications received"),
            _monthly(applications, "received_at"),
            months,
        ),
        _series(
            "applications_decided",
            _("Applications decided"),
            _monthly(applications, "decided_at"),
            months,
        ),
        _series("exchanges", _("Once-only exchanges"), exchanges, months),
        _series(
            "consents_given", _("Altruism consents given"), _monthly(consents, "given_at"), months
        ),
    ]
    return Dashboard(
        today=today,
        public=public,
        catalogue=catalogue_metrics(),
        requests_per_dataset=_requests_per_dataset(),
        access=authority_metrics().overall,
        outputs=_outputs(),
        exchanges_by_protocol=dashboard_exchanges,
        rectifications=_rectifications(today),
        altruism=_altruism(today),
        trends=trends,
    )
