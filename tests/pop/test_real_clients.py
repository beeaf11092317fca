"""Real mail programs from Debian's packages against the real server:
fetchmail (keep and no-keep, UIDL), getmail6, mpop and curl's pop3://."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailboxes import store

from .conftest import ALICE, ALICE_PW, MESSAGES, POP_FORMS, inbox_uids

pytestmark = pytest.mark.slow

TIMEOUT = 60


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
    result = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT, **kwargs)
    assert result.returncode == 0, (cmd, result.stdout.decode(errors="replace"), result.stderr.decode(errors="replace"))
    return result


def private(path: Path, text: str) -> Path:
    """Mail programs refuse configuration files others can read."""
    path.write_text(text)
    path.chmod(0o600)
    return path


def bodies(directory: Path) -> list[bytes]:
    """The messages a program delivered, each as its POP form's tail
    (the programs prepend headers of their own)."""
    return sorted(p.read_bytes().replace(b"\r\n", b"\n") for p in directory.iterdir() if p.is_file())


def delivered(directory: Path) -> set[bytes]:
    """Which of MESSAGES were delivered into directory (by their Subject)."""
    found = set()
    for data in bodies(directory):
        for raw in MESSAGES:
            subject = next(line for line in raw.splitlines() if line.startswith(b"Subject:"))
            if subject in data.splitlines():
                found.add(subject)
    return found


def subjects(*indexes: int) -> set[bytes]:
    return {next(line for line in MESSAGES[i].splitlines() if line.startswith(b"Subject:")) for i in indexes}


# --- fetchmail -----------------------------------------------------------------------


def fetchmail(tmp_path: Path, port: int, options: str, server_options: str = "") -> str:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    rc = private(
        tmp_path / "fetchmailrc",
        f"""set no syslog
poll 127.0.0.1 with proto POP3 port {port} {server_options}:
  user "{ALICE}" there with password "{ALICE_PW}" is "root" here
  options {options} mda "cat > $(mktemp {out}/msg.XXXXXX)"
""",
    )
    env = {**os.environ, "HOME": str(tmp_path)}
    result = subprocess.run(
        ["fetchmail", "-f", str(rc), "-i", str(tmp_path / "fetchids"), "-v", "--nodetach"],
        capture_output=True,
        timeout=TIMEOUT,
        env=env,
    )
    log = result.stdout.decode(errors="replace") + result.stderr.decode(errors="replace")
    # fetchmail exits 1 when there was no mail: both are fine here.
    assert result.returncode in (0, 1), log
    return log


def test_fetchmail_keep_with_uidl_fetches_each_message_once(pop_server, maildrop, tmp_path):
    port = pop_server.ports["pop3"]
    log = fetchmail(tmp_path, port, 'keep sslproto ""', "uidl")
    assert "UIDL" in log and delivered(tmp_path / "out") == subjects(0, 1, 2)
    assert len(inbox_uids(maildrop)) == 3
    store.deliver(MESSAGES[2].replace(b"three", b"four"), [ALICE])
    fetchmail(tmp_path, port, 'keep sslproto ""', "uidl")
    assert len(list((tmp_path / "out").iterdir())) == 4  # only the new one, by its UIDL
    assert len(inbox_uids(maildrop)) == 4


def test_fetchmail_without_keep_over_stls_deletes_what_it_fetched(pop_server, maildrop, tmp_path):
    log = fetchmail(tmp_path, pop_server.ports["pop3"], 'nokeep sslproto "tls1.2+" no sslcertck')
    assert "POP3> STLS" in log and "POP3> DELE 3" in log
    assert delivered(tmp_path / "out") == subjects(0, 1, 2)
    assert inbox_uids(maildrop) == []


def test_fetchmail_receives_the_bytes_it_was_promised(pop_server, maildrop, tmp_path):
    fetchmail(tmp_path, pop_server.ports["pop3"], 'keep sslproto ""')
    got = bodies(tmp_path / "out")
    for form in POP_FORMS:
        assert any(data.endswith(form.replace(b"\r\n", b"\n")) for data in got)


# --- getmail6 ------------------------------------------------------------------------


@pytest.fixture
def maildir() -> Iterator[Path]:
    """A Maildir that getmail can deliver to: it refuses to deliver as root,
    so as root it delivers as nobody, who must reach the folder."""
    top = Path(tempfile.mkdtemp(prefix="mailhost-getmail-"))
    top.chmod(0o755)
    for sub in ("cur", "new", "tmp"):
        (top / "Maildir" / sub).mkdir(parents=True)
    for path in [top / "Maildir", *(top / "Maildir").iterdir()]:
        path.chmod(0o777)
    yield top / "Maildir"
    shutil.rmtree(top, ignore_errors=True)


def getmail(tmp_path: Path, maildir: Path, port: int, delete: bool) -> Path:
    as_user = "user = nobody\n" if os.geteuid() == 0 else ""
    rc = private(
        tmp_path / "getmailrc",
        f"""[retriever]
type = SimplePOP3SSLRetriever
server = 127.0.0.1
port = {port}
username = {ALICE}
password = {ALICE_PW}

[destination]
type = Maildir
path = {maildir}/
{as_user}
[options]
delete = {str(delete).lower()}
read_all = false
""",
    )
    run(["getmail", "--getmaildir", str(tmp_path), "--rcfile", str(rc)])
    return maildir / "new"


def test_getmail_over_pop3s_fetches_only_new_mail_and_deletes_when_told(pop_server, maildrop, tmp_path, maildir):
    port = pop_server.ports["pop3s"]
    new = getmail(tmp_path, maildir, port, delete=False)
    assert delivered(new) == subjects(0, 1, 2)
    getmail(tmp_path, maildir, port, delete=False)
    assert len(list(new.iterdir())) == 3  # "read_all = false": the UIDLs it saw are skipped
    store.deliver(MESSAGES[0].replace(b"one", b"five"), [ALICE])
    getmail(tmp_path, maildir, port, delete=True)
    assert len(list(new.iterdir())) == 4
    assert inbox_uids(maildrop) == []  # delete = true: every message it has seen goes


# --- mpop ----------------------------------------------------------------------------


def mpop(tmp_path: Path, port: int, keep: bool) -> Path:
    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    rc = private(
        tmp_path / "mpoprc",
        f"""account default
host 127.0.0.1
port {port}
user {ALICE}
password {ALICE_PW}
tls on
tls_starttls on
tls_certcheck off
auth plain
delivery maildir {maildir}
keep {"on" if keep else "off"}
only_new on
uidls_file {tmp_path / "uidls"}
""",
    )
    run(["mpop", "-C", str(rc)])
    return maildir / "new"


def test_mpop_with_stls_and_auth_plain_fetches_new_mail_by_uidl(pop_server, maildrop, tmp_path):
    port = pop_server.ports["pop3"]
    new = mpop(tmp_path, port, keep=True)
    assert delivered(new) == subjects(0, 1, 2)
    assert len((tmp_path / "uidls").read_text().split()) >= 3
    mpop(tmp_path, port, keep=True)
    assert len(list(new.iterdir())) == 3
    mpop(tmp_path, port, keep=False)
    assert inbox_uids(maildrop) == []


# --- curl ----------------------------------------------------------------------------


def curl(url: str, *args: str) -> bytes:
    return run(["curl", "-sS", "--user", f"{ALICE}:{ALICE_PW}", *args, url]).stdout


def test_curl_lists_retrieves_and_deletes(pop_server, maildrop):
    port, secure = pop_server.ports["pop3"], pop_server.ports["pop3s"]
    listing = curl(f"pop3://127.0.0.1:{port}/")
    assert listing == b"".join(b"%d %d\r\n" % (n, len(f)) for n, f in enumerate(POP_FORMS, 1))
    assert curl(f"pop3://127.0.0.1:{port}/2") == POP_FORMS[1]
    assert curl(f"pop3s://127.0.0.1:{secure}/3", "--insecure") == POP_FORMS[2]
    assert curl(f"pop3://127.0.0.1:{port}/1", "--ssl-reqd", "--insecure") == POP_FORMS[0]
    curl(f"pop3://127.0.0.1:{port}/1", "--request", "DELE", "--head")
    assert len(inbox_uids(maildrop)) == 2


def test_curl_sends_a_custom_uidl_request(pop_server, maildrop):
    out = curl(f"pop3://127.0.0.1:{pop_server.ports['pop3']}/", "--request", "UIDL")
    assert [line.split()[0] for line in out.splitlines()] == [b"1", b"2", b"3"]
