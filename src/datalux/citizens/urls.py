from django.urls import path  # noqa: F401  (the citizens' pages are added by their modules)

app_name = "citizens"

urlpatterns: list = []
