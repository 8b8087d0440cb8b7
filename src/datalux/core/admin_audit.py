"""Every change made through the Django admin writes one typed audit event, ``admin.changed``,
in the transaction of the change.

The admin is a side door around the audited actions (``<app>/actions.py``): an operator can
grant a role, edit an organisation or delete a record there. :class:`AuditedModelAdmin` closes
it. Each add, change and delete of an object, of an inline object and of the objects touched by
a bulk action records::

    {"via": "admin", "model": "accounts.membership", "action": "add" | "change" | "delete",
     "changes": [{"field": "role", "old": "reviewer", "new": "decider"}, ...],
     "parent": "accounts.user:7",            # inline objects only
     "bulk_action": "make_private",          # bulk actions only
     "cascade": {"accounts.membership": 2}}  # deletions only: what was deleted with it

``changes`` lists the fields that changed (on add: every field set; on delete: every field the
object had), old and new values as plain JSON (foreign keys and many-to-many as primary keys,
dates as ISO text, long text cut at :data:`MAX_TEXT`). Field names are values, never keys, so
the audit chain's refusal of keys such as ``password`` or ``key`` cannot be tripped by a model.

Never logged:

- secrets (:func:`is_secret`: password hashes, token digests, keys, binary fields): the entry
  says ``{"field": "password", "changed": true}``, never a value, old or new;
- personal contact data of platform users (:data:`PRIVATE_FIELDS`): the same, because the
  audit chain is append-only and cannot forget a value once written.

Django wraps the add/change form, the list editor and the delete page in
``transaction.atomic``; bulk actions and the "delete selected" action are wrapped here. If the
event cannot be written, the change is rolled back with it.

:func:`audit_every_admin` (run when the apps are ready) gives the same behaviour to admins
registered by third-party apps (``auth.Group``...), so no registered admin saves unaudited.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Iterable
from datetime import date, datetime, time
from types import SimpleNamespace
from typing import Any

from django.contrib import admin
from django.db import models, transaction

from datalux.accounts.permissions import organisation_of
from datalux.audit.kinds import EventKind
from datalux.audit.log import record

MAX_TEXT = 300  # longer text values are cut (with their length and a SHA-256 prefix)

# Words of field names that mark a secret (``secret_hash``, ``key``, ``password``; the words of a
# name are its parts between underscores, so ``keywords`` is not one).
SECRET_NAME_PARTS = frozenset(
    {"password", "secret", "token", "key", "hash", "digest", "salt", "otp", "passphrase"}
)
# Secrets whose names do not say so, by model label (sign-in attempts keep what was posted).
SECRET_FIELDS: dict[str, frozenset[str]] = {
    f"axes.{model}": frozenset({"get_data", "post_data"})
    for model in ("accessattempt", "accessfailurelog", "accesslog")
}
# Personal contact data of platform users: logged as changed, never with values.
PRIVATE_FIELDS: dict[str, frozenset[str]] = {
    "accounts.user": frozenset({"email", "first_name", "last_name", "display_name"}),
}


def is_secret(model: type[models.Model], field: models.Field) -> bool:
    """True for a field whose values must never be logged: a binary field, a name that says
    secret (password, token, key, hash...) or one listed in :data:`SECRET_FIELDS`."""
    if isinstance(field, models.BinaryField):
        return True
    if SECRET_NAME_PARTS & set(field.name.lower().split("_")):
        return True
    return field.name in SECRET_FIELDS.get(model._meta.label_lower, frozenset())


def _hidden(model: type[models.Model], field: models.Field) -> bool:
    private = PRIVATE_FIELDS.get(model._meta.label_lower, frozenset())
    return is_secret(model, field) or field.name in private


def _fields(model: type[models.Model]) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if not f.primary_key] + list(
        model._meta.many_to_many
    )


def snapshot(obj: models.Model | None) -> dict[str, Any]:
    """The raw value of every field of ``obj`` as stored (many-to-many: sorted primary keys)."""
    if obj is None:
        return {}
    values: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        if not field.primary_key:
            values[field.name] = field.value_from_object(obj)
    if obj.pk is not None:
        for m2m in obj._meta.many_to_many:
            values[m2m.name] = sorted(getattr(obj, m2m.name).values_list("pk", flat=True), key=str)
    return values


def stored(obj: models.Model) -> models.Model | None:
    """The row of ``obj`` as it is in the database now (None for a new object)."""
    if obj.pk is None:
        return None
    return type(obj)._base_manager.filter(pk=obj.pk).first()


def plain(value: Any) -> Any:
    """A field value as plain JSON for the audit chain (no floats, short text)."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list | tuple) and all(isinstance(v, int | str) for v in value):
        return [plain(v) for v in value]
    if isinstance(value, dict | list | tuple):
        text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    elif isinstance(value, models.fields.files.FieldFile):
        text = value.name or ""
    else:
        text = str(value)
    if len(text) > MAX_TEXT:
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        return f"{text[:MAX_TEXT]}… ({len(text)} characters, sha256 {digest}…)"
    return text


def changes(
    model: type[models.Model], old: dict[str, Any], new: dict[str, Any]
) -> list[dict[str, Any]]:
    """The fields whose values differ between two snapshots, secrets without their values."""
    out: list[dict[str, Any]] = []
    for field in _fields(model):
        if field.name not in old and field.name not in new:
            continue
        before, after = old.get(field.name), new.get(field.name)
        if before == after or (field.name not in old and after in (None, "", [], {})):
            continue
        if _hidden(model, field):
            out.append({"field": field.name, "changed": True})
        elif field.name not in old:
            out.append({"field": field.name, "new": plain(after)})
        elif field.name not in new:
            out.append({"field": field.name, "old": plain(before)})
        else:
            out.append({"field": field.name, "old": plain(before), "new": plain(after)})
    return out


def _organisation(obj: models.Model, action: str) -> Any:
    """The organisation the event belongs to (auditors of that organisation see it). Never the
    organisation being deleted: the audit table protects the organisations it names."""
    from datalux.accounts.models import Organisation

    if isinstance(obj, Organisation) and action == "delete":
        return None
    organisation_id = organisation_of(obj)
    return SimpleNamespace(pk=organisation_id) if organisation_id is not None else None


def record_admin_change(
    *,
    request: Any,
    model: type[models.Model],
    object_id: Any,
    action: str,
    old: dict[str, Any],
    new: dict[str, Any],
    organisation: Any = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Write one ``admin.changed`` event (in the caller's transaction)."""
    details: dict[str, Any] = {
        "via": "admin",
        "model": model._meta.label_lower,
        "action": action,
        "changes": changes(model, old, new),
        **(extra or {}),
    }
    record(
        EventKind.ADMIN_CHANGED,
        actor=getattr(request, "user", None),
        organisation=organisation,
        object_type=model._meta.label_lower,
        object_id=str(object_id),
        details=details,
    )


def _delete(request: Any, obj: models.Model, extra: dict[str, Any] | None = None) -> None:
    """Delete ``obj`` and record it: every old value and what the deletion cascaded to."""
    with transaction.atomic():
        model, pk = type(obj), obj.pk
        old = snapshot(stored(obj) or obj)
        organisation = _organisation(obj, "delete")
        _count, per_model = obj.delete()
        label = model._meta.label
        cascade = {name.lower(): n for name, n in sorted(per_model.items()) if name != label and n}
        if per_model.get(label, 0) > 1:
            cascade[label.lower()] = per_model[label] - 1
        record_admin_change(
            request=request,
            model=model,
            object_id=pk,
            action="delete",
            old=old,
            new={},
            organisation=organisation,
            extra={**(extra or {}), **({"cascade": cascade} if cascade else {})},
        )


def audited_action(func: Callable[..., Any]) -> Callable[..., Any]:
    """Mark an admin action that writes its own audit events (it is not wrapped)."""
    func.audited = True  # type: ignore[attr-defined]
    return func


def _wrap_action(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """A bulk action that records, in its transaction, what it changed or deleted."""

    def wrapped(modeladmin: Any, request: Any, queryset: Any) -> Any:
        with transaction.atomic():
            model = queryset.model
            before = {obj.pk: (obj, copy.deepcopy(snapshot(obj))) for obj in queryset}
            response = func(modeladmin, request, queryset)
            after = {obj.pk: obj for obj in model._base_manager.filter(pk__in=list(before))}
            for pk, (obj, old) in before.items():
                now = after.get(pk)
                new = snapshot(now)
                if now is not None and not changes(model, old, new):
                    continue
                record_admin_change(
                    request=request,
                    model=model,
                    object_id=pk,
                    action="change" if now is not None else "delete",
                    old=old,
                    new=new,
                    organisation=_organisation(obj, "change" if now is not None else "delete"),
                    extra={"bulk_action": name},
                )
        return response

    wrapped.__name__ = getattr(func, "__name__", name)
    wrapped.__doc__ = func.__doc__
    for attr in ("short_description", "allowed_permissions"):
        if hasattr(func, attr):
            setattr(wrapped, attr, getattr(func, attr))
    wrapped.audited = True  # type: ignore[attr-defined]
    return wrapped


class AuditedModelAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """A ModelAdmin whose every save and delete writes ``admin.changed`` (see the module)."""

    # Addresses typed without a scheme are https (Django 6's default; warns on Django 5).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        # The stored row before the save (the form has already put the new values on ``obj``);
        # many-to-many values are still the old ones until save_related.
        form._datalux_audit_old = snapshot(stored(obj)) if change else {}
        form._datalux_audit_change = change
        super().save_model(request, obj, form, change)

    def save_related(self, request: Any, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        obj = form.instance
        old = getattr(form, "_datalux_audit_old", {})
        new = snapshot(stored(obj) or obj)
        action = "change" if getattr(form, "_datalux_audit_change", change) else "add"
        if action == "add" or changes(type(obj), old, new):
            record_admin_change(
                request=request,
                model=type(obj),
                object_id=obj.pk,
                action=action,
                old=old,
                new=new,
                organisation=_organisation(obj, action),
            )

    def save_formset(self, request: Any, form: Any, formset: Any, change: bool) -> None:
        """Inline objects: one event per object added, changed or deleted."""
        model = formset.model
        parent = f"{form.instance._meta.label_lower}:{form.instance.pk}"
        initial = [f.instance for f in formset.initial_forms if f.instance.pk is not None]
        old = {id(obj): (obj.pk, snapshot(stored(obj))) for obj in initial}
        super().save_formset(request, form, formset, change)
        events: list[tuple[models.Model, Any, str, dict[str, Any], dict[str, Any]]] = []
        for obj in formset.new_objects:
            events.append((obj, obj.pk, "add", {}, snapshot(obj)))
        for obj, _fields_changed in formset.changed_objects:
            events.append((obj, obj.pk, "change", old[id(obj)][1], snapshot(stored(obj) or obj)))
        for obj in formset.deleted_objects:
            pk, before = old.get(id(obj), (obj.pk, snapshot(obj)))
            events.append((obj, pk, "delete", before, {}))
        for obj, pk, action, before, after in events:
            if action == "change" and not changes(model, before, after):
                continue
            record_admin_change(
                request=request,
                model=model,
                object_id=pk,
                action=action,
                old=before,
                new=after,
                organisation=_organisation(obj, action),
                extra={"parent": parent},
            )

    def delete_model(self, request: Any, obj: Any) -> None:
        _delete(request, obj)

    def delete_queryset(self, request: Any, queryset: Any) -> None:
        """The "delete selected" action: one event per object (Django would delete in bulk)."""
        with transaction.atomic():
            for obj in queryset:
                _delete(request, obj)

    def get_actions(self, request: Any) -> dict[str, Any]:
        """Bulk actions record what they changed; "delete selected" goes through
        :meth:`delete_queryset`, actions marked :func:`audited_action` record themselves."""
        actions = super().get_actions(request)
        out = {}
        for name, (func, action_name, description) in actions.items():
            if name != "delete_selected" and not getattr(func, "audited", False):
                func = _wrap_action(name, func)
            out[name] = (func, action_name, description)
        return out


def audited(admin_class: type[admin.ModelAdmin]) -> type[admin.ModelAdmin]:  # type: ignore[type-arg]
    """``admin_class`` with :class:`AuditedModelAdmin` behaviour (itself if it has it)."""
    if issubclass(admin_class, AuditedModelAdmin):
        return admin_class
    return type(f"Audited{admin_class.__name__}", (AuditedModelAdmin, admin_class), {})


def audit_every_admin(site: admin.AdminSite, models_: Iterable[Any] | None = None) -> None:
    """Re-register every admin of ``site`` that is not audited yet with the audited behaviour
    (admins of third-party apps, such as ``auth.Group``). Run once the apps are ready."""
    registry = site._registry
    for model in list(models_ if models_ is not None else registry):
        current = registry[model]
        if isinstance(current, AuditedModelAdmin):
            continue
        registry[model] = audited(type(current))(model, site)
