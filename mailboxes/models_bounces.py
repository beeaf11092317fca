"""Delivery status notifications received for our outbound mail
(docs/DELIVERABILITY.md, "Bounces"). Imported by mailboxes/models.py."""

from __future__ import annotations

from django.db import models


class Bounce(models.Model):
    """One per-recipient report of a DSN (RFC 3464) that came back to a VERP
    return path. The queue row may be purged (retention); the address stays
    for the list of repeated hard bounces."""

    recipient = models.ForeignKey(
        "mailboxes.OutboundRecipient", null=True, on_delete=models.SET_NULL, related_name="bounces"
    )
    message_id = models.BigIntegerField()  # the OutboundMessage it was about
    address = models.CharField(max_length=320, db_index=True)
    action = models.CharField(max_length=16)  # failed | delayed | delivered | relayed | expanded
    status = models.CharField(max_length=16)  # e.g. 5.1.1
    diagnostic = models.CharField(max_length=500, blank=True, default="")
    received = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        app_label = "mailboxes"

    @property
    def hard(self) -> bool:
        return self.action == "failed" and self.status.startswith("5")
