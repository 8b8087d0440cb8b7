"""The workspace's SQL console: a query on the extract, run in the sandbox, read-only.

The query never runs in the web process: DuckDB could read any file the process can. It runs
as a short job in the same sandbox as the project's actions (no network, only the extract
visible, read-only), each table of the extract a view named by its file name. The result is
written as ``result.csv`` in the workspace (at most ``MAX_ROWS`` rows) and shown in the page.
To take it out, the researcher saves it as a table with its disclosure evidence
(:mod:`datalux.spe.console_outputs`: "Save as output"), which a release request then proposes
like any output.
"""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.core.errors import Conflict
from datalux.spe import sandbox
from datalux.spe.models import DataKind, JobCode, Query, Workspace
from datalux.spe.workspaces import check_access, root

MAX_SQL_CHARS = 20_000
MAX_ROWS = 10_000
SHOWN_ROWS = 200
WALL_SECONDS = 120

#: Each table of the data a view named by its file name, then the configuration locked.
_PRELUDE = r"""
import csv, os, sys
from pathlib import Path
import duckdb
con = duckdb.connect()
con.execute("set allowed_directories = ['/data/']")  # and the sandbox shows nothing else
con.execute("set enable_external_access = false")
for path in sorted(Path('/data').glob('*.parquet')):
    name = path.stem.replace('"', '')
    quoted = "'" + str(path).replace("'", "''") + "'"
    con.execute('create view "%s" as select * from read_parquet(%s)' % (name, quoted))
con.execute("set lock_configuration = true")
"""

_SCRIPT = (
    _PRELUDE
    + r"""
limit = int(os.environ["DATALUX_MAX_ROWS"])
try:
    cursor = con.execute(os.environ["DATALUX_SQL"])
    if cursor.description is None:
        print("the statement returned no rows: write a SELECT", file=sys.stderr)
        sys.exit(2)
    rows = cursor.fetchmany(limit + 1)
except duckdb.Error as exc:
    print(str(exc).splitlines()[0][:2000], file=sys.stderr)
    sys.exit(2)
with open('/output/result.csv', 'w', newline='') as handle:
    writer = csv.writer(handle)
    writer.writerow([column[0] for column in cursor.description])
    writer.writerows(rows[:limit])
print(f"rows={min(len(rows), limit)} truncated={int(len(rows) > limit)}")
"""
)


def folder(query: Query) -> Path:
    return root(query.workspace.permit) / "queries" / str(query.pk)


def data_folder(workspace: Workspace, data: str, *, by: Any) -> Path:
    """The folder of the data a console script reads: the extract (when it is ready) or the
    dummy data."""
    permit = workspace.permit
    if data == DataKind.EXTRACT:
        from datalux.spe.prepare import extract_folder

        extract = permit.preparations.filter(version=permit.version).first()
        if extract is None or not extract.available:
            raise Conflict(_("the extract is not ready: query the dummy data meanwhile"))
        return extract_folder(permit)
    from datalux.spe.dummydata import ensure_dummy

    return ensure_dummy(permit, by=by)


def run_script(
    workspace: Workspace, script: str, *, data_dir: Path, work_dir: Path, env: dict[str, str]
) -> sandbox.SandboxResult:
    """Run a console script (this Python, ``-c script``) in the sandbox: the data read-only at
    ``/data``, ``work_dir/output`` writable at ``/output``, the log in ``work_dir/log.txt``,
    under the workspace's limits and the console's time limit."""
    runtime = sandbox.Runtime.current_python()
    return sandbox.run(
        sandbox.SandboxSpec(
            argv=(*runtime.command, "-c", script),
            runtime=runtime,
            binds=((data_dir, "/data", True), (work_dir / "output", "/output", False)),
            output_dir=work_dir / "output",
            log_path=work_dir / "log.txt",
            env=env,
            limits=sandbox.Limits(
                cpu_seconds=WALL_SECONDS,
                wall_seconds=WALL_SECONDS,
                memory_bytes=workspace.memory_mb * 1024 * 1024,
                max_processes=workspace.max_processes,
                output_bytes=workspace.output_mb * 1024 * 1024,
            ),
        )
    )


def run_query(*, workspace: Workspace, sql: str, by: Any, data: str = "extract") -> Query:
    """Run ``sql`` on the workspace's data in the sandbox; the query and its result file are
    audited. A refused or failing query is kept with its error (shown in the workspace)."""
    permit = workspace.permit
    check_access(permit, by)
    sql = sql.strip()
    if not sql:
        raise Conflict(_('write a query, e.g. SELECT count(*) FROM "table"'))
    if len(sql) > MAX_SQL_CHARS:
        raise Conflict(_("the query is over %(n)s characters") % {"n": MAX_SQL_CHARS})
    data_dir = data_folder(workspace, data, by=by)
    query = Query.objects.create(workspace=workspace, sql=sql, data=data, requested_by=by)
    out = folder(query)
    if out.exists():
        shutil.rmtree(out)
    (out / "output").mkdir(parents=True, mode=0o700)
    result = run_script(
        workspace, _SCRIPT, data_dir=data_dir, work_dir=out,
        env={"DATALUX_SQL": sql, "DATALUX_MAX_ROWS": str(MAX_ROWS)},
    )  # fmt: skip
    log = (out / "log.txt").read_text(errors="replace") if (out / "log.txt").exists() else ""
    fields: dict[str, Any] = {"finished_at": timezone.now()}
    result_file = out / "output" / "result.csv"
    if result.status is sandbox.Status.SUCCEEDED and result_file.is_file():
        counts = dict(p.split("=") for p in log.strip().splitlines()[-1].split())
        fields.update(
            code=JobCode.SUCCEEDED, rows=int(counts["rows"]),
            truncated=counts["truncated"] == "1",
            sha256=hashlib.sha256(result_file.read_bytes()).hexdigest(),
        )  # fmt: skip
    elif result.status is sandbox.Status.FAILED:
        fields.update(code=JobCode.NONZERO_EXIT, error=log.strip()[-2000:])
    else:
        fields.update(code=_CODES.get(result.status, JobCode.INTERNAL_ERROR))
    with transaction.atomic():
        Query.objects.filter(pk=query.pk).update(**fields)
        record(
            EventKind.WORKSPACE_QUERY_RUN,
            actor=by,
            organisation=permit.organisation,
            obj=permit,
            details={"query": query.pk, "sql": sql[:4000], "data": data,
                     "code": str(fields["code"]), "rows": fields.get("rows"),
                     "sha256": fields.get("sha256", "")},
        )  # fmt: skip
    query.refresh_from_db()
    return query


_CODES = {
    sandbox.Status.OUT_OF_MEMORY: JobCode.OUT_OF_MEMORY,
    sandbox.Status.TIMED_OUT: JobCode.TIMED_OUT,
    sandbox.Status.OUTPUT_TOO_LARGE: JobCode.OUTPUT_TOO_LARGE,
    sandbox.Status.SANDBOX_UNAVAILABLE: JobCode.SANDBOX_UNAVAILABLE,
}


def shown_rows(query: Query) -> tuple[list[str], list[list[str]]]:
    """The header and the first ``SHOWN_ROWS`` rows of a query's result."""
    path = folder(query) / "output" / "result.csv"
    if not path.is_file():
        return [], []
    with path.open(newline="") as handle:
        reader = csv.reader(io.StringIO(handle.read(4 * 1024 * 1024)))
        header = next(reader, [])
        rows = [row for _, row in zip(range(SHOWN_ROWS), reader, strict=False)]
    return header, rows
