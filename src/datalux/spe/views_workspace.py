"""The workspace pages of a permit: code versions, the actions as a graph, jobs, logs, dummy
data. Only the permit's authorised persons who accepted the terms may enter, while the permit
is active (every refusal an audited 403 naming the reason).

What is shown stays in the workspace: logs and moderately sensitive outputs are displayed in
the page (never cached); highly sensitive outputs are listed with their size and SHA-256 but
never shown, as they may hold records. Taking anything out is a release request (output
checking), not a download.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from datalux.access.actions.permits import NoAccess
from datalux.access.models import Permit
from datalux.core.errors import Conflict
from datalux.core.guards import deny
from datalux.spe import code as code_files
from datalux.spe import project as projects
from datalux.spe import workspaces
from datalux.spe.graph import svg
from datalux.spe.models import CodeVersion, DataKind, Job
from datalux.spe.synthetic import overview as synthetic_overview

PAGE_JOBS = 50
MAX_UPLOAD_BYTES = 60 * 1024 * 1024
SHOWN_TYPES = {
    ".csv": "text/csv; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
    ".json": "application/json",
    ".log": "text/plain; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".html": "text/plain; charset=utf-8",  # shown as text: never run the project's HTML
}


def _permit(number: str) -> Permit:
    try:
        return Permit.objects.select_related("organisation", "application").get(number=number)
    except Permit.DoesNotExist:
        raise Http404(_("no permit %(number)s") % {"number": number}) from None


def _refused(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    """A refusal already audited by the action: the 403 page says why."""
    raise PermissionDenied(str(exc))


def _entered(request: HttpRequest, number: str) -> Permit:
    """The permit, when ``request.user`` may work in its workspace now (else an audited 403
    naming the reason)."""
    permit = _permit(number)
    try:
        workspaces.check_access(permit, request.user)
    except NoAccess as exc:
        raise PermissionDenied(str(exc)) from exc
    return permit


def _denied(request: HttpRequest, reason: str) -> HttpResponse:
    """A refusal of the page itself: audited here."""
    raise deny(request, "spe.workspace", reason)


def _latest_jobs(version: CodeVersion | None) -> dict[str, Job]:
    latest: dict[str, Job] = {}
    if version is None:
        return latest
    for job in version.jobs.order_by("-requested_at", "-pk"):
        latest.setdefault(job.action, job)
    return latest


@require_GET
@login_required
def workspace(request: HttpRequest, number: str) -> HttpResponse:
    permit = _permit(number)
    try:
        space = workspaces.enter(permit=permit, by=request.user)
    except NoAccess as exc:
        return _refused(request, exc)
    return _render(request, permit, space)


def _render(
    request: HttpRequest, permit: Permit, space: Any, *, error: str = "", status: int = 200
) -> HttpResponse:
    versions = list(space.versions.select_related("uploaded_by"))
    chosen = versions[0] if versions else None
    wanted = request.GET.get("code")
    if wanted and wanted.isdigit():
        chosen = next((v for v in versions if v.number == int(wanted)), chosen)
    latest = _latest_jobs(chosen)
    states = {name: (job.state, job.get_state_display()) for name, job in latest.items()}
    extract = permit.preparations.filter(version=permit.version).first()
    context = {
        "permit": permit,
        "workspace": space,
        "versions": versions,
        "chosen": chosen,
        "graph": svg(chosen.actions, states) if chosen else "",
        "actions": [
            {**a, "job": latest.get(a["name"])} for a in (chosen.actions if chosen else [])
        ],
        "jobs": space.jobs.select_related("code_version").order_by("-pk")[:PAGE_JOBS],
        "queries": space.queries.order_by("-pk")[:10],
        "tables": [
            t["name"] for t in ((extract.manifest or {}).get("tables", []) if extract else [])
        ],
        "extract": extract,
        "extract_ready": bool(extract and extract.available),
        "data_kinds": DataKind.choices,
        "error": error,
        "max_upload_mb": MAX_UPLOAD_BYTES // 2**20,
        "synthetic": synthetic_overview(permit),
        "researcher": True,  # only the permit's authorised persons reach this page
    }
    response = render(request, "spe/workspace.html", context, status=status)
    add_never_cache_headers(response)
    return response


@require_POST
@login_required
def upload(request: HttpRequest, number: str) -> HttpResponse:
    permit = _entered(request, number)
    space = workspaces.workspace_of(permit)
    archive = request.FILES.get("archive")
    if archive is None:
        return _render(request, permit, space, error=_("choose a .zip or .tar.gz of your project"),
                       status=400)  # fmt: skip
    if archive.size > MAX_UPLOAD_BYTES:
        return _render(
            request, permit, space, status=413,
            error=_("the archive is over %(mb)s MB: leave data and outputs out")
            % {"mb": MAX_UPLOAD_BYTES // 2**20},
        )  # fmt: skip
    try:
        version = workspaces.submit_code(
            workspace=space, by=request.user, archive=archive, note=request.POST.get("note", "")
        )
    except (code_files.CodeError, projects.ProjectError) as exc:
        return _render(request, permit, space, error=str(exc), status=400)
    messages.success(
        request,
        _("Code version %(n)s kept (SHA-256 %(sha)s…).")
        % {"n": version.number, "sha": version.sha256[:12]},
    )
    return redirect(f"{_url(permit)}?code={version.number}")


def _url(permit: Permit) -> str:
    from django.urls import reverse

    return reverse("spe:workspace", args=[permit.number])


@require_POST
@login_required
def run(request: HttpRequest, number: str) -> HttpResponse:
    permit = _entered(request, number)
    space = workspaces.workspace_of(permit)
    version = get_object_or_404(CodeVersion, workspace=space, number=request.POST.get("code", 0))
    try:
        jobs = workspaces.request_jobs(
            workspace=space,
            version=version,
            actions=request.POST.getlist("action"),
            by=request.user,
            data=request.POST.get("data", DataKind.EXTRACT),
        )
    except (Conflict, projects.ProjectError) as exc:
        return _render(request, permit, space, error=str(exc), status=409)
    messages.success(request, _("%(n)s job(s) queued.") % {"n": len(jobs)})
    return redirect(f"{_url(permit)}?code={version.number}")


def _job(permit: Permit, job_id: int) -> Job:
    return get_object_or_404(
        Job.objects.select_related("code_version", "workspace", "workspace__permit"),
        pk=job_id,
        workspace__permit=permit,
    )


@require_GET
@login_required
def job(request: HttpRequest, number: str, job_id: int) -> HttpResponse:
    permit = _entered(request, number)
    item = _job(permit, job_id)
    template = "spe/_job_status.html" if request.headers.get("HX-Request") else "spe/job.html"
    response = render(
        request,
        template,
        {"permit": permit, "job": item, "log": _log_tail(item, request.user),
         "needs": list(item.needs.all())},
    )  # fmt: skip
    add_never_cache_headers(response)
    return response


def _log_tail(job: Job, user: Any) -> str:
    path = workspaces.job_dir(job) / "log.txt"
    if not path.is_file():
        return ""
    size = path.stat().st_size
    with path.open("rb") as handle:
        if size > workspaces.MAX_LOG_BYTES_SHOWN:
            handle.seek(size - workspaces.MAX_LOG_BYTES_SHOWN)
        text = handle.read().decode("utf-8", errors="replace")
    if job.finished:  # a finished log read is an audited file view; polling reads are not
        workspaces.read_file(job=job, relative="log.txt", by=user)
    return text


@require_GET
@login_required
def output(request: HttpRequest, number: str, job_id: int, path: str) -> HttpResponse:
    permit = _entered(request, number)
    item = _job(permit, job_id)
    entry = next((o for o in item.outputs if o["path"] == path), None)
    if entry is not None and entry["sensitivity"] != projects.Sensitivity.MODERATELY_SENSITIVE:
        return _denied(
            request, _("highly sensitive outputs are never shown: use them in a later action")
        )
    try:
        file = workspaces.read_file(job=item, relative=path, by=request.user)
    except NoAccess as exc:
        return _refused(request, exc)
    kind = SHOWN_TYPES.get(file.suffix.lower())
    if kind is None:
        return _denied(request, _("this kind of file is not shown in the page"))
    response = HttpResponse(file.read_bytes(), content_type=kind)
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    add_never_cache_headers(response)
    return response


@require_POST
@login_required
def cancel(request: HttpRequest, number: str, job_id: int) -> HttpResponse:
    permit = _entered(request, number)
    item = _job(permit, job_id)
    try:
        workspaces.cancel_job(job=item, by=request.user)
    except NoAccess as exc:
        return _refused(request, exc)
    except Conflict as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Job %(id)s cancelled.") % {"id": item.pk})
    return redirect("spe:job", number=permit.number, job_id=item.pk)


@require_GET
@login_required
def dummy(request: HttpRequest, number: str) -> HttpResponse:
    """The permit's dummy data as a zip: no real record, for writing code at home."""
    from datalux.spe.dummydata import dummy_zip

    permit = _entered(request, number)
    response = HttpResponse(dummy_zip(permit, by=request.user), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{permit.number}-dummy.zip"'
    return response


@require_GET
@login_required
def sample_project(request: HttpRequest, number: str) -> HttpResponse:
    """The sample project shipped with the platform, as a zip to submit or to run at home."""
    import io
    import zipfile
    from pathlib import Path

    _entered(request, number)  # the sample is offered inside a workspace only
    folder = Path(__file__).parent / "sample_project"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, f"sample-project/{path.relative_to(folder).as_posix()}")
    response = HttpResponse(buffer.getvalue(), content_type="application/zip")
    response["Content-Disposition"] = 'attachment; filename="sample-project.zip"'
    return response


@require_POST
@login_required
def query(request: HttpRequest, number: str) -> HttpResponse:
    """Run an SQL query of the console in the sandbox; its result stays in the workspace."""
    from datalux.spe.console import run_query

    permit = _entered(request, number)
    space = workspaces.workspace_of(permit)
    try:
        done = run_query(
            workspace=space,
            sql=request.POST.get("sql", ""),
            by=request.user,
            data=request.POST.get("data", DataKind.EXTRACT),
        )
    except Conflict as exc:
        return _render(request, permit, space, error=str(exc), status=409)
    return redirect("spe:query_result", number=permit.number, query_id=done.pk)


@require_GET
@login_required
def query_result(request: HttpRequest, number: str, query_id: int) -> HttpResponse:
    from datalux.spe.models import Query

    permit = _entered(request, number)
    item = get_object_or_404(Query, pk=query_id, workspace__permit=permit)
    return _render_query(request, permit, item)


def _render_query(
    request: HttpRequest, permit: Permit, item: Any, *, error: str = "", status: int = 200
) -> HttpResponse:
    from datalux.audit.kinds import EventKind
    from datalux.audit.log import record
    from datalux.spe.console import shown_rows

    header, rows = shown_rows(item)
    form = {"name": request.POST.get("name", ""), "by": request.POST.getlist("by")}
    record(
        EventKind.WORKSPACE_FILE_VIEWED, actor=request.user, organisation=permit.organisation,
        obj=permit, details={"query": item.pk, "file": "result.csv"},
    )  # fmt: skip
    response = render(
        request, "spe/query.html",
        {"permit": permit, "query": item, "header": header, "rows": rows, "error": error,
         "saved": item.saved_outputs.order_by("-pk"), "form": form},
        status=status,
    )  # fmt: skip
    add_never_cache_headers(response)
    return response


@require_POST
@login_required
def query_save(request: HttpRequest, number: str, query_id: int) -> HttpResponse:
    """Save a console result as a table with its evidence (an output a release request may
    propose): the same people as the console, every attempt audited by the action."""
    from datalux.spe.console_outputs import save_output
    from datalux.spe.models import Query

    permit = _entered(request, number)
    item = get_object_or_404(Query, pk=query_id, workspace__permit=permit)
    post = request.POST
    try:
        job = save_output(
            query=item,
            by=request.user,
            name=post.get("name", ""),
            group_by=post.getlist("by"),
            value=post.get("value", ""),
            statistic=post.get("statistic", ""),
            suppress=post.get("suppress") == "1",
            decimals=post.get("decimals", ""),
        )
    except NoAccess as exc:
        return _refused(request, exc)
    except Conflict as exc:
        return _render_query(request, permit, item, error=str(exc), status=409)
    messages.success(
        request,
        _("Saved as %(path)s (job #%(id)s): a release request may now propose it.")
        % {"path": job.outputs[0]["path"], "id": job.pk},
    )
    return redirect("spe:job", number=permit.number, job_id=job.pk)
