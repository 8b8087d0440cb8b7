from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "datalux.accounts"
    label = "accounts"
    verbose_name = _("Organisations and users")

    def ready(self) -> None:
        from datalux.accounts import signals  # noqa: F401  (login/logout audit events)
        from datalux.accounts.admin_login import install

        install()  # the admin signs in through accounts:login (throttled, second factor)
