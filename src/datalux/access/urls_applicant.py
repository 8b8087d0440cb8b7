"""The applicant's pages: applications, their form and parts, terms, permits."""

from django.urls import URLPattern, path

from datalux.access import views_applicant as views

APPLICATION = "applications/<str:ref>/"

urlpatterns: list[URLPattern] = [
    path("applications/", views.applications, name="applications"),
    path("applications/new/", views.application_new, name="application_new"),
    path(APPLICATION, views.application_detail, name="application"),
    path(f"{APPLICATION}edit/", views.application_edit, name="application_edit"),
    path(f"{APPLICATION}datasets/", views.application_datasets, name="application_datasets"),
    path(
        f"{APPLICATION}datasets/remove/",
        views.application_dataset_remove,
        name="application_dataset_remove",
    ),
    path(f"{APPLICATION}persons/", views.application_persons, name="application_persons"),
    path(
        f"{APPLICATION}persons/<int:pk>/remove/",
        views.application_person_remove,
        name="application_person_remove",
    ),
    path(
        f"{APPLICATION}attachments/",
        views.application_attachments,
        name="application_attachments",
    ),
    path(
        f"{APPLICATION}attachments/<int:pk>/",
        views.attachment_download,
        name="application_attachment",
    ),
    path(f"{APPLICATION}submit/", views.application_submit, name="application_submit"),
    path(f"{APPLICATION}withdraw/", views.application_withdraw, name="application_withdraw"),
    path(f"{APPLICATION}comment/", views.application_comment, name="application_comment"),
    path(f"{APPLICATION}terms/", views.application_terms, name="application_terms"),
    path("permits/<str:number>/", views.permit_detail, name="permit"),
    path("permits/<str:number>/workspace/", views.permit_workspace, name="permit_workspace"),
]
