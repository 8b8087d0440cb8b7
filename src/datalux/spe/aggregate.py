"""The aggregate-only query service of permits of the *aggregate* form (or whose output rules
say ``aggregate_only``): counts, sums, means, cross-tabulations and quantiles, released only
after the disclosure checks or with differential privacy, never a row.

The researcher sends a typed request (:class:`AggregateSpec`), never SQL: a table of the
permit's data, a statistic, a value column, up to three grouping columns, the method. It is
checked against the table's columns (identifiers and pseudonyms such as ``person_id`` are
refused), computed by :mod:`datalux.spe.aggregate_compute` on the data of
:mod:`datalux.spe.aggregate_data`, stored as an :class:`~datalux.spe.models.AggregateQuery`
and audited (``aggregate.query_run``; every refusal ``aggregate.query_refused``, or
``access.denied`` when the person may not work with the permit's data now).

A DP query spends the project's privacy budget: an append-only, hash-chained ledger at
``<storage>/spe/<permit>/budget.jsonl`` (:class:`~datalux.privacy.disclosure.LedgerFile`),
made on the first DP query with the permit's output rules ``epsilon`` and ``delta`` when it
has them, else :data:`DEFAULT_EPSILON` and 0 (:mod:`datalux.spe.aggregate_budget`: a later
change of the totals is appended to the ledger, never a reset). A query the budget cannot pay
is refused before any noise is drawn.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from datalux.access.models import Permit
from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.core.errors import Conflict
from datalux.dataplane.extract import PERSON_ID
from datalux.privacy.disclosure import BudgetExceededError
from datalux.privacy.errors import PrivacyError
from datalux.spe import aggregate_compute as compute
from datalux.spe import aggregate_history as history
from datalux.spe.aggregate_budget import (
    DEFAULT_EPSILON,
    budget_ledger,
    budget_state,
    ledger_path,
    total_epsilon,
)
from datalux.spe.aggregate_data import Column, DataSource, SourceTable, Unavailable, source_for
from datalux.spe.aggregate_history import Refused
from datalux.spe.models import AggregateMethod, AggregateQuery, AggregateStatus
from datalux.spe.workspaces import check_access

__all__ = [
    "DEFAULT_EPSILON",
    "AggregateSpec",
    "NotAggregate",
    "budget_ledger",
    "budget_state",
    "is_aggregate",
    "ledger_path",
    "require_service",
    "run_aggregate",
    "total_epsilon",
]

STATISTICS = ("count", "sum", "mean", "quantile")
METHODS = tuple(AggregateMethod.values)
MAX_BY = 3
MAX_LEVELS = 100  # levels named per grouping column of a DP table
MAX_ROWS_PER_PERSON = 10
#: Names that identify a person (or are a pseudonym), never a grouping or value column.
IDENTIFIERS = frozenset(
    {PERSON_ID, "national_id", "matricule", "ssn", "record_id", "patient_id", "name",
     "given_name", "surname", "full_name", "email", "address", "street_address", "birth_date",
     "date_of_birth", "datalux_national_id", "datalux_linked_national_id",
     "datalux_linked_record_key"}
)  # fmt: skip


class NotAggregate(Conflict):
    """The permit is not of the aggregate form: it gives a workspace instead."""


def is_aggregate(permit: Permit) -> bool:
    return permit.aggregate_only


def _invalid(field_name: str, message: str) -> ValidationError:
    return ValidationError({field_name: message})


def _text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _invalid(key, _("%(key)s must be a column name (text)") % {"key": key})
    return value.strip()[:200] or None


def _number(data: Mapping[str, Any], key: str) -> float | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _invalid(key, _("%(key)s must be a number") % {"key": key})
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _invalid(key, _("%(key)s must be a number") % {"key": key}) from None
    if not math.isfinite(number):
        raise _invalid(key, _("%(key)s must be a finite number") % {"key": key})
    return number


def _level(value: Any) -> str:
    """A level as the data's text form (as Arrow casts values to text)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


@dataclass(frozen=True)
class AggregateSpec:
    """One request to the service. ``value`` is the numeric column of a sum, mean or
    quantile; ``by`` up to three grouping columns; ``q`` the quantile in (0, 1). A ``dp``
    request gives ``epsilon``, ``bounds`` (lower, upper) for a sum or mean, the ``levels`` of
    each grouping column and ``max_rows_per_person``. ``join`` names a second table of a
    permit that links its datasets, joined on ``person_id`` (inner): its columns may be
    grouped or summed as the first table's (``table.column`` where both have the name)."""

    table: str
    statistic: str
    value: str | None = None
    by: tuple[str, ...] = ()
    q: float | None = None
    method: str = "checked"
    epsilon: float | None = None
    bounds: tuple[float, float] | None = None
    levels: dict[str, list[str]] = field(default_factory=dict)
    max_rows_per_person: int = 1
    join: str | None = None

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> AggregateSpec:
        """Parse a request (the API's body or the form's fields); :class:`ValidationError`
        names the field and what to fix."""
        known = {"table", "statistic", "value", "by", "q", "method", "epsilon", "bounds",
                 "levels", "max_rows_per_person", "join"}  # fmt: skip
        unknown = sorted(set(data) - known)
        if unknown:
            raise _invalid(
                "__all__",
                _("unknown field(s) %(names)s; use %(known)s")
                % {"names": ", ".join(unknown[:10]), "known": ", ".join(sorted(known))},
            )
        table = _text(data, "table")
        if table is None:
            raise _invalid("table", _("choose a table of the permit's data"))
        join = _text(data, "join")
        if join == table:
            raise _invalid("join", _("join another table than %(table)s") % {"table": table})
        statistic = _text(data, "statistic") or "count"
        if statistic not in STATISTICS:
            raise _invalid(
                "statistic",
                _("choose a statistic: %(choices)s") % {"choices": ", ".join(STATISTICS)},
            )
        method = _text(data, "method") or "checked"
        if method not in METHODS:
            raise _invalid("method", _("choose the method checked or dp"))
        raw_by = data.get("by") or []
        if isinstance(raw_by, str):
            raw_by = [b for b in raw_by.split(",")]
        if not isinstance(raw_by, (list, tuple)) or not all(isinstance(b, str) for b in raw_by):
            raise _invalid("by", _("by is a list of column names"))
        by = tuple(b.strip() for b in raw_by if b.strip())
        if len(by) > MAX_BY:
            raise _invalid(
                "by", _("group by at most %(n)s columns, not %(m)s") % {"n": MAX_BY, "m": len(by)}
            )
        if len(set(by)) != len(by):
            raise _invalid("by", _("a grouping column is named twice"))
        value = _text(data, "value")
        q = _number(data, "q")
        if statistic == "count" and value is not None:
            raise _invalid("value", _("a count takes no value column: leave value empty"))
        if statistic != "count" and value is None:
            raise _invalid(
                "value",
                _("a %(statistic)s needs a numeric value column") % {"statistic": statistic},
            )
        if value is not None and value in by:
            raise _invalid("value", _("the value column is also a grouping column"))
        if statistic == "quantile":
            if q is None or not 0 < q < 1:
                raise _invalid(
                    "q", _("a quantile needs q between 0 and 1, e.g. 0.5 for the median")
                )
        elif q is not None:
            raise _invalid("q", _("q is for quantiles only: leave it empty"))
        epsilon = _number(data, "epsilon")
        bounds = _bounds(data.get("bounds"))
        levels = _levels(data.get("levels"))
        per_person = data.get("max_rows_per_person") or 1
        if isinstance(per_person, str) and per_person.strip().isdigit():
            per_person = int(per_person)
        if method == AggregateMethod.DP:
            if statistic == "quantile":
                raise _invalid("method", _("quantiles are released with the method checked only"))
            if epsilon is None or epsilon <= 0:
                raise _invalid("epsilon", _("a DP query needs epsilon > 0, e.g. 0.1"))
            if statistic in ("sum", "mean") and bounds is None:
                raise _invalid(
                    "bounds",
                    _("a DP %(statistic)s needs bounds [lower, upper] of the value, e.g. [0, 120]")
                    % {"statistic": statistic},
                )
            missing = [b for b in by if not levels.get(b)]
            if missing:
                raise _invalid(
                    "levels",
                    _(
                        "a DP table's cells must not come from the data: name the levels of "
                        "%(columns)s (e.g. diagnosis: I50.0, S72.0)"
                    )
                    % {"columns": ", ".join(missing)},
                )
            extra = sorted(set(levels) - set(by))
            if extra:
                raise _invalid(
                    "levels",
                    _("levels are given for %(columns)s, which the query does not group by")
                    % {"columns": ", ".join(extra)},
                )
            if (
                isinstance(per_person, bool)
                or not isinstance(per_person, int)
                or not 1 <= per_person <= MAX_ROWS_PER_PERSON
            ):
                raise _invalid(
                    "max_rows_per_person",
                    _("max_rows_per_person is a whole number from 1 to %(n)s")
                    % {"n": MAX_ROWS_PER_PERSON},
                )
        else:
            for name, given in (("epsilon", epsilon), ("bounds", bounds), ("levels", levels)):
                if given:
                    raise _invalid(
                        name,
                        _("%(name)s is for the method dp only: leave it empty") % {"name": name},
                    )
            per_person = 1
        return cls(
            table=table, statistic=statistic, value=value, by=by, q=q, method=method,
            epsilon=epsilon, bounds=bounds, levels=levels, max_rows_per_person=per_person,
            join=join,
        )  # fmt: skip

    def check(self, table: SourceTable) -> None:
        """Refuse identifiers, unknown and non-numeric columns of ``table``."""
        for name in (*self.by, *([self.value] if self.value else [])):
            if name.lower() in IDENTIFIERS or name.rsplit(".", 1)[-1].lower() in IDENTIFIERS:
                where = "value" if name == self.value else "by"
                raise _invalid(
                    where,
                    _(
                        "%(column)s identifies persons (an identifier or pseudonym): it is never "
                        "grouped or summed; choose another column"
                    )
                    % {"column": name},
                )
        usable = [c.name for c in table.columns if c.name.lower() not in IDENTIFIERS]
        unknown = [b for b in self.by if table.column(b) is None]
        if unknown:
            raise _invalid(
                "by",
                _("%(table)s has no column %(columns)s; its columns: %(known)s")
                % {"table": table.name, "columns": ", ".join(unknown), "known": ", ".join(usable)},
            )
        if self.value is not None:
            column = table.column(self.value)
            if column is None:
                raise _invalid(
                    "value",
                    _("%(table)s has no column %(column)s; its columns: %(known)s")
                    % {"table": table.name, "column": self.value, "known": ", ".join(usable)},
                )
            if not column.numeric:
                numeric = [c.name for c in table.columns if c.numeric and c.name in usable]
                raise _invalid(
                    "value",
                    _("%(column)s is not numeric; numeric columns: %(known)s")
                    % {"column": self.value, "known": ", ".join(numeric) or "-"},
                )
        if self.method == AggregateMethod.DP:
            for b, values in self.levels.items():
                if len(values) > MAX_LEVELS:
                    raise _invalid(
                        "levels",
                        _("name at most %(n)s levels of %(column)s")
                        % {"n": MAX_LEVELS, "column": b},
                    )

    def as_data(self) -> dict[str, Any]:
        data = asdict(self)
        data["by"] = list(self.by)
        data["bounds"] = list(self.bounds) if self.bounds else None
        return data


def _bounds(value: Any) -> tuple[float, float] | None:
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str):
        value = [v for v in value.replace(";", ",").split(",") if v.strip()]
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise _invalid("bounds", _("bounds are two numbers [lower, upper], e.g. [0, 120]"))
    low, high = (_number({"bounds": v}, "bounds") for v in value)
    if low is None or high is None or low >= high:
        raise _invalid("bounds", _("bounds need lower < upper, e.g. [0, 120]"))
    return low, high


def _levels(value: Any) -> dict[str, list[str]]:
    if value is None or value == "" or value == {}:
        return {}
    if isinstance(value, str):  # the form: one "column: a, b, c" per line
        parsed: dict[str, list[str]] = {}
        for line in value.splitlines():
            if not line.strip():
                continue
            column, sep, rest = line.partition(":")
            if not sep or not column.strip():
                raise _invalid("levels", _("write one line per column: column: level, level, ..."))
            parsed[column.strip()] = [v for v in rest.split(",") if v.strip()]
        value = parsed
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, (list, tuple)) for k, v in value.items()
    ):
        raise _invalid("levels", _('levels map each grouping column to a list: {"column": [...]}'))
    out: dict[str, list[str]] = {}
    for column, items in value.items():
        if len(items) > MAX_LEVELS:
            raise _invalid(
                "levels",
                _("name at most %(n)s levels of %(column)s") % {"n": MAX_LEVELS, "column": column},
            )
        names = list(dict.fromkeys(_level(v) for v in items if v is not None and _level(v)))
        if not names:
            raise _invalid(
                "levels", _("name at least one level of %(column)s") % {"column": column}
            )
        out[column.strip()] = names
    return out


# --- the action ----------------------------------------------------------------------------


def _safe(data: Mapping[str, Any]) -> dict[str, Any]:
    """What of a refused request is kept: the known fields, short."""

    def short(v: Any) -> Any:
        if isinstance(v, (int, float, bool)) or v is None:
            return v
        if isinstance(v, (list, tuple)):
            return [short(x) for x in list(v)[:20]]
        if isinstance(v, Mapping):
            return {str(k)[:100]: short(x) for k, x in list(v.items())[:5]}
        return str(v)[:200]

    keys = ("table", "join", "statistic", "value", "by", "q", "method", "epsilon", "bounds",
            "levels")  # fmt: skip
    return {k: short(data[k]) for k in keys if k in data}


def _message(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" if k != "__all__" else " ".join(v)
                         for k, v in exc.message_dict.items())  # fmt: skip
    return " ".join(exc.messages)


def _spec_text(spec: dict[str, Any]) -> str:
    """The request as the audit event holds it: JSON text (no float, no column as a key)."""
    return json.dumps(spec, sort_keys=True, default=str)[:2000]


def _refuse(
    permit: Permit,
    by: Any,
    *,
    code: str,
    reason: str,
    spec: dict[str, Any] | None,
    audit: dict[str, Any] | None = None,
) -> AggregateQuery | None:
    """Audit a refusal; a request on an aggregate permit is kept with its reason and code
    (``result``: ``{"code": ...}``, nothing computed). ``audit`` goes to the event only."""
    with transaction.atomic():
        query = None
        if spec is not None:
            query = AggregateQuery.objects.create(
                permit=permit, permit_version=permit.version, spec=spec,
                method=spec.get("method") if spec.get("method") in METHODS else "checked",
                status=AggregateStatus.REFUSED, result={"code": code}, error=reason[:2000],
                requested_by=by, finished_at=timezone.now(),
            )  # fmt: skip
        record(
            EventKind.AGGREGATE_QUERY_REFUSED,
            actor=by,
            organisation=permit.organisation,
            obj=permit,
            details={"query": query.pk if query else None, "code": code,
                     "reason": reason[:1000], "spec": _spec_text(spec or {}), **(audit or {})},
        )  # fmt: skip
    return query


def _query_label(spec: AggregateSpec) -> str:
    grouped = f" by {', '.join(spec.by)}" if spec.by else ""
    of = f" of {spec.value}" if spec.value else ""
    joined = f" joined with {spec.join}" if spec.join else ""
    return f"aggregate {spec.statistic}{of} in {spec.table}{joined}{grouped}"


def _source_table(source: DataSource, name: str, field_name: str) -> SourceTable:
    table = source.tables.get(name)
    if table is None:
        raise _invalid(
            field_name,
            _("the permit's data have no table %(table)s; its tables: %(known)s")
            % {"table": name, "known": ", ".join(sorted(source.tables))},
        )
    return table


def _joined(
    source: DataSource, spec: AggregateSpec
) -> tuple[SourceTable, dict[str, tuple[str, str]]]:
    """The two tables of a joined request as one table to check the request against, and
    where each of its columns comes from (``{name: (table, column)}``). A column name in both
    tables is named with its table (``table.column``); ``person_id`` is the join's key."""
    assert spec.join is not None
    left = _source_table(source, spec.table, "table")
    right = _source_table(source, spec.join, "join")
    if not source.linked:
        raise _invalid(
            "join",
            _(
                "the permit does not link its datasets: each table has its own pseudonyms, so "
                "no two tables can be joined"
            ),
        )
    for t in (left, right):
        if not t.persons:
            raise _invalid(
                "join",
                _("%(table)s has no persons (person_id): only tables of persons are joined")
                % {"table": t.name},
            )
    found: dict[str, list[tuple[SourceTable, Column]]] = {}
    for t in (left, right):
        for c in t.columns:
            if c.name != PERSON_ID:
                found.setdefault(c.name, []).append((t, c))
    columns: list[Column] = []
    where: dict[str, tuple[str, str]] = {}
    for name, places in found.items():
        for t, c in places:
            shown = name if len(places) == 1 else f"{t.name}.{name}"
            columns.append(Column(shown, c.type))
            where[shown] = (t.name, name)
    label = _("%(left)s joined with %(right)s") % {"left": left.name, "right": right.name}
    return SourceTable(label, tuple(columns), persons=True), where


def _read(
    spec: AggregateSpec, source: DataSource
) -> tuple[Any, tuple[str, ...], str | None, dict[str, list[str]], bool]:
    """The data of a request, checked: (Arrow table, grouping columns, value column, DP
    levels, whether the rows carry persons). A joined request's columns are named without
    their table (:func:`~datalux.spe.aggregate_history.output_name`)."""
    if spec.join is None:
        table = _source_table(source, spec.table, "table")
        spec.check(table)
        columns = [*spec.by, *([spec.value] if spec.value else [])]
        if table.persons:
            columns.append(PERSON_ID)
        data = source.read(spec.table, columns)
        return data, spec.by, spec.value, spec.levels, table.persons
    view, where = _joined(source, spec)
    spec.check(view)
    wanted = [*spec.by, *([spec.value] if spec.value else [])]
    named = {name: where[name][1] for name in wanted}
    doubled = sorted({n for n in named.values() if list(named.values()).count(n) > 1})
    if doubled:
        raise _invalid(
            "by",
            _("two columns are named %(column)s in the tables: take one of them")
            % {"column": ", ".join(doubled)},
        )
    data = source.read_joined(
        spec.table,
        [named[n] for n in wanted if where[n][0] == spec.table],
        spec.join,
        [named[n] for n in wanted if where[n][0] == spec.join],
    )
    by = tuple(named[b] for b in spec.by)
    value = named[spec.value] if spec.value else None
    levels = {named[k]: v for k, v in spec.levels.items()}
    return data, by, value, levels, True


def _compute(permit: Permit, spec: AggregateSpec, source: DataSource) -> dict[str, Any]:
    data, by, value, levels, persons = _read(spec, source)
    rules = permit.output_rules or {}
    if spec.method == AggregateMethod.DP:
        assert spec.epsilon is not None
        return compute.dp(
            data, statistic=spec.statistic, by=by, levels=levels, value=value,
            epsilon=spec.epsilon, bounds=spec.bounds,
            max_rows_per_person=spec.max_rows_per_person, persons=persons,
            budget=budget_ledger(permit), query=_query_label(spec),
        )  # fmt: skip
    if spec.statistic == "quantile":
        assert value is not None and spec.q is not None
        return compute.quantile(
            data, by=by, value=value, q=spec.q, persons=persons, output_rules=rules,
        )  # fmt: skip
    return compute.checked(
        data, statistic=spec.statistic, by=by, value=value, persons=persons, output_rules=rules,
    )  # fmt: skip


def require_service(permit: Permit, by: Any) -> None:
    """Refuse (audited) unless ``by`` may use the aggregate service of ``permit`` now: an
    authorised person who may work with its data (``access.denied`` otherwise), on a permit of
    the aggregate form (:class:`NotAggregate`, ``aggregate.query_refused``)."""
    check_access(permit, by, workspace=False)
    if not is_aggregate(permit):
        _refuse(permit, by, code="not_aggregate", reason="the permit gives a workspace", spec=None)
        raise NotAggregate(_("this permit gives a workspace, not the aggregate service"))


def run_aggregate(*, permit: Permit, by: Any, data: Mapping[str, Any]) -> AggregateQuery:
    """Run one request of the service for ``by`` on ``permit`` and keep what was released.

    Raises :class:`~datalux.access.actions.permits.NoAccess` (audited ``access.denied``) when
    ``by`` may not work with the permit's data now, :class:`NotAggregate` (409) for a permit
    of another form, :class:`ValidationError` (the request, with what to fix) and
    :class:`~datalux.core.errors.Conflict` (the budget, the data not readable now; a
    :class:`~datalux.spe.aggregate_history.Refused` for the controls over the permit's earlier
    queries: the query caps, differencing); each of these is audited
    ``aggregate.query_refused``."""
    require_service(permit, by)
    kept = _safe(data)
    try:
        history.check_caps(permit)
        spec = AggregateSpec.from_data(data)
        kept = spec.as_data()
        result = _compute(permit, spec, source_for(permit))
    except ValidationError as exc:
        _refuse(permit, by, code="invalid", reason=_message(exc), spec=kept)
        raise
    except Refused as exc:
        _refuse(permit, by, code=exc.code, reason=str(exc), spec=kept)
        raise
    except BudgetExceededError as exc:
        _refuse(permit, by, code="budget_exceeded", reason=str(exc), spec=kept)
        raise Conflict(str(exc)) from None
    except Unavailable as exc:
        _refuse(permit, by, code=exc.code, reason=exc.detail or str(exc), spec=kept)
        raise
    except PrivacyError as exc:  # rules out of range, no complementary cell found...
        _refuse(permit, by, code="not_released", reason=str(exc)[:500], spec=kept)
        raise Conflict(
            _("the table cannot be released: %(reason)s") % {"reason": str(exc)[:500]}
        ) from None
    audit = result.pop("audit", {})
    spent = audit.get("epsilon")
    try:
        with transaction.atomic():
            # one release of the permit at a time: the caps, and the differencing against every
            # earlier release, are checked under the lock
            Permit.objects.select_for_update().filter(pk=permit.pk).first()
            history.check_caps(permit)
            history.check_differencing(permit, kept, result)
            query = AggregateQuery.objects.create(
                permit=permit, permit_version=permit.version, spec=kept, method=spec.method,
                status=AggregateStatus.RELEASED, result=result, epsilon_spent=spent,
                requested_by=by, finished_at=timezone.now(),
            )  # fmt: skip
            record(
                EventKind.AGGREGATE_QUERY_RUN,
                actor=by,
                organisation=permit.organisation,
                obj=permit,
                details={"query": query.pk, "spec": _spec_text(kept), "method": spec.method,
                         **result["summary"], **audit,
                         "epsilon": None if spent is None else f"{spent:.6g}"},
            )  # fmt: skip
    except Refused as exc:  # differencing, or the caps reached meanwhile (a DP spend stays)
        _refuse(permit, by, code=exc.code, reason=str(exc), spec=kept, audit=exc.audit)
        raise
    return query
