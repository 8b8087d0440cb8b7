"""Public pages (permit register, metrics) and the signed-in user's inbox."""

from django.urls import URLPattern, path

from datalux.access import views_public

urlpatterns: list[URLPattern] = [
    path("register/", views_public.register_page, name="register"),
    path("metrics/", views_public.metrics_page, name="metrics"),
    path("inbox/", views_public.inbox, name="inbox"),
    path("inbox/read-all/", views_public.inbox_read_all, name="inbox_read_all"),
    path("inbox/<int:pk>/read/", views_public.inbox_read, name="inbox_read"),
]
