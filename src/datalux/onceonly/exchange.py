"""One exchange: a consumer body's system asks for data items about persons under a protocol.

:func:`exchange` is the one action of the exchange service. It checks, in this order, the
token (an unexpired, unrevoked token of the scope ``exchange`` whose user is an exchange
system), the request (case reference, official, national numbers), then the protocol (active,
in force, of this consumer, for this purpose, with these items); it reads only the asked items
from the authentic source's current version and writes one exchange-log entry - delivered, not
found or refused - whatever the outcome. A refusal returns nothing but its code, its message
and the signed receipt of the refused entry.

Nothing here writes to the audit chain: the exchange log is the record of exchanges (its own
signed chain, as X-Road's message log), and would otherwise double every write.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from datalux.accounts.models import (
    TOKEN_PREFIX,
    ApiToken,
    Membership,
    TokenScope,
    hash_token_secret,
)
from datalux.accounts.roles import ROLES, Permission
from datalux.onceonly import keys, lookup
from datalux.onceonly.log import Draft, append
from datalux.onceonly.models import Outcome, Protocol, Visibility
from datalux.onceonly.states import ProtocolState
from datalux.privacy import InvalidNationalId, pseudonym, validate_national_id

MAX_BATCH = 500
# the roles that may exchange (organisation-scoped: only under their own body's protocols)
EXCHANGE_ROLES = [
    slug for slug, role in ROLES.items() if Permission.EXCHANGE_DATA in role.permissions
]

logger = logging.getLogger("datalux.onceonly")
# what an exchange reads of its protocol (one query; the rest of the row is never needed)
PROTOCOL_FIELDS = (
    "reference",
    "version",
    "state",
    "purpose",
    "items",
    "valid_from",
    "valid_until",
    "max_deferral_days",
    "consumer__slug",
    "source__key_item",
    "source__dataset__pid",
)


@dataclass
class ExchangeRequest:
    protocol: str = ""
    items: list[str] = field(default_factory=list)
    purpose: str = ""
    case_reference: str = ""
    on_behalf_of: str = ""
    national_number: str | None = None
    national_numbers: list[str] | None = None
    defer_visibility_until: date | None = None


@dataclass
class ExchangeResult:
    protocol: Protocol
    source_version: int
    items: list[str]
    results: list[dict[str, Any]]
    receipt: dict[str, Any]


class Unauthenticated(Exception):
    """No usable token at all (nobody to log the attempt for)."""


class ExchangeRefused(Exception):
    """A refused exchange: HTTP status, error code, message and the refused entry's receipt."""

    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details: dict[str, Any] = dict(details or {})


# -- the token --------------------------------------------------------------------------


def find_token(raw: str) -> ApiToken:
    """The token the secret belongs to, usable or not (its state is checked by the caller so
    that an expired token's attempt is logged); :class:`Unauthenticated` for anything else."""
    if not raw.startswith(TOKEN_PREFIX):
        raise Unauthenticated
    try:
        key_id, secret = raw[len(TOKEN_PREFIX) :].split("_", 1)
    except ValueError:
        raise Unauthenticated from None
    token = ApiToken.objects.select_related("user").filter(key_id=key_id).first()
    if token is None or not hmac.compare_digest(token.secret_hash, hash_token_secret(secret)):
        raise Unauthenticated
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def bearer(header: str) -> str:
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthenticated
    return value.strip()


# -- the exchange -----------------------------------------------------------------------


class _Refusal(Exception):
    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


def _text(value: Any, limit: int) -> str:
    return str(value or "").strip()[:limit]


def exchange(
    *, token: ApiToken, request: ExchangeRequest, today: date | None = None
) -> ExchangeResult:
    """Check, answer and log one exchange (see the module's docstring for the order)."""
    try:
        return _exchange(token, request, today or timezone.localdate())
    except keys.ExchangeKeyError as exc:
        # nothing can be logged or pseudonymised without the keys: refuse, and say so once
        logger.error("Once Only exchange refused, a key is not usable: %s", exc)
        raise ExchangeRefused(
            503,
            "exchange_unavailable",
            _("the exchange service is not available now: report it to the platform operators"),
        ) from None


def _exchange(token: ApiToken, request: ExchangeRequest, today: date) -> ExchangeResult:
    draft = Draft(
        system=token.user.get_username(),
        token_key_id=token.key_id,
        on_behalf_of=_text(request.on_behalf_of, 100),
        protocol=_text(request.protocol, 20),
        purpose=_text(request.purpose, 80),
        items=[_text(i, 100) for i in request.items][:200],
        case_reference=_text(request.case_reference, 100),
    )
    try:
        numbers = _check_token_and_request(token, request, draft, today)
        protocol = _check_protocol(token, request, draft, today)
        index = lookup.index(protocol.source.dataset_id, protocol.source.key_item)
        missing = lookup.missing_columns(index, draft.items)
        if missing:
            raise lookup.SourceUnavailable(
                f"the authentic source's current data lack the items: {', '.join(missing)}"
            )
    except lookup.SourceUnavailable as exc:
        draft.refusal_code = "source_unavailable"
        _entry, receipt = append(draft)
        raise ExchangeRefused(503, "source_unavailable", str(exc), {"receipt": receipt}) from None
    except _Refusal as refusal:
        draft.refusal_code = refusal.code
        _entry, receipt = append(draft)
        details = {**(refusal.details or {}), "receipt": receipt}
        raise ExchangeRefused(refusal.status, refusal.code, refusal.message, details) from None
    results = []
    for position, number in enumerate(numbers):
        data = index.record(number, draft.items)
        results.append({"index": position, "found": data is not None, "data": data})
    found = sum(1 for r in results if r["found"])
    # every number is valid here, so ``subjects`` is in the request's order
    draft.delivered_subjects = [
        subject for subject, r in zip(draft.subjects, results, strict=True) if r["found"]
    ]
    draft.outcome = str(Outcome.DELIVERED if found else Outcome.NOT_FOUND)
    _entry, receipt = append(draft)
    if request.national_number is not None and not found:
        raise ExchangeRefused(
            404,
            "person_not_found",
            _("the authentic source has no person with this national number"),
            {"receipt": receipt},
        )
    return ExchangeResult(protocol, index.version, draft.items, results, receipt)


def _check_token_and_request(
    token: ApiToken, request: ExchangeRequest, draft: Draft, today: date
) -> list[str]:
    """The token and the request's own fields; returns the national numbers (all valid)."""
    memberships = list(
        Membership.objects.filter(
            user_id=token.user_id,
            active=True,
            role__in=EXCHANGE_ROLES,
            organisation__isnull=False,
        ).values_list("organisation_id", "organisation__slug")
    )
    draft.exchange_orgs = {org for org, _slug in memberships}
    if memberships:
        draft.consumer = memberships[0][1]
    numbers = request.national_numbers if request.national_numbers is not None else None
    if numbers is None and request.national_number is not None:
        numbers = [request.national_number]
    numbers = [str(n) for n in (numbers or [])]
    draft.subject_count = len(numbers)
    invalid: list[dict[str, Any]] = []
    valid: list[str] = []
    for position, number in enumerate(numbers[:MAX_BATCH]):
        try:
            validate_national_id(number)
        except InvalidNationalId as exc:
            invalid.append({"index": position, "reason": exc.reason.value})
        else:
            valid.append(number)
    if valid:
        domain_keys = keys.pseudonym_keys()
        draft.subjects = [pseudonym(n, domain_keys) for n in valid]
    now = timezone.now()
    if token.revoked_at is not None or not token.user.is_active:
        raise _Refusal(401, "token_revoked", _("this token was revoked: use a valid token"))
    if token.expires_at is not None and token.expires_at <= now:
        raise _Refusal(
            401,
            "token_expired",
            _("this token expired on %(date)s: create a new exchange token")
            % {"date": token.expires_at.date().isoformat()},
        )
    if token.scope != TokenScope.EXCHANGE:
        raise _Refusal(
            403,
            "token_scope",
            _("exchanges need a token of the scope 'exchange' (this one is %(scope)s)")
            % {"scope": token.scope},
        )
    if not draft.exchange_orgs:
        raise _Refusal(
            403,
            "not_an_exchange_system",
            _("this account is not the exchange system of a public body"),
        )
    if not draft.case_reference:
        raise _Refusal(
            422,
            "case_reference_missing",
            _("name the case this exchange is for (case_reference, e.g. your file number)"),
        )
    if not draft.on_behalf_of:
        raise _Refusal(
            422,
            "on_behalf_of_missing",
            _("name the official the exchange is made for (on_behalf_of)"),
        )
    if request.national_number is not None and request.national_numbers is not None:
        raise _Refusal(
            422,
            "person_ambiguous",
            _("give national_number (one person) or national_numbers (a batch), not both"),
        )
    if not numbers:
        raise _Refusal(
            422,
            "person_missing",
            _("give the person's national_number, or national_numbers for a batch"),
        )
    if len(numbers) > MAX_BATCH:
        raise _Refusal(
            422,
            "batch_too_large",
            _("a batch holds at most %(n)d persons: split it") % {"n": MAX_BATCH},
        )
    if invalid:
        raise _Refusal(
            422,
            "national_number_invalid",
            _("%(n)d national number(s) are not valid: see details (position and check failed)")
            % {"n": len(invalid)},
            {"invalid": invalid},
        )
    return numbers


def _check_protocol(
    token: ApiToken, request: ExchangeRequest, draft: Draft, today: date
) -> Protocol:
    if not draft.protocol:
        raise _Refusal(403, "no_protocol", _("name the protocol the exchange is made under"))
    versions = list(
        Protocol.objects.filter(reference=draft.protocol)
        .select_related("source__dataset", "consumer")
        .only(*PROTOCOL_FIELDS)
        .order_by("-version")
    )
    live = next(
        (p for p in versions if p.state in (ProtocolState.ACTIVE, ProtocolState.SUSPENDED)), None
    )
    protocol = live or next(
        (p for p in versions if p.state == ProtocolState.RETIRED), versions[0] if versions else None
    )
    if protocol is None or protocol.consumer_id not in draft.exchange_orgs:
        raise _Refusal(
            403,
            "no_protocol",
            _("no protocol %(ref)s allows your body to obtain these data")
            % {"ref": draft.protocol},
        )
    draft.consumer = protocol.consumer.slug
    draft.protocol_version = protocol.version
    if protocol.state == ProtocolState.SUSPENDED:
        raise _Refusal(
            403,
            "protocol_suspended",
            _("protocol %(ref)s is suspended: no exchange under it until it is resumed")
            % {"ref": protocol.reference},
        )
    if protocol.state == ProtocolState.RETIRED or (
        protocol.valid_until is not None and protocol.valid_until < today
    ):
        raise _Refusal(
            403,
            "protocol_expired",
            _("protocol %(ref)s is no longer in force") % {"ref": protocol.reference},
        )
    if protocol.state != ProtocolState.ACTIVE or protocol.valid_from > today:
        raise _Refusal(
            403,
            "protocol_not_active",
            _("protocol %(ref)s is not in force yet") % {"ref": protocol.reference},
        )
    if draft.purpose != protocol.purpose:
        raise _Refusal(
            403,
            "purpose_not_covered",
            _("protocol %(ref)s allows exchanges for the purpose %(purpose)s only")
            % {"ref": protocol.reference, "purpose": protocol.purpose},
        )
    if not draft.items:
        raise _Refusal(422, "items_missing", _("name the data items you need (items)"))
    outside = [item for item in draft.items if item not in protocol.items]
    if outside:
        raise _Refusal(
            403,
            "items_outside_protocol",
            _("protocol %(ref)s does not cover: %(items)s")
            % {"ref": protocol.reference, "items": ", ".join(outside)},
            {"outside": outside, "allowed": list(protocol.items)},
        )
    if request.defer_visibility_until is not None:
        latest = today + timedelta(days=protocol.max_deferral_days)
        if not (today < request.defer_visibility_until <= latest):
            raise _Refusal(
                403,
                "deferral_not_allowed",
                _("protocol %(ref)s lets you defer the person's record by %(n)d days at most")
                % {"ref": protocol.reference, "n": protocol.max_deferral_days},
            )
        draft.visibility = str(Visibility.DEFERRED)
        draft.visible_from = request.defer_visibility_until
    return protocol


__all__ = [
    "MAX_BATCH",
    "ExchangeRefused",
    "ExchangeRequest",
    "ExchangeResult",
    "Unauthenticated",
    "bearer",
    "exchange",
    "find_token",
]
