"""The exchange roll-up: exact monthly counts without scanning the log.

:func:`roll_up_exchanges` (hourly, and before a figure is read) adds the entries after the
watermark to :class:`~datalux.accountability.models.ExchangeTally` and moves the watermark,
in one transaction. :func:`exchange_counts` returns the tallies plus the entries written since
(the tail), so a figure is never stale even between runs.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from django.db import transaction
from django.db.models import Count, Max
from django.db.models.functions import TruncMonth
from django_tasks import task

from datalux.accountability.models import ExchangeTally, RollupMark

Key = tuple[date, str, str, str]  # month, protocol reference, consumer, outcome

MARK = "exchanges"


def _grouped(after: int, upto: int | None = None) -> Counter[Key]:
    from datalux.onceonly.models import ExchangeLogEntry

    rows = ExchangeLogEntry.objects.filter(seq__gt=after)
    if upto is not None:
        rows = rows.filter(seq__lte=upto)
    counts: Counter[Key] = Counter()
    grouped = (
        rows.order_by()
        .annotate(m=TruncMonth("occurred_at"))
        .values_list("m", "protocol_reference", "consumer_slug", "outcome")
        .annotate(n=Count("pk"))
    )
    for month, protocol, consumer, outcome, n in grouped:
        day = month.date() if hasattr(month, "date") else month
        counts[(day, protocol, consumer, outcome)] += n
    return counts


def roll_up_exchanges() -> int:
    """Add the log's new entries to the tallies; the number of entries added."""
    from datalux.onceonly.models import ExchangeLogEntry

    with transaction.atomic():
        mark, _ = RollupMark.objects.select_for_update().get_or_create(name=MARK)
        top = ExchangeLogEntry.objects.aggregate(top=Max("seq"))["top"] or 0
        if top <= mark.last_seq:
            return 0
        counts = _grouped(mark.last_seq, top)
        for (month, protocol, consumer, outcome), n in counts.items():
            tally, _ = ExchangeTally.objects.select_for_update().get_or_create(
                month=month, protocol_reference=protocol, consumer_slug=consumer, outcome=outcome
            )
            tally.count += n
            tally.save(update_fields=["count"])
        added = sum(counts.values())
        mark.last_seq = top
        mark.save(update_fields=["last_seq"])
    return added


def exchange_counts() -> Counter[Key]:
    """Every exchange counted by month, protocol, consumer and outcome (tallies + tail)."""
    mark = RollupMark.objects.filter(name=MARK).values_list("last_seq", flat=True).first() or 0
    counts: Counter[Key] = Counter()
    for month, protocol, consumer, outcome, n in ExchangeTally.objects.values_list(
        "month", "protocol_reference", "consumer_slug", "outcome", "count"
    ):
        counts[(month, protocol, consumer, outcome)] += n
    counts.update(_grouped(mark))
    return counts


@task()
def roll_up_task() -> dict[str, int]:
    from datalux.audit.kinds import EventKind
    from datalux.audit.log import record

    added = roll_up_exchanges()
    record(
        EventKind.TASK_FINISHED,
        object_type="task",
        object_id="accountability.roll_up_exchanges",
        details={"entries": added},
    )
    return {"added": added}
