"""The data authority's published figures: how many applications, how fast, how often granted.

Every figure is computed over a set of applications that were *received* (submitted at least
once); drafts never count. The same definitions apply overall, per year, per dataset and per
holder:

- **received**: applications submitted at least once (``received_at`` is set);
- **decided**: applications with a decision (approved, approved with conditions, rejected);
- **approval rate**: approved (with or without conditions) ÷ decided;
- **time to decision**: days from receipt (``received_at``) to the decision (``decided_at``);
- **decided within the deadline**: decisions taken on or before the application's deadline
  (``decided_at ≤ deadline``, the deadline including any extension) ÷ decided;
- **returned for incompleteness**: applications returned at least once, and their share of
  received applications;
- **time to access**: days from the decision to the first access to the data
  (``access_granted_at``), over approved applications whose data was accessed;
- **withdrawn**: received applications the applicant withdrew.

Per year groups the applications by the (local) year they were received: each year's row says
what became of that year's applications. Per dataset and per holder, an application counts once
for each dataset (and once for each holder) it requests.

Durations are summarised by the median (``statistics.median``: the mean of the two middle
values when their number is even) and the 90th percentile by the *nearest-rank* definition:
the smallest observed value such that at least 90 % of the values are less than or equal to
it, i.e. ``sorted(values)[ceil(0.9 * n) - 1]``. It is always an observed value and is defined
for any n ≥ 1 (with n < 10 it is the maximum).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from datalux.access.models import Application
from datalux.access.states import APPROVED, DECIDED, ApplicationState

DAY = timedelta(days=1)


def nearest_rank(values: Iterable[float], percent: float) -> float | None:
    """The ``percent``-th percentile by nearest rank (``None`` for no values)."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Iterable[float]) -> float | None:
    ordered = sorted(values)
    return statistics.median(ordered) if ordered else None


def _days(start: datetime, end: datetime) -> float:
    return (end - start) / DAY


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class Figures:
    """The figures of one group of applications (overall, one year, one dataset, one holder)."""

    key: str
    label: str
    received: int = 0
    decided: int = 0
    approved: int = 0
    rejected: int = 0
    withdrawn: int = 0
    returned: int = 0  # returned for incompleteness at least once
    decided_in_time: int = 0
    decision_days: list[float] = field(default_factory=list, repr=False)
    access_days: list[float] = field(default_factory=list, repr=False)

    @property
    def approval_rate(self) -> float | None:
        return _share(self.approved, self.decided)

    @property
    def in_time_share(self) -> float | None:
        return _share(self.decided_in_time, self.decided)

    @property
    def return_share(self) -> float | None:
        return _share(self.returned, self.received)

    @property
    def median_days_to_decision(self) -> float | None:
        return median(self.decision_days)

    @property
    def p90_days_to_decision(self) -> float | None:
        return nearest_rank(self.decision_days, 90)

    @property
    def accessed(self) -> int:
        return len(self.access_days)

    @property
    def median_days_to_access(self) -> float | None:
        return median(self.access_days)

    @property
    def p90_days_to_access(self) -> float | None:
        return nearest_rank(self.access_days, 90)

    def add(self, fact: _Fact) -> None:
        self.received += 1
        self.withdrawn += fact.withdrawn
        self.returned += fact.returned
        if fact.decision_days is not None:
            self.decided += 1
            self.approved += fact.approved
            self.rejected += not fact.approved
            self.decided_in_time += fact.in_time
            self.decision_days.append(fact.decision_days)
        if fact.access_days is not None:
            self.access_days.append(fact.access_days)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the API and the CSV (durations in days, shares between 0 and 1)."""
        return {"key": self.key, "label": self.label} | {
            name: _round(getattr(self, name)) for name in COLUMNS
        }


COLUMNS = (
    "received",
    "decided",
    "approved",
    "rejected",
    "approval_rate",
    "median_days_to_decision",
    "p90_days_to_decision",
    "decided_in_time",
    "in_time_share",
    "returned",
    "return_share",
    "accessed",
    "median_days_to_access",
    "p90_days_to_access",
    "withdrawn",
)


def _round(value: Any) -> Any:
    return round(value, 4) if isinstance(value, float) else value


@dataclass(frozen=True)
class _Fact:
    """What one received application contributes to the figures of every group it is in."""

    year: int
    datasets: tuple[tuple[str, str], ...]  # (pid, title)
    holders: tuple[tuple[str, str], ...]  # (slug, name)
    withdrawn: bool
    returned: bool
    approved: bool
    in_time: bool
    decision_days: float | None
    access_days: float | None


def _fact(application: Application) -> _Fact:
    requests = list(application.datasets.all())
    decided = application.state in DECIDED and application.decided_at is not None
    deadline = application.deadline if decided else None
    access = None
    if decided and application.access_granted_at is not None:
        access = _days(application.decided_at, application.access_granted_at)
    return _Fact(
        year=timezone.localtime(application.received_at).year,
        datasets=tuple(sorted({(r.dataset.pid, r.dataset.display_title) for r in requests})),
        holders=tuple(
            sorted({(r.dataset.publisher.slug, r.dataset.publisher.name) for r in requests})
        ),
        withdrawn=application.state == ApplicationState.WITHDRAWN,
        returned=application.returns > 0,
        approved=application.state in APPROVED,
        in_time=bool(decided and deadline is not None and application.decided_at <= deadline),
        decision_days=_days(application.received_at, application.decided_at) if decided else None,
        access_days=access,
    )


@dataclass(frozen=True)
class AuthorityMetrics:
    overall: Figures
    by_year: list[Figures]
    by_dataset: list[Figures]
    by_holder: list[Figures]

    def groups(self) -> list[tuple[str, Figures]]:
        """Every row with its scope (overall, year, dataset, holder): what the CSV holds."""
        return [
            ("overall", self.overall),
            *(("year", f) for f in self.by_year),
            *(("dataset", f) for f in self.by_dataset),
            *(("holder", f) for f in self.by_holder),
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "overall": self.overall.as_dict(),
            "by_year": [f.as_dict() for f in self.by_year],
            "by_dataset": [f.as_dict() for f in self.by_dataset],
            "by_holder": [f.as_dict() for f in self.by_holder],
        }


def received_applications() -> Any:
    return (
        Application.objects.filter(received_at__isnull=False)
        .select_related("procedure")
        .prefetch_related("datasets__dataset__publisher")
        .order_by("received_at", "pk")
    )


def authority_metrics() -> AuthorityMetrics:
    """The published figures over every received application (see the module docstring)."""
    overall = Figures(key="all", label=_("All applications"))
    years: dict[int, Figures] = {}
    datasets: dict[str, Figures] = {}
    holders: dict[str, Figures] = {}
    for application in received_applications():
        fact = _fact(application)
        overall.add(fact)
        years.setdefault(fact.year, Figures(key=str(fact.year), label=str(fact.year))).add(fact)
        for pid, title in fact.datasets:
            datasets.setdefault(pid, Figures(key=pid, label=title)).add(fact)
        for slug, name in fact.holders:
            holders.setdefault(slug, Figures(key=slug, label=name)).add(fact)
    return AuthorityMetrics(
        overall=overall,
        by_year=[years[y] for y in sorted(years, reverse=True)],
        by_dataset=sorted(datasets.values(), key=_biggest_first),
        by_holder=sorted(holders.values(), key=_biggest_first),
    )


def _biggest_first(figures: Figures) -> tuple[int, str]:
    return (-figures.received, figures.label.lower())


def csv_rows(
    metrics: AuthorityMetrics, extra: Iterable[tuple[str, str, str, Any]] = ()
) -> list[list[Any]]:
    """Header and one row per group, for the CSV download. ``extra`` rows (scope, key, label,
    value) add single figures of another kind (the output checking of
    :func:`datalux.spe.release_metrics.ReleaseMetrics.csv_figures`): their number is in the
    last column, ``value``, which the groups leave empty (as the figures leave the groups'
    columns)."""
    rows: list[list[Any]] = [["scope", "key", "label", *COLUMNS, "value"]]
    for scope, figures in metrics.groups():
        data = figures.as_dict()
        rows.append([scope, data["key"], data["label"], *(data[c] for c in COLUMNS), ""])
    for scope, key, label, value in extra:
        rows.append([scope, key, label, *([""] * len(COLUMNS)), "" if value is None else value])
    return rows


__all__ = [
    "COLUMNS",
    "AuthorityMetrics",
    "Figures",
    "authority_metrics",
    "csv_rows",
    "median",
    "nearest_rank",
]
