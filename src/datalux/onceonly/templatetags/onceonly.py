"""``{% authentic_source dataset %}``: the dataset page's Once Only box (catalogue template)."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("onceonly/_authentic_source.html")
def authentic_source(dataset: Any) -> dict[str, Any]:
    from datalux.onceonly.models import AuthenticSource

    source = (
        AuthenticSource.objects.filter(dataset_id=dataset.pk)
        .select_related("responsible_body")
        .first()
    )
    if source is None:
        return {"source": None}
    return {"source": source, "items": source.current_items()}
