"""Per-role navigation for the layout: one entry per role workspace the user holds."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from datalux.accounts.permissions import grants, has_permission
from datalux.accounts.roles import Permission


def navigation(request: Any) -> dict[str, Any]:
    user = getattr(request, "user", None)
    items: list[dict[str, str]] = []
    seen: set[str] = set()
    for grant in grants(user):
        if grant.role.slug in seen:
            continue
        seen.add(grant.role.slug)
        items.append(
            {
                "title": grant.role.title,
                "url": reverse("accounts:workspace", args=[grant.role.slug]),
                "slug": grant.role.slug,
            }
        )
    extra: list[dict[str, str]] = []
    extra.append({"title": "Catalogue", "url": reverse("catalogue:search"), "slug": "catalogue"})
    if user is not None and has_permission(user, Permission.VIEW_AUDIT_LOG):
        extra.append({"title": "Audit log", "url": reverse("audit:events"), "slug": "audit"})
    if user is not None and has_permission(user, Permission.USE_API_TOKENS):
        extra.append({"title": "API tokens", "url": reverse("accounts:tokens"), "slug": "tokens"})
    return {"nav_workspaces": items, "nav_extra": extra}
