"""The aggregate-only service's controls over a permit's earlier queries: what one query
checked alone cannot see.

* **The query caps** (:func:`check_caps`): at most
  ``settings.DATALUX_SPE_AGGREGATE_QUERIES_PER_DAY`` counted queries per permit per day (the
  count resets at local midnight) and, when the permit's output rule ``max_queries`` sets one,
  at most that many in all. A counted query is one released. Refused with the code
  ``query_cap`` (the API answers 429), the message saying when the count resets.

Each control raises :class:`Refused`, which the action audits (``aggregate.query_refused``
with the code) and the API answers with the code and status it carries.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from datalux.access.models import Permit
from datalux.core.errors import Conflict
from datalux.spe.models import AggregateQuery, AggregateStatus

__all__ = ["Refused", "check_caps", "counted", "day_start"]


class Refused(Conflict):
    """A query refused by a control over the permit's earlier queries. ``code`` names the
    control (``query_cap``, ``differencing``), ``status`` the API's answer, ``details`` what
    the API adds (never a value of the data)."""

    def __init__(
        self, message: str, *, code: str, status: int = 409, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.details = details or {}


def day_start(now: datetime | None = None) -> datetime:
    """Local midnight of today (the daily count starts there)."""
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def counted(permit: Permit) -> QuerySet[AggregateQuery]:
    """The permit's queries that count toward its caps: those released."""
    return AggregateQuery.objects.filter(permit=permit, status=AggregateStatus.RELEASED)


def check_caps(permit: Permit, *, now: datetime | None = None) -> None:
    """Raise :class:`Refused` (``query_cap``) when the permit has had its queries: in all (its
    output rule ``max_queries``) or today (the platform's daily cap)."""
    queries = counted(permit)
    total = (permit.output_rules or {}).get("max_queries")
    if isinstance(total, int) and not isinstance(total, bool) and total >= 1:
        if queries.count() >= total:
            raise Refused(
                _(
                    "permit %(number)s has had its %(n)s aggregate queries, the most its output "
                    "rules allow: the data authority may amend the permit to allow more"
                )
                % {"number": permit.number, "n": total},
                code="query_cap",
                status=429,
                details={"cap": "permit", "limit": total},
            )
    per_day = int(settings.DATALUX_SPE_AGGREGATE_QUERIES_PER_DAY)
    start = day_start(now)
    if queries.filter(requested_at__gte=start).count() >= per_day:
        resets = start + timedelta(days=1)
        raise Refused(
            _(
                "permit %(number)s has had %(n)s aggregate queries today, the most per day: the "
                "count resets at midnight (%(resets)s)"
            )
            % {
                "number": permit.number,
                "n": per_day,
                "resets": formats.date_format(resets, "Y-m-d H:i T"),
            },
            code="query_cap",
            status=429,
            details={"cap": "day", "limit": per_day, "resets_at": resets.isoformat()},
        )
