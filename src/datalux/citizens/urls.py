from django.urls import path

from datalux.citizens import views, views_choices, views_rectification

app_name = "citizens"

urlpatterns: list = [
    path("", views.home, name="home"),
    path("data/", views.my_data, name="my_data"),
    path("data.json", views.data_json, name="data_json"),
    path("data.csv", views.data_csv, name="data_csv"),
    path("uses/", views.who_used, name="uses"),
]

# correction requests (GDPR Art. 16): the citizen's, then the stewards' of the source holders
urlpatterns += [
    path("corrections/", views_rectification.rectifications, name="rectifications"),
    path("corrections/new/", views_rectification.rectification_new, name="rectification_new"),
    path(
        "corrections/<str:reference>/",
        views_rectification.rectification,
        name="rectification",
    ),
    path(
        "corrections/<str:reference>/withdraw/",
        views_rectification.rectification_withdraw,
        name="rectification_withdraw",
    ),
    path(
        "stewards/corrections/",
        views_rectification.steward_rectifications,
        name="steward_rectifications",
    ),
    path(
        "stewards/corrections/<str:reference>/",
        views_rectification.steward_rectification,
        name="steward_rectification",
    ),
    path(
        "stewards/corrections/<str:reference>/<str:action>/",
        views_rectification.steward_answer,
        name="steward_answer",
    ),
]

# consent (data altruism) and the objection to secondary use
urlpatterns += [
    path("choices/", views_choices.choices_page, name="choices"),
    path("choices/opt-out/", views_choices.opt_out, name="opt_out"),
    path("choices/opt-out/revoke/", views_choices.revoke_opt_out, name="revoke_opt_out"),
    path(
        "choices/consents/<str:reference>/withdraw/",
        views_choices.withdraw,
        name="withdraw_consent",
    ),
]
