"""The permit's lifecycle reaches its extracts and its workspace at once: a permit saved in
any state other than active (revoked, expired, closed), or amended, locks the extracts no
workspace may use; a permit no longer active locks its workspace (no job starts, queued jobs
fail, running ones are stopped)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from datalux.access.models import Permit


@receiver(post_save, sender=Permit, dispatch_uid="spe.lock_extracts")
def _permit_saved(sender: Any, instance: Permit, created: bool, **kwargs: Any) -> None:
    if created:
        return
    from datalux.spe.jobs import lock_extracts
    from datalux.spe.workspaces import lock, unlock_if_active

    lock_extracts(instance)
    if instance.state == "active":
        unlock_if_active(instance)
    else:
        lock(instance)
