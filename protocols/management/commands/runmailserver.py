"""runmailserver: a worker process serving every enabled mail protocol on
one asyncio event loop; with --workers N, N of them sharing the listening
sockets (protocols/workers.py). Run as many as needed, on as many machines
(DESIGN.md, docs/SCALING.md)."""

from __future__ import annotations

import asyncio
import importlib
import logging
import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

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
    "managesieve": "protocols.managesieve.server:start",
}
OPTION = {
    "smtp": "smtp_port",
    "submission": "submission_port",
    "smtps": "smtps_port",
    "imap": "imap_port",
    "imaps": "imaps_port",
    "pop3": "pop3_port",
    "pop3s": "pop3s_port",
    "pop2": "pop2_port",
    "managesieve": "managesieve_port",
}
# --protocols accepts the family names too: 'pop3' also enables pop3s, etc.
FAMILIES = {
    "smtp": ("smtp",),
    "submission": ("submission",),
    "smtps": ("smtps",),
    "imap": ("imap", "imaps"),
    "imaps": ("imaps",),
    "pop3": ("pop3", "pop3s"),
    "pop3s": ("pop3s",),
    "pop2": ("pop2",),
    "managesieve": ("managesieve",),
}


def _start_function(name: str):  # type: ignore[no-untyped-def]
    module_name, func = LISTENERS[name].split(":")
    return getattr(importlib.import_module(module_name), func)


async def _watch_certificate(interval: float) -> None:
    """A renewal (protocols/acme.py) reaches every worker, on every machine
    sharing the files, without a signal: each looks at the files every
    interval and loads them when they changed (stat only; no thread needed)."""
    from protocols import tls

    while True:
        await asyncio.sleep(interval)
        try:
            tls.reload_if_changed()
        except Exception:  # never let the watcher die: the next look may succeed
            log.exception("TLS: checking the certificate files failed")


class Command(BaseCommand):
    help = "Run the SMTP, IMAP, POP3, POP2 and ManageSieve listeners (a port of 0 turns one off)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.MAIL_LISTEN_HOST)
        for name, option in OPTION.items():
            parser.add_argument(
                "--" + option.replace("_", "-"),
                type=int,
                default=settings.MAIL_PORTS[name],
                metavar="PORT",
                help=f"{name} port (env MAIL_{option.upper()}; 0 = off)",
            )
        parser.add_argument(
            "--protocols",
            default=",".join(settings.MAIL_PROTOCOLS),
            help="comma-separated listeners to run (default: all)",
        )
        parser.add_argument("--ready-file", help="write the listening addresses to this file once up")
        parser.add_argument(
            "--metrics-port",
            type=int,
            default=settings.MAIL_METRICS_PORT,
            metavar="PORT",
            help="serve Prometheus metrics on this port (env MAIL_METRICS_PORT; 0 = off); "
            "with --workers N, worker i serves it on PORT + i",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=settings.MAIL_WORKERS,
            metavar="N",
            help="worker processes sharing the listening sockets (env MAIL_WORKERS; "
            "default: one per core, at most 4, on PostgreSQL; 1 on SQLite)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
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
        metrics_port, workers = options["metrics_port"], options["workers"]
        if not 0 <= metrics_port <= 65535 - max(workers - 1, 0):
            raise CommandError(f"--metrics-port {metrics_port}: not a port")
        if not 1 <= workers <= 256:
            raise CommandError(f"--workers {workers}: must be between 1 and 256")
        if workers == 1:
            return self._worker(options["host"], plan, options.get("ready_file"), metrics_port)
        self._supervise(options["host"], plan, options.get("ready_file"), metrics_port, workers)

    def _worker(
        self,
        host: str,
        plan: list[tuple[str, int]],
        ready_file: str | None,
        metrics_port: int,
        index: int = 0,
        announce: bool = True,
    ) -> None:
        from protocols import logqueue

        logqueue.start()  # a log sink that stops reading must not stop the event loop
        try:
            asyncio.run(self._serve(host, plan, ready_file, metrics_port, index, announce))
        except KeyboardInterrupt:
            pass
        finally:
            logqueue.stop()

    def _supervise(
        self, host: str, plan: list[tuple[str, int]], ready_file: str | None, metrics_port: int, workers: int
    ) -> None:
        """Bind every socket here, once, then fork the workers that serve them."""
        from django.db import connections

        from protocols import workers as supervisor

        lines = []
        for name, port in plan:
            try:
                address = supervisor.bind(host, port).getsockname()
            except OSError as exc:
                raise CommandError(f"{name}: cannot listen on {host}:{port}: {exc.strerror}") from None
            lines.append(f"{name} listening on {address[0]}:{address[1]}")
        if not lines:
            raise CommandError("no listener to run (all ports are 0 or no protocol selected)")
        lines += [f"metrics listening on {host}:{metrics_port + i}" for i in range(workers) if metrics_port]
        connections.close_all()  # nothing the workers would share
        self.stdout.write("\n".join(lines + [f"{workers} workers"]))
        self.stdout.flush()
        if ready_file:
            with open(ready_file, "w") as fh:
                fh.write("\n".join(lines) + "\n")
        status = supervisor.supervise(
            workers,
            lambda index: self._worker(
                host, plan, None, metrics_port + index if metrics_port else 0, index, announce=False
            ),
        )
        if status:
            raise CommandError("the workers could not be kept running")

    async def _serve(
        self,
        host: str,
        plan: list[tuple[str, int]],
        ready_file: str | None,
        metrics_port: int = 0,
        index: int = 0,
        announce: bool = True,
    ) -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        from protocols import tls

        loop.add_signal_handler(signal.SIGHUP, tls.reload)  # new certificate, no connection dropped
        watcher = asyncio.create_task(_watch_certificate(settings.MAIL_TLS_RELOAD_INTERVAL))
        listeners: list = []
        lines = []
        for name, port in plan:
            try:
                listener = await _start_function(name)(name, host, port)
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
        if index == 0:
            from protocols.relay.local import start_sweeper

            start_sweeper()  # embedded default only: no celery beat there
        if announce:  # a supervisor's worker says nothing: the supervisor did
            self.stdout.write("\n".join(lines))
            self.stdout.flush()
        else:
            log.info("worker %d serving", index)
        if ready_file:
            with open(ready_file, "w") as fh:
                fh.write("\n".join(lines) + "\n")
        await stop.wait()
        watcher.cancel()
        log.info("shutting down: closing %d listeners", len(listeners))
        await asyncio.gather(*(listener.stop() for listener in listeners), return_exceptions=True)
        log.info("stopped")
