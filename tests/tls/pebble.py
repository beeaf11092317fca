"""Debian's pebble (an RFC 8555 test CA) as a subprocess on loopback: its own
HTTPS certificate from a throwaway CA (the bundle requests, and so the `acme`
library, trusts through REQUESTS_CA_BUNDLE), HTTP-01 validation against the
port the test names, every lookup through the test's DNS server."""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from tests.certs import TestCa
from tests.markers import forbid_in_fast_run

PEBBLE = shutil.which("pebble")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Pebble:
    """pebble -config <ours> -dnsserver <the test's DNS>; .directory is the
    ACME directory URL, .ca_bundle the file that verifies it, .issuing_root()
    the root its certificates chain to."""

    def __init__(self, http_port: int, dns_port: int, tls_port: int = 0) -> None:
        forbid_in_fast_run("a pebble subprocess")
        self.workdir = Path(tempfile.mkdtemp(prefix="pebble-"))
        ca = TestCa(self.workdir)
        cert, key = ca.issue(["localhost"])
        self.ca_bundle = ca.pem
        self.port, self.management_port = free_port(), free_port()
        config = {
            "pebble": {
                "listenAddress": f"127.0.0.1:{self.port}",
                "managementListenAddress": f"127.0.0.1:{self.management_port}",
                "certificate": str(cert),
                "privateKey": str(key),
                "httpPort": http_port,
                "tlsPort": tls_port or free_port(),
                "ocspResponderURL": "",
                "externalAccountBindingRequired": False,
            }
        }
        (self.workdir / "config.json").write_text(json.dumps(config))
        self.directory = f"https://127.0.0.1:{self.port}/dir"
        env = {
            **os.environ,
            "PEBBLE_VA_NOSLEEP": "1",  # validate at once, not after a random pause
            "PEBBLE_WFE_NONCEREJECT": "0",  # no deliberately rejected nonces: the run is repeatable
            "PEBBLE_AUTHZREUSE": "0",
        }  # every order is validated again (the renewal too)
        self.log = open(self.workdir / "pebble.log", "wb")
        self.proc = subprocess.Popen(
            [PEBBLE, "-config", str(self.workdir / "config.json"), "-dnsserver", f"127.0.0.1:{dns_port}"],
            cwd=self.workdir,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                self._get(self.directory)
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.close()
                    raise RuntimeError("pebble did not start: " + self.output()) from None
                time.sleep(0.1)

    def _get(self, url: str) -> bytes:
        context = ssl.create_default_context(cafile=str(self.ca_bundle))
        with urllib.request.urlopen(url, context=context, timeout=5) as response:
            return response.read()

    def issuing_root(self) -> bytes:
        """The PEM root pebble's certificates chain to (its management API)."""
        return self._get(f"https://127.0.0.1:{self.management_port}/roots/0")

    def output(self) -> str:
        return (self.workdir / "pebble.log").read_text(errors="replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.workdir, ignore_errors=True)
