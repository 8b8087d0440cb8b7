"""Output checking in figures (issue 13, item 7), published beside the authority's metrics.

Over every release request (drafts included in the counts by state only):

- **by state**: how many requests are in each state of the machine
  (:mod:`datalux.spe.release_states`) now;
- **turnaround**: hours from the first submission (``first_submitted_at``) to the release or
  the rejection (``decided_at``), over released and rejected requests; summarised by the median
  and the 90th percentile by nearest rank (the definitions of :mod:`datalux.access.metrics`);
- **approved at first review**: released requests whose files were approved in the first review
  round (``round == 1``: never returned for changes), divided by the requests the checkers
  decided (released or rejected);
- **by reason**: the automatic checks that refused a submission (each ``release.refused`` audit
  event counts once for every check that failed in it, whatever the number of its files), how
  often a round returned a request for changes (``release.returned``) and how many requests
  checkers rejected.

Each row keeps its code (``key``: ``check:min_count``, ``returned``…) for the API and the CSV,
with a human label for pages (:mod:`datalux.spe.check_labels`). Counts only: no title, person,
file or comment leaves this module.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count
from django.utils.translation import gettext as _

from datalux.access.metrics import median, nearest_rank
from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent
from datalux.spe.check_labels import check_label
from datalux.spe.models import ReleaseRequest
from datalux.spe.release_states import RELEASE_STATE_LABELS, ReleaseState

HOUR_SECONDS = 3600.0


@dataclass(frozen=True)
class Tally:
    """One row of a breakdown: a code, its label and a count."""

    key: str
    label: str
    count: int


@dataclass(frozen=True)
class ReleaseMetrics:
    total: int
    by_state: list[Tally]
    released: int
    rejected: int
    approved_first_review: int
    refused_submissions: int
    refusals_by_check: list[Tally]
    returned_rounds: int
    turnaround_hours: list[float] = field(default_factory=list, repr=False)

    @property
    def decided(self) -> int:
        return self.released + self.rejected

    @property
    def first_review_share(self) -> float | None:
        return self.approved_first_review / self.decided if self.decided else None

    @property
    def median_hours(self) -> float | None:
        return median(self.turnaround_hours)

    @property
    def p90_hours(self) -> float | None:
        return nearest_rank(self.turnaround_hours, 90)

    @property
    def by_reason(self) -> list[Tally]:
        """Every reason a request did not go straight through, biggest first."""
        rows = [
            Tally(f"check:{c.key}", _("automatic check failed: %(check)s") % {"check": c.label},
                   c.count)
            for c in self.refusals_by_check
        ]  # fmt: skip
        rows.append(Tally("returned", _("returned for changes by the checkers"),
                           self.returned_rounds))  # fmt: skip
        rows.append(Tally("rejected", _("rejected by the checkers"), self.rejected))
        return sorted(rows, key=lambda r: (-r.count, r.key))

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the API (durations in hours, shares between 0 and 1)."""

        def _rows(rows: list[Tally]) -> list[dict[str, Any]]:
            return [{"key": r.key, "label": r.label, "count": r.count} for r in rows]

        def _round(value: float | None) -> float | None:
            return round(value, 4) if value is not None else None

        return {
            "total": self.total,
            "by_state": _rows(self.by_state),
            "decided": self.decided,
            "released": self.released,
            "rejected": self.rejected,
            "median_hours_to_decision": _round(self.median_hours),
            "p90_hours_to_decision": _round(self.p90_hours),
            "approved_first_review": self.approved_first_review,
            "first_review_share": _round(self.first_review_share),
            "refused_submissions": self.refused_submissions,
            "returned_rounds": self.returned_rounds,
            "by_reason": _rows(self.by_reason),
        }

    def csv_figures(self) -> list[tuple[str, str, str, Any]]:
        """(scope, key, label, value) rows for the authority's metrics CSV: the figures
        (``output_checking``), the requests by state (``release_state``) and the reasons
        (``release_reason``), each under its code as in the API."""
        data = self.as_dict()
        figures = [
            ("total", _("Release requests")),
            ("decided", _("Release requests decided (released or rejected)")),
            ("released", _("Released")),
            ("rejected", _("Rejected")),
            ("median_hours_to_decision", _("Hours from first submission to decision (median)")),
            ("p90_hours_to_decision", _("Hours from first submission to decision (p90)")),
            ("approved_first_review", _("Approved at the first review")),
            ("first_review_share", _("Share approved at the first review")),
            ("refused_submissions", _("Submissions refused by the automatic checks")),
            ("returned_rounds", _("Review rounds that returned a request for changes")),
        ]  # fmt: skip
        rows: list[tuple[str, str, str, Any]] = [
            ("output_checking", key, str(label), data[key]) for key, label in figures
        ]
        rows += [("release_state", t.key, t.label, t.count) for t in self.by_state]
        rows += [("release_reason", t.key, t.label, t.count) for t in self.by_reason]
        return rows


def _refusals() -> tuple[int, Counter[str]]:
    events = AuditEvent.objects.filter(kind=EventKind.RELEASE_REFUSED).only("details_json")
    checks: Counter[str] = Counter()
    total = 0
    for event in events.iterator():
        total += 1
        failed = event.details.get("failed") or []
        checks.update({str(f.get("check", "")) for f in failed if isinstance(f, dict)} - {""})
    return total, checks


def release_metrics() -> ReleaseMetrics:
    """The figures over every release request and refusal (see the module docstring)."""
    counts = dict(ReleaseRequest.objects.order_by().values_list("state").annotate(n=Count("pk")))
    by_state = [
        Tally(state.value, str(RELEASE_STATE_LABELS[state]), counts.get(state.value, 0))
        for state in ReleaseState
    ]
    decided = ReleaseRequest.objects.filter(
        state__in=[ReleaseState.RELEASED, ReleaseState.REJECTED],
        first_submitted_at__isnull=False,
        decided_at__isnull=False,
    ).values_list("state", "round", "first_submitted_at", "decided_at")
    hours: list[float] = []
    first_round = 0
    for state, round_, submitted, decided_at in decided:
        hours.append((decided_at - submitted).total_seconds() / HOUR_SECONDS)
        first_round += state == ReleaseState.RELEASED and round_ == 1
    refused, checks = _refusals()
    return ReleaseMetrics(
        total=sum(counts.values()),
        by_state=by_state,
        released=counts.get(ReleaseState.RELEASED.value, 0),
        rejected=counts.get(ReleaseState.REJECTED.value, 0),
        approved_first_review=first_round,
        refused_submissions=refused,
        refusals_by_check=[
            Tally(name, check_label(name), n)
            for name, n in sorted(checks.items(), key=lambda i: (-i[1], i[0]))
        ],
        returned_rounds=AuditEvent.objects.filter(kind=EventKind.RELEASE_RETURNED).count(),
        turnaround_hours=hours,
    )
