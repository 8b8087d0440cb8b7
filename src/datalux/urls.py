from django.contrib import admin
from django.urls import include, path

from datalux.core import views as core_views
from datalux.core.api import api

handler403 = "datalux.core.views.permission_denied"
handler404 = "datalux.core.views.page_not_found"

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.health, name="health"),
    path("accounts/", include("datalux.accounts.urls")),
    path("audit/", include("datalux.audit.urls")),
    path("access/", include("datalux.access.urls")),
    path("spe/", include("datalux.spe.urls")),
    path("onceonly/", include("datalux.onceonly.urls")),
    path("me/", include("datalux.citizens.urls")),
    # citizen sign-in through the state's identity provider (404 unless configured)
    path("oidc/", include("mozilla_django_oidc.urls")),
    path("accountability/", include("datalux.accountability.urls")),
    path("catalogue/", include("datalux.catalogue.urls")),
    path("catalogue/", include("datalux.catalogue.urls_upload")),
    path("", include("datalux.catalogue.urls_dcat")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]
