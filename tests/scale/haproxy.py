"""A real HAProxy (Debian's package) in TCP mode in front of runmailserver
workers: one frontend per (listener, PROXY version), round robin over the
workers, each server line with send-proxy or send-proxy-v2."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

VERSIONS = {"v1": "send-proxy", "v2": "send-proxy-v2"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config(frontends: dict[tuple[str, str], int], workers: list[dict[str, int]]) -> str:
    lines = [
        "global",
        "    maxconn 2000",
        "defaults",
        "    mode tcp",
        "    timeout connect 5s",
        "    timeout client 120s",
        "    timeout server 120s",
        "",
    ]
    for (listener, version), port in frontends.items():
        name = f"{listener}_{version}"
        lines += [
            f"frontend {name}",
            f"    bind 127.0.0.1:{port}",
            f"    default_backend {name}",
            "",
            f"backend {name}",
            "    balance roundrobin",
        ]
        lines += [
            f"    server w{n} 127.0.0.1:{ports[listener]} {VERSIONS[version]} source 127.0.0.1"
            for n, ports in enumerate(workers, 1)
        ]
        lines.append("")
    return "\n".join(lines)


class HAProxy:
    """haproxy -db (foreground) with the config above; .ports[(listener, version)]."""

    def __init__(self, listeners: list[str], workers: list[dict[str, int]]) -> None:
        self.ports = {(listener, version): free_port() for listener in listeners for version in VERSIONS}
        self._dir = Path(tempfile.mkdtemp(prefix="mailhost-haproxy-"))
        self.config = self._dir / "haproxy.cfg"
        self.config.write_text(config(self.ports, workers))
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> HAProxy:
        binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
        check = subprocess.run([binary, "-c", "-f", str(self.config)], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"haproxy config refused: {check.stdout}{check.stderr}")
        self.proc = subprocess.Popen(
            [binary, "-db", "-f", str(self.config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 15
        for port in self.ports.values():
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if self.proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("haproxy did not start: " + self.proc.stdout.read().decode()) from None
                    time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
        shutil.rmtree(self._dir, ignore_errors=True)
