from django.contrib.auth import views as auth_views
from django.urls import path

from datalux.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("login/verify/", views.login_verify, name="login_verify"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("second-factor/", views.second_factor, name="second_factor"),
    path("second-factor/remove/", views.second_factor_remove, name="second_factor_remove"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<str:key_id>/revoke/", views.revoke_token, name="revoke_token"),
    path("workspace/<slug:role>/", views.workspace, name="workspace"),
]
