"""Django admin for the data authority: procedures are configured here; everything else is shown
read-only, because every change of an application or a permit goes through an audited action
(``datalux.access.actions``) and history is never edited. Changes of procedures write
``admin.changed`` (:mod:`datalux.core.admin_audit`)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from datalux.access.models import (
    Application,
    ApplicationDataset,
    Attachment,
    Comment,
    Condition,
    Decision,
    NamedPerson,
    Notification,
    Opinion,
    OpinionRequest,
    Permit,
    PermitDataset,
    PermitVersion,
    Procedure,
    Snapshot,
)
from datalux.core.admin_audit import AuditedModelAdmin


class ReadOnlyMixin:
    """Viewable, never added, changed or deleted from the admin."""

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(ReadOnlyMixin, admin.TabularInline):  # type: ignore[type-arg]
    extra = 0
    show_change_link = False


class ReadOnlyAdmin(ReadOnlyMixin, AuditedModelAdmin):
    pass


@admin.register(Procedure)
class ProcedureAdmin(AuditedModelAdmin):
    """The legal procedures: decision period, extension, clock start, reminders, redress.
    Every change is recorded as ``admin.changed`` (old and new values)."""

    list_display = (
        "slug",
        "name",
        "decision_months",
        "extension_days",
        "clock_start",
        "is_default",
    )


class ApplicationDatasetInline(ReadOnlyInline):
    model = ApplicationDataset


class NamedPersonInline(ReadOnlyInline):
    model = NamedPerson


class AttachmentInline(ReadOnlyInline):
    model = Attachment
    exclude = ("path",)


class SnapshotInline(ReadOnlyInline):
    model = Snapshot


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
    list_display = ("reference", "title", "organisation", "state", "handler", "received_at")
    list_filter = ("state", "procedure")
    search_fields = ("reference", "title")
    inlines = [ApplicationDatasetInline, NamedPersonInline, AttachmentInline, SnapshotInline]


@admin.register(Snapshot)
class SnapshotAdmin(ReadOnlyAdmin):
    list_display = ("application", "number", "schema_version", "created_at")


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ("application", "outcome", "decided_by", "decided_at")
    list_filter = ("outcome",)


class PermitDatasetInline(ReadOnlyInline):
    model = PermitDataset


class ConditionInline(ReadOnlyInline):
    model = Condition


class PermitVersionInline(ReadOnlyInline):
    model = PermitVersion


@admin.register(Permit)
class PermitAdmin(ReadOnlyAdmin):
    list_display = ("number", "version", "organisation", "state", "starts_on", "ends_on")
    list_filter = ("state",)
    search_fields = ("number",)
    inlines = [PermitDatasetInline, ConditionInline, PermitVersionInline]


@admin.register(PermitVersion)
class PermitVersionAdmin(ReadOnlyAdmin):
    list_display = ("permit", "version", "change", "by", "created_at")


@admin.register(OpinionRequest)
class OpinionRequestAdmin(ReadOnlyAdmin):
    list_display = ("application", "organisation", "requested_by", "requested_at")


@admin.register(Opinion)
class OpinionAdmin(ReadOnlyAdmin):
    list_display = ("request", "reviewer", "vote", "created_at")


@admin.register(Comment)
class CommentAdmin(ReadOnlyAdmin):
    list_display = ("application", "author", "internal", "created_at")


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("user", "subject", "created_at", "read_at", "emailed")
