"""Legal deadlines in calendar months and days, computed from stored times.

Under the Data Governance Act (Art. 9) the authority decides within two months of receipt,
extendable once by 30 days with reasons sent to the applicant. Other procedures (e.g. the
health-data rules) set their own period and whether the clock starts at receipt or once the
application is complete; that is stored on :class:`~datalux.access.models.Procedure`.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils.translation import gettext, ngettext


def add_months(moment: datetime, months: int) -> datetime:
    """The same day ``months`` later; the last day of the month when that day does not exist."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


@dataclass(frozen=True)
class Clock:
    """Where an application stands against its deadline at ``now``."""

    starts_at: datetime | None
    deadline: datetime | None
    now: datetime
    stopped_at: datetime | None  # the decision (or withdrawal) stops the clock

    @property
    def running(self) -> bool:
        return self.deadline is not None and self.stopped_at is None

    @property
    def days_left(self) -> int | None:
        if self.deadline is None:
            return None
        from django.utils import timezone

        end = self.stopped_at or self.now

        def day(moment: datetime) -> date:
            return (timezone.localtime(moment) if timezone.is_aware(moment) else moment).date()

        return (day(self.deadline) - day(end)).days  # calendar days on the local calendar

    @property
    def overdue(self) -> bool:
        return self.deadline is not None and (self.stopped_at or self.now) > self.deadline

    @property
    def status(self) -> str:
        if self.deadline is None:
            return gettext("not started")
        if self.stopped_at is not None:
            return gettext("decided late") if self.overdue else gettext("decided in time")
        if self.overdue:
            return gettext("overdue")
        days = self.days_left or 0
        return ngettext("%(days)d day left", "%(days)d days left", days) % {"days": days}


def deadline(start: datetime | None, *, months: int, extension_days: int = 0) -> datetime | None:
    """Calendar months counted on the local calendar (received 31 December in Luxembourg:
    the deadline is 28/29 February, even though 31 December 00:30 is 30 December in UTC)."""
    if start is None:
        return None
    from django.utils import timezone

    local = timezone.localtime(start) if timezone.is_aware(start) else start
    return add_months(local, months) + timedelta(days=extension_days)
