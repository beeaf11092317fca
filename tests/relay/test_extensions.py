"""The relay and the next hop's extensions: the message as one BDAT chunk to a
host that offers CHUNKING (BODY=BINARYMIME for binary content), SMTPUTF8
asked for when the envelope holds UTF-8, and a bounce with the right status
when the host lacks what the message needs (RFC 3030 3, RFC 6531 3.7.4)."""

from __future__ import annotations

import socket
import threading

import pytest

from mailboxes import store
from protocols.relay import deliver

from .conftest import dsn_parts, inbox_messages

TEXT = b"From: alice@example.test\r\nSubject: chunk\r\n\r\n.leading dot\r\nbody\r\n"
BINARY = b"From: alice@example.test\r\nSubject: bin\r\nContent-Type: application/octet-stream\r\n\r\n\x00\n\r\xff\r\n"


class Probe:
    """A bare SMTP server offering the given EHLO keywords, for one
    connection: it records every command line and each message's octets as
    they came (a BDAT chunk, or DATA's lines up to the dot)."""

    def __init__(self, *keywords: str) -> None:
        self.keywords = keywords
        self.commands: list[bytes] = []
        self.payloads: list[bytes] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        conn.settimeout(10)
        reader = conn.makefile("rb")
        conn.sendall(b"220 probe ESMTP\r\n")
        while line := reader.readline():
            self.commands.append(line)
            verb = line.split(b" ")[0].split(b":")[0].strip().upper()
            if verb == b"EHLO":
                lines = [b"probe", *(k.encode() for k in self.keywords)]
                conn.sendall(
                    b"".join(b"250%s%s\r\n" % (b"-" if i < len(lines) - 1 else b" ", k) for i, k in enumerate(lines))
                )
            elif verb == b"BDAT":
                self.payloads.append(reader.read(int(line.split()[1])))
                conn.sendall(b"250 2.0.0 chunk ok\r\n")
            elif verb == b"DATA":
                conn.sendall(b"354 go\r\n")
                data = b""
                while (part := reader.readline()) not in (b".\r\n", b""):
                    data += part
                self.payloads.append(data)
                conn.sendall(b"250 2.0.0 queued\r\n")
            elif verb == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                break
            else:
                conn.sendall(b"250 ok\r\n")
        conn.close()
        self.listener.close()

    def sent(self, verb: bytes) -> list[bytes]:
        return [c for c in self.commands if c.upper().startswith(verb)]


def relay(
    settings, alice, probe_port: int, data: bytes, recipient: str = "bob@remote.test"
) -> store.OutboundRecipientInfo:  # type: ignore[no-untyped-def]
    """Queue data (BINARY as BODY=BINARYMIME) and relay it to the probe."""
    settings.MAIL_RELAY_MX_OVERRIDE = f"remote.test=127.0.0.1:{probe_port}"
    store.deliver_final(
        data,
        [recipient],
        "alice@example.test",
        sender_account_id=alice.id,
        parameters=store.EnvelopeParameters(binarymime=data == BINARY),
    )
    deliver.run()
    [row] = store.outbound_recipients(address=recipient)
    return row


def test_a_host_offering_chunking_gets_the_message_as_one_last_chunk_not_dot_stuffed(settings, alice):
    probe = Probe("PIPELINING", "SIZE 100000", "8BITMIME", "CHUNKING")
    row = relay(settings, alice, probe.port, TEXT)
    probe.thread.join(10)
    assert row.state == "sent"
    [chunk] = probe.sent(b"BDAT")
    [payload] = probe.payloads
    assert chunk == f"BDAT {len(payload)} LAST\r\n".encode()
    assert payload.endswith(TEXT)  # after the relay's own fields (DKIM, if any); the dot not doubled
    assert probe.sent(b"DATA") == []
    assert b"BODY=" not in probe.sent(b"MAIL")[0]


def test_binary_content_goes_by_bdat_with_binarymime_byte_for_byte(settings, alice):
    probe = Probe("PIPELINING", "CHUNKING", "BINARYMIME", "8BITMIME")
    row = relay(settings, alice, probe.port, BINARY)
    probe.thread.join(10)
    assert row.state == "sent"
    [mail] = probe.sent(b"MAIL")
    assert mail.rstrip().endswith(b" BODY=BINARYMIME")
    [payload] = probe.payloads
    assert payload.endswith(BINARY.split(b"\r\n\r\n", 1)[1])


@pytest.mark.parametrize(
    "keywords, data, recipient, status",
    [
        (("PIPELINING", "8BITMIME"), BINARY, "bob@remote.test", "5.6.3"),
        (("PIPELINING", "CHUNKING", "8BITMIME"), BINARY, "bob@remote.test", "5.6.3"),
        (("PIPELINING", "8BITMIME", "CHUNKING"), TEXT, "jörg@remote.test", "5.6.7"),
    ],
    ids=["binary-no-chunking", "binary-no-binarymime", "utf8-address-no-smtputf8"],
)
def test_a_message_needing_an_extension_the_host_lacks_bounces_with_its_status(
    settings, alice, keywords, data, recipient, status
):
    probe = Probe(*keywords)
    row = relay(settings, alice, probe.port, data, recipient)
    probe.thread.join(10)
    assert row.state == "failed"
    assert probe.sent(b"MAIL") == [] and probe.payloads == []
    [dsn] = inbox_messages(alice.id)
    report, _ = dsn_parts(dsn)
    assert f"Status: {status}" in report and "Action: failed" in report


def test_a_utf8_address_asks_for_smtputf8_where_it_is_offered(settings, alice):
    probe = Probe("PIPELINING", "8BITMIME", "SMTPUTF8")
    row = relay(settings, alice, probe.port, "Subject: Grüße\r\n\r\nhallo\r\n".encode(), "jörg@remote.test")
    probe.thread.join(10)
    assert row.state == "sent"
    [mail] = probe.sent(b"MAIL")
    assert mail.rstrip().endswith(b" BODY=8BITMIME SMTPUTF8")
    assert probe.sent(b"RCPT") == ["RCPT TO:<jörg@remote.test>\r\n".encode()]
