"""One SMTP client connection to one destination host (smtplib underneath).

Opportunistic STARTTLS to MX hosts (RFC 3207, RFC 7435: encrypt when
offered, do not authenticate the certificate, since MX hosts are not
authenticated by DNS alone), unless the destination's MTA-STS policy says
enforce (verify="pkix": TLS required, the certificate must chain to a
trusted root and name the MX host, RFC 8461 4.2) or DANE applies
(verify="dane", RFC 7672); the MX host's name goes in SNI either way. The
smarthost is a host we chose and log in to: its certificate and name are
verified (RFC 6125, against the system's CAs or MAIL_RELAY_SMARTHOST_CA)
before the password goes out. AUTH only towards the configured smarthost
and only over TLS;
PIPELINING (RFC 2920) of MAIL, every RCPT and DATA in one write when offered;
CHUNKING (RFC 3030): the message as one BDAT ... LAST chunk when offered
(binary content only so, with BODY=BINARYMIME), SMTPUTF8 (RFC 6531) asked
for when the envelope or the message holds UTF-8; a message needing an
extension the host lacks raises NotOffered (RFC 6531 3.7.4: 5.6.7).
Several transactions share the connection (RFC 5321 3.3: a new MAIL after a
finished one; RSET after a failed one).
"""

from __future__ import annotations

import dataclasses
import smtplib
import socket
import ssl
from dataclasses import dataclass

from . import dane, plan


class ConnectionLost(Exception):
    """The connection failed or the server closed it (421): try the next host."""


class TlsFailure(ConnectionLost):
    """TLS was required and could not be had as required. result_type is
    RFC 8460 4.3's name for it (a TLS report's failure-details)."""

    def __init__(self, result_type: str, text: str) -> None:
        super().__init__(text)
        self.result_type = result_type


# OpenSSL's X509_V_ERR_* codes -> RFC 8460 4.3 result types
_VERIFY_RESULTS = {
    10: "certificate-expired",
    62: "certificate-host-mismatch",
    18: "certificate-not-trusted",
    19: "certificate-not-trusted",
    20: "certificate-not-trusted",
    21: "certificate-not-trusted",
}


class NotOffered(Exception):
    """The message needs an extension the next hop does not offer (SMTPUTF8,
    BINARYMIME): a permanent failure with this RFC 3463 status, not a reply."""

    def __init__(self, status: str, text: str) -> None:
        super().__init__(text)
        self.status = status


@dataclass(frozen=True)
class Reply:
    code: int
    text: str


@dataclass(frozen=True)
class TransactionResult:
    """The reply each recipient got: its RCPT reply if refused, else the final
    reply after the message data (or MAIL's reply if MAIL was refused)."""

    replies: dict[str, Reply]
    dsn_passed: bool = False  # the server offers DSN and was given the sender's parameters


def peer_chain(sock: ssl.SSLSocket) -> list[bytes]:
    """The certificates the peer sent, leaf first (DER), unverified. Before
    Python 3.13 only the private _sslobj has them: the one adapter, covered
    by the DANE-TA tests (tests/relay/test_dane.py)."""
    public = getattr(sock, "get_unverified_chain", None)
    if public is not None:  # Python 3.13+
        return list(public())
    import _ssl

    chain = sock._sslobj.get_unverified_chain()  # type: ignore[attr-defined]
    return [certificate.public_bytes(_ssl.ENCODING_DER) for certificate in chain or []]


def _tls_context(config: ClientConfig) -> ssl.SSLContext:
    """A verifying context (the chain to a trusted root, and the server name
    given to the handshake: the smarthost, or the MX host under an enforced
    MTA-STS policy, RFC 8461 4.2, RFC 6125 wildcards) when the config says so;
    else the opportunistic one (RFC 7435 3). DANE checks the chain itself,
    after the handshake."""
    context = ssl.create_default_context(cafile=config.ca_file or None)
    if not (config.verify_tls or config.verify == "pkix"):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class _SMTP(smtplib.SMTP):
    """smtplib connecting to the target's address while it knows the host by
    its name, so that STARTTLS sends the MX host in SNI and checks the
    certificate against it (smtplib uses the name it connected to). The one
    adapter over smtplib's _get_socket; tests/relay/test_mta_sts.py covers it."""

    def __init__(self, target: plan.Target, local_hostname: str, timeout: float) -> None:
        self._address = target.address
        super().__init__(target.name, target.port, local_hostname, timeout=timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return socket.create_connection((self._address, port), timeout, self.source_address)


@dataclass(frozen=True)
class ClientConfig:
    helo_name: str
    timeout: float = 60.0
    starttls: bool = True  # use STARTTLS when the server offers it
    require_tls: bool = False  # smarthost: refuse to go on in plaintext
    implicit_tls: bool = False  # smarthost on port 465
    username: str = ""
    password: str = ""
    verify_tls: bool = False  # smarthost: check the certificate and the host name
    ca_file: str = ""  # the CAs to check against (default: the system's)
    verify: str = "none"  # "pkix": TLS required with a valid certificate for the MX host (MTA-STS);
    # "dane": TLS required, the chain checked against tlsa (RFC 7672)
    tlsa: tuple[dane.Tlsa, ...] = ()  # usable TLSA records; none with "dane": encryption without authentication


class Session:
    """An open, greeted (and, where offered, encrypted) connection."""

    def __init__(self, target: plan.Target, config: ClientConfig) -> None:
        self.target = target
        self.config = config
        self.tls = False
        self.transactions = 0
        try:
            if config.implicit_tls:
                self.smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    target.address, target.port, config.helo_name, timeout=config.timeout, context=_tls_context(config)
                )
                self.tls = True
            else:
                self.smtp = _SMTP(target, config.helo_name, config.timeout)
            self._hello()
            if not self.tls and (config.starttls or config.verify != "none") and self.smtp.has_extn("starttls"):
                try:
                    code, message = self.smtp.starttls(context=_tls_context(config))
                except ssl.SSLCertVerificationError as exc:
                    raise TlsFailure(
                        _VERIFY_RESULTS.get(exc.verify_code, "validation-failure"),
                        f"certificate of {target.name} not valid: {exc.verify_message}",
                    ) from None
                if code != 220:
                    raise ConnectionLost(f"STARTTLS refused: {code} {plan.reply_text(message)}")
                self.tls = True
                if config.verify == "dane" and config.tlsa:
                    assert isinstance(self.smtp.sock, ssl.SSLSocket)
                    problem = dane.verify(config.tlsa, peer_chain(self.smtp.sock), target.name)
                    if problem is not None:
                        raise TlsFailure("validation-failure", f"DANE: {target.name}: {problem}")
                self._hello()
            if config.verify != "none" and not self.tls:
                raise TlsFailure("starttls-not-supported", f"{target.name} does not offer STARTTLS")
            if config.require_tls and not self.tls:
                raise ConnectionLost("the server does not offer STARTTLS")
            if config.username:
                self.smtp.login(config.username, config.password)
        except ConnectionLost:
            self.close()
            raise
        except smtplib.SMTPConnectError as exc:  # a 4xx/5xx greeting (RFC 5321 3.1)
            self.close()
            raise ConnectionLost(f"greeting: {exc.smtp_code} {plan.reply_text(exc.smtp_error)}") from None
        except smtplib.SMTPAuthenticationError as exc:
            self.close()
            raise ConnectionLost(f"authentication failed: {exc.smtp_code} {plan.reply_text(exc.smtp_error)}") from None
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise ConnectionLost(f"{exc.__class__.__name__}: {exc}") from None

    def _hello(self) -> None:
        code, message = self.smtp.ehlo()
        if not 200 <= code < 300:
            code, message = self.smtp.helo()
            if not 200 <= code < 300:
                raise ConnectionLost(f"HELO refused: {code} {plan.reply_text(message)}")

    @property
    def pipelining(self) -> bool:
        return self.offers("pipelining")

    def _reply(self) -> Reply:
        code, message = self.smtp.getreply()
        if code == 421 or code == -1:  # RFC 5321 3.8: the server is closing
            raise ConnectionLost(f"{code} {plan.reply_text(message)}")
        return Reply(code, plan.reply_text(message))

    def _write(self, data: bytes) -> None:
        self.smtp.send(data)

    def send(
        self,
        mail_from: str,
        recipients: list[str],
        data: bytes,
        *,
        dsn_mail: str = "",
        dsn_rcpt: tuple[str, ...] = (),
        require_tls: bool = False,
        binary: bool = False,
    ) -> TransactionResult:
        """One mail transaction. Raises ConnectionLost if the connection goes
        before the outcome is known (the caller retries elsewhere or later).
        dsn_mail, dsn_rcpt: the DSN parameters of MAIL and of each RCPT (RFC
        3461, each with its leading space), given only if the server offers DSN.
        require_tls (RFC 8689 4.2): only over TLS whose certificate was
        verified (MTA-STS enforce, DANE, the smarthost) to a server that
        offers REQUIRETLS, else NotOffered (5.7.10). binary: the message
        came with BODY=BINARYMIME (RFC 3030 3) and may only go so, by BDAT."""
        if require_tls:
            self._check_requiretls()
        try:
            result = self._send(mail_from, recipients, data, dsn_mail, dsn_rcpt, require_tls, binary)
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            raise ConnectionLost(f"{exc.__class__.__name__}: {exc}") from None
        return dataclasses.replace(result, dsn_passed=self.offers("dsn"))

    @property
    def verified_tls(self) -> bool:
        """TLS with the server's certificate checked: against the CAs and its
        name (MTA-STS enforce, the smarthost) or against its TLSA records."""
        config = self.config
        return self.tls and (
            config.verify_tls or config.verify == "pkix" or (config.verify == "dane" and bool(config.tlsa))
        )

    def _check_requiretls(self) -> None:
        if not self.verified_tls:
            raise NotOffered("5.7.10", "REQUIRETLS: no verified TLS to the next hop (no MTA-STS or DANE)")
        if not self.offers("requiretls"):
            raise NotOffered("5.7.10", "REQUIRETLS: the next hop does not offer REQUIRETLS")

    def offers(self, extension: str) -> bool:
        return self.smtp.does_esmtp and self.smtp.has_extn(extension)

    def _send(
        self,
        mail_from: str,
        recipients: list[str],
        data: bytes,
        dsn_mail: str,
        dsn_rcpt: tuple[str, ...],
        require_tls: bool,
        binary: bool,
    ) -> TransactionResult:
        has = self.offers
        if binary and not (has("chunking") and has("binarymime")):
            # RFC 3030 3: binary content may not be downgraded to DATA lines.
            raise NotOffered("5.6.3", "the next hop does not offer CHUNKING and BINARYMIME for binary content")
        utf8 = plan.has_utf8_address(mail_from, recipients)
        if utf8 and not has("smtputf8"):
            raise NotOffered("5.6.7", "the next hop does not offer SMTPUTF8 for a UTF-8 address")  # RFC 6531 3.7.4
        body = "BINARYMIME" if binary else "8BITMIME" if plan.needs_8bitmime(data) and has("8bitmime") else None
        chunking = has("chunking")
        payload = plan.bdat_payload(data, binary=binary) if chunking else plan.dot_stuff(data)
        self.transactions += 1
        if not has("dsn"):
            dsn_mail, dsn_rcpt = "", ()
        mail = plan.mail_command(
            mail_from,
            size=len(data) if has("size") else None,
            body=body,
            smtputf8=has("smtputf8") and (utf8 or plan.needs_8bitmime(data)),
            extra=dsn_mail + (" REQUIRETLS" if require_tls else ""),
        )
        rcpts = [plan.rcpt_command(r, dsn_rcpt[n] if n < len(dsn_rcpt) else "") for n, r in enumerate(recipients)]
        # RFC 2920 3.1: DATA may end a pipelined group; a BDAT chunk waits for the RCPT answers.
        opener = b"" if chunking else b"DATA\r\n"
        if self.pipelining:
            self._write(mail + b"".join(rcpts) + opener)
            mail_reply = self._reply()
            rcpt_replies = [self._reply() for _ in recipients]
            data_reply = self._reply() if opener else None
        else:
            self._write(mail)
            mail_reply = self._reply()
            if mail_reply.code // 100 != 2:
                self._reset()
                return TransactionResult({r: mail_reply for r in recipients})
            rcpt_replies = []
            for command in rcpts:
                self._write(command)
                rcpt_replies.append(self._reply())
            if not any(r.code // 100 == 2 for r in rcpt_replies):
                self._reset()
                return TransactionResult(dict(zip(recipients, rcpt_replies)))
            data_reply = None
            if opener:
                self._write(opener)
                data_reply = self._reply()
        accepted = [r for r, reply in zip(recipients, rcpt_replies) if reply.code // 100 == 2]
        if mail_reply.code // 100 != 2:
            if data_reply is not None and data_reply.code == 354:  # a server that took DATA anyway: end it empty
                self._write(b".\r\n")
                self._reply()
            self._reset()
            return TransactionResult({r: mail_reply for r in recipients})
        replies = {r: reply for r, reply in zip(recipients, rcpt_replies) if reply.code // 100 != 2}
        if data_reply is not None and data_reply.code != 354:
            if accepted and data_reply.code // 100 != 2:
                replies.update({r: data_reply for r in accepted})
            self._reset()
            return TransactionResult(replies)
        if not accepted:  # RFC 2920 3.1: nobody to send to, so send nothing
            if data_reply is not None:
                self._write(b".\r\n")
                self._reply()
            self._reset()
            return TransactionResult(replies)
        self._write(payload)
        final = self._reply()
        replies.update({r: final for r in accepted})
        if chunking and final.code // 100 != 2:
            self._reset()  # RFC 3030 4.2: after a refused chunk the client sends RSET
        return TransactionResult(replies)

    def _reset(self) -> None:
        self._write(b"RSET\r\n")
        self._reply()

    def close(self) -> None:
        smtp = getattr(self, "smtp", None)
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
