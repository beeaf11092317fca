"""Signals the store sends after a commit, so other layers can react without
the store importing them (the relay in protocols/ listens to outbound_queued)."""

from django.dispatch import Signal

# sent on commit with message_id=<OutboundMessage pk>
outbound_queued = Signal()
# sent on commit with account_id=<Account pk>, blobs=<sha256s>, spam=<bool>: a user
# filed these messages into Junk (spam) or out of it (ham); see store/learning.py
spam_filed = Signal()
