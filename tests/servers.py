"""Run the real mail listeners for tests: in this process on a background
event loop (fast), or as a `runmailserver` subprocess (for signals, kills and
several workers). Both bind 127.0.0.1 port 0 and report the real ports."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from django.conf import settings

from tests.markers import forbid_in_fast_run

ROOT = Path(__file__).resolve().parent.parent


class InProcessServer:
    """The listeners named, on one event loop in a daemon thread."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.ports: dict[str, int] = {}
        self.loop = asyncio.new_event_loop()
        self.listeners: list = []
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> InProcessServer:
        from protocols.management.commands.runmailserver import _start_function

        self._thread.start()

        async def start_all() -> None:
            for name in self.names:
                listener = await _start_function(name)(name, "127.0.0.1", 0)
                self.listeners.append(listener)
                self.ports[name] = listener.addresses[0][1]

        asyncio.run_coroutine_threadsafe(start_all(), self.loop).result(30)
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop_all() -> None:
            await asyncio.gather(*(listener.stop(1) for listener in self.listeners), return_exceptions=True)
            # As asyncio.run does at its end: sessions still running (a client
            # that never hung up) are cancelled and awaited, not left pending.
            leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in leftovers:
                task.cancel()
            await asyncio.gather(*leftovers, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop_all(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self.loop.close()


def database_url() -> str:
    """The URL of the database the tests run on (pytest-django's test database)."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        raise RuntimeError("subprocess servers need PostgreSQL")
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{host}:{port}/{db['NAME']}"


class SubprocessServer:
    """`manage.py runmailserver` as a child process on ephemeral ports: on the
    tests' PostgreSQL, or with embedded=True as `make run` has it (no
    DATABASE_URL or REDIS_URL: SQLite under MAIL_VAR_DIR, no broker)."""

    def __init__(self, protocols: str, extra_env: dict[str, str] | None = None, *, embedded: bool = False) -> None:
        self.protocols = protocols
        self.extra_env = extra_env or {}
        self.embedded = embedded
        self.ports: dict[str, int] = {}
        self.proc: subprocess.Popen | None = None
        self._ready = Path(tempfile.mkstemp(prefix="mailhost-ready-")[1])
        # The worker's log goes to a file, not a pipe: a pipe nobody reads fills
        # at 64 KiB and the worker would block in its next log write.
        self._log = tempfile.TemporaryFile(prefix="mailhost-log-")

    def start(self) -> SubprocessServer:
        forbid_in_fast_run("a runmailserver subprocess")
        self._ready.unlink(missing_ok=True)
        if self.embedded:
            env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        else:
            env = {**os.environ, "DATABASE_URL": database_url(), "MAIL_DB_POOL": "false"}
        env.update(self.extra_env)
        cmd = [
            sys.executable,
            str(ROOT / "manage.py"),
            "runmailserver",
            "--host",
            "127.0.0.1",
            "--protocols",
            self.protocols,
            "--ready-file",
            str(self._ready),
        ]
        self.proc = subprocess.Popen(
            cmd + self._port_args(), cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._ready.exists() and self._ready.read_text().endswith("\n"):
                for line in self._ready.read_text().splitlines():
                    name, _, rest = line.partition(" listening on ")
                    self.ports[name] = int(rest.rsplit(":", 1)[1])
                return self
            if self.proc.poll() is not None:
                raise RuntimeError("runmailserver exited: " + self.output())
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("runmailserver did not become ready")

    def _wanted(self) -> set[str]:
        from protocols.management.commands.runmailserver import FAMILIES

        return {n for item in self.protocols.split(",") for n in FAMILIES[item]}

    def _port_args(self) -> list[str]:
        # Port 0 means "off" on the command line, so ask for ephemeral ports by
        # binding them here first and handing the numbers over.
        import socket

        args = []
        for name in self._wanted():
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            args += [f"--{name}-port", str(port)]
        return args

    def send_signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def output(self) -> str:
        assert self.proc is not None
        # pread: the worker shares this file's offset, so never move it.
        fd = self._log.fileno()
        return os.pread(fd, os.fstat(fd).st_size, 0).decode(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def __enter__(self) -> SubprocessServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._ready.unlink(missing_ok=True)
