"""The aggregate-only service's controls over a permit's earlier queries: what one query
checked alone cannot see.

* **Differencing across queries** (:func:`check_differencing`): a checked (rounded and
  suppressed) table is compared with every earlier released checked table of the permit on
  the same grouping columns (any table, joined or not, any version of the permit: a narrower
  population, a value's missing rows left out, another table, a join that keeps the persons
  of another table only, newer data), by
  :func:`datalux.privacy.output_checks.differencing` (the release checks' own ``earlier=``
  check): a cell or a total whose published counts differ by 1 to ``threshold - 1`` would
  describe a group under the threshold; a sum or mean that differs from the earlier one on
  the same value while the (rounded) counts differ by less than ``threshold + base - 1``
  would give the exact magnitude of a group the rounding may hide. Such a query is refused
  whole (``differencing``, 409), naming the earlier queries, never the cells or their values
  (the audit event keeps the rows and columns at fault). DP tables are neither checked nor
  compared (their noise is calibrated for any combination); quantiles are not compared.
* **The query caps** (:func:`check_caps`): at most
  ``settings.DATALUX_SPE_AGGREGATE_QUERIES_PER_DAY`` counted queries per permit per day (the
  count resets at local midnight) and, when the permit's output rule ``max_queries`` sets one,
  at most that many in all. A counted query is one released, or one refused for differencing
  (each such refusal says something about a small group, so probing is capped too). Refused
  with the code ``query_cap`` (the API answers 429), the message saying when the count resets.

Each control raises :class:`Refused`, which the action audits (``aggregate.query_refused``
with the code) and the API answers with the code and status it carries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from datalux.access.models import Permit
from datalux.core.errors import Conflict
from datalux.privacy.output_checks import FAIL, KeyedTable, Rules, differencing
from datalux.spe.models import AggregateQuery, AggregateStatus

__all__ = ["DIFFERENCING", "Refused", "check_caps", "check_differencing", "counted", "day_start"]

DIFFERENCING = "differencing"
#: The statistics whose tables carry the published counts the differencing check compares.
COMPARED = ("count", "sum", "mean")


class Refused(Conflict):
    """A query refused by a control over the permit's earlier queries. ``code`` names the
    control (``query_cap``, ``differencing``), ``status`` the API's answer, ``details`` what
    the API adds (never a value of the data), ``audit`` what only the audit event keeps."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        status: int = 409,
        details: dict[str, Any] | None = None,
        audit: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.details = details or {}
        self.audit = audit or {}  # for the audit event only (the cells at fault)


def day_start(now: datetime | None = None) -> datetime:
    """Local midnight of today (the daily count starts there)."""
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def counted(permit: Permit) -> QuerySet[AggregateQuery]:
    """The permit's queries that count toward its caps: those released, and those refused for
    differencing."""
    return AggregateQuery.objects.filter(permit=permit).filter(
        Q(status=AggregateStatus.RELEASED)
        | Q(status=AggregateStatus.REFUSED, result__code=DIFFERENCING)
    )


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


def output_name(spec: Mapping[str, Any], name: str) -> str:
    """A column of ``spec`` as its released table names it: a joined request's ``table.column``
    without its table (so a joined table is compared with the unjoined ones, the join being a
    filter of persons)."""
    if spec.get("join"):
        for table in (spec.get("table"), spec.get("join")):
            if table and name.startswith(f"{table}."):
                return name[len(table) + 1 :]
    return name


def _grouping(spec: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(sorted(output_name(spec, b) for b in spec.get("by") or []))


def _views(
    name: str, spec: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]
) -> tuple[KeyedTable, KeyedTable | None]:
    """The table as the check compares it: its counts (compared with every earlier table on
    the same grouping) and, for a sum or mean, its magnitude of the value (compared with the
    earlier ones of the same statistic and value only: the header names both)."""
    keys = _grouping(spec)
    counts = KeyedTable(name, (*keys, "count"), rows)
    statistic = spec.get("statistic")
    if statistic not in ("sum", "mean"):
        return counts, None
    magnitude = f"{statistic} of {output_name(spec, str(spec.get('value')))}"
    renamed = [{**row, magnitude: row.get(statistic)} for row in rows]
    return counts, KeyedTable(name, (*keys, "count", magnitude), renamed)


def check_differencing(permit: Permit, spec: Mapping[str, Any], result: Mapping[str, Any]) -> None:
    """Raise :class:`Refused` (``differencing``) when the checked ``result`` of ``spec``,
    subtracted from an earlier released checked table of the permit on the same grouping,
    would describe a group under the permit's threshold (see the module's docstring)."""
    from datalux.spe.aggregate_compute import rule_set

    if spec.get("method") != "checked" or spec.get("statistic") not in COMPARED:
        return
    keys = _grouping(spec)
    candidates = [
        pk
        for pk, other in AggregateQuery.objects.filter(
            permit=permit, status=AggregateStatus.RELEASED, method="checked"
        ).values_list("pk", "spec")
        if other.get("statistic") in COMPARED and _grouping(other) == keys
    ]
    if not candidates:
        return
    counts, magnitude = _views("this query", spec, result["rows"])
    earlier_counts: list[KeyedTable] = []
    earlier_magnitudes: list[KeyedTable] = []
    for query in AggregateQuery.objects.filter(pk__in=candidates).only("pk", "spec", "result"):
        theirs, their_magnitude = _views(f"query #{query.pk}", query.spec, query.result["rows"])
        earlier_counts.append(theirs)
        if their_magnitude is not None:
            earlier_magnitudes.append(their_magnitude)
    ruleset, rounding = rule_set(permit.output_rules or {})
    rules = Rules(min_count=ruleset.threshold)
    found = [
        differencing(counts, earlier_counts, keys=keys, counts=["count"], rules=rules),
    ]
    if magnitude is not None:
        found.append(
            differencing(
                magnitude,
                earlier_magnitudes,
                keys=keys,
                counts=["count"],
                rules=rules,
                magnitudes=[magnitude.header[-1]],
                rounding_base=rounding.base if rounding else 1,
            )
        )
    failed = [check for check in found if check is not None and check.status == FAIL]
    if not failed:
        return
    cells = [cell for check in failed for cell in check.cells]
    queries = sorted({str(cell["earlier"]) for cell in cells}, key=lambda n: int(n.split("#")[1]))
    raise Refused(
        _(
            "refused for differencing: compared with %(queries)s on the same grouping, some "
            "cells or the total differ by fewer than %(threshold)s persons (or a sum or mean "
            "differs while the rounded counts hardly do), so the difference of the two tables "
            "would describe a group under the permit's threshold; ask about the same population "
            "as before, group more coarsely, or use the method dp"
        )
        % {"queries": ", ".join(queries), "threshold": ruleset.threshold},
        code=DIFFERENCING,
        details={"earlier": queries},
        audit={"cells": cells[:50]},
    )
