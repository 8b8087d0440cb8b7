"""The trusted third party's lists of persons, kept from the citizens' choices.

* **The exclusion list** ``<DATALUX_STORAGE>/ttp/opt_outs.parquet`` (column ``national_id``):
  every person whose newest :class:`~datalux.citizens.models.SecondaryUseChoice` is an
  objection. :mod:`datalux.dataplane.extract` leaves these persons out of every extract
  (:func:`datalux.spe.plan.opt_out_table`). Each choice updates it after its transaction
  commits (:func:`update_opt_out`, only that person's line); :func:`rebuild_opt_outs` rewrites it
  whole from the database (``datalux citizens exclusions rebuild``). Both run under one file
  lock and replace the file atomically (a temporary file, then :func:`os.replace`), so a
  preparation reads either the old list or the new one, never half of one.
* **The consent lists** of a permit resting on the persons' consent (GDPR Art. 6(1)(a) or
  Art. 9(2)(a)): per granted dataset, the persons whose data altruism consent is in force and
  covers the permit's purpose and that dataset (:func:`consenting_numbers`); written by
  :func:`datalux.spe.plan.plan_for` at every preparation, so a withdrawn or expired consent is
  absent from the next one.

National numbers are opened (:func:`datalux.citizens.identity.unseal`) only here, in memory,
and written only into these files; they are never logged or returned to a caller other than
the plan.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from datalux.access.vocabularies import LegalBasisArt6, LegalBasisArt9
from datalux.citizens import identity as identity_numbers
from datalux.citizens.models import (
    AltruismConsent,
    CitizenIdentity,
    SecondaryUseChoice,
)

__all__ = [
    "ALTRUISM_PURPOSE_OF",
    "KEY",
    "consent_based",
    "consenting_numbers",
    "consents_in_force",
    "opt_out_path",
    "opted_out_identities",
    "rebuild_opt_outs",
    "update_opt_out",
    "write_numbers",
]

KEY = "national_id"  # the column datalux.dataplane.extract joins on

# The permit's purpose (the application's closed list, DGA Art. 5 / EHDS Art. 53) as the
# objective of general interest a data altruism consent names (DGA Art. 2(16)). A purpose
# absent here is covered by no altruism consent: a permit on consent for it includes nobody
# (plan_for refuses it with what to fix). Innovation, AI training and education are not
# objectives of general interest in the consent form's list, so a donor's consent never
# stretches to them.
# (PurposeCategory value -> AltruismPurpose value)
ALTRUISM_PURPOSE_OF: dict[str, str] = {
    "scientific_research": "scientific_research",
    "official_statistics": "official_statistics",
    "public_policy": "public_policy",
    "public_health": "health_care",
    "personalised_care": "health_care",
}


def opt_out_path() -> Path:
    """Where the exclusion list lives (the file :func:`datalux.spe.plan.opt_out_table` reads)."""
    return Path(settings.DATALUX_STORAGE) / "ttp" / "opt_outs.parquet"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One writer of ``path`` at a time (across processes): each reads the database inside
    the lock, so the last one to write has seen every committed choice."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(path.with_name(f".{path.name}.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def write_numbers(path: Path, numbers: Iterable[str]) -> int:
    """Write ``numbers`` (sorted, distinct) as a one-column Parquet file at ``path``,
    atomically and readable by its owner only; returns how many."""
    values = sorted(set(numbers))
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    table = pa.table({KEY: pa.array(values, pa.string())})
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            pq.write_table(table, out)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return len(values)


def opted_out_identities() -> QuerySet[CitizenIdentity]:
    """The identities whose newest choice is an objection to secondary use."""
    newest = SecondaryUseChoice.objects.filter(identity=OuterRef("pk")).order_by("-at", "-pk")
    return CitizenIdentity.objects.annotate(
        opted_out_now=Subquery(newest.values("opted_out")[:1])
    ).filter(opted_out_now=True)


def _numbers(identities: Iterable[CitizenIdentity]) -> list[str]:
    return [identity_numbers.unseal(i.sealed_number) for i in identities]


def rebuild_opt_outs() -> int:
    """Rewrite the exclusion list from the database; returns how many persons it holds."""
    path = opt_out_path()
    with _locked(path):
        return write_numbers(path, _numbers(opted_out_identities().only("sealed_number")))


def update_opt_out(identity: CitizenIdentity) -> int:
    """Bring the exclusion list in step with ``identity``'s newest choice (read now, after
    the choice was committed); the whole list is rebuilt when there is none yet."""
    path = opt_out_path()
    with _locked(path):
        if not path.exists():
            return write_numbers(path, _numbers(opted_out_identities().only("sealed_number")))
        numbers = set(pq.read_table(path, columns=[KEY]).column(KEY).to_pylist())
        number = identity_numbers.unseal(identity.sealed_number)
        if opted_out_identities().filter(pk=identity.pk).exists():
            numbers.add(number)
        else:
            numbers.discard(number)
        return write_numbers(path, numbers)


def consent_based(application: object) -> bool:
    """Whether a permit's application rests on the persons' consent (Art. 6(1)(a), 9(2)(a))."""
    return (
        getattr(application, "legal_basis_art6", "") == LegalBasisArt6.CONSENT
        or getattr(application, "legal_basis_art9", "") == LegalBasisArt9.EXPLICIT_CONSENT
    )


def consents_in_force(today: date | None = None) -> QuerySet[AltruismConsent]:
    """Consents not withdrawn and not past their end (the last day included)."""
    today = today or timezone.localdate()
    return AltruismConsent.objects.filter(Q(withdrawn_at__isnull=True), valid_until__gte=today)


def consenting_numbers(*, purpose: str, dataset_id: int, today: date | None = None) -> list[str]:
    """The national numbers of the persons whose consent in force covers ``purpose`` (an
    :class:`AltruismPurpose` value) and the dataset."""
    # purposes is a short JSON list: matched here, the same on SQLite and PostgreSQL
    consents = (
        consents_in_force(today)
        .filter(datasets__pk=dataset_id)
        .select_related("identity")
        .only("purposes", "identity__sealed_number")
    )
    return _numbers(c.identity for c in consents.iterator() if purpose in c.purposes)
