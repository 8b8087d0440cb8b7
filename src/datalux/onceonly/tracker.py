"""A person's data tracker: which body obtained which of their data, when, under which protocol.

:func:`records_for` is what the citizen's pages read (issue 15, item 5). It pseudonymises the
national number with the exchange log's key and returns only the records visible on ``today``:
a deferred record (an exchange that may keep quiet for a while, e.g. an investigation) is left
out until its ``visible_from``, and nothing - no count, no placeholder - tells that it exists.
"""

from __future__ import annotations

from datetime import date

from django.db.models import Q

from datalux.onceonly import keys
from datalux.onceonly.models import TrackerRecord
from datalux.privacy import pseudonym, validate_national_id


def records_for(national_number: str, *, today: date) -> list[TrackerRecord]:
    """The person's data-tracker records visible on ``today``, newest first.

    Raises :class:`datalux.privacy.InvalidNationalId` for a number that is not valid (its
    reason says what to fix) and :class:`datalux.onceonly.keys.ExchangeKeyError` when the
    pseudonym key is not usable.
    """
    number = str(national_number).strip()
    validate_national_id(number)
    subject = pseudonym(number, keys.pseudonym_keys())
    return list(
        TrackerRecord.objects.filter(subject=subject)
        .filter(Q(visible_from__isnull=True) | Q(visible_from__lte=today))
        .order_by("-occurred_at", "-id")
    )


__all__ = ["records_for"]
