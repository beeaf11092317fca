"""The senders whose mail shows remote images without asking (issue #24), in
a module of its own so that models.py stays one screenful per concept;
models.py imports it."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from .models import Account


class RemoteImageSender(models.Model):
    """One From: address an account always loads remote images for
    (store/remote_images.py decides when the list is honoured)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="remote_image_senders")
    address = models.CharField(max_length=320)  # normalised, lower-case
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "address"], name="remote_image_sender_once"),
        ]
