"""A citizen's choices about the secondary use of their data: data altruism consent and the
objection (opt-out). Keyword-only actions, each in one transaction with its audit event.

* :func:`give_consent` records a consent in the terms of the European data altruism consent
  form (Data Governance Act, Art. 25): the objectives of general interest
  (:class:`~datalux.citizens.models.AltruismPurpose`), the data (datasets of the catalogue that
  hold data about persons), the data altruism organisation and the duration; the consent keeps
  the version of the form text the person was shown (:data:`FORM_VERSION`).
* :func:`withdraw_consent` is as easy as giving it (one button and a confirmation) and takes
  effect at the next preparation. A consent past ``valid_until`` is no longer in force.
* :func:`opt_out` / :func:`revoke_opt_out` add a :class:`SecondaryUseChoice` row each time (the
  newest is in force; the rows are the history) and bring the trusted third party's exclusion
  list (:mod:`datalux.citizens.ttp_lists`) in step once the transaction has committed.

Only the person themself (the user their identity belongs to, holding the citizen role) may
act; anyone else is refused (``citizen.choice_refused``). Audit events name the identity's
primary key and the consent's reference, never the national number.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from datalux.accounts.models import Organisation
from datalux.accounts.roles import OrganisationKind
from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.catalogue.models import Dataset
from datalux.citizens.access import identity_of
from datalux.citizens.models import (
    AltruismConsent,
    AltruismPurpose,
    CitizenIdentity,
    SecondaryUseChoice,
)

__all__ = [
    "DEFAULT_DURATION_DAYS",
    "FORM_TEXT",
    "FORM_VERSION",
    "MAX_DURATION_DAYS",
    "altruism_organisations",
    "consent_in_force",
    "current_choice",
    "donatable_datasets",
    "give_consent",
    "opt_out",
    "revoke_opt_out",
    "withdraw_consent",
]

# the text of the consent form shown to the person; a change of its words is a new version
FORM_VERSION = "dlx-altruism-2026-1"
FORM_TEXT = gettext_lazy(
    "I agree that the data named below, which public bodies hold about me, may be made "
    "available by the data altruism organisation named below, without reward, for the "
    "objectives of general interest I ticked, until the end date I chose. The data are "
    "made available only to projects with a permit, only inside the secure processing "
    "environment and only without my name or national number. I can withdraw this consent "
    "at any time, as easily as I gave it; it then no longer applies to any new extract. "
    "Withdrawing does not affect uses made before."
)
DEFAULT_DURATION_DAYS = 2 * 365
MAX_DURATION_DAYS = 5 * 365
NATIONAL_ID_CODE_LIST = "national-id"  # datalux.spe.plan's: the column of persons


def altruism_organisations() -> QuerySet[Organisation]:
    """The organisations a consent may name: the data authority (the platform's recognised
    data altruism organisation; no register of other ones is kept yet)."""
    return Organisation.objects.filter(kind=OrganisationKind.DATA_AUTHORITY).order_by("name")


def donatable_datasets() -> QuerySet[Dataset]:
    """Datasets that hold data about persons (a national-number column), not withdrawn."""
    return (
        Dataset.objects.filter(
            variables__code_list=NATIONAL_ID_CODE_LIST, withdrawn_at__isnull=True
        )
        .select_related("publisher")
        .distinct()
        .order_by("pid")
    )


def current_choice(identity: CitizenIdentity) -> SecondaryUseChoice | None:
    """The person's choice in force (the newest row), or None if they never chose."""
    return identity.secondary_use_choices.order_by("-at", "-pk").first()


def consent_in_force(consent: AltruismConsent, today: date | None = None) -> bool:
    today = today or timezone.localdate()
    return consent.withdrawn_at is None and consent.valid_until >= today


def _refuse(action: str, identity: CitizenIdentity, by: Any, reason: str) -> None:
    """Record the refusal (its own transaction) and raise."""
    record(
        EventKind.CITIZEN_CHOICE_REFUSED,
        actor=by,
        obj=identity,
        details={"action": action, "identity": identity.pk, "reason": reason},
    )
    raise PermissionDenied(_("Only the person themself can change their consent or objection."))


def _require_self(action: str, identity: CitizenIdentity, by: Any) -> None:
    mine = identity_of(by)
    if mine is None or mine.pk != identity.pk:
        _refuse(action, identity, by, "not-the-person")


def _clean_purposes(purposes: Iterable[str]) -> list[str]:
    chosen = sorted(set(purposes))
    known = set(AltruismPurpose.values)
    if not chosen:
        raise ValidationError({"purposes": _("Tick at least one purpose.")})
    unknown = [p for p in chosen if p not in known]
    if unknown:
        raise ValidationError(
            {
                "purposes": _("Choose purposes from the list (not %(purposes)s).")
                % {"purposes": ", ".join(unknown)}
            }
        )
    return chosen


def _clean_datasets(datasets: Iterable[Any]) -> list[Dataset]:
    chosen = {d.pk: d for d in datasets}
    if not chosen:
        raise ValidationError({"datasets": _("Choose at least one set of data.")})
    allowed = set(donatable_datasets().filter(pk__in=chosen).values_list("pk", flat=True))
    if set(chosen) - allowed:
        raise ValidationError(
            {"datasets": _("Choose data from the list: only data about persons can be donated.")}
        )
    return [chosen[pk] for pk in sorted(chosen)]


def _clean_valid_until(valid_until: date, today: date) -> date:
    if valid_until <= today:
        raise ValidationError({"valid_until": _("Choose an end date after today.")})
    latest = today + timedelta(days=MAX_DURATION_DAYS)
    if valid_until > latest:
        raise ValidationError(
            {
                "valid_until": _("Choose an end date no later than %(latest)s.")
                % {"latest": latest.isoformat()}
            }
        )
    return valid_until


def give_consent(
    *,
    identity: CitizenIdentity,
    purposes: Iterable[str],
    datasets: Iterable[Any],
    organisation: Organisation,
    valid_until: date,
    by: Any,
    form_version: str = FORM_VERSION,
) -> AltruismConsent:
    """Record the person's consent to data altruism (a new consent each time; earlier ones
    stay as they are). ``form_version`` is the version of the form text the person read: a
    form shown before the text changed is refused, to be read again."""
    _require_self("give_consent", identity, by)
    today = timezone.localdate()
    chosen_purposes = _clean_purposes(purposes)
    chosen_datasets = _clean_datasets(datasets)
    if not altruism_organisations().filter(pk=organisation.pk).exists():
        raise ValidationError(
            {"organisation": _("Choose a data altruism organisation from the list.")}
        )
    until = _clean_valid_until(valid_until, today)
    if form_version != FORM_VERSION:
        raise ValidationError(
            _("The consent form has changed since it was shown: read it again and confirm.")
        )
    with transaction.atomic():
        consent = AltruismConsent.objects.create(
            reference=f"tmp-{uuid.uuid4().hex[:14]}",
            identity=identity,
            purposes=chosen_purposes,
            organisation=organisation,
            valid_until=until,
            form_version=form_version,
        )
        consent.reference = f"DLX-C-{consent.given_at.year}-{consent.pk:05d}"
        consent.save(update_fields=["reference"])
        consent.datasets.set(chosen_datasets)
        record(
            EventKind.CITIZEN_CONSENT_GIVEN,
            actor=by,
            obj=consent,
            details={
                "reference": consent.reference,
                "identity": identity.pk,
                "purposes": chosen_purposes,
                "datasets": [d.pid for d in chosen_datasets],
                "organisation": organisation.pk,
                "valid_until": until.isoformat(),
                "form_version": form_version,
            },
        )
    return consent


def withdraw_consent(*, consent: AltruismConsent, by: Any) -> AltruismConsent:
    """Withdraw ``consent`` now: the next preparations no longer include the person on it."""
    _require_self("withdraw_consent", consent.identity, by)
    with transaction.atomic():
        fresh = AltruismConsent.objects.select_for_update().get(pk=consent.pk)
        if fresh.withdrawn_at is not None:
            raise ValidationError(
                _("This consent was already withdrawn on %(day)s.")
                % {"day": timezone.localtime(fresh.withdrawn_at).date().isoformat()}
            )
        fresh.withdrawn_at = timezone.now()
        fresh.save(update_fields=["withdrawn_at"])
        record(
            EventKind.CITIZEN_CONSENT_WITHDRAWN,
            actor=by,
            obj=fresh,
            details={"reference": fresh.reference, "identity": fresh.identity_id},
        )
    consent.withdrawn_at = fresh.withdrawn_at
    return consent


def _choose(identity: CitizenIdentity, by: Any, *, opted_out: bool) -> SecondaryUseChoice:
    from datalux.citizens.ttp_lists import update_opt_out

    action = "opt_out" if opted_out else "revoke_opt_out"
    _require_self(action, identity, by)
    with transaction.atomic():
        CitizenIdentity.objects.select_for_update().filter(pk=identity.pk).first()  # serialise
        now = current_choice(identity)
        if opted_out and now is not None and now.opted_out:
            raise ValidationError(_("You have already objected to the secondary use of your data."))
        if not opted_out and (now is None or not now.opted_out):
            raise ValidationError(_("You have no objection to revoke."))
        choice = SecondaryUseChoice.objects.create(identity=identity, opted_out=opted_out)
        record(
            EventKind.CITIZEN_OPTED_OUT if opted_out else EventKind.CITIZEN_OPT_OUT_REVOKED,
            actor=by,
            obj=identity,
            details={"identity": identity.pk, "choice": choice.pk},
        )
        # the TTP's list follows the committed choice (a rolled-back one never reaches it)
        transaction.on_commit(lambda: update_opt_out(identity))
    return choice


def opt_out(*, identity: CitizenIdentity, by: Any) -> SecondaryUseChoice:
    """Object to the secondary use of the person's data: absent from every next preparation."""
    return _choose(identity, by, opted_out=True)


def revoke_opt_out(*, identity: CitizenIdentity, by: Any) -> SecondaryUseChoice:
    """Revoke the objection: the person's data may again be part of new preparations."""
    return _choose(identity, by, opted_out=False)
