"""What the exchange log tells other apps, after commit (they connect in their ``ready()``).

:data:`tracker_records_visible` is sent once a delivered exchange's data-tracker records
that the persons may see at once are committed, with ``entry_id`` and ``subjects`` (the
persons' keyed pseudonyms, never a national number). Receivers must be quick: the exchange's
caller waits for them. A receiver's error is logged and never fails the exchange.
"""

from __future__ import annotations

from django.dispatch import Signal

tracker_records_visible = Signal()

__all__ = ["tracker_records_visible"]
