from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "datalux.accounts"
    label = "accounts"
    verbose_name = "Organisations and users"

    def ready(self) -> None:
        from datalux.accounts import signals  # noqa: F401  (login/logout audit events)
