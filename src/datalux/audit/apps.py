from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "datalux.audit"
    label = "audit"
    verbose_name = "Audit log"
