"""Once Only state changes: keyword-only actions that check the permission and the state,
change it and write the audit event in one transaction (STYLE.md 4).

``by=None`` is the system (the demo seed, a command); a user needs the permission named.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date
from functools import wraps
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from datalux.access.states import TransitionError
from datalux.accounts.models import Organisation
from datalux.accounts.permissions import has_permission
from datalux.accounts.roles import Permission
from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.catalogue.models import Dataset
from datalux.catalogue.vocabularies import Frequency
from datalux.onceonly.log import LogVerification
from datalux.onceonly.log import verify as verify_log
from datalux.onceonly.models import AuthenticSource, ExchangeFrequency, Protocol
from datalux.onceonly.states import ProtocolAction, ProtocolState, check_protocol

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


# -- exchange protocols -----------------------------------------------------------------

PROTOCOL_FIELDS = (
    "title",
    "items",
    "legal_basis",
    "purpose",
    "purpose_description",
    "frequency",
    "retention_days",
    "dpia_reference",
    "valid_from",
    "valid_until",
    "max_deferral_days",
)
MAX_RETENTION_DAYS = 3650
MAX_DEFERRAL_DAYS = 730
_PURPOSE = re.compile(r"[a-z0-9][a-z0-9-]{0,79}")

F = TypeVar("F", bound=Callable[..., Any])


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
        return " ".join(exc.messages)
    return str(exc)


def audited_refusals(action: str) -> Callable[[F], F]:
    """Record every refusal of ``action`` in the audit chain after the rollback, then re-raise:
    permission refusals as ``access.denied``, state and rule refusals as
    ``onceonly.protocol_action_refused``."""

    def decorator(func: F) -> F:
        @wraps(func)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except (PermissionDenied, ValidationError, TransitionError) as exc:
                protocol = kwargs.get("protocol")
                kind = (
                    EventKind.ACCESS_DENIED
                    if isinstance(exc, PermissionDenied)
                    else EventKind.ONCEONLY_PROTOCOL_ACTION_REFUSED
                )
                record(
                    kind,
                    actor=kwargs.get("by"),
                    obj=protocol if isinstance(protocol, Protocol) else None,
                    object_type="" if isinstance(protocol, Protocol) else "onceonly",
                    object_id="" if isinstance(protocol, Protocol) else action,
                    details={"action": action, "reason": _message(exc)[:500]},
                )
                raise

        return wrapped  # type: ignore[return-value]

    return decorator


def _clean_protocol(
    source: AuthenticSource, consumer: Organisation, values: dict[str, Any]
) -> dict[str, Any]:
    """The protocol's fields checked together; ValidationError names each field to fix."""
    errors: dict[str, list[str]] = {}
    clean = dict(values)

    def need(name: str, message: str) -> None:
        value = clean.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            errors[name] = [message]
        elif isinstance(value, str):
            clean[name] = value.strip()

    need("title", _("give the protocol a title, e.g. the procedure it serves"))
    need("legal_basis", _("name the legal basis that allows the consumer to obtain these data"))
    need("purpose_description", _("describe the purpose: which procedure, for what decision"))
    need("dpia_reference", _("give the reference of the data protection impact assessment"))
    items = _names(clean.get("items") or [])
    clean["items"] = items
    if not items:
        errors["items"] = [_("name at least one data item of the authentic source")]
    else:
        outside = [name for name in items if name not in source.items]
        if outside:
            errors["items"] = [
                _("not items of this authentic source: %(items)s; it is the source of: %(known)s")
                % {"items": ", ".join(outside), "known": ", ".join(source.items)}
            ]
    purpose = str(clean.get("purpose") or "").strip()
    clean["purpose"] = purpose
    if not _PURPOSE.fullmatch(purpose):
        errors["purpose"] = [
            _(
                "the purpose code is 1-80 lowercase letters, digits and hyphens, e.g. "
                "family-allowance-eligibility: exchanges name it"
            )
        ]
    if clean.get("frequency") not in ExchangeFrequency.values:
        errors["frequency"] = [
            _("the frequency must be one of: %(values)s")
            % {"values": ", ".join(ExchangeFrequency.values)}
        ]
    retention = clean.get("retention_days")
    if not isinstance(retention, int) or not 1 <= retention <= MAX_RETENTION_DAYS:
        errors["retention_days"] = [
            _("the retention at the consumer is 1 to %(max)d days") % {"max": MAX_RETENTION_DAYS}
        ]
    deferral = clean.get("max_deferral_days") or 0
    clean["max_deferral_days"] = deferral
    if not isinstance(deferral, int) or not 0 <= deferral <= MAX_DEFERRAL_DAYS:
        errors["max_deferral_days"] = [
            _("a deferral lasts 0 to %(max)d days") % {"max": MAX_DEFERRAL_DAYS}
        ]
    valid_from, valid_until = clean.get("valid_from"), clean.get("valid_until")
    if not isinstance(valid_from, date):
        errors["valid_from"] = [_("give the date the protocol starts to apply")]
    elif valid_until is not None and (
        not isinstance(valid_until, date) or valid_until < valid_from
    ):
        errors["valid_until"] = [_("the end of validity comes after its start")]
    if consumer.sector != "public":
        errors["consumer"] = [_("Once Only exchanges are between public bodies")]
    elif consumer.pk == source.responsible_body_id:
        errors["consumer"] = [_("the consumer is another body than the source's provider")]
    if errors:
        raise ValidationError(errors)
    return clean


def _require_proposer(by: Any, protocol_consumer: Organisation) -> None:
    _require(
        by,
        Permission.PROPOSE_PROTOCOLS,
        protocol_consumer,
        _("only officials of %(body)s can draft its exchange protocols")
        % {"body": protocol_consumer},
    )


def _require_authority(by: Any) -> None:
    _require(
        by,
        Permission.APPROVE_PROTOCOLS,
        None,
        _("only the data authority decides on exchange protocols"),
    )


def _locked(protocol: Protocol) -> Protocol:
    return (
        Protocol.objects.select_for_update()
        .select_related("consumer", "provider")
        .get(pk=protocol.pk)
    )


def _next_reference() -> str:
    numbers = [
        int(ref.split("-", 1)[1])
        for ref in Protocol.objects.values_list("reference", flat=True).distinct()
        if ref.startswith("OOP-") and ref[4:].isdigit()
    ]
    return f"OOP-{max(numbers, default=0) + 1:04d}"


def _event(kind: EventKind, protocol: Protocol, by: Any, **details: Any) -> None:
    record(
        kind,
        actor=by,
        organisation=protocol.consumer,
        obj=protocol,
        details={"reference": protocol.reference, "version": protocol.version, **details},
    )


@audited_refusals("create")
def create_protocol(
    *, source: AuthenticSource, consumer: Organisation, by: Any = None, **fields: Any
) -> Protocol:
    """A draft protocol for ``consumer`` to obtain items of ``source`` (provider: the source's
    responsible body)."""
    _require_proposer(by, consumer)
    unknown = set(fields) - set(PROTOCOL_FIELDS)
    if unknown:
        raise TypeError(f"unknown protocol fields: {', '.join(sorted(unknown))}")
    clean = _clean_protocol(source, consumer, fields)
    with transaction.atomic():
        protocol = Protocol.objects.create(
            reference=_next_reference(),
            source=source,
            provider=source.responsible_body,
            consumer=consumer,
            created_by=by,
            **clean,
        )
        _event(EventKind.ONCEONLY_PROTOCOL_CREATED, protocol, by, source=source.dataset.pid)
    return protocol


@audited_refusals("edit")
def update_protocol(*, protocol: Protocol, by: Any = None, **fields: Any) -> Protocol:
    """Change a draft's fields (only those given)."""
    _require_proposer(by, protocol.consumer)
    unknown = set(fields) - set(PROTOCOL_FIELDS)
    if unknown:
        raise TypeError(f"unknown protocol fields: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        protocol = _locked(protocol)
        check_protocol(protocol.state, ProtocolAction.EDIT)
        values = {name: getattr(protocol, name) for name in PROTOCOL_FIELDS}
        values.update(fields)
        clean = _clean_protocol(protocol.source, protocol.consumer, values)
        changed = sorted(n for n in PROTOCOL_FIELDS if getattr(protocol, n) != clean[n])
        for name in changed:
            setattr(protocol, name, clean[name])
        protocol.updated_at = timezone.now()
        protocol.save()
        _event(EventKind.ONCEONLY_PROTOCOL_UPDATED, protocol, by, fields=changed)
    return protocol


@audited_refusals("submit")
def submit_protocol(*, protocol: Protocol, by: Any = None) -> Protocol:
    _require_proposer(by, protocol.consumer)
    with transaction.atomic():
        protocol = _locked(protocol)
        check_protocol(protocol.state, ProtocolAction.SUBMIT)
        values = {name: getattr(protocol, name) for name in PROTOCOL_FIELDS}
        _clean_protocol(protocol.source, protocol.consumer, values)  # the source may have changed
        protocol.state = ProtocolState.SUBMITTED
        protocol.submitted_at = timezone.now()
        protocol.save(update_fields=["state", "submitted_at"])
        _event(EventKind.ONCEONLY_PROTOCOL_SUBMITTED, protocol, by)
    return protocol


@audited_refusals("agree")
def agree_protocol(*, protocol: Protocol, by: Any = None) -> Protocol:
    """The provider body's agreement (a steward of the provider), needed before approval."""
    _require(
        by,
        Permission.MANAGE_HOLDINGS,
        protocol.provider,
        _("only stewards of the provider body %(body)s can agree to this protocol")
        % {"body": protocol.provider},
    )
    with transaction.atomic():
        protocol = _locked(protocol)
        check_protocol(protocol.state, ProtocolAction.AGREE)
        if protocol.provider_agreed_at is not None:
            return protocol
        protocol.provider_agreed_at = timezone.now()
        protocol.provider_agreed_by = by
        protocol.save(update_fields=["provider_agreed_at", "provider_agreed_by"])
        _event(EventKind.ONCEONLY_PROTOCOL_AGREED, protocol, by)
    return protocol


def _reason(reason: str, what: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": [_("give the reason for %(what)s") % {"what": what}]})
    return reason[:2000]


@audited_refusals("return")
def return_protocol(*, protocol: Protocol, by: Any = None, reason: str) -> Protocol:
    """Back to the drafters with reasons; the provider's agreement is asked again later."""
    _require_authority(by)
    reason = _reason(reason, _("returning it"))
    with transaction.atomic():
        protocol = _locked(protocol)
        check_protocol(protocol.state, ProtocolAction.RETURN)
        protocol.state = ProtocolState.DRAFT
        protocol.provider_agreed_at = None
        protocol.provider_agreed_by = None
        protocol.state_reason = reason
        protocol.save()
        _event(EventKind.ONCEONLY_PROTOCOL_RETURNED, protocol, by, reason=reason[:500])
    return protocol


@audited_refusals("approve")
def approve_protocol(*, protocol: Protocol, by: Any = None) -> Protocol:
    _require_authority(by)
    with transaction.atomic():
        protocol = _locked(protocol)
        check_protocol(protocol.state, ProtocolAction.APPROVE)
        if protocol.provider_agreed_at is None:
            raise ValidationError(
                _("the provider body %(body)s has not agreed to this protocol yet")
                % {"body": protocol.provider}
            )
        protocol.state = ProtocolState.APPROVED
        protocol.approved_at = timezone.now()
        protocol.approved_by = by
        protocol.save(update_fields=["state", "approved_at", "approved_by"])
        _event(EventKind.ONCEONLY_PROTOCOL_APPROVED, protocol, by)
    return protocol


@audited_refusals("activate")
def activate_protocol(*, protocol: Protocol, by: Any = None) -> Protocol:
    """Exchanges are allowed from now (within the validity dates); the version it supersedes,
    if still live, is retired in the same transaction."""
    _require_authority(by)
    with transaction.atomic():
        protocol = _locked(protocol)
        check_protocol(protocol.state, ProtocolAction.ACTIVATE)
        if protocol.valid_until is not None and protocol.valid_until < timezone.localdate():
            raise ValidationError(
                _("its validity ended on %(date)s: draft a new version instead")
                % {"date": protocol.valid_until.isoformat()}
            )
        now = timezone.now()
        old = protocol.supersedes
        if old is not None and old.state != ProtocolState.RETIRED:
            old = _locked(old)
            old.state = ProtocolState.RETIRED
            old.retired_at = now
            old.state_reason = f"superseded by version {protocol.version}"
            old.save(update_fields=["state", "retired_at", "state_reason"])
            _event(
                EventKind.ONCEONLY_PROTOCOL_RETIRED,
                old,
                by,
                reason=old.state_reason,
                superseded_by=protocol.version,
            )
        protocol.state = ProtocolState.ACTIVE
        protocol.activated_at = now
        protocol.save(update_fields=["state", "activated_at"])
        _event(EventKind.ONCEONLY_PROTOCOL_ACTIVATED, protocol, by)
    return protocol


@audited_refusals("suspend")
def suspend_protocol(*, protocol: Protocol, by: Any = None, reason: str) -> Protocol:
    """Stop every exchange under it at once: the data authority, or a steward of the provider."""
    if by is not None and not (
        has_permission(by, Permission.APPROVE_PROTOCOLS)
        or has_permission(by, Permission.MANAGE_HOLDINGS, protocol.provider)
    ):
        raise PermissionDenied(
            _("only the data authority or the provider body can suspend a protocol")
        )
    reason = _reason(reason, _("suspending it"))
    with transaction.atomic():
        protocol = _locked(protocol)
        check_protocol(protocol.state, ProtocolAction.SUSPEND)
        protocol.state = ProtocolState.SUSPENDED
        protocol.suspended_at = timezone.now()
        protocol.state_reason = reason
        protocol.save(update_fields=["state", "suspended_at", "state_reason"])
        _event(EventKind.ONCEONLY_PROTOCOL_SUSPENDED, protocol, by, reason=reason[:500])
    return protocol


@audited_refusals("resume")
def resume_protocol(*, protocol: Protocol, by: Any = None) -> Protocol:
    _require_authority(by)
    with transaction.atomic():
        protocol = _locked(protocol)
        check_protocol(protocol.state, ProtocolAction.RESUME)
        protocol.state = ProtocolState.ACTIVE
        protocol.state_reason = ""
        protocol.save(update_fields=["state", "state_reason"])
        _event(EventKind.ONCEONLY_PROTOCOL_RESUMED, protocol, by)
    return protocol


@audited_refusals("retire")
def retire_protocol(*, protocol: Protocol, by: Any = None, reason: str) -> Protocol:
    """End it for good: the data authority; the consumer's drafters may abandon their own
    draft or submission."""
    draft_like = protocol.state in (ProtocolState.DRAFT, ProtocolState.SUBMITTED)
    if by is not None and not (
        has_permission(by, Permission.APPROVE_PROTOCOLS)
        or (draft_like and has_permission(by, Permission.PROPOSE_PROTOCOLS, protocol.consumer))
    ):
        raise PermissionDenied(_("only the data authority can retire an approved protocol"))
    reason = _reason(reason, _("retiring it"))
    with transaction.atomic():
        protocol = _locked(protocol)
        check_protocol(protocol.state, ProtocolAction.RETIRE)
        protocol.state = ProtocolState.RETIRED
        protocol.retired_at = timezone.now()
        protocol.state_reason = reason
        protocol.save(update_fields=["state", "retired_at", "state_reason"])
        _event(EventKind.ONCEONLY_PROTOCOL_RETIRED, protocol, by, reason=reason[:500])
    return protocol


@audited_refusals("new_version")
def new_protocol_version(*, protocol: Protocol, by: Any = None, **changes: Any) -> Protocol:
    """A draft of the next version (the fields of this one, with ``changes``). It goes through
    submission, agreement and approval again; activating it retires this one."""
    _require_proposer(by, protocol.consumer)
    unknown = set(changes) - set(PROTOCOL_FIELDS)
    if unknown:
        raise TypeError(f"unknown protocol fields: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        protocol = _locked(protocol)
        check_protocol(protocol.state, ProtocolAction.NEW_VERSION)
        if Protocol.objects.filter(supersedes=protocol).exists():
            raise ValidationError(
                _("version %(n)d already has a newer version: change that draft instead")
                % {"n": protocol.version}
            )
        values = {name: getattr(protocol, name) for name in PROTOCOL_FIELDS}
        values.update(changes)
        clean = _clean_protocol(protocol.source, protocol.consumer, values)
        successor = Protocol.objects.create(
            reference=protocol.reference,
            version=protocol.version + 1,
            supersedes=protocol,
            source=protocol.source,
            provider=protocol.provider,
            consumer=protocol.consumer,
            consumer_security_agency=protocol.consumer_security_agency,
            created_by=by,
            **clean,
        )
        _event(
            EventKind.ONCEONLY_PROTOCOL_CREATED,
            successor,
            by,
            source=protocol.source.dataset.pid,
            supersedes=protocol.version,
        )
    return successor


@audited_refusals("mark_security_agency")
def mark_security_agency(
    *, protocol: Protocol, security_agency: bool = True, by: Any = None
) -> Protocol:
    """Mark (or unmark) the protocol's consumer body as a security agency, on every version
    of the reference: its exchanges are then left out of the published operations data
    (:mod:`datalux.onceonly.operations`). Only the data authority decides."""
    _require_authority(by)
    with transaction.atomic():
        protocol = _locked(protocol)
        Protocol.objects.filter(reference=protocol.reference).update(
            consumer_security_agency=security_agency
        )
        protocol.consumer_security_agency = security_agency
        _event(
            EventKind.ONCEONLY_PROTOCOL_SECURITY_MARKED,
            protocol,
            by,
            security_agency=security_agency,
        )
    return protocol


# -- the exchange log -------------------------------------------------------------------


def run_log_verification(
    *, anchors: Iterable[tuple[int, str]] = (), by: Any = None
) -> LogVerification:
    """Verify the exchange log (:func:`datalux.onceonly.log.verify`) and record the result."""
    anchors = list(anchors)
    result = verify_log(anchors=anchors)
    record(
        EventKind.ONCEONLY_LOG_VERIFIED,
        actor=by,
        object_type="onceonly.log",
        object_id=str(result.head_seq),
        details={
            "ok": result.ok,
            "checked": result.checked,
            "head_hash": result.head_hash,
            "problem": result.problem[:500],
            "anchors": len(anchors),
        },
    )
    return result
