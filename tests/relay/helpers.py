"""Stand-ins for the outside world the relay talks to, all on 127.0.0.1: an
aiosmtpd server playing remote MX hosts, a tiny DNS server, and a real
`celery -A mailhost worker` child process."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from aiosmtpd.smtp import SMTP

from tests.markers import forbid_in_fast_run

ROOT = Path(__file__).resolve().parent.parent.parent


def wait_for(predicate: Callable[[], object], timeout: float = 60, what: str = "condition") -> object:
    """Poll until predicate() is truthy (a generous bound, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


# --- remote MX hosts ------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    peer: tuple


class SinkHandler:
    """Replies by recipient local part: nobody -> 550 5.1.1, later -> 451
    always, flaky -> 451 the first time, held -> DATA waits for release;
    addresses in `deferring` -> 451 4.2.1 until the test takes them out;
    anything else is accepted."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.messages: list[Received] = []
        self.connections = 0  # counted at each session's first EHLO
        self.seen: set[str] = set()
        self.deferring: set[str] = set()
        self.entered = threading.Event()
        self.release = threading.Event()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # type: ignore[no-untyped-def]
        if session.host_name is None:
            self.connections += 1
        session.host_name = hostname
        return responses[:-1] + ["250-PIPELINING"] + responses[-1:]

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        local = address.split("@")[0]
        if local == "nobody":
            return "550 5.1.1 No such user here"
        if local == "later":
            return "451 4.3.0 Try again later"
        if address in self.deferring:
            return "451 4.2.1 Mailbox busy, try again later"
        if local == "flaky" and address not in self.seen:
            self.seen.add(address)
            return "451 4.3.0 Busy, come back"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content, session.peer)
        )
        if any(r.startswith("held@") for r in envelope.rcpt_tos) and not self.entered.is_set():
            self.entered.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)
        return "250 2.0.0 OK queued"

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.rcpt_tos]


class Sink:
    """An SMTP server (aiosmtpd) on its own event loop thread."""

    def __init__(
        self,
        *,
        tls: bool = False,
        logins: dict[str, str] | None = None,
        tls_context: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
    ) -> None:
        """tls_context: STARTTLS with it (or, with implicit_tls, TLS from the first byte)."""
        self.handler = SinkHandler()
        self.logins: list[str] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        options: dict = {}
        if tls_context is not None and not implicit_tls:
            options["tls_context"] = tls_context
        elif tls:
            from protocols.tls import server_context

            options["tls_context"] = server_context()
        if logins is not None:
            options["authenticator"] = self._authenticator(logins)
            options["auth_require_tls"] = not implicit_tls  # aiosmtpd cannot tell an implicit TLS socket

        def factory() -> SMTP:
            return SMTP(self.handler, hostname="mx.sink.test", loop=self.loop, **options)

        self.server = asyncio.run_coroutine_threadsafe(
            self.loop.create_server(factory, "127.0.0.1", 0, ssl=tls_context if implicit_tls else None), self.loop
        ).result(10)
        self.port = self.server.sockets[0].getsockname()[1]

    def _authenticator(self, logins: dict[str, str]):  # type: ignore[no-untyped-def]
        from aiosmtpd.smtp import AuthResult

        def check(server, session, envelope, mechanism, data):  # type: ignore[no-untyped-def]
            user = data.login.decode()
            ok = logins.get(user) == data.password.decode()
            if ok:
                self.logins.append(user)
            return AuthResult(success=ok, handled=False)

        return check

    def close(self) -> None:
        self.handler.release.set()
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def self_signed(directory: Path, name: str) -> tuple[ssl.SSLContext, Path]:
    """A server context whose certificate is self-signed for `name` alone (no
    other DNS name or address), and the certificate's file, to trust as a CA."""
    from protocols.tls import self_signed_certificate

    cert_pem, key_pem = self_signed_certificate([name], ca=True)
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(cert_pem)
    key_path.write_bytes(key_pem)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context, cert_path


# --- DNS ------------------------------------------------------------------


def txt(value: str) -> str:
    """A TXT record's zone-file text: strings of at most 255 octets."""
    return " ".join(f'"{value[i : i + 255]}"' for i in range(0, len(value), 255)) or '""'


class DnsServer:
    """Answers UDP queries from a table {name: [(type, rdata text)]}; names
    not in it are NXDOMAIN.

    With negative_ttl, a negative answer (NXDOMAIN or no record of the type)
    carries an SOA in its authority section, as a real authoritative server's
    does (RFC 2308 3), so resolvers may cache it that long; without it, none
    (tests that change the zone between lookups see every change at once)."""

    def __init__(
        self,
        zone: dict[str, list[tuple[str, str]]],
        negative_ttl: int | None = None,
        *,
        secure: bool = False,
        insecure: Collection[str] = (),
        failing: Collection[str] = (),
        ttl: int = 60,
    ) -> None:
        self.zone = {k.lower().rstrip("."): v for k, v in zone.items()}
        self.ttl = ttl  # of every positive answer
        self.secure = secure  # answer with the AD bit, as a validating resolver does for signed data
        self.insecure = {k.lower().rstrip(".") for k in insecure}  # but not for these names (unsigned zones)
        self.failing = {k.lower().rstrip(".") for k in failing}  # SERVFAIL, as for a timeout or bogus data
        self.negative_ttl = negative_ttl
        self.queries: list[tuple[str, str]] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                wire, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            query = dns.message.from_wire(wire)
            response = dns.message.make_response(query)
            question = query.question[0]
            name = question.name.to_text().lower().rstrip(".")
            rdtype = dns.rdatatype.to_text(question.rdtype)
            self.queries.append((name, rdtype))
            if name in self.failing:
                response.set_rcode(dns.rcode.SERVFAIL)
                self.sock.sendto(response.to_wire(), peer)
                continue
            texts = [text for kind, text in self.zone.get(name, []) if kind == rdtype]
            if name not in self.zone:
                response.set_rcode(dns.rcode.NXDOMAIN)
            elif texts:
                response.answer.append(
                    dns.rrset.from_text_list(question.name, self.ttl, dns.rdataclass.IN, question.rdtype, texts)
                )
            if not texts and self.negative_ttl is not None:
                response.authority.append(
                    dns.rrset.from_text(
                        question.name,
                        self.negative_ttl,
                        dns.rdataclass.IN,
                        dns.rdatatype.SOA,
                        f"ns.invalid. hostmaster.invalid. 1 3600 600 86400 {self.negative_ttl}",
                    )
                )
            response.flags |= dns.flags.AA
            if self.secure and name not in self.insecure:
                response.flags |= dns.flags.AD
            self.sock.sendto(response.to_wire(), peer)

    def resolver(self):  # type: ignore[no-untyped-def]
        from mailboxes.dns import make_resolver

        return make_resolver([f"127.0.0.1:{self.port}"], lifetime=5)

    def close(self) -> None:
        self.sock.close()


# --- a real Celery worker -------------------------------------------------


class Worker:
    """`celery -A mailhost worker -B --pool=solo` (beat embedded) unless told otherwise."""

    def __init__(self, env: dict[str, str], workdir: Path, pool: tuple[str, ...] = ("-B", "--pool=solo")) -> None:
        self.env = {**os.environ, **env}
        self.workdir = workdir
        self.pool = list(pool)
        self.log = workdir / f"worker-{time.monotonic_ns()}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Worker:
        forbid_in_fast_run("a Celery worker subprocess")
        celery = str(Path(sys.executable).parent / "celery")
        cmd = [
            celery,
            "-A",
            "mailhost",
            "worker",
            *self.pool,
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-s",
            str(self.workdir / "beat-schedule"),
            "-n",
            f"relaytest-{os.getpid()}@%h",
        ]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env, stdout=self.log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
        )
        wait_for(lambda: b"ready." in self.log.read_bytes() or self.proc.poll() is not None, 60, "worker start")
        if self.proc.poll() is not None:
            raise RuntimeError("celery worker exited:\n" + self.output())
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.kill()
