"""Signals the store sends after a commit, so other layers can react without
the store importing them (the relay in protocols/ listens to outbound_queued)."""
from django.dispatch import Signal

# sent on commit with message_id=<OutboundMessage pk>
outbound_queued = Signal()
