from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "datalux.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        # The admin has imported every app's admin module by now (it is installed first):
        # admins registered by other apps (auth.Group...) get the audited save and delete too.
        from django.contrib import admin

        from datalux.core.admin_audit import audit_every_admin

        audit_every_admin(admin.site)
