"""Small display helpers for the data authority's pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.utils import formats, timezone
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def event_value(value: Any) -> str:
    """An audit-event detail for people: lists joined, ISO times as local dates, no brackets."""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and "T" in value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if timezone.is_aware(moment):
            moment = timezone.localtime(moment)
        return formats.date_format(moment, "DATETIME_FORMAT")
    return str(value)


@register.filter
def condition_texts(codes: list[str]) -> list[str]:
    """Standard condition codes as their wording (unknown codes as they are)."""
    from datalux.access.vocabularies import STANDARD_CONDITIONS

    return [STANDARD_CONDITIONS[c][1] if c in STANDARD_CONDITIONS else c for c in codes or []]


@register.filter
def condition_text(condition: Any) -> str:
    """A permit's stored condition (a dict or a row) in the reader's language when standard."""
    from datalux.access.vocabularies import STANDARD_CONDITIONS

    get = condition.get if isinstance(condition, dict) else lambda k, d="": getattr(condition, k, d)
    code = get("code", "")
    if code in STANDARD_CONDITIONS:
        return str(STANDARD_CONDITIONS[code][1])
    return str(get("text", ""))


@register.filter
def plain_value(value: Any) -> str:
    """A stored rule value for reading: yes/no for booleans, the value otherwise."""
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    return "" if value is None else str(value)


@register.simple_tag
def conflict_of_interest(application: Any, user: Any) -> str:
    """Why ``user`` may not act on ``application`` (a conflict of interest), or ''. The
    applicant sees nothing: acting on their own application is theirs to do."""
    from datalux.access.actions.conflicts import conflict_of

    conflict = conflict_of(user, application)
    if conflict is None or conflict.reason == "applicant":
        return ""
    return _(
        "Conflict of interest: %(why)s. You cannot act on this case; a colleague who is not "
        "involved must (four-eyes rule)."
    ) % {"why": conflict.for_you()}
