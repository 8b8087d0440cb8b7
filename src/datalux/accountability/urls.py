from django.urls import URLPattern, path

from datalux.accountability import views

app_name = "accountability"
urlpatterns: list[URLPattern] = [
    path("records/", views.records_page, name="records"),
    path("records.<fmt>", views.records_export, name="records_export"),
    path("sharing-cases/", views.sharing_cases_page, name="sharing_cases"),
    path("dashboard/", views.dashboard_page, name="dashboard"),
    path("dashboard.csv", views.dashboard_csv, name="dashboard_csv"),
]
