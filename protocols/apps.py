from django.apps import AppConfig


class ProtocolsConfig(AppConfig):
    name = "protocols"

    def ready(self) -> None:
        from mailboxes.signals import outbound_queued

        from .relay.local import on_outbound_queued

        outbound_queued.connect(on_outbound_queued, dispatch_uid="protocols.relay.kick")
