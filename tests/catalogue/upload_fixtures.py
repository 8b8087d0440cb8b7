"""A dataset with a data dictionary, and CSV text that matches it, for the upload tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from datalux.privacy.national_id import make_national_id
from tests.factories.catalogue import DatasetFactory, VariableFactory

NIDS = [make_national_id(dt.date(1970 + i, 1 + i % 12, 1 + i % 28), i) for i in range(20)]
HEADER = "stay_id,national_id,commune,admitted,cost"


def csv_text(rows: int = 5, *, extra: str = "") -> str:
    lines = [HEADER]
    communes = ["Luxembourg", "Dippach", "Esch-sur-Alzette", "Garnich"]
    for i in range(rows):
        admitted = "NA" if i == 2 else f"2024-0{1 + i % 9}-1{i % 10}"
        lines.append(f"{i + 1},{NIDS[i % len(NIDS)]},{communes[i % 4]},{admitted},{100 + i}.5")
    return "\n".join(lines) + "\n" + extra


def make_dataset(**fields: Any) -> Any:
    """A dataset of a data holder (published unless told), with a five-variable dictionary."""
    ds = DatasetFactory(**fields)
    for position, (name, ftype, extra) in enumerate(
        [
            ("stay_id", "integer", {"required": True}),
            (
                "national_id",
                "string",
                {"code_list": "national-id", "privacy_role": "direct_identifier"},
            ),
            ("commune", "string", {"code_list": "communes-lu", "privacy_role": "quasi_identifier"}),
            ("admitted", "date", {"missing_values": ["", "NA"]}),
            ("cost", "number", {"unit": "EUR"}),
        ],
        start=1,
    ):
        VariableFactory(dataset=ds, position=position, name=name, type=ftype, **extra)
    return ds
