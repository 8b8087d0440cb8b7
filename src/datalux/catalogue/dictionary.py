"""The data dictionary as a Frictionless Table Schema (https://specs.frictionlessdata.io/table-schema/).

A dataset's dictionary is a Table Schema whose fields carry datalux extensions:
``unit``, ``codeList`` (a key of ``vocabularies.CODE_LISTS``), ``privacyRole``, ``period``
(true on the one date variable that a permit's period applies to), ``linkageKind`` (what the
variable says of who the record is, for linking a table without national numbers; one variable
per kind) and multilingual ``labels`` / ``descriptions``. This module checks a descriptor and
converts it to and from :class:`~datalux.catalogue.models.Variable` rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from datalux.catalogue.vocabularies import CODE_LISTS, LANGUAGES, LinkageKind, PrivacyRole

FIELD_TYPES = {
    "string",
    "number",
    "integer",
    "boolean",
    "date",
    "datetime",
    "time",
    "year",
    "yearmonth",
    "duration",
    "object",
    "array",
    "any",
}


PERIOD_TYPES = {"date", "datetime"}


class DictionaryError(ValueError):
    """The Table Schema is not valid; ``problems`` lists each one with its location."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("the data dictionary is not valid: " + "; ".join(problems))


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    label: dict[str, str]
    description: dict[str, str]
    unit: str
    code_list: str
    allowed_values: list[Any]
    missing_values: list[str]
    required: bool
    privacy_role: str
    period: bool = False
    linkage_kind: str = ""


def _texts(field: dict[str, Any], single: str, plural: str) -> dict[str, str]:
    texts = dict(field.get(plural) or {})
    if field.get(single) and "en" not in texts:
        texts["en"] = str(field[single])
    return {k: str(v) for k, v in texts.items() if k in LANGUAGES and v}


def parse_table_schema(descriptor: Any) -> list[FieldSpec]:
    """Check a Table Schema descriptor; raise DictionaryError listing every problem found."""
    problems: list[str] = []
    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("fields"), list):
        raise DictionaryError(['the descriptor must be an object with a "fields" list'])
    if not descriptor["fields"]:
        raise DictionaryError(["the schema has no fields: describe at least one variable"])
    schema_missing = descriptor.get("missingValues", [""])
    specs: list[FieldSpec] = []
    seen: set[str] = set()
    periods: list[str] = []
    linkage_kinds: dict[str, list[str]] = {}
    for index, field in enumerate(descriptor["fields"], start=1):
        where = f"field {index}"
        if not isinstance(field, dict):
            problems.append(f"{where}: must be an object")
            continue
        name = field.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.append(f"{where}: has no name")
            continue
        where = f"field {index} ({name})"
        if name in seen:
            problems.append(f"{where}: the name is used twice")
        seen.add(name)
        ftype = field.get("type", "string")
        if ftype not in FIELD_TYPES:
            problems.append(
                f"{where}: unknown type {ftype!r} (use one of {', '.join(sorted(FIELD_TYPES))})"
            )
        # No privacyRole: the steward has not decided; a quasi-identifier is the safer guess.
        role = field.get("privacyRole", PrivacyRole.QUASI_IDENTIFIER)
        if role not in PrivacyRole.values:
            problems.append(
                f"{where}: privacyRole {role!r} is not one of {', '.join(PrivacyRole.values)}"
            )
        code_list = field.get("codeList", "")
        if code_list and code_list not in CODE_LISTS:
            problems.append(
                f"{where}: codeList {code_list!r} is unknown (known: {', '.join(CODE_LISTS)})"
            )
        constraints = field.get("constraints") or {}
        if not isinstance(constraints, dict):
            problems.append(f"{where}: constraints must be an object")
            constraints = {}
        allowed = constraints.get("enum", [])
        if not isinstance(allowed, list):
            problems.append(f"{where}: constraints.enum must be a list")
            allowed = []
        missing = field.get("missingValues", schema_missing)
        period = field.get("period", False)
        if not isinstance(period, bool):
            problems.append(f"{where}: period must be true or false")
            period = False
        if period:
            periods.append(name)
            if ftype not in PERIOD_TYPES:
                problems.append(
                    f"{where}: period is set, but a permitted period applies to a date; the "
                    f"type is {ftype}"
                )
        linkage_kind = field.get("linkageKind", "")
        if linkage_kind and linkage_kind not in LinkageKind.values:
            problems.append(
                f"{where}: linkageKind {linkage_kind!r} is not one of "
                f"{', '.join(LinkageKind.values)}"
            )
            linkage_kind = ""
        elif linkage_kind:
            linkage_kinds.setdefault(linkage_kind, []).append(name)
        specs.append(
            FieldSpec(
                name=name,
                type=ftype,
                label=_texts(field, "title", "labels"),
                description=_texts(field, "description", "descriptions"),
                unit=str(field.get("unit", "")),
                code_list=code_list,
                allowed_values=allowed,
                missing_values=[str(m) for m in missing],
                required=bool(constraints.get("required", False)),
                privacy_role=role,
                period=period,
                linkage_kind=linkage_kind,
            )
        )
    if len(periods) > 1:
        problems.append(
            f"period is set on {', '.join(periods)}: set it on the one date a permitted period "
            "applies to"
        )
    for kind, names in linkage_kinds.items():
        if len(names) > 1:
            problems.append(
                f"linkageKind {kind} is set on {', '.join(names)}: set each kind on one "
                "variable only"
            )
    if problems:
        raise DictionaryError(problems)
    return specs


def to_table_schema(variables: Any) -> dict[str, Any]:
    """The dictionary of a dataset (its Variable rows) as a Table Schema descriptor."""
    fields = []
    for v in variables:
        field: dict[str, Any] = {"name": v.name, "type": v.type}
        if v.label:
            field["title"] = v.label.get("en") or next(iter(v.label.values()))
            field["labels"] = v.label
        if v.description:
            field["description"] = v.description.get("en") or next(iter(v.description.values()))
            field["descriptions"] = v.description
        if v.unit:
            field["unit"] = v.unit
        if v.code_list:
            field["codeList"] = v.code_list
        constraints: dict[str, Any] = {}
        if v.required:
            constraints["required"] = True
        if v.allowed_values:
            constraints["enum"] = v.allowed_values
        if constraints:
            field["constraints"] = constraints
        if v.missing_values:
            field["missingValues"] = v.missing_values
        field["privacyRole"] = v.privacy_role
        if v.period:
            field["period"] = True
        if v.linkage_kind:
            field["linkageKind"] = v.linkage_kind
        fields.append(field)
    return {"fields": fields}


def data_mismatches(
    fields: list[tuple[str, str]], columns: list[dict[str, Any]], version: int
) -> list[str]:
    """How a dictionary (``(name, type)`` of each variable) differs from the columns of a stored
    data version (``[{"name", "type"}]``, DuckDB types as the holdings register keeps them):
    one line per column missing on either side or stored as another type; [] when they match."""
    from datalux.dataplane.ingest import FIELD_TYPES as STORAGE_TYPES

    stored = {str(c.get("name")): str(c.get("type", "")).lower() for c in columns}
    described = dict(fields)
    problems: list[str] = []
    for name, ftype in fields:
        expected = STORAGE_TYPES.get(ftype, "VARCHAR").lower()
        if name not in stored:
            problems.append(f"{name}: in the dictionary but not in data version {version}")
        elif stored[name] != expected:
            problems.append(
                f"{name}: the dictionary says {ftype} ({expected}) but data version {version} "
                f"stores {stored[name]}"
            )
    for name in stored:
        if name not in described:
            problems.append(f"{name}: in data version {version} but not in the dictionary")
    return problems
