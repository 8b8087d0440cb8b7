"""Upload a new version of a dataset's data: check it against the data dictionary, store it as
Parquet under the storage root, register it to its holder and profile its quality.

:func:`upload_version` is the one action (web page and API both call it). Its steps, each
safe to repeat after a failure:

1. check the permission (a steward of the dataset's publisher), the dictionary and the format;
2. check the file and write the typed Parquet to a staging file in the dataset's folder
   (:func:`datalux.dataplane.ingest.ingest`: temporary file, renamed only when whole);
   on any problem record ``DATASET_UPLOAD_REJECTED`` and raise :class:`UploadRejected` with
   the report - nothing is stored, the previous versions stay as they were;
3. profile the staged file (:func:`datalux.dataplane.profile.profile_parquet`);
4. in one transaction, with the dataset row locked: take the next version number, rename the
   staged file to ``holders/<organisation slug>/<PID>/v<N>.parquet``, register the data file
   (holdings), create the :class:`~datalux.catalogue.models.DatasetVersion` with its quality
   profile and record ``DATASET_VERSION_UPLOADED``. If the transaction fails the renamed file
   is removed again; staging files are removed in every case.

Older versions are never touched: each upload adds one.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from datalux.accounts.permissions import has_permission
from datalux.accounts.roles import Permission
from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.catalogue.models import Dataset, DatasetVersion, Variable, pick_language
from datalux.dataplane.codelists import NATIONAL_ID
from datalux.dataplane.ingest import FieldRule, Problem, ValidationReport, ingest, storage_type
from datalux.dataplane.profile import profile_parquet
from datalux.dataplane.storage import FileFormat, private_folder
from datalux.holdings.actions import register_data_file
from datalux.holdings.models import DataFile

__all__ = [
    "UploadRejected",
    "dataset_folder",
    "field_rules",
    "max_upload_bytes",
    "refuse_oversized",
    "upload_version",
]

_FORMATS: dict[str, FileFormat] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
_COPY_CHUNK = 1 << 20


class UploadRejected(Exception):
    """The file was refused; ``report`` says what is wrong, where, and how to fix it."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        super().__init__(report.summary())

    @property
    def too_large(self) -> bool:
        return any(problem == "too_large" for _, problem in self.report.counts)


def max_upload_bytes() -> int:
    """The upload limit: ``DATALUX_MAX_UPLOAD_MB`` mebibytes."""
    return int(settings.DATALUX_MAX_UPLOAD_MB) * 1024 * 1024


def field_rules(variables: Any) -> list[FieldRule]:
    """The checks of a data dictionary (its Variable rows, in order)."""
    return [_rule(v) for v in variables]


def _rule(variable: Variable) -> FieldRule:
    return FieldRule(
        name=variable.name,
        type=variable.type,
        required=variable.required,
        allowed_values=tuple(variable.allowed_values or ()),
        missing_values=tuple(str(m) for m in variable.missing_values) or ("",),
        code_list=variable.code_list,
        national_id=variable.code_list == NATIONAL_ID,
        privacy_role=str(variable.privacy_role or "other"),
    )


def dataset_folder(dataset: Dataset) -> Path:
    """``<storage>/holders/<organisation slug>/<PID>`` (characters of the PID that are unsafe
    in a path or a glob, such as ``*``, are percent-encoded)."""
    storage = Path(settings.DATALUX_STORAGE)
    return storage / "holders" / dataset.publisher.slug / quote(dataset.pid, safe="-")


def _table_name(dataset: Dataset) -> str:
    return slugify(dataset.pid)[:100]


def _file_format(filename: str) -> FileFormat | None:
    return _FORMATS.get(Path(filename).suffix.lower())


def _require_steward(dataset: Dataset, by: Any) -> None:
    if not has_permission(by, Permission.MANAGE_HOLDINGS, dataset):
        raise PermissionDenied(
            _("only stewards of %(publisher)s can upload its data")
            % {"publisher": dataset.publisher}
        )


def _reject(dataset: Dataset, report: ValidationReport, by: Any) -> UploadRejected:
    """Record the refusal (counts only, never values) and return the exception to raise."""
    counts = [
        {"column": column, "problem": problem, "count": count}
        for (column, problem), count in sorted(report.counts.items())
    ][:50]
    with transaction.atomic():
        record(
            EventKind.DATASET_UPLOAD_REJECTED,
            actor=by,
            organisation=dataset.publisher,
            obj=dataset,
            details={
                "pid": dataset.pid,
                "file": report.source[:120],
                "rows_read": report.rows_read,
                "problems": report.total_errors,
                "counts": counts,
            },
        )
    return UploadRejected(report)


def refuse_oversized(*, dataset: Dataset, filename: str, size: int, by: Any) -> UploadRejected:
    """The refusal of a file known to be over the limit before it was received whole (the
    web page stops reading it); recorded like every other refusal."""
    _require_steward(dataset, by)
    report = ValidationReport(source=Path(filename).name or "upload", format="")
    limit = max_upload_bytes()
    report.add(
        Problem(
            "too_large",
            f"the file has more than {limit / 1e6:.0f} MB (at least {size / 1e6:.1f} MB); "
            f"uploads are limited to {limit / 1e6:.0f} MB",
            "split the data into smaller files, or upload it as Parquet (much smaller than CSV)",
        )
    )
    return _reject(dataset, report, by)


def _materialise(source: Any, folder: Path, suffix: str) -> tuple[Path, Path | None]:
    """A path to read the upload from, and the staging copy to delete afterwards (if any)."""
    if isinstance(source, str | os.PathLike):
        return Path(source), None
    if isinstance(source, UploadedFile) and hasattr(source, "temporary_file_path"):
        return Path(source.temporary_file_path()), None
    copy = folder / f".incoming-{secrets.token_hex(8)}{suffix}"
    copy.touch(mode=0o600, exist_ok=False)  # the owner's only, like every data file
    with copy.open("wb") as handle:
        if hasattr(source, "chunks"):
            for chunk in source.chunks(_COPY_CHUNK):
                handle.write(chunk)
        else:
            shutil.copyfileobj(source, handle, _COPY_CHUNK)
    return copy, copy


def upload_version(
    *, dataset: Dataset, source: Any, filename: str, by: Any = None
) -> DatasetVersion:
    """Check ``source`` (a path, or an uploaded file) against the dataset's data dictionary
    and store it as the dataset's next version; see the module docstring for the steps.

    Raises PermissionDenied (not a steward of the publisher), ValidationError (the dataset
    has no data dictionary) and :class:`UploadRejected` (the file was refused).
    """
    _require_steward(dataset, by)
    variables = list(dataset.variables.order_by("position"))
    if not variables:
        raise ValidationError(
            _(
                "the dataset has no data dictionary yet: describe its variables before "
                "uploading data"
            )
        )
    name = Path(filename).name or "upload"
    fmt = _file_format(name)
    if fmt is None:
        report = ValidationReport(source=name, format="")
        report.add(
            Problem(
                "unsupported_format",
                f"{name!r} is neither a CSV nor a Parquet file",
                "upload a .csv file (UTF-8, with a header line) or a .parquet file",
            )
        )
        raise _reject(dataset, report, by)
    rules = field_rules(variables)
    folder = private_folder(dataset_folder(dataset))  # 0700, as the storage root if new
    staged = folder / f".staged-{secrets.token_hex(8)}.parquet"
    path, copy = _materialise(source, folder, Path(name).suffix.lower())
    try:
        report = ingest(
            path,
            rules,
            output=staged,
            fmt=fmt,
            name=name,
            max_bytes=max_upload_bytes(),
            max_rows=int(settings.DATALUX_UPLOAD_MAX_ROWS),
            max_expanded_bytes=int(settings.DATALUX_UPLOAD_MAX_EXPANDED_MB) * 1024 * 1024,
        )
        if not report.ok:
            raise _reject(dataset, report, by)
        uploaded_at = timezone.now()
        quality = profile_parquet(
            staged, rules, uploaded_at=uploaded_at, protected=dataset.is_protected
        )
        return _store(dataset, staged, variables, quality, name, uploaded_at, by)
    finally:
        staged.unlink(missing_ok=True)
        if copy is not None:
            copy.unlink(missing_ok=True)


def _store(
    dataset: Dataset,
    staged: Path,
    variables: list[Variable],
    quality: dict[str, Any],
    name: str,
    uploaded_at: Any,
    by: Any,
) -> DatasetVersion:
    final: Path | None = None
    try:
        with transaction.atomic():
            Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
            last = DatasetVersion.objects.filter(dataset=dataset).aggregate(n=Max("number"))["n"]
            number = (last or 0) + 1
            target = staged.parent / f"v{number}.parquet"
            if target.exists():
                relative = target.resolve().relative_to(Path(settings.DATALUX_STORAGE).resolve())
                if DataFile.objects.filter(relative_path=str(relative)).exists():
                    raise RuntimeError(f"{relative} is registered already: it is never replaced")
                target.unlink()  # left by a crash between the rename and the commit
            os.replace(staged, target)
            final = target
            data_file = register_data_file(
                organisation=dataset.publisher,
                table=_table_name(dataset),
                title=f"{dataset.display_title} (v{number})"[:200],
                path=target,
                columns=[
                    {
                        "name": v.name,
                        "type": storage_type(_rule(v)).lower(),
                        "description": pick_language(v.description, "en"),
                    }
                    for v in variables
                ],
                description=f"Version {number} of dataset {dataset.pid}, uploaded as {name}",
                by=by,
            )
            version = DatasetVersion.objects.create(
                dataset=dataset,
                number=number,
                data_file=data_file,
                uploaded_at=uploaded_at,
                uploaded_by=by if by is not None and by.is_authenticated else None,
                source_name=name[:255],
                quality=quality,
            )
            Dataset.objects.filter(pk=dataset.pk).update(modified=uploaded_at)
            record(
                EventKind.DATASET_VERSION_UPLOADED,
                actor=by,
                organisation=dataset.publisher,
                obj=version,
                details={
                    "pid": dataset.pid,
                    "version": number,
                    "rows": data_file.rows,
                    "data_file": data_file.pk,
                    "sha256": data_file.sha256,
                },
            )
    except BaseException:
        if final is not None:
            final.unlink(missing_ok=True)
        raise
    return version
