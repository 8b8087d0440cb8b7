from django.contrib.auth import views as auth_views
from django.urls import path

from datalux.accounts import views

app_name = "accounts"
urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="accounts/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<str:key_id>/revoke/", views.revoke_token, name="revoke_token"),
    path("workspace/<slug:role>/", views.workspace, name="workspace"),
]
