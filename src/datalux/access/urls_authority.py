"""The data authority's pages: the case queue, case files and permits (``access:<name>``)."""

from django.urls import URLPattern, path

from datalux.access import views_authority as views

urlpatterns: list[URLPattern] = [
    path("cases/", views.cases, name="cases"),
    path("cases/<str:ref>/", views.case, name="case"),
    path("cases/<str:ref>/assign/", views.case_assign, name="case_assign"),
    path("cases/<str:ref>/return/", views.case_return, name="case_return"),
    path("cases/<str:ref>/start-review/", views.case_start_review, name="case_start_review"),
    path(
        "cases/<str:ref>/request-opinion/",
        views.case_request_opinion,
        name="case_request_opinion",
    ),
    path(
        "cases/<str:ref>/extend-deadline/",
        views.case_extend_deadline,
        name="case_extend_deadline",
    ),
    path("cases/<str:ref>/opinion/", views.case_give_opinion, name="case_give_opinion"),
    path("cases/<str:ref>/decide/", views.case_decide, name="case_decide"),
    path("cases/<str:ref>/comment/", views.case_comment, name="case_comment"),
    path("cases/<str:ref>/permit/", views.case_permit, name="case_permit"),
    path("cases/<str:ref>/permit/amend/", views.permit_amend, name="case_permit_amend"),
    path("cases/<str:ref>/permit/extend/", views.permit_extend, name="case_permit_extend"),
    path("cases/<str:ref>/permit/revoke/", views.permit_revoke, name="case_permit_revoke"),
    path("cases/<str:ref>/permit/close/", views.permit_close, name="case_permit_close"),
]
