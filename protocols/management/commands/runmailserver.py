"""runmailserver: one worker process serving every enabled mail protocol on
one asyncio event loop. Run as many workers as needed (DESIGN.md)."""
from __future__ import annotations

import asyncio
import importlib
import logging
import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

log = logging.getLogger("protocols.runmailserver")

# listener name -> "module:start function"; start(name, host, port) -> Listener
LISTENERS = {
    "smtp": "protocols.smtp.server:start",
    "submission": "protocols.smtp.server:start",
    "smtps": "protocols.smtp.server:start",
    "imap": "protocols.imap.server:start",
    "imaps": "protocols.imap.server:start",
    "pop3": "protocols.pop3.server:start",
    "pop3s": "protocols.pop3.server:start",
    "pop2": "protocols.pop2.server:start",
}
OPTION = {"smtp": "smtp_port", "submission": "submission_port", "smtps": "smtps_port",
          "imap": "imap_port", "imaps": "imaps_port", "pop3": "pop3_port", "pop3s": "pop3s_port",
          "pop2": "pop2_port"}
# --protocols accepts the family names too: 'pop3' also enables pop3s, etc.
FAMILIES = {"smtp": ("smtp",), "submission": ("submission",), "smtps": ("smtps",),
            "imap": ("imap", "imaps"), "imaps": ("imaps",), "pop3": ("pop3", "pop3s"),
            "pop3s": ("pop3s",), "pop2": ("pop2",)}


def _start_function(name: str):  # type: ignore[no-untyped-def]
    module_name, func = LISTENERS[name].split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            return None
        raise
    return getattr(module, func)


class Command(BaseCommand):
    help = "Run the SMTP, IMAP, POP3 and POP2 listeners (a port of 0 turns one off)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.MAIL_LISTEN_HOST)
        for name, option in OPTION.items():
            parser.add_argument("--" + option.replace("_", "-"), type=int, default=settings.MAIL_PORTS[name],
                                metavar="PORT", help=f"{name} port (env MAIL_{option.upper()}; 0 = off)")
        parser.add_argument("--protocols", default=",".join(settings.MAIL_PROTOCOLS),
                            help="comma-separated listeners to run (default: all)")
        parser.add_argument("--ready-file", help="write the listening addresses to this file once up")
        parser.add_argument("--metrics-port", type=int, default=settings.MAIL_METRICS_PORT, metavar="PORT",
                            help="serve Prometheus metrics on this port (env MAIL_METRICS_PORT; 0 = off)")

    def handle(self, *args, **options):
        wanted: set[str] = set()
        for item in options["protocols"].split(","):
            item = item.strip().lower()
            if not item:
                continue
            if item not in FAMILIES:
                raise CommandError(f"unknown protocol {item!r}; known: {', '.join(LISTENERS)}")
            wanted.update(FAMILIES[item])
        plan = []
        for name in LISTENERS:
            port = options[OPTION[name]]
            if not 0 <= port <= 65535:
                raise CommandError(f"--{OPTION[name].replace('_', '-')} {port}: not a port")
            if name in wanted and port:
                plan.append((name, port))
        metrics_port = options["metrics_port"]
        if not 0 <= metrics_port <= 65535:
            raise CommandError(f"--metrics-port {metrics_port}: not a port")
        from protocols import logqueue
        logqueue.start()  # a log sink that stops reading must not stop the event loop
        try:
            asyncio.run(self._serve(options["host"], plan, options.get("ready_file"), metrics_port))
        except KeyboardInterrupt:
            pass
        finally:
            logqueue.stop()

    async def _serve(self, host: str, plan: list[tuple[str, int]], ready_file: str | None,
                     metrics_port: int = 0) -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        from protocols import tls
        loop.add_signal_handler(signal.SIGHUP, tls.reload)  # new certificate, no connection dropped
        listeners: list = []
        lines = []
        for name, port in plan:
            start = _start_function(name)
            if start is None:
                log.warning("%s: not available in this build; skipped", name)
                continue
            try:
                listener = await start(name, host, port)
            except OSError as exc:
                for running in listeners:
                    await running.stop(0)
                raise CommandError(f"{name}: cannot listen on {host}:{port}: {exc.strerror}") from None
            listeners.append(listener)
            for address in listener.addresses:
                line = f"{name} listening on {address[0]}:{address[1]}"
                log.info(line)
                lines.append(line)
        if not listeners:
            raise CommandError("no listener to run (all ports are 0 or no protocol selected)")
        if metrics_port:
            from mailhost import metrics
            try:
                address = metrics.serve(host, metrics_port)
            except OSError as exc:
                for running in listeners:
                    await running.stop(0)
                raise CommandError(f"metrics: cannot listen on {host}:{metrics_port}: {exc.strerror}") from None
            lines.append(f"metrics listening on {address[0]}:{address[1]}")
        from protocols.relay.local import start_sweeper
        start_sweeper()  # embedded default only: no celery beat there
        self.stdout.write("\n".join(lines))
        self.stdout.flush()
        if ready_file:
            with open(ready_file, "w") as fh:
                fh.write("\n".join(lines) + "\n")
        await stop.wait()
        log.info("shutting down: closing %d listeners", len(listeners))
        await asyncio.gather(*(listener.stop() for listener in listeners), return_exceptions=True)
        log.info("stopped")
