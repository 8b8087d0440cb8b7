"""All pages of the data authority under /access/ (namespace ``access``)."""

from django.urls import include, path

app_name = "access"

urlpatterns = [
    path("", include("datalux.access.urls_applicant")),
    path("", include("datalux.access.urls_authority")),
    path("", include("datalux.access.urls_public")),
]
