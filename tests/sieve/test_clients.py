"""Real ManageSieve clients against the real server: Debian's sieve-connect
(STARTTLS, upload, activate, list, download) and sievelib's client."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from sievelib.managesieve import Client

from mailboxes import store
from tests.markers import forbid_in_fast_run

from .conftest import ALICE, ALICE_PW

FILTER = 'require "fileinto";\r\nif header :contains "subject" "bank" {\r\n  fileinto "Finance";\r\n}\r\n'


def sieve_connect(port: int, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    forbid_in_fast_run("sieve-connect (a real mail program)")
    read, write = os.pipe()
    os.write(write, ALICE_PW.encode() + b"\n")
    os.close(write)
    try:
        result = subprocess.run(
            [
                "sieve-connect",
                "--server",
                "127.0.0.1",
                "--port",
                str(port),
                "--user",
                ALICE,
                "--passwordfd",
                str(read),
                "--notlsverify",
                "--authmech",
                "PLAIN",
                *args,
            ],
            capture_output=True,
            timeout=60,
            pass_fds=(read,),
        )
    finally:
        os.close(read)
    assert result.returncode == 0 or not check, (
        args,
        result.stdout.decode(errors="replace"),
        result.stderr.decode(errors="replace"),
    )
    return result


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("sieve-connect") is None, reason="needs Debian's sieve-connect (make apt-deps)")
def test_sieve_connect_uploads_activates_lists_and_downloads_over_starttls(sieve_server, alice, tmp_path: Path):
    port = sieve_server.ports["managesieve"]
    local = tmp_path / "filter.sieve"
    local.write_bytes(FILTER.encode())
    sieve_connect(port, "--upload", "--localsieve", str(local), "--remotesieve", "bank")
    sieve_connect(port, "--activate", "--remotesieve", "bank")
    assert store.active_script(alice.id) == ("bank", FILTER)
    listed = sieve_connect(port, "--list").stdout.decode()
    assert "bank" in listed and "ACTIVE" in listed.upper()
    back = tmp_path / "back.sieve"
    sieve_connect(port, "--download", "--remotesieve", "bank", "--localsieve", str(back))
    assert back.read_bytes().replace(b"\r\n", b"\n") == FILTER.replace("\r\n", "\n").encode()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("sieve-connect") is None, reason="needs Debian's sieve-connect (make apt-deps)")
def test_sieve_connect_is_told_the_line_of_an_error(sieve_server, alice, tmp_path: Path):
    local = tmp_path / "bad.sieve"
    local.write_bytes(b"keep;\r\nfileinto \"x\";\r\n")
    result = sieve_connect(
        sieve_server.ports["managesieve"], "--upload", "--localsieve", str(local), "--remotesieve", "bad", check=False
    )
    assert result.returncode != 0
    assert b"line 2" in result.stdout + result.stderr
    assert store.list_scripts(alice.id) == []


# sievelib's STARTTLS verifies the certificate, and the test server's is self-signed:
# it talks in clear over loopback, which the server trusts.
@pytest.mark.filterwarnings("ignore:Credentials are sent over an unencrypted connection")
def test_sievelib_client_puts_checks_activates_gets_renames_and_deletes(sieve_server, alice):
    client = Client("127.0.0.1", sieve_server.ports["managesieve"])
    assert client.connect(ALICE, ALICE_PW, starttls=False, authmech="PLAIN")
    assert "fileinto" in client.get_sieve_capabilities()
    assert client.havespace("main", 100)
    assert client.checkscript(FILTER)
    assert not client.checkscript("frobnicate;")
    assert client.putscript("main", FILTER)
    assert client.setactive("main")
    assert client.listscripts() == ("main", [])
    assert client.getscript("main").replace("\r\n", "\n").rstrip() == FILTER.replace("\r\n", "\n").rstrip()
    assert client.setactive("")
    assert client.renamescript("main", "bank")
    assert client.deletescript("bank")
    assert client.listscripts() == (None, [])
    client.logout()
