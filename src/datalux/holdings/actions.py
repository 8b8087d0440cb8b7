"""Register a stored data file to its holder, with its audit event."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from django.conf import settings
from django.db import transaction

from datalux.accounts.models import Organisation
from datalux.accounts.roles import OrganisationKind
from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.dataplane.storage import file_sha256
from datalux.holdings.models import DataFile


class RegistrationError(Exception):
    pass


def register_data_file(
    *,
    organisation: Organisation,
    table: str,
    title: str,
    path: Path,
    columns: list[dict[str, Any]] | None = None,
    description: str = "",
    by: Any = None,
) -> DataFile:
    """Register a Parquet file already under the storage root as the next version of ``table``."""
    storage = Path(settings.DATALUX_STORAGE).resolve()
    path = path.resolve()
    if not path.is_relative_to(storage):
        raise RegistrationError(f"{path} is not under the storage root {storage}: move it there")
    if organisation.kind != OrganisationKind.DATA_HOLDER:
        raise RegistrationError(f"{organisation} is not a data holder")
    try:
        metadata = pq.read_metadata(path)
    except (OSError, ValueError) as exc:
        raise RegistrationError(f"{path.name} is not a readable Parquet file: {exc}") from exc
    schema = metadata.schema.to_arrow_schema()
    if columns is None:
        columns = [{"name": f.name, "type": str(f.type), "description": ""} for f in schema]
    with transaction.atomic():
        last = (
            DataFile.objects.filter(organisation=organisation, table=table)
            .order_by("-version")
            .first()
        )
        data_file = DataFile.objects.create(
            organisation=organisation,
            table=table,
            version=(last.version + 1) if last else 1,
            title=title,
            description=description,
            relative_path=str(path.relative_to(storage)),
            rows=metadata.num_rows,
            columns=columns,
            sha256=file_sha256(path),
            size_bytes=path.stat().st_size,
            registered_by=by if by is not None and by.is_authenticated else None,
        )
        record(
            EventKind.DATAFILE_REGISTERED,
            actor=by,
            organisation=organisation,
            obj=data_file,
            details={"table": table, "version": data_file.version, "rows": data_file.rows},
        )
    return data_file
