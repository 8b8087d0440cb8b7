"""The extract pages (``spe:<name>``)."""

from django.urls import URLPattern, path

from datalux.spe import views, views_aggregate, views_release, views_synthetic, views_workspace

app_name = "spe"
urlpatterns: list[URLPattern] = [
    path("", views.queue, name="queue"),
    path("outputs/", views_release.checking_queue, name="checking_queue"),
    path("outputs/<int:request_id>/", views_release.check, name="check"),
    path("outputs/<int:request_id>/review/", views_release.check_review, name="check_review"),
    path(
        "outputs/<int:request_id>/consolidate/",
        views_release.check_consolidate,
        name="check_consolidate",
    ),
    path("outputs/<int:request_id>/reject/", views_release.check_reject, name="check_reject"),
    path("outputs/<int:request_id>/release/", views_release.check_release, name="check_release"),
    path(
        "outputs/<int:request_id>/files/<int:file_id>/",
        views_release.check_file,
        name="check_file",
    ),
    path(
        "released/<int:file_id>/<str:filename>",
        views_release.released_file,
        name="released_file",
    ),
    path("<str:number>/", views.preparation, name="preparation"),
    path("<str:number>/prepare/", views.prepare, name="prepare"),
    path("<str:number>/synthetic/", views_synthetic.make, name="synthetic_make"),
    path(
        "synthetic/<str:number>/<str:table>.report.json",
        views_synthetic.report,
        name="synthetic_report",
    ),
    path(
        "workspace/<str:number>/synthetic/<str:table>.parquet",
        views_synthetic.download,
        name="synthetic_download",
    ),
    path("aggregate/<str:number>/", views_aggregate.aggregate_page, name="aggregate"),
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
    path("workspace/<str:number>/releases/", views_release.release_list, name="releases"),
    path(
        "workspace/<str:number>/releases/<int:request_id>/",
        views_release.release,
        name="release",
    ),
    path(
        "workspace/<str:number>/releases/<int:request_id>/files/",
        views_release.release_add,
        name="release_add",
    ),
    path(
        "workspace/<str:number>/releases/<int:request_id>/files/<int:file_id>/remove/",
        views_release.release_remove,
        name="release_remove",
    ),
    path(
        "workspace/<str:number>/releases/<int:request_id>/submit/",
        views_release.release_submit,
        name="release_submit",
    ),
    path(
        "workspace/<str:number>/releases/<int:request_id>/withdraw/",
        views_release.release_withdraw,
        name="release_withdraw",
    ),
    path(
        "workspace/<str:number>/releases/<int:request_id>/publish/",
        views_release.release_publish,
        name="release_publish",
    ),
    path("workspace/<str:number>/queries/", views_workspace.query, name="query"),
    path(
        "workspace/<str:number>/queries/<int:query_id>/",
        views_workspace.query_result,
        name="query_result",
    ),
    path(
        "workspace/<str:number>/queries/<int:query_id>/save/",
        views_workspace.query_save,
        name="query_save",
    ),
    path("workspace/<str:number>/jobs/<int:job_id>/cancel/", views_workspace.cancel, name="cancel"),
    path(
        "workspace/<str:number>/jobs/<int:job_id>/files/<path:path>",
        views_workspace.output,
        name="output",
    ),
]
