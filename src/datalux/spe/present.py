"""An extract's manifest as the pages show it: columns with their dictionary entries in the
reader's language (the manifest keeps every language; it never holds an identifier)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from datalux.catalogue.models import pick_language

__all__ = ["extract_tables"]


def extract_tables(manifest: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The manifest's tables with their columns described in the reader's language."""
    tables = []
    for table in (manifest or {}).get("tables", []):
        about = table.get("about", {})
        dictionary = about.get("dictionary", {})
        columns = []
        for name in table["columns"]:
            entry = dictionary.get(name, {})
            if name == "person_id":
                label = _("Person pseudonym of this project")
                description = _(
                    "The same person has the same pseudonym in every table of this project "
                    "and a different one in any other project."
                )
            else:
                label = pick_language(entry.get("label")) or name
                description = pick_language(entry.get("description"))
            columns.append(
                {
                    "name": name,
                    "label": label,
                    "description": description,
                    "type": entry.get("type", "string"),
                    "unit": entry.get("unit", ""),
                }
            )
        tables.append(
            {
                **table,
                "title": pick_language(about.get("title")) or table["name"],
                "dataset": about.get("dataset", ""),
                "holder": about.get("holder", ""),
                "holder_version": about.get("holder_version"),
                "column_entries": columns,
            }
        )
    return tables
