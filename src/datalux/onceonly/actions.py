"""Once Only state changes: keyword-only actions that check the permission and the state,
change it and write the audit event in one transaction (STYLE.md 4).

``by=None`` is the system (the demo seed, a command); a user needs the permission named.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from datalux.accounts.models import Organisation
from datalux.accounts.permissions import has_permission
from datalux.accounts.roles import Permission
from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.catalogue.models import Dataset
from datalux.catalogue.vocabularies import Frequency
from datalux.onceonly.models import AuthenticSource

NATIONAL_ID_CODE_LIST = "national-id"


def _require(by: Any, perm: Permission, obj: Any = None, why: str = "") -> None:
    if by is not None and not has_permission(by, perm, obj):
        raise PermissionDenied(
            why or _("you need the permission %(perm)s for this") % {"perm": repr(perm.value)}
        )


def _names(values: Iterable[str]) -> list[str]:
    """Item names as given, stripped, without repeats, in order."""
    seen: dict[str, None] = {}
    for value in values:
        name = str(value).strip()
        if name:
            seen.setdefault(name, None)
    return list(seen)


# -- authentic sources ------------------------------------------------------------------


def designate_authentic_source(
    *,
    dataset: Dataset,
    responsible_body: Organisation,
    items: Iterable[str],
    update_frequency: str,
    quality_commitment: str,
    key_item: str = "",
    by: Any = None,
) -> AuthenticSource:
    """Designate ``dataset`` the authentic source of ``items`` (names from its data
    dictionary), or change its designation. Stewards of the dataset's publisher only.

    ``key_item`` is the dictionary variable with the person's national number (default: the
    one whose code list is ``national-id``): exchanges find persons by it.
    """
    _require(
        by,
        Permission.MANAGE_HOLDINGS,
        dataset,
        _("only stewards of %(publisher)s can designate its datasets as authentic sources")
        % {"publisher": dataset.publisher},
    )
    names = _names(items)
    variables = {v.name: v for v in dataset.variables.all()}
    errors: dict[str, list[str]] = {}
    if not variables:
        errors["items"] = [
            _("the dataset has no data dictionary yet: describe its variables first")
        ]
    elif not names:
        errors["items"] = [_("name at least one data item of the dataset's dictionary")]
    else:
        unknown = [n for n in names if n not in variables]
        if unknown:
            errors["items"] = [
                _("not in the dataset's data dictionary: %(items)s; it has: %(known)s")
                % {"items": ", ".join(unknown), "known": ", ".join(variables)}
            ]
    key = key_item.strip() or next(
        (v.name for v in variables.values() if v.code_list == NATIONAL_ID_CODE_LIST), ""
    )
    if variables and key not in variables:
        errors["key_item"] = [
            _(
                "name the dictionary variable that holds the national number (none has the "
                "code list %(code)s)"
            )
            % {"code": NATIONAL_ID_CODE_LIST}
        ]
    if update_frequency not in Frequency.values:
        errors["update_frequency"] = [
            _("the update frequency must be one of: %(values)s")
            % {"values": ", ".join(Frequency.values)}
        ]
    if not quality_commitment.strip():
        errors["quality_commitment"] = [
            _("state the quality the responsible body commits to (e.g. corrections within 5 days)")
        ]
    if responsible_body.sector != "public":
        errors["responsible_body"] = [_("an authentic source is kept by a public body")]
    if errors:
        raise ValidationError(errors)
    values = {
        "responsible_body": responsible_body,
        "items": names,
        "key_item": key,
        "update_frequency": update_frequency,
        "quality_commitment": quality_commitment.strip(),
    }
    with transaction.atomic():
        source = AuthenticSource.objects.select_for_update().filter(dataset=dataset).first()
        kind = EventKind.ONCEONLY_SOURCE_UPDATED
        if source is None:
            source = AuthenticSource(dataset=dataset, designated_by=by if by else None)
            kind = EventKind.ONCEONLY_SOURCE_DESIGNATED
        for name, value in values.items():
            setattr(source, name, value)
        source.updated_at = timezone.now()
        source.save()
        record(
            kind,
            actor=by,
            organisation=dataset.publisher,
            obj=source,
            details={
                "dataset": dataset.pid,
                "items": names,
                "key_item": key,
                "responsible_body": responsible_body.slug,
                "update_frequency": update_frequency,
            },
        )
    return source
