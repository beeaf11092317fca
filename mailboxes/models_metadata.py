"""IMAP METADATA entries (RFC 5464), in a module of their own so that
models.py stays one screenful per concept; models.py imports it."""

from __future__ import annotations

from django.db import models

from .models import Account, Folder


class MetadataEntry(models.Model):
    """One annotation. ``entry`` is lower-cased and starts ``/private/`` or
    ``/shared/``; ``folder`` is None for a server entry; ``owner`` is the
    account (its own private entries, and the shared ones of its mailboxes),
    None only for the server's shared entries."""

    owner = models.ForeignKey(Account, null=True, on_delete=models.CASCADE, related_name="metadata")
    folder = models.ForeignKey(Folder, null=True, on_delete=models.CASCADE, related_name="metadata")
    entry = models.CharField(max_length=1024)
    value = models.BinaryField()

    class Meta:
        indexes = [models.Index(fields=["owner", "folder", "entry"], name="metadata_owner_folder_entry")]
