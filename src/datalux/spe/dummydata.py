"""The dummy data of a permit: what :mod:`datalux.dataplane.dummy` makes from metadata alone.

The specification comes from what the permit holder may already see: the extract's manifest
(tables, columns, row counts) once it is prepared, or the permit's plan before; each column's
dictionary entry (type, code list, allowed values, unit); the published quality profile of the
holder's data version (missingness, the coarsened ranges shown to everyone, uniqueness). No
record is read, so dummy data cost no privacy budget and can be downloaded.

Date columns whose names say they follow another (``discharge``/``end``/``death`` after
``admission``/``start``/``birth`` in the same table) keep that order, the dependency analysis
code most often relies on.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings

from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.dataplane.codelists import UnknownCodeList, code_list
from datalux.dataplane.dummy import ColumnSpec, DummySpec, TableSpec, write_dummy
from datalux.dataplane.extract import PERSON_ID

MAX_DUMMY_ROWS = 5_000
# (later, earlier, most days between): a column named with the first follows its partner
_ORDER_WORDS = (
    ("discharge", "admission", 30),  # a hospital stay: days, rarely weeks
    ("end", "start", 3 * 365),
    ("death", "birth", 100 * 365),
    ("exit", "entry", 3 * 365),
    ("to", "from", 365),
    ("stop", "start", 365),
)


def dummy_dir(permit: Any) -> Path:
    return (
        Path(settings.DATALUX_STORAGE) / "spe" / permit.number / "workspace" / "dummy"
        / f"v{permit.version}"
    )  # fmt: skip


def ensure_dummy(permit: Any, *, by: Any = None) -> Path:
    """The dummy data of the permit's current version, made once (audited when made)."""
    folder = dummy_dir(permit)
    if (folder / "dummy-manifest.json").is_file():
        return folder
    spec = spec_for(permit)
    staging = folder.with_name(f".{folder.name}.making")
    if staging.exists():
        import shutil

        shutil.rmtree(staging)
    write_dummy(spec, staging, max_rows=MAX_DUMMY_ROWS)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(folder)
    record(
        EventKind.DUMMY_GENERATED,
        actor=by,
        organisation=permit.organisation,
        obj=permit,
        details={"version": permit.version, "tables": [t.name for t in spec.tables]},
    )
    return folder


def dummy_zip(permit: Any, *, by: Any) -> bytes:
    """The dummy data as one zip (for the researcher's own machine), audited."""
    folder = ensure_dummy(permit, by=by)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    record(
        EventKind.DUMMY_DOWNLOADED,
        actor=by,
        organisation=permit.organisation,
        obj=permit,
        details={"version": permit.version},
    )
    return buffer.getvalue()


def spec_for(permit: Any) -> DummySpec:
    tables = [_table_spec(t) for t in _tables(permit)]
    seed = int.from_bytes(f"{permit.number}/{permit.version}".encode()[-8:], "big")
    return DummySpec(tables=tuple(tables), seed=seed, reference_day=date.today())


def _tables(permit: Any) -> list[dict[str, Any]]:
    """[{name, file, rows, columns, about}] from the manifest, or the plan before it exists."""
    extract = permit.preparations.filter(version=permit.version, state="ready").first()
    if extract is not None and extract.manifest:
        return [
            {"name": t["name"], "file": t["file"], "rows": t["rows"], "columns": t["columns"],
             "about": t.get("about", {})}
            for t in extract.manifest["tables"]
        ]  # fmt: skip
    from datalux.spe.plan import plan_for

    tables = []
    for table in plan_for(permit).tables:
        dropped = {table.national_id, *table.direct_identifiers}
        columns = [v for v in table.variables if v not in dropped]
        if table.has_persons:
            columns = [PERSON_ID, *columns]
        about = dict(table.about)
        tables.append(
            {"name": table.name, "file": f"{table.name}.parquet", "rows": _rows_of(about),
             "columns": columns, "about": about}
        )  # fmt: skip
    return tables


def _rows_of(about: dict[str, Any]) -> int:
    profile = _profile(about)
    return int(profile.get("rows") or 1000)


def _profile(about: dict[str, Any]) -> dict[str, Any]:
    from datalux.catalogue.models import DatasetVersion

    # the *published* profile (coarsened extremes of quasi-identifiers and sensitive variables
    # of a protected dataset), never the exact one: the dummy data leaves the platform
    version = (
        DatasetVersion.objects.select_related("dataset")
        .filter(dataset__pid=about.get("dataset", ""), number=about.get("holder_version", 0))
        .first()
    )
    return version.published_quality if version is not None and version.quality else {}


def _table_spec(table: dict[str, Any]) -> TableSpec:
    from datalux.catalogue.models import Variable

    about = table["about"]
    dictionary = about.get("dictionary", {})
    profile = {v["name"]: v for v in _profile(about).get("variables", [])}
    variables = {v.name: v for v in Variable.objects.filter(dataset__pid=about.get("dataset", ""))}
    columns = []
    names = list(table["columns"])
    for name in names:
        if name == PERSON_ID:
            national = next((p for p in profile.values() if p.get("type") and
                             variables.get(p["name"]) and
                             variables[p["name"]].code_list == "national-id"), None)  # fmt: skip
            unique = bool(national and (national.get("uniqueness") or 0) >= 0.999)
            columns.append(ColumnSpec(PERSON_ID, person=True, unique=unique))
            continue
        entry = dictionary.get(name, {})
        variable = variables.get(name)
        stats = profile.get(name, {})
        kind = entry.get("type") or (variable.type if variable else "string")
        kind = kind if kind in {"string", "integer", "number", "boolean", "date", "datetime",
                                "year"} else "string"  # fmt: skip
        values = tuple(variable.allowed_values) if variable and variable.allowed_values else ()
        code = entry.get("code_list") or (variable.code_list if variable else "")
        if not values and code:
            try:
                listed = code_list(code)
            except UnknownCodeList:
                listed = None
            if listed is not None:
                values = tuple(sorted(listed.values)) if listed.exact else listed.examples
        completeness = stats.get("completeness")
        missing = 0.0 if completeness is None else max(0.0, min(1.0, 1 - float(completeness)))
        after, gap = (
            _earlier_partner(name, names, dictionary)
            if kind in {"date", "datetime"}
            else (None, None)
        )
        columns.append(
            ColumnSpec(
                name, kind, values=values,
                low=None if after else stats.get("min"), high=None if after else stats.get("max"),
                missing=round(missing, 3),
                unique=bool(not values and (stats.get("uniqueness") or 0) >= 0.999
                            and stats.get("distinct", 0) > 1 and kind in {"string", "integer"}),
                after=after, max_gap=gap,
            )
        )  # fmt: skip
    return TableSpec(
        name=table["name"], file=table["file"], rows=int(table["rows"]), columns=tuple(columns)
    )


def _earlier_partner(
    name: str, names: list[str], dictionary: dict[str, Any]
) -> tuple[str | None, int | None]:
    """The date column ``name`` follows (by their names), and the most days between them."""
    lowered = name.lower()
    for later, earlier, days in _ORDER_WORDS:
        if later in lowered.split("_") or lowered.startswith(later):
            partner_name = lowered.replace(later, earlier, 1)
            for other in names:
                if other != name and other.lower() == partner_name:
                    if dictionary.get(other, {}).get("type") in {"date", "datetime"}:
                        return other, days
    return None, None
