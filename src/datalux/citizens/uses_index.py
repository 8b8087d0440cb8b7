"""The trusted third party's person-use index: which persons a permit's extract included.

At preparation (:func:`datalux.spe.prepare.prepare_permit`) the dataplane writes, for each
table with national numbers, the distinct national numbers of the persons whose rows the table
includes into a folder of the TTP's own (``<DATALUX_STORAGE>/ttp/persons/<permit>/v<version>/``,
never the extract's folder, never readable by the project). :func:`record_uses` turns them into
one :class:`~datalux.citizens.models.PersonUse` per person: the person's keyed pseudonym under
the *exchange log's* key (:func:`datalux.citizens.identity.subject_for`, hashed here in bulk),
the datasets the person's rows came from, and whether the permit rests on consent. Then the
folder is removed.

* A project's pseudonyms are HMACs under the project domain's key, derived from the TTP's
  master key; ``subject`` is an HMAC under the exchange log's own key: neither can be computed
  from the other, so the index tells the project nothing, and a project's ``person_id`` tells
  the index nothing.
* An anonymised table has no person ids, but its rows came from identified persons: they are
  recorded (all persons whose rows went into the anonymisation, suppressed ones included - the
  person is told their records were used to make the anonymised data).
* Safe to repeat: rows go in with ``ignore_conflicts`` on (subject, permit, version), so a
  re-run after a crash writes nothing twice.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from datalux.citizens.models import PersonUse
from datalux.dataplane.extract import PERSONS_KEY
from datalux.onceonly import keys as exchange_keys
from datalux.privacy import pseudonymise_array

__all__ = ["BATCH", "consent_based", "persons_folder", "record_uses", "subjects_of"]

BATCH = 5000  # PersonUse rows per INSERT (one transaction each: the writer lock is short)


def persons_folder(permit: Any) -> Path:
    """Where the preparation of ``permit``'s current version writes whom it included."""
    return Path(settings.DATALUX_STORAGE) / "ttp" / "persons" / permit.number / f"v{permit.version}"


def consent_based(permit: Any) -> bool:
    """Whether the permit's application rests on the persons' consent (Art. 6(1)(a) or
    9(2)(a)): its uses are data altruism's records (DGA Art. 20). The same test as the one
    that limits such a permit's preparation to consenting persons."""
    from datalux.citizens.ttp_lists import consent_based as rests_on_consent

    return rests_on_consent(permit.application)


def subjects_of(numbers: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The keyed pseudonyms (as :func:`~datalux.citizens.identity.subject_for`) of a column of
    national numbers, vectorised."""
    return pseudonymise_array(pc.utf8_trim_whitespace(numbers), exchange_keys.pseudonym_keys())


def _persons(folder: Path, datasets: Mapping[str, str]) -> pa.Table:
    """One row per person (``national_id``) with the sorted list of dataset PIDs (``pids``)."""
    parts = []
    for name, pid in sorted(datasets.items()):
        path = folder / f"{name}.parquet"
        if not path.exists():
            continue  # a table without national numbers
        numbers = pq.read_table(path, columns=[PERSONS_KEY])[PERSONS_KEY]
        parts.append(
            pa.table({"n": numbers.cast(pa.string()), "pid": pa.array([pid] * len(numbers))})
        )
    if not parts:
        return pa.table(
            {"n": pa.array([], pa.string()), "pids": pa.array([], pa.list_(pa.string()))}
        )
    joined = pa.concat_tables(parts).filter(pc.is_valid(pc.field("n")))
    grouped = joined.group_by("n").aggregate([("pid", "distinct")])
    return grouped.rename_columns(["n", "pids"])


def _batches(
    subjects: pa.Array, pids: pa.ListArray, *, permit: Any, version: int, on_consent: bool
) -> Iterator[list[PersonUse]]:
    now = timezone.now()
    for start in range(0, len(subjects), BATCH):
        yield [
            PersonUse(
                subject=subject,
                permit=permit,
                version=version,
                datasets=sorted(datasets),
                on_consent=on_consent,
                prepared_at=now,
            )
            for subject, datasets in zip(
                subjects[start : start + BATCH].to_pylist(),
                pids[start : start + BATCH].to_pylist(),
                strict=True,
            )
        ]


def record_uses(*, permit: Any, version: int, folder: Path, datasets: Mapping[str, str]) -> int:
    """Index the persons listed in ``folder`` (``datasets``: table name in the extract ->
    dataset PID) as uses of ``permit`` version ``version``, then remove the folder. Returns
    the number of persons."""
    persons = _persons(folder, datasets)
    subjects = subjects_of(persons["n"])
    pids = persons["pids"].combine_chunks()
    on_consent = consent_based(permit)
    for batch in _batches(subjects, pids, permit=permit, version=version, on_consent=on_consent):
        with transaction.atomic():
            PersonUse.objects.bulk_create(batch, ignore_conflicts=True)
    shutil.rmtree(folder, ignore_errors=True)
    return len(subjects)
