"""A tiny authoritative DNS server for tests, on 127.0.0.1 over UDP, built
with dnspython's own message and wire helpers. No network beyond loopback."""

from __future__ import annotations

import socket
import threading

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

from mailboxes.dashboard.dnscheck import quote_txt


class TinyDns:
    """Answers {(name, type): [values]} (TXT values unquoted); a name it does
    not know is NXDOMAIN, a name in `failing` gets SERVFAIL."""

    def __init__(self, records: dict[tuple[str, str], list[str]], failing: tuple[str, ...] = ()) -> None:
        self.records = {(name.lower().rstrip("."), rtype): values for (name, rtype), values in records.items()}
        self.failing = {name.lower() for name in failing}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.questions: list[tuple[str, str]] = []
        self._stopping = False
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> TinyDns:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping = True
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as wake:  # recvfrom ignores close()
            wake.sendto(b"", self.sock.getsockname())
        self._thread.join(5)
        self.sock.close()

    def _serve(self) -> None:
        while not self._stopping:
            data, peer = self.sock.recvfrom(4096)
            if data:
                self.sock.sendto(self.answer(data), peer)

    def answer(self, wire: bytes) -> bytes:
        query = dns.message.from_wire(wire)
        response = dns.message.make_response(query)
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        rtype = dns.rdatatype.to_text(question.rdtype)
        self.questions.append((name, rtype))
        if name in self.failing:
            response.set_rcode(dns.rcode.SERVFAIL)
        elif (name, rtype) in self.records:
            values = self.records[(name, rtype)]
            texts = [quote_txt(v) for v in values] if rtype == "TXT" else values
            response.answer.append(dns.rrset.from_text_list(question.name, 300, "IN", rtype, texts))
        elif not any(n == name for n, _ in self.records):
            response.set_rcode(dns.rcode.NXDOMAIN)
        return response.to_wire()
