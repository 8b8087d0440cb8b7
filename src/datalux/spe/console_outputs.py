"""Saving a console query's result as an output: a table with its disclosure evidence, which a
release request may then propose like any job's output (issue 13, finishing item 5).

The console shows a query's first rows; what leaves the workspace must be an aggregate table
that the automatic checks can judge. :func:`save_output` runs the query again in the sandbox
(the console's sandbox: no network, the data read-only, the configuration locked) on all its
rows, hands them to :func:`datalux.privacy.output_checks.write_table` grouped by the columns
the researcher chooses (the contributors counted in each cell, and the sum or mean of one
value column), with the cells that fail the permit's output rules left blank if asked, and
keeps the CSV (moderately sensitive) and its evidence sidecar (highly sensitive: never shown,
never released) as the outputs of a job of the workspace that has the query and no code
version. The automatic checks run on them at once, as when a job ends.

Who may: whoever may use the console (:func:`datalux.spe.workspaces.check_access`: a named
person who may work with the data now). Each attempt is audited (``workspace.query_saved``),
the query, its grouping, the file and its SHA-256; a failure with its code.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import uuid
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.core.errors import Conflict
from datalux.spe import sandbox
from datalux.spe.console import (
    _CODES,
    _PRELUDE,
    WALL_SECONDS,
    data_folder,
    run_script,
    shown_rows,
)
from datalux.spe.models import Job, JobCode, JobState, Query
from datalux.spe.workspaces import check_access, job_dir, root

ACTION = "console"  # the action name of a saved result's job
STATISTICS = ("sum", "mean")
MAX_GROUPING = 8
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")
EVIDENCE_SUFFIX = ".evidence.json"  # as datalux.privacy.output_checks.EVIDENCE_SUFFIX

_SAVE_SCRIPT = (
    _PRELUDE
    + r"""
import json
from datalux.privacy.errors import InputError
from datalux.privacy.output_checks import Rules, write_table
spec = json.loads(os.environ["DATALUX_SAVE"])
try:
    relation = con.sql(os.environ["DATALUX_SQL"])
    if relation is None:
        print("the statement returned no rows: write a SELECT", file=sys.stderr)
        sys.exit(2)
    rules = Rules.from_permit(spec["rules"]) if spec["suppress"] else None
    path = write_table(relation, spec["by"], "/output/" + spec["file"], value=spec["value"],
                       statistic=spec["statistic"], suppress=rules, decimals=spec["decimals"])
except (duckdb.Error, InputError, ValueError) as exc:
    print(str(exc).splitlines()[0][:2000], file=sys.stderr)
    sys.exit(2)
print("saved " + path.name)
"""
)


def _choices(
    query: Query, name: str, by: Iterable[str], value: str, statistic: str, decimals: Any
) -> dict[str, Any]:
    """The researcher's choices, checked against the result's columns (clear refusals)."""
    name = name.strip().lower().removesuffix(".csv")
    if not NAME.match(name):
        raise Conflict(
            _(
                "name the output with lower-case letters, digits, - or _ (at most 60), e.g. "
                "stays_by_region"
            )
        )
    header, _rows = shown_rows(query)
    grouping = [c for c in dict.fromkeys(str(c) for c in by) if c]
    if not grouping:
        raise Conflict(_("choose the columns to group by (the table's cells)"))
    if len(grouping) > MAX_GROUPING:
        raise Conflict(_("group by at most %(n)s columns") % {"n": MAX_GROUPING})
    unknown = [c for c in grouping if c not in header]
    if unknown:
        raise Conflict(_("the result has no column %(columns)s") % {"columns": ", ".join(unknown)})
    value = value.strip()
    if value:
        if value not in header:
            raise Conflict(_("the result has no column %(columns)s") % {"columns": value})
        if value in grouping:
            raise Conflict(_("the value column %(column)s is also grouped by") % {"column": value})
        if statistic not in STATISTICS:
            raise Conflict(_("choose the sum or the mean of %(column)s") % {"column": value})
    places = None
    if decimals not in (None, ""):
        try:
            places = int(decimals)
        except (TypeError, ValueError):
            places = -1
        if not 0 <= places <= 6:
            raise Conflict(_("round to 0 to 6 decimal places, or leave it empty"))
    return {
        "file": f"{name}.csv",
        "name": name,
        "by": grouping,
        "value": value or None,
        "statistic": statistic if value else "count",
        "decimals": places,
    }


def _audit(query: Query, actor: Any, **details: Any) -> None:
    permit = query.workspace.permit
    record(
        EventKind.WORKSPACE_QUERY_SAVED,
        actor=actor,
        organisation=permit.organisation,
        obj=permit,
        details={"query": query.pk, **details},
    )


def _outputs(folder: Any, file: str, name: str) -> list[dict[str, Any]]:
    outputs = []
    for path, out_name, sensitivity in (
        (f"output/{file}", name, "moderately_sensitive"),
        (f"output/{file}{EVIDENCE_SUFFIX}", f"{name}_evidence", "highly_sensitive"),
    ):
        data = (folder / path).read_bytes()
        outputs.append(
            {
                "path": path,
                "name": out_name,
                "sensitivity": sensitivity,
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
    return outputs


def save_output(
    *,
    query: Query,
    by: Any,
    name: str,
    group_by: Iterable[str],
    value: str = "",
    statistic: str = "",
    suppress: bool = True,
    decimals: Any = None,
) -> Job:
    """Write ``query``'s result as the table ``output/<name>.csv`` (grouped by ``group_by``;
    with ``value``, its ``statistic``) and its evidence, as a new job's outputs (see the module
    docstring). Refusals are :class:`Conflict` naming what to change."""
    workspace = query.workspace
    permit = workspace.permit
    check_access(permit, by)
    if query.code != JobCode.SUCCEEDED:
        raise Conflict(_("only the result of a query that succeeded can be saved"))
    spec = _choices(query, name, group_by, value, statistic, decimals)
    data_dir = data_folder(workspace, query.data, by=by)
    scratch = root(permit) / "saving" / uuid.uuid4().hex
    (scratch / "output").mkdir(parents=True, mode=0o700)
    chosen = {k: spec[k] for k in ("file", "by", "value", "statistic", "decimals")}
    try:
        result = run_script(
            workspace, _SAVE_SCRIPT, data_dir=data_dir, work_dir=scratch,
            env={"DATALUX_SQL": query.sql, "DATALUX_SAVE": json.dumps(
                {**spec, "suppress": bool(suppress), "rules": permit.output_rules or {}})},
        )  # fmt: skip
        written = scratch / "output" / spec["file"]
        if result.status is not sandbox.Status.SUCCEEDED or not written.is_file():
            code = (
                JobCode.NONZERO_EXIT
                if result.status is sandbox.Status.FAILED
                else _CODES.get(result.status, JobCode.INTERNAL_ERROR)
            )
            _audit(query, by, code=str(code), suppress=bool(suppress), **chosen)
            if code == JobCode.NONZERO_EXIT:
                log = (scratch / "log.txt").read_text(errors="replace").strip()
                reason = log.splitlines()[-1][:500] if log else ""
                raise Conflict(_("the table was not written: %(reason)s") % {"reason": reason})
            raise Conflict(str(JobCode(code).label))
        return _keep(query, by, scratch, spec, chosen, suppress=bool(suppress))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _keep(
    query: Query, by: Any, scratch: Any, spec: dict[str, Any], chosen: dict[str, Any], *,
    suppress: bool,
) -> Job:  # fmt: skip
    """The saved table as a job's outputs: the job, its folder, the checks and the audit event
    together (a failure leaves neither the job nor its folder)."""
    from datalux.spe.workjobs import _checked

    now = timezone.now()
    with transaction.atomic():
        job = Job.objects.create(
            workspace=query.workspace,
            code_version=None,
            query=query,
            action=ACTION,
            data=query.data,
            state=JobState.SUCCEEDED,
            code=JobCode.SUCCEEDED,
            exit_code=0,
            limits={"wall_seconds": WALL_SECONDS},
            requested_by=by,
            requested_at=now,
            started_at=now,
            finished_at=now,
            updated_at=now,
        )
        target = job_dir(job)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():  # left by a job row rolled back earlier (its id reused)
                shutil.rmtree(target)
            shutil.move(str(scratch), str(target))
            outputs = _checked(job, _outputs(target, spec["file"], spec["name"]))
            job.outputs = outputs
            job.save(update_fields=["outputs"])
            table = outputs[0]
            _audit(
                query, by, code=str(JobCode.SUCCEEDED), job=job.pk, sha256=table["sha256"],
                check=table.get("checks", {}).get("status"), suppress=suppress, **chosen,
            )  # fmt: skip
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
    return job
