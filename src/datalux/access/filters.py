"""Row filters of a dataset request, checked against the dataset's data dictionary.

A filter is ``{"variable", "op", "value"}``. The variable must be in the dictionary, the
operator must make sense for the variable's type (no ``<`` on a yes/no variable, no ranges of
free text), and every value must be of the variable's type and, where the variable uses a code
list, a code of that list: ``S720`` for an ICD-10 variable is refused with the form the list
expects (``S72.0``). Values are returned normalised (numbers as numbers, dates as ISO text), so
the same filter is stored the same way whether it came from the form, the API or a permit.

Every problem is a :class:`~django.core.exceptions.ValidationError` under the key ``filters``
whose ``params`` name the filter (``index``, from 1) and the part to fix (``field``: variable,
op or value), so a page can show it beside the row.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from datalux.access.vocabularies import FILTER_OPERATORS
from datalux.catalogue.models import Dataset, Variable
from datalux.dataplane.codelists import CodeList, UnknownCodeList, code_list

EQUALITY = ("=", "!=", "in", "is_null", "not_null")
ORDERED_TYPES = {"number", "integer", "date", "datetime", "time", "year", "yearmonth"}
NO_VALUE = ("is_null", "not_null")
# what the stored columns hold (datalux.dataplane.ingest): BIGINT whole numbers, years 0-9999
BIGINT = (-(2**63), 2**63 - 1)
YEARS = (0, 9999)
_DURATION = re.compile(r"P(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?")


class _Refused(Exception):
    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message


def operators_for(variable: Variable) -> tuple[str, ...]:
    """The operators that make sense for the variable: order comparisons only for ordered
    types (numbers, dates, times) and for codes of a classification with an order (ICD-10,
    ATC, NACE, ISCO: ranges such as S72.0 to S72.9)."""
    if variable.type in ORDERED_TYPES or _ordered_codes(variable):
        return FILTER_OPERATORS
    return EQUALITY


def _codes(variable: Variable) -> CodeList | None:
    if not variable.code_list:
        return None
    try:
        return code_list(variable.code_list)
    except UnknownCodeList:  # e.g. the national identification number: not a list of codes
        return None


def _ordered_codes(variable: Variable) -> bool:
    codes = _codes(variable)
    return codes is not None and bool(codes.pattern)


def suggest_code(codes: CodeList, text: str) -> str | None:
    """The code ``text`` most likely means (other case, spaces or point moved), if any."""
    compact = re.sub(r"[\s.]", "", text).upper()
    candidates = [text.strip(), text.strip().upper(), compact]
    candidates += [compact[:i] + "." + compact[i:] for i in (2, 3) if len(compact) > i]
    by_lower = {v.lower(): v for v in codes.values}
    candidates.append(by_lower.get(text.strip().lower(), ""))
    for candidate in candidates:
        if candidate and candidate != text and codes.contains(candidate):
            return candidate
    return None


def _number(variable: Variable, value: Any) -> int | float:
    if isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            raise _Refused(
                "value",
                _("%(name)s is a number: give a number such as 18 or 2.5, not %(value)r")
                % {"name": variable.name, "value": value}
                + (_(" (write decimals with a point)") if "," in value else ""),
            ) from None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise _Refused(
            "value",
            _("%(name)s is a number: give a number such as 18 or 2.5, not %(value)r")
            % {"name": variable.name, "value": value},
        )
    finite = value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
    if not finite or (not isinstance(value, int) and not math.isfinite(float(value))):
        raise _Refused(
            "value",
            _("%(name)s is a number: give a finite number such as 18 or 2.5, not %(value)s")
            % {"name": variable.name, "value": value},
        )
    if variable.type in ("integer", "year"):
        if value != int(value):
            raise _Refused(
                "value",
                _("%(name)s holds whole numbers: give one such as 18, not %(value)s")
                % {"name": variable.name, "value": value},
            )
        low, high = YEARS if variable.type == "year" else BIGINT
        if not low <= int(value) <= high:
            raise _Refused(
                "value",
                _("%(name)s holds whole numbers from %(low)s to %(high)s, not %(value)s")
                % {"name": variable.name, "low": low, "high": high, "value": value},
            )
        return int(value)
    return int(value) if isinstance(value, int) else float(value)


def _temporal(variable: Variable, value: Any) -> str:
    text = value.strip() if isinstance(value, str) else ""
    forms = {
        "date": ("YYYY-MM-DD", "2020-01-31"),
        "datetime": ("YYYY-MM-DDTHH:MM", "2020-01-31T08:00"),
        "time": ("HH:MM", "08:30"),
        "yearmonth": ("YYYY-MM", "2020-01"),
    }
    shape, example = forms[variable.type]
    try:
        if variable.type == "date" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text).isoformat()
        if variable.type == "datetime" and re.match(r"\d{4}-\d{2}-\d{2}", text):
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is not None:  # stored as UTC without an offset
                moment = moment.astimezone(UTC).replace(tzinfo=None)
            return moment.isoformat()
        if variable.type == "time" and re.fullmatch(r"\d{2}:\d{2}(:\d{2})?", text):
            return time.fromisoformat(text).isoformat()
        if variable.type == "yearmonth" and re.fullmatch(r"\d{4}-\d{2}", text):
            date.fromisoformat(text + "-01")
            return text
    except ValueError:
        pass
    raise _Refused(
        "value",
        _("%(name)s is a %(type)s: write it as %(shape)s, e.g. %(example)s, not %(value)r")
        % {
            "name": variable.name,
            "type": variable.type,
            "shape": shape,
            "example": example,
            "value": value,
        },
    )


def _text(variable: Variable, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _Refused(
            "value",
            _("%(name)s holds text: give a text value, not %(value)r")
            % {"name": variable.name, "value": value},
        )
    text = str(value)
    codes = _codes(variable)
    if codes is not None and not codes.contains(text):
        better = suggest_code(codes, text)
        if better:
            message = _("%(value)r is not a valid code of %(list)s; write it as %(better)s") % {
                "value": text,
                "list": codes.title,
                "better": better,
            }
        else:
            message = _("%(value)r is not a code of %(list)s") % {
                "value": text,
                "list": codes.describe(),
            }
        raise _Refused("value", message)
    return text


def _stored_text(variable: Variable, value: Any) -> str:
    """A value of a variable stored as text of a given form: an ISO 8601 duration, a JSON
    object or array, or anything (``any``: a text or a number, compared as text)."""
    if variable.type == "any":
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise _Refused(
                "value",
                _("%(name)s: give a text or a number, not %(value)r")
                % {"name": variable.name, "value": value},
            )
        return str(value)
    text = value.strip() if isinstance(value, str) else None
    if variable.type == "duration":
        if (
            text
            and text not in ("P", "PT")
            and not text.endswith("T")
            and _DURATION.fullmatch(text)
        ):
            return text
        raise _Refused(
            "value",
            _("%(name)s is a duration: write it in ISO 8601, e.g. P3D or PT2H30M, not %(value)r")
            % {"name": variable.name, "value": value},
        )
    kind = dict if variable.type == "object" else list
    try:
        parsed = json.loads(text) if text is not None else None
    except ValueError:
        parsed = None
    if not isinstance(parsed, kind):
        example = '{"a": 1}' if kind is dict else "[1, 2]"
        raise _Refused(
            "value",
            _("%(name)s holds JSON %(kind)s: write one as text, e.g. %(example)s, not %(value)r")
            % {
                "name": variable.name,
                "kind": _("objects") if kind is dict else _("arrays"),
                "example": example,
                "value": value,
            },
        )
    return str(text)


def _boolean(variable: Variable, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise _Refused(
        "value",
        _("%(name)s is yes or no: give true or false, not %(value)r")
        % {"name": variable.name, "value": value},
    )


def check_value(variable: Variable, value: Any) -> Any:
    """One value of a filter on ``variable``, normalised; raises _Refused when it does not fit."""
    if variable.type in ("number", "integer", "year"):
        clean: Any = _number(variable, value)
    elif variable.type in ("date", "datetime", "time", "yearmonth"):
        clean = _temporal(variable, value)
    elif variable.type == "boolean":
        clean = _boolean(variable, value)
    elif variable.type == "string":
        clean = _text(variable, value)
    elif variable.type in ("duration", "object", "array", "any"):
        clean = _stored_text(variable, value)
    else:  # a type the dictionary does not know (refused when it is described)
        raise _Refused(
            "value",
            _("%(name)s has the type %(type)s, which no filter can check")
            % {"name": variable.name, "type": variable.type},
        )
    if variable.allowed_values and clean not in variable.allowed_values:
        raise _Refused(
            "value",
            _("%(value)r is not one of the values of %(name)s: %(allowed)s")
            % {
                "value": clean,
                "name": variable.name,
                "allowed": ", ".join(str(v) for v in variable.allowed_values[:20]),
            },
        )
    return clean


def _check_one(variables: dict[str, Variable], dataset: Dataset, item: Any) -> dict[str, Any]:
    if not isinstance(item, dict) or set(item) - {"variable", "op", "value"}:
        raise _Refused("variable", _("use the keys variable, op, value"))
    name, op, value = item.get("variable"), item.get("op"), item.get("value")
    variable = variables.get(name) if isinstance(name, str) else None
    if variable is None:
        raise _Refused(
            "variable",
            _("%(name)r is not a variable of %(pid)s") % {"name": name, "pid": dataset.pid},
        )
    if op not in FILTER_OPERATORS:
        raise _Refused(
            "op",
            _("operator %(op)r unknown; use %(ops)s")
            % {"op": op, "ops": ", ".join(FILTER_OPERATORS)},
        )
    allowed = operators_for(variable)
    if op not in allowed:
        raise _Refused(
            "op",
            _("%(op)r does not apply to %(name)s (%(type)s); use %(ops)s")
            % {"op": op, "name": variable.name, "type": variable.type, "ops": ", ".join(allowed)},
        )
    if op in NO_VALUE:
        return {"variable": name, "op": op, "value": None}
    if op == "in" and not (isinstance(value, list) and value):
        raise _Refused("value", _("'in' needs a non-empty list"))
    if op == "between" and not (isinstance(value, list) and len(value) == 2):
        raise _Refused("value", _("'between' needs [low, high]"))
    if op not in ("in", "between") and (value is None or isinstance(value, list | dict)):
        raise _Refused("value", _("%(op)r needs one value") % {"op": op})
    if isinstance(value, list):
        clean: Any = [check_value(variable, v) for v in value]
        if op == "between" and clean[0] > clean[1]:
            raise _Refused(
                "value",
                _("'between' needs the low value first: %(low)s is above %(high)s")
                % {"low": clean[0], "high": clean[1]},
            )
    else:
        clean = check_value(variable, value)
    return {"variable": name, "op": op, "value": clean}


def check_filters(dataset: Dataset, filters: Any) -> list[dict[str, Any]]:
    """Row filters on variables of the dataset's dictionary, normalised; every filter that does
    not fit is refused with its number, the part to fix and what to write instead."""
    if filters in (None, ""):
        return []
    if not isinstance(filters, list):
        raise ValidationError(
            {"filters": _('give a list like [{"variable": "age", "op": ">=", "value": 18}]')}
        )
    variables = {v.name: v for v in dataset.variables.all()}
    clean: list[dict[str, Any]] = []
    problems: list[ValidationError] = []
    for index, item in enumerate(filters, start=1):
        try:
            clean.append(_check_one(variables, dataset, item))
        except _Refused as refused:
            problems.append(
                ValidationError(
                    # Escaped: Django formats a message that has params with them.
                    (
                        _("filter %(index)d: %(message)s")
                        % {"index": index, "message": refused.message}
                    ).replace("%", "%%"),
                    code="filter",
                    params={"index": index, "field": refused.field},
                )
            )
    if problems:
        raise ValidationError({"filters": problems})
    return clean
