"""Per-role navigation for the layout: one entry per role workspace the user holds, then the
data authority's pages (applications, cases, inbox with its unread count, register, metrics)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from datalux.accounts.permissions import grants, has_permission
from datalux.accounts.roles import Permission

CASE_PERMISSIONS = (
    Permission.HANDLE_APPLICATIONS,
    Permission.DECIDE_APPLICATIONS,
    Permission.REVIEW_APPLICATIONS,
    Permission.ASSIST_APPLICANTS,
)


def _access_entries(user: Any) -> list[dict[str, str]]:
    """Applications (applicants and named persons), cases (authority staff, reviewers and the
    assistance desk) and the inbox with its unread count (everyone signed in)."""
    if user is None or not user.is_authenticated:
        return []
    from datalux.access.models import NamedPerson, Notification
    from datalux.spe.views import may_operate

    entries: list[dict[str, str]] = []
    if has_permission(user, Permission.VIEW_OWN_DATA):  # a citizen: their own pages
        entries.append({"title": _("My data"), "url": reverse("citizens:home"), "slug": "me"})
    if (
        has_permission(user, Permission.SUBMIT_APPLICATIONS)
        or NamedPerson.objects.filter(user=user).exists()
    ):
        entries.append(
            {"title": _("Applications"), "url": "/access/applications/", "slug": "applications"}
        )
    if any(has_permission(user, perm) for perm in CASE_PERMISSIONS):
        entries.append({"title": _("Cases"), "url": "/access/cases/", "slug": "cases"})
    if may_operate(user):
        entries.append({"title": _("Extracts"), "url": reverse("spe:queue"), "slug": "extracts"})
    if has_permission(user, Permission.CHECK_OUTPUTS):
        entries.append(
            {"title": _("Output checking"), "url": reverse("spe:checking_queue"), "slug": "outputs"}
        )
    if has_permission(user, Permission.MANAGE_HOLDINGS):  # stewards answer correction requests
        entries.append(
            {
                "title": _("Correction requests"),
                "url": reverse("citizens:steward_rectifications"),
                "slug": "corrections",
            }
        )
    unread = Notification.objects.filter(user=user, read_at__isnull=True).count()
    title = _("Inbox (%(n)d unread)") % {"n": unread} if unread else _("Inbox")
    entries.append({"title": title, "url": reverse("access:inbox"), "slug": "inbox"})
    return entries


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
    extra: list[dict[str, str]] = _access_entries(user)
    extra.append({"title": _("Catalogue"), "url": reverse("catalogue:search"), "slug": "catalogue"})
    extra.append(
        {"title": _("Permit register"), "url": reverse("access:register"), "slug": "register"}
    )
    extra.append(
        {"title": _("Authority metrics"), "url": reverse("access:metrics"), "slug": "metrics"}
    )
    extra.append(
        {"title": _("Once Only"), "url": reverse("onceonly:protocols"), "slug": "onceonly"}
    )
    if user is not None and has_permission(user, Permission.MANAGE_ORGANISATIONS):
        extra.append(
            {
                "title": _("Harvest sources"),
                "url": reverse("dcat:harvest_sources"),
                "slug": "harvest",
            }
        )
    if user is not None and has_permission(user, Permission.VIEW_AUDIT_LOG):
        extra.append({"title": _("Audit log"), "url": reverse("audit:events"), "slug": "audit"})
    if user is not None and has_permission(user, Permission.USE_API_TOKENS):
        extra.append(
            {"title": _("API tokens"), "url": reverse("accounts:tokens"), "slug": "tokens"}
        )
    if user is not None and user.is_authenticated:
        extra.append(
            {
                "title": _("Second factor"),
                "url": reverse("accounts:second_factor"),
                "slug": "second_factor",
            }
        )
    return {"nav_workspaces": items, "nav_extra": extra}
