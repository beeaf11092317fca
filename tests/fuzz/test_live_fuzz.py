"""Throw random and mutated commands at a live runmailserver for a bounded
time (MAIL_FUZZ_SECONDS, default 60), then check that no worker died, that
normal sessions still work on every door, and that no session crashed
(a logged traceback). Prints the seed and the figures."""

from __future__ import annotations

import imaplib
import os
import poplib
import random
import smtplib
import socket
import time

import pytest

from conftest import PASSWORDS
from tests.servers import SubprocessServer

pytestmark = pytest.mark.slow

ALICE = "alice@example.test"
SECONDS = float(os.environ.get("MAIL_FUZZ_SECONDS", "60"))
LOGIN = {
    "imap": f"a LOGIN {ALICE} {PASSWORDS[ALICE]}\r\nb SELECT INBOX\r\n".encode(),
    "pop3": f"USER {ALICE}\r\nPASS {PASSWORDS[ALICE]}\r\n".encode(),
    "pop2": f"HELO {ALICE} {PASSWORDS[ALICE]}\r\n".encode(),
    "smtp": b"EHLO fuzz.test\r\n",
    "submission": b"EHLO fuzz.test\r\nAUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABhbGljZS1zZWNyZXQ=\r\n",
}
SEEDS = {
    "imap": [
        b"c FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODYSTRUCTURE ENVELOPE)",
        b"c UID FETCH 1:* BODY[1.2.MIME]<0.10>",
        b"c SEARCH OR FROM a (SUBJECT {3}\r\nabc) SINCE 1-Jan-2020",
        b"c STORE 1 +FLAGS (\\Seen $x)",
        b"c LIST \"\" \"*\"",
        b"c APPEND INBOX (\\Seen) {10+}\r\n0123456789",
        b"c COPY 1:* Trash",
        b"c STATUS INBOX (MESSAGES UIDNEXT)",
        b"c AUTHENTICATE PLAIN",
        b"c IDLE\r\nDONE",
        b"c SORT (DATE) UTF-8 ALL",
        b"c CREATE &AMk-t&AOk-",
        b"c RENAME a b",
        b"c UID EXPUNGE 1:*",
        b"c ENABLE CONDSTORE",
        b"c NOOP",
    ],
    "pop3": [
        b"STAT",
        b"LIST 1",
        b"RETR 1",
        b"TOP 1 5",
        b"UIDL",
        b"DELE 1",
        b"RSET",
        b"CAPA",
        b"AUTH PLAIN",
        b"APOP alice 0123456789abcdef0123456789abcdef",
        b"STLS",
        b"NOOP",
        b"LIST 99999999999999999999",
    ],
    "pop2": [b"FOLD Trash", b"READ 1", b"RETR", b"ACKS", b"ACKD", b"NACK", b"READ", b"FOLD INBOX"],
    "smtp": [
        b"MAIL FROM:<bob@example.test> SIZE=100 BODY=8BITMIME",
        b"RCPT TO:<alice@example.test>",
        b"DATA\r\nSubject: x\r\n\r\nhello\r\n.",
        b"RSET",
        b"VRFY alice",
        b"BDAT 10 LAST",
        b"HELP",
        b"NOOP",
        b"MAIL FROM:<> SMTPUTF8",
        b"RCPT TO:<\"a b\"@example.test> NOTIFY=NEVER",
        b"STARTTLS",
        b"AUTH LOGIN",
    ],
}
SEEDS["submission"] = SEEDS["smtp"]
NASTY = [
    b"\x00",
    b"\xff\xfe",
    b"{4294967296}",
    b"{999999999+}",
    b"(" * 200,
    b")" * 50,
    b"\"",
    b"\\",
    b"%*",
    b"../../bob@example.test",
    b"\r",
    b"\n",
    b"\r\n.\r\n",
    b"A" * 5000,
    b"-1",
    b"1:4294967295",
    b"&-&AAA",
    b"\xc3\x28",
    b"BODY[",
    b"<>",
    b"\t",
    b" " * 100,
    b"NIL",
    b"~{5}\r\n",
]


def mutate(rng: random.Random, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        position = rng.randint(0, len(data))
        if choice < 0.3:
            data[position:position] = rng.choice(NASTY)
        elif choice < 0.5 and data:
            del data[position : position + rng.randint(1, 8)]
        elif choice < 0.7 and data:
            data[min(position, len(data) - 1)] = rng.randrange(256)
        elif choice < 0.85:
            data[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 30)))
        else:
            data += data[: rng.randint(0, len(data))]
    return bytes(data)


def one_session(rng: random.Random, port: int, protocol: str) -> int:
    """A connection that may log in, then sends a burst of bad input. Returns how many inputs."""
    sent = 0
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.settimeout(0.3)
            if rng.random() < 0.7:
                sock.sendall(LOGIN[protocol])
            for _ in range(rng.randint(1, 25)):
                line = (
                    mutate(rng, rng.choice(SEEDS[protocol]))
                    if rng.random() < 0.8
                    else bytes(rng.randrange(256) for _ in range(rng.randint(1, 200)))
                )
                sock.sendall(line + (b"\r\n" if rng.random() < 0.9 else b""))
                sent += 1
                try:
                    if not sock.recv(65536):
                        break
                except TimeoutError:
                    pass
    except OSError:
        pass
    return sent


def normal_sessions_work(ports: dict[str, int]) -> None:
    with smtplib.SMTP("127.0.0.1", ports["smtp"], timeout=20) as client:
        client.sendmail("bob@example.test", [ALICE], b"Subject: after the fuzz\r\n\r\nstill here\r\n")
    imap = imaplib.IMAP4("127.0.0.1", ports["imap"], timeout=20)
    imap.login(ALICE, PASSWORDS[ALICE])
    assert imap.select("INBOX")[0] == "OK"
    assert imap.search(None, "SUBJECT", '"after the fuzz"')[1][0]
    imap.logout()
    pop = poplib.POP3("127.0.0.1", ports["pop3"], timeout=20)
    pop.user(ALICE)
    pop.pass_(PASSWORDS[ALICE])
    assert pop.stat()[0] >= 1
    pop.quit()
    with smtplib.SMTP("127.0.0.1", ports["submission"], timeout=20) as client:
        client.login(ALICE, PASSWORDS[ALICE])
        client.sendmail(ALICE, ["bob@example.test"], b"Subject: submitted\r\n\r\nok\r\n")


def _traceback(lines: list[str], start: int) -> str:
    """The log line before a traceback, the traceback, and its exception line."""
    end = start + 1
    while end < len(lines) and lines[end].startswith(" "):
        end += 1
    return "\n".join(lines[max(0, start - 1) : end + 1])


@pytest.mark.skipif(SECONDS <= 0, reason="MAIL_FUZZ_SECONDS=0")
def test_random_and_mutated_commands_leave_every_door_serving(users, capsys):
    from mailboxes import store

    store.deliver(
        b"From: bob@example.test\r\nSubject: seed\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n"
        b"--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x--\r\n",
        [ALICE],
    )
    env = {
        "MAIL_LOGIN_MAX_FAILURES": "100000",
        "MAIL_LOGIN_MAX_FAILURES_PER_IP": "100000",
        "MAIL_IMAP_IDLE_TIMEOUT": "5",
        "MAIL_POP_IDLE_TIMEOUT": "5",
        "MAIL_SMTP_IDLE_TIMEOUT": "5",
    }
    seed = int(os.environ.get("MAIL_FUZZ_SEED", str(random.randrange(2**32))))
    rng = random.Random(seed)
    with SubprocessServer("smtp,submission,imap,pop3,pop2", env) as server:
        deadline = time.monotonic() + SECONDS
        inputs = sessions = 0
        while time.monotonic() < deadline:
            protocol = rng.choice(list(SEEDS))
            inputs += one_session(rng, server.ports[protocol], protocol)
            sessions += 1
        assert server.proc is not None and server.proc.poll() is None, "the worker died"
        normal_sessions_work(server.ports)
        server.stop()
        log = server.output()
    lines = log.splitlines()
    crashes = [_traceback(lines, n) for n, line in enumerate(lines) if "Traceback" in line]
    with capsys.disabled():
        print(
            f"\nfuzz: seed {seed}, {SECONDS:.0f} s, {sessions} sessions, {inputs} bad inputs, "
            f"{len(crashes)} crashed sessions"
        )
    assert not crashes, "\n".join(crashes[:20])
