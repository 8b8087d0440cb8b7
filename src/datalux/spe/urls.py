"""The extract pages (``spe:<name>``)."""

from django.urls import URLPattern, path

from datalux.spe import views, views_workspace

app_name = "spe"
urlpatterns: list[URLPattern] = [
    path("", views.queue, name="queue"),
    path("<str:number>/", views.preparation, name="preparation"),
    path("<str:number>/prepare/", views.prepare, name="prepare"),
    path("workspace/<str:number>/", views_workspace.workspace, name="workspace"),
    path("workspace/<str:number>/code/", views_workspace.upload, name="upload_code"),
    path("workspace/<str:number>/run/", views_workspace.run, name="run"),
    path("workspace/<str:number>/dummy.zip", views_workspace.dummy, name="dummy"),
    path(
        "workspace/<str:number>/sample-project.zip",
        views_workspace.sample_project,
        name="sample_project",
    ),
    path("workspace/<str:number>/jobs/<int:job_id>/", views_workspace.job, name="job"),
    path("workspace/<str:number>/queries/", views_workspace.query, name="query"),
    path(
        "workspace/<str:number>/queries/<int:query_id>/",
        views_workspace.query_result,
        name="query_result",
    ),
    path("workspace/<str:number>/jobs/<int:job_id>/cancel/", views_workspace.cancel, name="cancel"),
    path(
        "workspace/<str:number>/jobs/<int:job_id>/files/<path:path>",
        views_workspace.output,
        name="output",
    ),
]
